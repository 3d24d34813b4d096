#include "services/dispatch/dispatch_store.h"

#include "absl/strings/str_cat.h"
#include "shared/proto_time.h"

namespace wuye::dispatch {
namespace {

namespace dir = ::wuye::directory::v1;

// Times cross the wire as Unix microseconds; -1 is NULL.
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(param) "to_timestamp(" param "::float8 / 1000000)"
#define TS_OR_NULL(param) "to_timestamp(NULLIF(" param "::bigint, -1)::float8 / 1000000)"
#define AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, '00000000-0000-0000-0000-000000000000')"

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t MicrosOrNull(absl::Time t) {
  return t == absl::InfiniteFuture() || t == absl::InfinitePast() ? -1 : Micros(t);
}
std::string Str(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }
std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

template <class T>
T Parse(const pqxx::field& f) {
  T out;
  out.ParseFromString(Bytes(f));
  return out;
}

std::vector<pb::WorkOrder> Orders(const pqxx::result& res) {
  std::vector<pb::WorkOrder> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(Parse<pb::WorkOrder>(r[0]));
  return out;
}

std::string ArrayOf(const std::vector<std::string>& items) { return PgArray(items); }

}  // namespace

DispatchStore::DispatchStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  // -- the directory copy
  prep("dp_estate_upsert",
       "INSERT INTO dir_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
       "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = "
       "EXCLUDED.version WHERE dir_estates.version < EXCLUDED.version "
       "AND dir_estates.group_id = EXCLUDED.group_id");
  prep("dp_unit_upsert",
       "INSERT INTO dir_units (id, group_id, estate_id, version) VALUES ($1, $2, $3, $4) "
       "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, version = "
       "EXCLUDED.version WHERE dir_units.version < EXCLUDED.version "
       "AND dir_units.group_id = EXCLUDED.group_id");
  prep("dp_unit_estate", "SELECT estate_id::text FROM dir_units WHERE group_id = $1 AND id = $2");
  prep("dp_estate_zone", "SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = $2");
  prep("dp_staff_upsert",
       "INSERT INTO dir_staff (id, group_id, active, skills, home_estate_ids, version) "
       "VALUES ($1, $2, $3, $4::int[], $5::uuid[], $6) "
       "ON CONFLICT (id) DO UPDATE SET active = EXCLUDED.active, skills = EXCLUDED.skills, "
       "home_estate_ids = EXCLUDED.home_estate_ids, version = EXCLUDED.version "
       "WHERE dir_staff.version < EXCLUDED.version AND dir_staff.group_id = EXCLUDED.group_id");
  prep("dp_staff_active", "SELECT 1 FROM dir_staff WHERE group_id = $1 AND id = $2 AND active");
  prep("dp_resident_upsert",
       "INSERT INTO dir_residents (id, group_id, estate_id, unit_id, version) VALUES ($1, $2, "
       "$3, NULLIF($4, '')::uuid, $5) ON CONFLICT (id) DO UPDATE SET estate_id = "
       "EXCLUDED.estate_id, unit_id = EXCLUDED.unit_id, version = EXCLUDED.version "
       "WHERE dir_residents.version < EXCLUDED.version "
       "AND dir_residents.group_id = EXCLUDED.group_id");
  prep("dp_resident_get",
       "SELECT estate_id::text, COALESCE(unit_id::text, '') FROM dir_residents "
       "WHERE group_id = $1 AND id = $2");
  prep("dp_shift_upsert",
       "INSERT INTO dir_shifts (id, group_id, estate_id, staff_id, start_time, end_time, "
       "deleted, version) VALUES ($1, $2, $3, $4, " TS("$5") ", " TS("$6") ", $7, $8) "
       "ON CONFLICT (id) DO UPDATE SET deleted = EXCLUDED.deleted, version = EXCLUDED.version "
       "WHERE dir_shifts.version < EXCLUDED.version AND dir_shifts.group_id = "
       "EXCLUDED.group_id");

  // -- work orders
  prep("dp_order_insert",
       "INSERT INTO work_orders (id, group_id, estate_id, state, priority, category, origin, "
       "origin_ref, unit_id, worker_ids, next_sla_at, next_escalation_at, version, created_at, "
       "updated_at, data, repair) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, '')::uuid, "
       "$10::uuid[], " TS_OR_NULL("$11") ", " TS_OR_NULL("$12") ", $13, " TS("$14") ", " TS(
           "$14") ", $15::bytea, $16) ON CONFLICT DO NOTHING RETURNING 1");
  prep("dp_order_update",
       "UPDATE work_orders SET state = $3, worker_ids = $4::uuid[], next_sla_at = " TS_OR_NULL(
           "$5") ", next_escalation_at = " TS_OR_NULL("$6") ", completed_at = " TS_OR_NULL(
           "$7") ", version = $8, updated_at = " TS("$9") ", data = $10::bytea "
                                                           "WHERE group_id = $1 AND id = $2");
  prep("dp_order_get", "SELECT data FROM work_orders WHERE group_id = $1 AND id = $2");
  prep("dp_order_get_locked",
       "SELECT data FROM work_orders WHERE group_id = $1 AND id = $2 FOR UPDATE");
  prep("dp_order_by_origin",
       "SELECT data FROM work_orders WHERE group_id = $1 AND origin_ref = $2 AND origin_ref <> '' "
       "FOR UPDATE");
  prep("dp_order_list",
       "SELECT data FROM work_orders WHERE group_id = $1 AND ($2 = '' OR estate_id = "
       "NULLIF($2, '')::uuid) AND ($3 = 0 OR state = $3) AND ($4 = '' OR worker_ids @> "
       "ARRAY[NULLIF($4, '')::uuid]) AND ($5 = 0 OR priority = $5) AND id > " AFTER(
           "$6") " ORDER BY id LIMIT $7");
  prep("dp_signature_put",
       "INSERT INTO signature_images (work_order_id, group_id, image) VALUES ($2, $1, "
       "$3::bytea) ON CONFLICT (work_order_id) DO UPDATE SET image = EXCLUDED.image");
  prep("dp_assignment_upsert",
       "INSERT INTO assignments (work_order_id, staff_id, group_id, assigned_at, open) "
       "VALUES ($2, $3, $1, " TS("$4") ", $5) ON CONFLICT (work_order_id, staff_id) DO UPDATE "
       "SET assigned_at = EXCLUDED.assigned_at, open = EXCLUDED.open");

  // -- assignment
  prep("dp_load_refresh",
       "INSERT INTO staff_load (staff_id, group_id, open_orders, last_assigned_at) "
       "VALUES ($2::uuid, $1, (SELECT count(*) FROM assignments WHERE staff_id = $2 AND open), "
       "(SELECT max(assigned_at) FROM assignments WHERE staff_id = $2)) "
       "ON CONFLICT (staff_id) DO UPDATE SET open_orders = "
       "EXCLUDED.open_orders, last_assigned_at = EXCLUDED.last_assigned_at");
  prep("dp_eligible",
       "SELECT s.id::text, COALESCE(l.open_orders, 0), " US("l.last_assigned_at") " FROM "
       "(SELECT DISTINCT staff_id FROM dir_shifts WHERE group_id = $1 AND estate_id = $2::uuid "
       "AND NOT deleted AND end_time > " TS("$4") " AND start_time <= " TS("$4") ") d "
       "JOIN dir_staff s ON s.id = d.staff_id LEFT JOIN staff_load l ON l.staff_id = s.id "
       "WHERE s.group_id = $1 AND s.active AND $3::int = ANY(s.skills) "
       "AND NOT (s.id = ANY($5::uuid[]))");
  prep("dp_decision_put",
       "INSERT INTO assignment_decisions (work_order_id, group_id, data) VALUES ($2, $1, "
       "$3::bytea) ON CONFLICT (work_order_id) DO UPDATE SET data = EXCLUDED.data");
  prep("dp_decision_get",
       "SELECT data FROM assignment_decisions WHERE group_id = $1 AND work_order_id = $2");

  // -- policies and prices
  prep("dp_policy_get", "SELECT data FROM sla_policies WHERE group_id = $1 AND estate_id = $2");
  prep("dp_policy_layers",
       "SELECT (SELECT data FROM sla_policies WHERE group_id = $1 AND estate_id = ''), "
       "(SELECT data FROM sla_policies WHERE group_id = $1 AND estate_id = $2), "
       "(SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = NULLIF($2, '')::uuid)");
  prep("dp_policy_put",
       "INSERT INTO sla_policies (group_id, estate_id, data, version, updated_at) VALUES ($1, "
       "$2, $3::bytea, 1, " TS("$4") ") ON CONFLICT (group_id, estate_id) DO UPDATE SET data = "
       "EXCLUDED.data, version = sla_policies.version + 1, updated_at = EXCLUDED.updated_at "
       "RETURNING version");
  // The estate's published price (a withdrawn one: not offered there), else the group's
  // standard price; rank 0 first.
  prep("dp_price_quote",
       "SELECT price_fen, per, withdrawn, 0 AS rank FROM prices WHERE group_id = $1 AND "
       "estate_id = $2 AND item_code = $3 UNION ALL SELECT price_fen, per, false, 1 FROM "
       "standard_prices WHERE group_id = $1 AND item_code = $3 ORDER BY rank LIMIT 1");
  prep("dp_price_billing",
       "INSERT INTO prices (group_id, estate_id, item_code, name, price_fen, withdrawn, source, "
       "version, per) VALUES ($1, $2, $3, $4, $5, $6, 'billing', $7, $8) ON CONFLICT (group_id, "
       "estate_id, item_code) DO UPDATE SET name = EXCLUDED.name, price_fen = "
       "EXCLUDED.price_fen, withdrawn = EXCLUDED.withdrawn, per = EXCLUDED.per, version = "
       "EXCLUDED.version WHERE prices.version < EXCLUDED.version");
  prep("dp_price_standard",
       "INSERT INTO standard_prices (group_id, item_code, name, price_fen, per, version) "
       "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_id, item_code) DO UPDATE SET name = "
       "EXCLUDED.name, price_fen = EXCLUDED.price_fen, per = EXCLUDED.per, version = "
       "EXCLUDED.version WHERE standard_prices.version < EXCLUDED.version");

  // -- timers
  prep("dp_due_sla",
       "SELECT data FROM work_orders WHERE next_sla_at <= " TS("$1") " ORDER BY next_sla_at "
       "LIMIT $2 FOR UPDATE SKIP LOCKED");
  prep("dp_due_escalation",
       "SELECT data FROM work_orders WHERE next_escalation_at <= " TS("$1") " ORDER BY "
       "next_escalation_at LIMIT $2 FOR UPDATE SKIP LOCKED");
  prep("dp_waiting",
       "SELECT data FROM work_orders WHERE state = 1 ORDER BY updated_at LIMIT $1 "
       "FOR UPDATE SKIP LOCKED");

  // -- repeat repairs
  prep("dp_repairs",
       "SELECT count(*)::int FROM work_orders WHERE group_id = $1 AND unit_id = $2 AND "
       "category = $3 AND completed_at >= " TS("$4") " AND state = 8 AND repair");
  prep("dp_preventive_raised",
       "SELECT 1 FROM work_orders WHERE group_id = $1 AND unit_id = $2 AND category = $3 AND "
       "origin = 4 AND created_at >= " TS("$4") " LIMIT 1");
}

void DispatchStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                 const std::string& time_zone, int64_t version) {
  tx.exec_prepared("dp_estate_upsert", id, group, time_zone, version);
}

void DispatchStore::UpsertStaff(pqxx::work& tx, const std::string& group, const dir::Staff& s) {
  std::vector<std::string> skills, estates;
  for (int skill : s.skills()) skills.push_back(absl::StrCat(skill));
  for (const auto& e : s.home_estate_ids()) estates.push_back(e);
  tx.exec_prepared("dp_staff_upsert", s.id(), group, s.active(), ArrayOf(skills), ArrayOf(estates),
                   s.version());
}

void DispatchStore::UpsertShift(pqxx::work& tx, const std::string& group, const dir::Shift& s,
                                bool deleted, int64_t version) {
  tx.exec_prepared("dp_shift_upsert", s.id(), group, s.estate_id(), s.staff_id(),
                   Micros(FromProtoTime(s.start_time())), Micros(FromProtoTime(s.end_time())),
                   deleted, version);
}

void DispatchStore::UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                               const std::string& estate_id, int64_t version) {
  tx.exec_prepared("dp_unit_upsert", id, group, estate_id, version);
}

void DispatchStore::UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                   const std::string& estate_id, const std::string& unit_id,
                                   int64_t version) {
  tx.exec_prepared("dp_resident_upsert", id, group, estate_id, unit_id, version);
}

std::optional<ResidentPlace> DispatchStore::ResidentOf(pqxx::work& tx, const std::string& group,
                                                       const std::string& resident) {
  pqxx::result res = tx.exec_prepared("dp_resident_get", group, resident);
  if (res.empty()) return std::nullopt;
  return ResidentPlace{Str(res[0][0]), Str(res[0][1])};
}

std::string DispatchStore::UnitEstate(pqxx::work& tx, const std::string& group,
                                      const std::string& unit) {
  pqxx::result res = tx.exec_prepared("dp_unit_estate", group, unit);
  return res.empty() ? "" : Str(res[0][0]);
}

std::string DispatchStore::EstateZone(pqxx::work& tx, const std::string& group,
                                      const std::string& estate) {
  pqxx::result res = tx.exec_prepared("dp_estate_zone", group, estate);
  return res.empty() ? "" : Str(res[0][0]);
}

bool DispatchStore::Insert(pqxx::work& tx, const pb::WorkOrder& o, const std::string& origin_ref,
                           absl::Time next_sla, absl::Time next_escalation) {
  pqxx::result res = tx.exec_prepared(
      "dp_order_insert", o.id(), o.group_id(), o.estate_id(), static_cast<int>(o.state()),
      static_cast<int>(o.priority()), static_cast<int>(o.category()), static_cast<int>(o.origin()),
      origin_ref, o.location().has_unit_id() ? o.location().unit_id() : std::string(),
      ArrayOf(ActiveWorkers(o)), MicrosOrNull(next_sla), MicrosOrNull(next_escalation), o.version(),
      Micros(FromProtoTime(o.create_time())), tx.esc_raw(o.SerializeAsString()), IsRepair(o));
  return !res.empty();
}

void DispatchStore::Update(pqxx::work& tx, const pb::WorkOrder& o, absl::Time next_sla,
                           absl::Time next_escalation, bool loads_changed) {
  absl::Time completed = o.state() == ::wuye::events::v1::WORK_ORDER_STATE_COMPLETED
                             ? FromProtoTime(o.update_time())
                             : absl::InfiniteFuture();
  tx.exec_prepared("dp_order_update", o.group_id(), o.id(), static_cast<int>(o.state()),
                   ArrayOf(ActiveWorkers(o)), MicrosOrNull(next_sla), MicrosOrNull(next_escalation),
                   MicrosOrNull(completed), o.version(), Micros(FromProtoTime(o.update_time())),
                   tx.esc_raw(o.SerializeAsString()));
  if (loads_changed) SyncLoads(tx, o);
}

void DispatchStore::SyncLoads(pqxx::work& tx, const pb::WorkOrder& o) {
  std::vector<std::string> active =
      IsOpen(o.state()) ? ActiveWorkers(o) : std::vector<std::string>();
  for (const auto& w : o.workers()) {
    bool open = std::find(active.begin(), active.end(), w.staff_id()) != active.end();
    tx.exec_prepared("dp_assignment_upsert", o.group_id(), o.id(), w.staff_id(),
                     Micros(FromProtoTime(w.assigned_at())), open);
    tx.exec_prepared("dp_load_refresh", o.group_id(), w.staff_id());
  }
}

std::optional<pb::WorkOrder> DispatchStore::Get(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update) {
  pqxx::result res =
      tx.exec_prepared(for_update ? "dp_order_get_locked" : "dp_order_get", group, id);
  if (res.empty()) return std::nullopt;
  return Parse<pb::WorkOrder>(res[0][0]);
}

std::optional<pb::WorkOrder> DispatchStore::GetByOrigin(pqxx::work& tx, const std::string& group,
                                                        const std::string& origin_ref) {
  pqxx::result res = tx.exec_prepared("dp_order_by_origin", group, origin_ref);
  if (res.empty()) return std::nullopt;
  return Parse<pb::WorkOrder>(res[0][0]);
}

std::vector<pb::WorkOrder> DispatchStore::List(pqxx::work& tx, const std::string& group,
                                               const ListFilter& f) {
  return Orders(tx.exec_prepared("dp_order_list", group, f.estate_id, f.state, f.worker_id,
                                 f.priority, f.after, f.limit));
}

void DispatchStore::SaveSignatureImage(pqxx::work& tx, const std::string& group,
                                       const std::string& id, const std::string& image) {
  tx.exec_prepared("dp_signature_put", group, id, tx.esc_raw(image));
}

std::vector<Candidate> DispatchStore::Eligible(pqxx::work& tx, const std::string& group,
                                               const std::string& estate, int skill, absl::Time now,
                                               const std::vector<std::string>& exclude) {
  pqxx::result res =
      tx.exec_prepared("dp_eligible", group, estate, skill, Micros(now), ArrayOf(exclude));
  std::vector<Candidate> out;
  out.reserve(res.size());
  for (const auto& r : res) {
    Candidate c;
    c.staff_id = Str(r[0]);
    c.open_orders = r[1].as<int>();
    if (!r[2].is_null()) c.last_assigned = absl::FromUnixMicros(r[2].as<int64_t>());
    out.push_back(std::move(c));
  }
  return out;
}

bool DispatchStore::StaffActive(pqxx::work& tx, const std::string& group,
                                const std::string& staff_id) {
  return !tx.exec_prepared("dp_staff_active", group, staff_id).empty();
}

void DispatchStore::SaveDecision(pqxx::work& tx, const std::string& group,
                                 const pb::AssignmentDecision& d) {
  tx.exec_prepared("dp_decision_put", group, d.work_order_id(), tx.esc_raw(d.SerializeAsString()));
}

std::optional<pb::AssignmentDecision> DispatchStore::Decision(pqxx::work& tx,
                                                              const std::string& group,
                                                              const std::string& order_id) {
  pqxx::result res = tx.exec_prepared("dp_decision_get", group, order_id);
  if (res.empty()) return std::nullopt;
  return Parse<pb::AssignmentDecision>(res[0][0]);
}

std::optional<pb::SlaPolicy> DispatchStore::Policy(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate) {
  pqxx::result res = tx.exec_prepared("dp_policy_get", group, estate);
  if (res.empty()) return std::nullopt;
  return Parse<pb::SlaPolicy>(res[0][0]);
}

PolicyLayers DispatchStore::Layers(pqxx::work& tx, const std::string& group,
                                   const std::string& estate) {
  pqxx::row r = tx.exec_prepared1("dp_policy_layers", group, estate);
  PolicyLayers out;
  if (!r[0].is_null()) out.group = Parse<pb::SlaPolicy>(r[0]);
  if (!r[1].is_null() && !estate.empty()) out.estate = Parse<pb::SlaPolicy>(r[1]);
  out.directory_zone = Str(r[2]);
  return out;
}

pb::SlaPolicy DispatchStore::PutPolicy(pqxx::work& tx, const std::string& group,
                                       pb::SlaPolicy policy, absl::Time now) {
  policy.clear_version();
  *policy.mutable_update_time() = ToProtoTime(now);
  pqxx::result res = tx.exec_prepared("dp_policy_put", group, policy.estate_id(),
                                      tx.esc_raw(policy.SerializeAsString()), Micros(now));
  policy.set_version(res[0][0].as<int64_t>());
  return policy;
}

std::optional<ListPrice> DispatchStore::QuotePrice(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& code) {
  pqxx::result res = tx.exec_prepared("dp_price_quote", group, estate, code);
  if (res.empty() || res[0][2].as<bool>()) return std::nullopt;
  ListPrice p;
  p.price_fen = res[0][0].as<int64_t>();
  p.per = Str(res[0][1]);
  p.source = res[0][3].as<int>() == 0 ? "estate" : "standard";
  return p;
}

void DispatchStore::PutBillingPrice(pqxx::work& tx, const std::string& group,
                                    const BillingPrice& p) {
  tx.exec_prepared("dp_price_billing", group, p.estate_id, p.item_code, p.name, p.price_fen,
                   p.withdrawn, p.version, p.per);
}

void DispatchStore::PutStandardPrice(pqxx::work& tx, const std::string& group,
                                     const BillingPrice& p) {
  tx.exec_prepared("dp_price_standard", group, p.item_code, p.name, p.price_fen, p.per, p.version);
}

std::vector<pb::WorkOrder> DispatchStore::DueSla(pqxx::work& tx, absl::Time now, int limit) {
  return Orders(tx.exec_prepared("dp_due_sla", Micros(now), limit));
}

std::vector<pb::WorkOrder> DispatchStore::DueEscalations(pqxx::work& tx, absl::Time now,
                                                         int limit) {
  return Orders(tx.exec_prepared("dp_due_escalation", Micros(now), limit));
}

std::vector<pb::WorkOrder> DispatchStore::Waiting(pqxx::work& tx, int limit) {
  return Orders(tx.exec_prepared("dp_waiting", limit));
}

int DispatchStore::CompletedRepairs(pqxx::work& tx, const std::string& group,
                                    const std::string& unit, int category, absl::Time since) {
  return tx.exec_prepared("dp_repairs", group, unit, category, Micros(since))[0][0].as<int>();
}

bool DispatchStore::PreventiveRaised(pqxx::work& tx, const std::string& group,
                                     const std::string& unit, int category, absl::Time since) {
  return !tx.exec_prepared("dp_preventive_raised", group, unit, category, Micros(since)).empty();
}

}  // namespace wuye::dispatch
