#include "services/eldercare/eldercare_jobs.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/eldercare_events.pb.h"

WUYE_KEYRING_FLAGS(eldercare);

namespace wuye::eldercare {

namespace ev = ::wuye::events::v1;

absl::StatusOr<Keyring> KeyringFromEnvironment() {
  return Keyring::FromEnvironment("eldercare", absl::GetFlag(FLAGS_eldercare_keys_file),
                                  absl::GetFlag(FLAGS_eldercare_lookup_key_file));
}

std::string PublishCharge(pqxx::work& tx, EldercareStore& store, const Outbox& outbox,
                          const ChargeTarget& t, const FeeLine& line, absl::Time now,
                          absl::string_view trace_id) {
  std::string charge_id = NewId(now);
  store.InsertCharge(tx, {charge_id, t.group_id, t.estate_id, t.elder_id, line}, now);
  ev::ElderFeeCharged fee;
  fee.set_charge_id(charge_id);
  fee.set_elder_id(t.elder_id);
  fee.set_estate_id(t.estate_id);
  fee.set_unit_id(t.unit_id);
  fee.set_resident_id(t.resident_id);
  fee.set_kind(line.kind);
  fee.set_payer(line.payer);
  fee.set_amount_fen(line.amount_fen);
  fee.set_quantity(line.quantity);
  fee.set_description(line.description);
  fee.set_settles_charge_id(line.settles_charge_id);
  *fee.mutable_at() = ToProtoTime(now);
  outbox.Append(tx, {"eldercare.fee.charged", t.group_id, t.estate_id, t.elder_id, 0, &fee}, now,
                trace_id);
  return charge_id;
}

int ChargeCareDays(pqxx::work& tx, EldercareStore& store, const Outbox& outbox,
                   const std::vector<UnchargedDay>& days, absl::Time now,
                   absl::string_view trace_id) {
  if (days.empty()) return 0;
  std::map<int, CareDayCount> counts;
  std::map<int, std::vector<std::string>> ids;
  for (const UnchargedDay& d : days) {
    CareDayCount& c = counts[d.kind];
    if (c.days == 0) c = {d.kind, d.day, d.day, 0};
    c.first = std::min(c.first, d.day);
    c.last = std::max(c.last, d.day);
    ++c.days;
    ids[d.kind].push_back(d.id);
  }
  std::vector<CareDayCount> list;
  list.reserve(counts.size());
  for (auto& [kind, c] : counts) list.push_back(c);
  const UnchargedDay& any = days.front();
  ChargeTarget target{any.group_id, any.estate_id, any.unit_id, any.resident_id, any.elder_id};
  int published = 0;
  Fees fees = store.FeesFor(tx, any.group_id, any.estate_id);
  for (const FeeLine& line : CareDayCharges(list, fees)) {
    std::string charge_id = PublishCharge(tx, store, outbox, target, line, now, trace_id);
    ++published;
    // The elder's charge of a kind marks that kind's days; the clinic's fee covers them all.
    if (line.kind == ev::ELDER_FEE_KIND_SICKBED_DAYS) {
      store.MarkCharged(tx, ids[v1::CARE_KIND_SICKBED], charge_id);
    } else if (line.kind == ev::ELDER_FEE_KIND_HOSPICE_DAYS) {
      store.MarkCharged(tx, ids[v1::CARE_KIND_HOSPICE], charge_id);
    }
  }
  return published;
}

Settlement::Settlement(Db& db, const Clock& clock)
    : db_(db), clock_(clock), store_(db), outbox_(db, "eldercare") {}

absl::StatusOr<int> Settlement::Tick(int batch) {
  absl::Time now = clock_.Now();
  std::string trace = NewId(now);
  int published = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    std::map<std::string, std::vector<UnchargedDay>> by_elder;
    for (auto& d : store_.UnchargedDaysBefore(tx, now, batch)) {
      by_elder[d.elder_id].push_back(std::move(d));
    }
    for (const auto& [elder, days] : by_elder) {
      published += ChargeCareDays(tx, store_, outbox_, days, now, trace);
    }
    for (const v1::Elder& e : store_.DueRenewals(tx, now, batch)) {
      absl::CivilDay from(e.paid_through().year(), e.paid_through().month(),
                          e.paid_through().day());
      FeeLine line = ServiceYearCharge(from, store_.FeesFor(tx, e.group_id(), e.estate_id()));
      if (line.amount_fen > 0) {
        PublishCharge(tx, store_, outbox_,
                      {e.group_id(), e.estate_id(), e.unit_id(), e.resident_id(), e.id()}, line,
                      now, trace);
        ++published;
      }
      store_.SetPaidThrough(tx, e.id(), OneYearAfter(from), now);
    }
    return absl::OkStatus();
  }));
  if (published > 0) LogInfo("eldercare.settled").Int("charges", published);
  return published;
}

absl::StatusOr<RotationResult> RotateBatch(Db& db, EldercareStore& store, const Keyring& keys,
                                           int batch, absl::Time now, const std::string& actor,
                                           const std::string& trace_id) {
  RotationResult result;
  WUYE_RETURN_IF_ERROR(db.Transact([&](pqxx::work& tx) -> absl::Status {
    result = {};
    std::map<std::pair<std::string, std::string>, std::set<std::string>> touched;
    for (const SealedRow& row : store.SealedNotUnder(tx, keys.active_key_id(), batch)) {
      WUYE_ASSIGN_OR_RETURN(std::string plain, keys.Open(row.place, row.value));
      WUYE_ASSIGN_OR_RETURN(SealedValue sealed, keys.Seal(row.place, plain));
      store.PutSealed(tx, row.place, sealed, row.elder_id, now);
      touched[{row.place.group_id, row.elder_id}].insert(
          absl::StrCat(row.place.table, ".", row.place.field));
      ++result.reencrypted;
    }
    for (const auto& [who, fields] : touched) {
      AuditRow audit{who.first,
                     who.second,
                     actor,
                     {"key_rotation"},
                     "key.rotate",
                     std::vector<std::string>(fields.begin(), fields.end()),
                     absl::StrCat("re-encrypted to key ", keys.active_key_id()),
                     false,
                     trace_id};
      store.InsertAudit(tx, audit, now);
    }
    result.remaining = store.CountNotUnder(tx, keys.active_key_id());
    return absl::OkStatus();
  }));
  LogInfo("eldercare.rotated")
      .Str("key_id", keys.active_key_id())
      .Int("reencrypted", result.reencrypted)
      .Int("remaining", result.remaining);
  return result;
}

}  // namespace wuye::eldercare
