#include "services/billing/counter_money_flow.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "services/billing/billing.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::billing {
namespace {

namespace ev = ::wuye::events::v1;

std::string RenovationRef(const std::string& renovation_id) {
  return absl::StrCat("renovation:", renovation_id);
}

}  // namespace

absl::StatusOr<std::optional<UnitCopy>> CounterMoneyFlow::LockedUnit(pqxx::work& tx,
                                                                     const std::string& group,
                                                                     const std::string& unit_id,
                                                                     const std::string& estate_id) {
  if (!IsValidId(unit_id)) return absl::InvalidArgumentError("unit_id: not a valid id");
  auto unit = store_.GetUnit(tx, group, unit_id);
  if (!unit) {
    if (bills_.UnitOfAnotherGroup(tx, group, unit_id)) return std::optional<UnitCopy>();
    return absl::UnavailableError("unit_id: unit not yet in billing's copy");
  }
  if (!estate_id.empty() && unit->estate_id != estate_id) return std::optional<UnitCopy>();
  store_.LockUnit(tx, group, unit->id);  // every money movement of a unit, one at a time
  return unit;
}

std::string CounterMoneyFlow::PeriodOf(pqxx::work& tx, const std::string& group,
                                       const std::string& estate, absl::Time at) {
  auto copy = store_.GetEstate(tx, group, estate);
  return MonthStart(MonthOf(absl::ToCivilDay(at, EstateZone(copy ? copy->time_zone : ""))));
}

absl::Status CounterMoneyFlow::OpenMeters(pqxx::work& tx, const std::string& group,
                                          const ev::MetersRead& read, absl::Time at) {
  struct Opening {
    std::string meter;
    v1::MeterKind kind;
    int64_t centi;
  };
  std::vector<Opening> openings;
  for (int i = 0; i < read.readings_size(); ++i) {
    const auto& r = read.readings(i);
    v1::MeterKind kind = MeterKindOf(r.meter());
    if (kind == v1::METER_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("readings[", i, "].meter: water, electricity or gas"));
    }
    WUYE_ASSIGN_OR_RETURN(int64_t centi, ParseCenti(r.value(), absl::StrCat("readings[", i,
                                                                            "].value")));
    openings.push_back({r.meter(), kind, centi});
  }
  WUYE_ASSIGN_OR_RETURN(std::optional<UnitCopy> unit,
                        LockedUnit(tx, group, read.unit_id(), read.estate_id()));
  if (!unit || openings.empty()) return absl::OkStatus();
  store_.LockEstateForReading(tx, unit->estate_id);  // as RecordMeterReading, against a run
  auto estate = store_.GetEstate(tx, group, unit->estate_id);
  const std::string period = MonthStart(
      OpeningPeriod(absl::ToCivilDay(at, EstateZone(estate ? estate->time_zone : ""))));
  for (const Opening& o : openings) {
    // A kind read before keeps its history: its own readings are the baseline (once per
    // hand-over, and a second hand-over's readings change nothing).
    if (bills_.HasReadingOfKind(tx, unit->id, o.kind)) continue;
    bills_.InsertOpeningReading(tx, group, NewId(at), unit->estate_id, unit->id, o.meter, o.kind,
                                period, o.centi, at);
  }
  return absl::OkStatus();
}

absl::Status CounterMoneyFlow::AskDeposit(pqxx::work& tx, const std::string& group,
                                          const ev::RenovationDecided& decided, absl::Time at) {
  if (!decided.approved() || decided.deposit_fen() <= 0) return absl::OkStatus();
  if (!IsValidId(decided.renovation_id())) {
    return absl::InvalidArgumentError("renovation_id: not a valid id");
  }
  WUYE_ASSIGN_OR_RETURN(std::optional<UnitCopy> unit,
                        LockedUnit(tx, group, decided.unit_id(), decided.estate_id()));
  if (!unit) return absl::OkStatus();
  const std::string ref = RenovationRef(decided.renovation_id());
  if (!store_.PostLedger(tx, group, unit->estate_id, "renovation_deposit", ref,
                         ChargePostings(unit->id, kRenovationDepositItem, decided.deposit_fen()),
                         at)) {
    return absl::OkStatus();  // asked before
  }
  store_.InsertChargeBill(tx, group, NewId(at), unit->estate_id, unit->id,
                          PeriodOf(tx, group, unit->estate_id, at), kRenovationDepositItem, ref,
                          decided.deposit_fen(), at);
  return absl::OkStatus();
}

absl::Status CounterMoneyFlow::ReleaseDeposit(pqxx::work& tx, const std::string& group,
                                              const ev::RenovationAccepted& accepted,
                                              absl::Time at) {
  if (!IsValidId(accepted.renovation_id())) {
    return absl::InvalidArgumentError("renovation_id: not a valid id");
  }
  if (accepted.deduction_fen() < 0) return absl::InvalidArgumentError("deduction_fen: >= 0");
  WUYE_ASSIGN_OR_RETURN(std::optional<UnitCopy> unit,
                        LockedUnit(tx, group, accepted.unit_id(), accepted.estate_id()));
  if (!unit) return absl::OkStatus();
  const std::string ref = RenovationRef(accepted.renovation_id());
  auto bill = money_.LockChargeBill(tx, group, ref);
  if (!bill) return absl::OkStatus();  // no deposit was asked
  if (bill->unit_id != unit->id) {
    return absl::InvalidArgumentError("unit_id: not the unit the deposit was asked of");
  }
  DepositRelease release =
      billing::ReleaseDeposit(bill->amount_fen, bill->paid_fen,
                     store_.UnitLiability(tx, group, unit->id, "deposit_held"),
                     accepted.deduction_fen());
  if (release.empty()) return absl::OkStatus();  // nothing open, nothing held any more
  if (!store_.PostLedger(tx, group, unit->estate_id, "renovation_release",
                         absl::StrCat("renovation_release:", accepted.renovation_id()),
                         ReleasePostings(unit->id, release), at)) {
    return absl::OkStatus();  // released before
  }
  money_.ReduceBill(tx, bill->id, release.cancel);
  return absl::OkStatus();
}

absl::Status CounterMoneyFlow::ChargeCard(pqxx::work& tx, const std::string& group,
                                          const ev::CardReplaced& card, absl::Time at) {
  if (card.fee_fen() <= 0 || card.unit_id().empty()) return absl::OkStatus();
  if (!IsValidId(card.card_id())) return absl::InvalidArgumentError("card_id: not a valid id");
  WUYE_ASSIGN_OR_RETURN(std::optional<UnitCopy> unit,
                        LockedUnit(tx, group, card.unit_id(), card.estate_id()));
  if (!unit) return absl::OkStatus();
  const std::string ref = absl::StrCat("card:", card.card_id());
  if (!store_.PostLedger(tx, group, unit->estate_id, "card_replacement", ref,
                         ChargePostings(unit->id, kCardReplacementItem, card.fee_fen()), at)) {
    return absl::OkStatus();  // charged before
  }
  store_.InsertChargeBill(tx, group, NewId(at), unit->estate_id, unit->id,
                          PeriodOf(tx, group, unit->estate_id, at), kCardReplacementItem, ref,
                          card.fee_fen(), at);
  return absl::OkStatus();
}

void CounterMoneyFlow::Collected(pqxx::work& tx, const std::string& group,
                                 const std::string& estate, const std::string& payment_id,
                                 const std::vector<std::pair<std::string, int64_t>>& allocations,
                                 bool reverse, absl::Time at) {
  std::map<std::string, int64_t> paid;
  std::vector<std::string> ids;
  for (const auto& [bill, fen] : allocations) {
    paid[bill] += fen;
    ids.push_back(bill);
  }
  std::vector<LedgerEntry> entries;
  for (const DepositBill& d : bills_.DepositBills(tx, group, ids)) {
    if (reverse && d.released) continue;  // released since: the release stands
    for (LedgerEntry& e : CollectedPostings(d.bill.unit_id, d.bill.item, paid[d.bill.id], reverse)) {
      entries.push_back(std::move(e));
    }
  }
  if (entries.empty()) return;
  store_.PostLedger(
      tx, group, estate, reverse ? "renovation_uncollected" : "renovation_collected",
      absl::StrCat(reverse ? "renovation_uncollected:" : "renovation_collected:", payment_id),
      entries, at);
}

}  // namespace wuye::billing
