#include "services/dispatch/dispatch_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "shared/proto_time.h"
#include "shared/sql.h"
#include "shared/work_calendar_store.h"

namespace wuye::dispatch {
namespace {

namespace ev = ::wuye::events::v1;

using sql::Bytes;
using sql::Micros;
using sql::Text;
using sql::TimeOf;

// A time as the parameter WUYE_SQL_TIME_OR_NULL takes: an infinite one (no time) as -1.
int64_t MicrosOrNull(absl::Time t) {
  return t == absl::InfiniteFuture() || t == absl::InfinitePast() ? -1 : Micros(t);
}

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

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

}  // namespace

DispatchStore::DispatchStore(Db& db) { statements.PrepareOn(db); }

// ---- the directory copy ---------------------------------------------------------------------

const sql::Statement kEstateUpsert = statements.Add(
    "dp_estate_upsert",
    "INSERT INTO dir_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = "
    "EXCLUDED.version WHERE dir_estates.version < EXCLUDED.version "
    "AND dir_estates.group_id = EXCLUDED.group_id");

void DispatchStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                 const std::string& time_zone, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, time_zone, version);
}

const sql::Statement kStaffUpsert = statements.Add(
    "dp_staff_upsert",
    "INSERT INTO dir_staff (id, group_id, active, skills, home_estate_ids, version) "
    "VALUES ($1, $2, $3, $4::int[], $5::uuid[], $6) "
    "ON CONFLICT (id) DO UPDATE SET active = EXCLUDED.active, skills = EXCLUDED.skills, "
    "home_estate_ids = EXCLUDED.home_estate_ids, version = EXCLUDED.version "
    "WHERE dir_staff.version < EXCLUDED.version AND dir_staff.group_id = EXCLUDED.group_id");

void DispatchStore::UpsertStaff(pqxx::work& tx, const std::string& group,
                                const ev::StaffChanged& s) {
  std::vector<std::string> skills, estates;
  for (int skill : s.skills()) skills.push_back(absl::StrCat(skill));
  for (const auto& e : s.home_estate_ids()) estates.push_back(e);
  tx.exec_prepared(kStaffUpsert, s.staff_id(), group, s.active(), ArrayOf(skills), ArrayOf(estates),
                   s.version());
}

const sql::Statement kShiftUpsert = statements.Add(
    "dp_shift_upsert",
    "INSERT INTO dir_shifts (id, group_id, estate_id, staff_id, start_time, end_time, "
    "deleted, version) VALUES ($1, $2, $3, $4, " WUYE_SQL_TIME("$5") ", "
    WUYE_SQL_TIME("$6") ", $7, $8) "
    "ON CONFLICT (id) DO UPDATE SET deleted = EXCLUDED.deleted, version = EXCLUDED.version "
    "WHERE dir_shifts.version < EXCLUDED.version AND dir_shifts.group_id = "
    "EXCLUDED.group_id");

void DispatchStore::UpsertShift(pqxx::work& tx, const std::string& group, const ev::ShiftChanged& s,
                                bool deleted, int64_t version) {
  tx.exec_prepared(kShiftUpsert, s.shift_id(), group, s.estate_id(), s.staff_id(),
                   Micros(FromProtoTime(s.start_time())), Micros(FromProtoTime(s.end_time())),
                   deleted, version);
}

const sql::Statement kUnitUpsert = statements.Add(
    "dp_unit_upsert",
    "INSERT INTO dir_units (id, group_id, estate_id, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, version = "
    "EXCLUDED.version WHERE dir_units.version < EXCLUDED.version "
    "AND dir_units.group_id = EXCLUDED.group_id");

void DispatchStore::UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                               const std::string& estate_id, int64_t version) {
  tx.exec_prepared(kUnitUpsert, id, group, estate_id, version);
}

const sql::Statement kResidentUpsert = statements.Add(
    "dp_resident_upsert",
    "INSERT INTO dir_residents (id, group_id, estate_id, unit_id, version) VALUES ($1, $2, "
    "$3, NULLIF($4, '')::uuid, $5) ON CONFLICT (id) DO UPDATE SET estate_id = "
    "EXCLUDED.estate_id, unit_id = EXCLUDED.unit_id, version = EXCLUDED.version "
    "WHERE dir_residents.version < EXCLUDED.version "
    "AND dir_residents.group_id = EXCLUDED.group_id");

void DispatchStore::UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                   const std::string& estate_id, const std::string& unit_id,
                                   int64_t version) {
  tx.exec_prepared(kResidentUpsert, id, group, estate_id, unit_id, version);
}

const sql::Statement kResidentGet =
    statements.Add("dp_resident_get",
                   "SELECT estate_id::text, COALESCE(unit_id::text, '') FROM dir_residents "
                   "WHERE group_id = $1 AND id = $2");

std::optional<ResidentPlace> DispatchStore::ResidentOf(pqxx::work& tx, const std::string& group,
                                                       const std::string& resident) {
  pqxx::result res = tx.exec_prepared(kResidentGet, group, resident);
  if (res.empty()) return std::nullopt;
  return ResidentPlace{Text(res[0][0]), Text(res[0][1])};
}

const sql::Statement kUnitEstate = statements.Add(
    "dp_unit_estate", "SELECT estate_id::text FROM dir_units WHERE group_id = $1 AND id = $2");

std::string DispatchStore::UnitEstate(pqxx::work& tx, const std::string& group,
                                      const std::string& unit) {
  pqxx::result res = tx.exec_prepared(kUnitEstate, group, unit);
  return res.empty() ? "" : Text(res[0][0]);
}

const sql::Statement kEstateZone = statements.Add(
    "dp_estate_zone", "SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = $2");

std::string DispatchStore::EstateZone(pqxx::work& tx, const std::string& group,
                                      const std::string& estate) {
  pqxx::result res = tx.exec_prepared(kEstateZone, group, estate);
  return res.empty() ? "" : Text(res[0][0]);
}

// ---- work orders ----------------------------------------------------------------------------

const sql::Statement kOrderInsert = statements.Add(
    "dp_order_insert",
    "INSERT INTO work_orders (id, group_id, estate_id, state, priority, category, origin, "
    "origin_ref, unit_id, worker_ids, next_sla_at, next_escalation_at, version, created_at, "
    "updated_at, data, repair) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, '')::uuid, "
    "$10::uuid[], " WUYE_SQL_TIME_OR_NULL("$11") ", " WUYE_SQL_TIME_OR_NULL("$12") ", $13, "
    WUYE_SQL_TIME("$14") ", " WUYE_SQL_TIME("$14") ", $15::bytea, $16) "
    "ON CONFLICT DO NOTHING RETURNING 1");

// The SLA progress columns, mirrored from the order (issue 27).
const sql::Statement kOrderSla = statements.Add(
    "dp_order_sla",
    "UPDATE work_orders SET sla_spent_us = CASE WHEN $7::boolean THEN $3::bigint END, "
    "sla_settled_at = CASE WHEN $7::boolean THEN " WUYE_SQL_TIME("$4") " END, "
    "sla_running = CASE WHEN $7::boolean THEN $5::boolean END, "
    "sla_stopped_at = " WUYE_SQL_TIME_OR_NULL("$6") ", "
    "sla_met = CASE WHEN $6::bigint >= 0 THEN $8::boolean END, "
    "sla_met_unpaused = CASE WHEN $6::bigint >= 0 THEN $9::boolean END "
    "WHERE group_id = $1 AND id = $2");

static void PutSla(pqxx::work& tx, const pb::WorkOrder& o) {
  bool progress = HasProgress(o);
  tx.exec_prepared(kOrderSla, o.group_id(), o.id(),
                   absl::ToInt64Microseconds(FromProtoDuration(o.sla_spent())),
                   Micros(FromProtoTime(o.sla_settled_time())), o.sla_running(),
                   progress && o.has_sla_stopped_time()
                       ? Micros(FromProtoTime(o.sla_stopped_time()))
                       : int64_t{-1},
                   progress, o.sla_met(), o.sla_met_unpaused());
}

bool DispatchStore::Insert(pqxx::work& tx, const pb::WorkOrder& o, const std::string& origin_ref,
                           absl::Time next_sla, absl::Time next_escalation) {
  pqxx::result res = tx.exec_prepared(
      kOrderInsert, o.id(), o.group_id(), o.estate_id(), static_cast<int>(o.state()),
      static_cast<int>(o.priority()), static_cast<int>(o.category()), static_cast<int>(o.origin()),
      origin_ref, o.location().has_unit_id() ? o.location().unit_id() : std::string(),
      ArrayOf(ActiveWorkers(o)), MicrosOrNull(next_sla), MicrosOrNull(next_escalation), o.version(),
      Micros(FromProtoTime(o.create_time())), tx.esc_raw(o.SerializeAsString()), IsRepair(o));
  if (!res.empty()) PutSla(tx, o);
  return !res.empty();
}

const sql::Statement kOrderUpdate = statements.Add(
    "dp_order_update",
    "UPDATE work_orders SET state = $3, worker_ids = $4::uuid[], "
    "next_sla_at = " WUYE_SQL_TIME_OR_NULL("$5") ", "
    "next_escalation_at = " WUYE_SQL_TIME_OR_NULL("$6") ", "
    "completed_at = " WUYE_SQL_TIME_OR_NULL("$7") ", version = $8, "
    "updated_at = " WUYE_SQL_TIME("$9") ", data = $10::bytea "
    "WHERE group_id = $1 AND id = $2");

void DispatchStore::Update(pqxx::work& tx, const pb::WorkOrder& o, absl::Time next_sla,
                           absl::Time next_escalation, bool loads_changed) {
  absl::Time completed = o.state() == ::wuye::events::v1::WORK_ORDER_STATE_COMPLETED
                             ? FromProtoTime(o.update_time())
                             : absl::InfiniteFuture();
  tx.exec_prepared(kOrderUpdate, o.group_id(), o.id(), static_cast<int>(o.state()),
                   ArrayOf(ActiveWorkers(o)), MicrosOrNull(next_sla), MicrosOrNull(next_escalation),
                   MicrosOrNull(completed), o.version(), Micros(FromProtoTime(o.update_time())),
                   tx.esc_raw(o.SerializeAsString()));
  PutSla(tx, o);
  if (loads_changed) SyncLoads(tx, o);
}

const sql::Statement kAssignmentUpsert = statements.Add(
    "dp_assignment_upsert",
    "INSERT INTO assignments (work_order_id, staff_id, group_id, assigned_at, open) "
    "VALUES ($2, $3, $1, " WUYE_SQL_TIME("$4") ", $5) "
    "ON CONFLICT (work_order_id, staff_id) DO UPDATE "
    "SET assigned_at = EXCLUDED.assigned_at, open = EXCLUDED.open");

const sql::Statement kLoadRefresh = statements.Add(
    "dp_load_refresh",
    "INSERT INTO staff_load (staff_id, group_id, open_orders, last_assigned_at) "
    "VALUES ($2::uuid, $1, (SELECT count(*) FROM assignments WHERE staff_id = $2 AND open), "
    "(SELECT max(assigned_at) FROM assignments WHERE staff_id = $2)) "
    "ON CONFLICT (staff_id) DO UPDATE SET open_orders = "
    "EXCLUDED.open_orders, last_assigned_at = EXCLUDED.last_assigned_at");

void DispatchStore::SyncLoads(pqxx::work& tx, const pb::WorkOrder& o) {
  std::vector<std::string> active =
      IsOpen(o.state()) ? ActiveWorkers(o) : std::vector<std::string>();
  for (const auto& w : o.workers()) {
    bool open = std::find(active.begin(), active.end(), w.staff_id()) != active.end();
    tx.exec_prepared(kAssignmentUpsert, o.group_id(), o.id(), w.staff_id(),
                     Micros(FromProtoTime(w.assigned_at())), open);
    tx.exec_prepared(kLoadRefresh, o.group_id(), w.staff_id());
  }
}

const sql::Statement kOrderGet =
    statements.Add("dp_order_get", "SELECT data FROM work_orders WHERE group_id = $1 AND id = $2");
const sql::Statement kOrderGetLocked =
    statements.Add("dp_order_get_locked",
                   "SELECT data FROM work_orders WHERE group_id = $1 AND id = $2 FOR UPDATE");

std::optional<pb::WorkOrder> DispatchStore::Get(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update) {
  // Whoever changes an order may read its calendar: the calendars' lock before the row's
  // (shared/work_calendar_store.h), so a calendar change never deadlocks with it.
  if (for_update) LockWorkCalendars(tx, group, CalendarLock::kShared);
  pqxx::result res = tx.exec_prepared(for_update ? kOrderGetLocked : kOrderGet, group, id);
  if (res.empty()) return std::nullopt;
  return Parse<pb::WorkOrder>(res[0][0]);
}

const sql::Statement kOrderByOrigin = statements.Add(
    "dp_order_by_origin",
    "SELECT data FROM work_orders WHERE group_id = $1 AND origin_ref = $2 AND origin_ref <> '' "
    "FOR UPDATE");

std::optional<pb::WorkOrder> DispatchStore::GetByOrigin(pqxx::work& tx, const std::string& group,
                                                        const std::string& origin_ref) {
  LockWorkCalendars(tx, group, CalendarLock::kShared);  // before the row, as in Get
  pqxx::result res = tx.exec_prepared(kOrderByOrigin, group, origin_ref);
  if (res.empty()) return std::nullopt;
  return Parse<pb::WorkOrder>(res[0][0]);
}

const sql::Statement kOrderList =
    statements.Add("dp_order_list",
                   "SELECT data FROM work_orders WHERE group_id = $1 AND ($2 = '' OR estate_id = "
                   "NULLIF($2, '')::uuid) AND ($3 = 0 OR state = $3) AND ($4 = '' OR worker_ids @> "
                   "ARRAY[NULLIF($4, '')::uuid]) AND ($5 = 0 OR priority = $5) AND "
                   "id > " WUYE_SQL_AFTER("$6") " ORDER BY id LIMIT $7");

std::vector<pb::WorkOrder> DispatchStore::List(pqxx::work& tx, const std::string& group,
                                               const ListFilter& f) {
  return Orders(tx.exec_prepared(kOrderList, group, f.estate_id, f.state, f.worker_id, f.priority,
                                 f.after, f.limit));
}

const sql::Statement kSignaturePut =
    statements.Add("dp_signature_put",
                   "INSERT INTO signature_images (work_order_id, group_id, image) VALUES ($2, $1, "
                   "$3::bytea) ON CONFLICT (work_order_id) DO UPDATE SET image = EXCLUDED.image");

void DispatchStore::SaveSignatureImage(pqxx::work& tx, const std::string& group,
                                       const std::string& id, const std::string& image) {
  tx.exec_prepared(kSignaturePut, group, id, tx.esc_raw(image));
}

// ---- assignment -----------------------------------------------------------------------------

const sql::Statement kEligible = statements.Add(
    "dp_eligible",
    "SELECT s.id::text, COALESCE(l.open_orders, 0), " WUYE_SQL_MICROS("l.last_assigned_at") " FROM "
    "(SELECT DISTINCT staff_id FROM dir_shifts WHERE group_id = $1 AND estate_id = $2::uuid "
    "AND NOT deleted AND end_time > " WUYE_SQL_TIME("$4") " "
    "AND start_time <= " WUYE_SQL_TIME("$4") ") d "
    "JOIN dir_staff s ON s.id = d.staff_id LEFT JOIN staff_load l ON l.staff_id = s.id "
    "WHERE s.group_id = $1 AND s.active AND $3::int = ANY(s.skills) "
    "AND NOT (s.id = ANY($5::uuid[]))");

std::vector<Candidate> DispatchStore::Eligible(pqxx::work& tx, const std::string& group,
                                               const std::string& estate, int skill, absl::Time now,
                                               const std::vector<std::string>& exclude) {
  pqxx::result res =
      tx.exec_prepared(kEligible, group, estate, skill, Micros(now), ArrayOf(exclude));
  std::vector<Candidate> out;
  out.reserve(res.size());
  for (const auto& r : res) {
    Candidate c;
    c.staff_id = Text(r[0]);
    c.open_orders = r[1].as<int>();
    if (!r[2].is_null()) c.last_assigned = TimeOf(r[2]);
    out.push_back(std::move(c));
  }
  return out;
}

const sql::Statement kStaffActive = statements.Add(
    "dp_staff_active", "SELECT 1 FROM dir_staff WHERE group_id = $1 AND id = $2 AND active");

bool DispatchStore::StaffActive(pqxx::work& tx, const std::string& group,
                                const std::string& staff_id) {
  return !tx.exec_prepared(kStaffActive, group, staff_id).empty();
}

const sql::Statement kDecisionPut = statements.Add(
    "dp_decision_put",
    "INSERT INTO assignment_decisions (work_order_id, group_id, data) VALUES ($2, $1, "
    "$3::bytea) ON CONFLICT (work_order_id) DO UPDATE SET data = EXCLUDED.data");

void DispatchStore::SaveDecision(pqxx::work& tx, const std::string& group,
                                 const pb::AssignmentDecision& d) {
  tx.exec_prepared(kDecisionPut, group, d.work_order_id(), tx.esc_raw(d.SerializeAsString()));
}

const sql::Statement kDecisionGet = statements.Add(
    "dp_decision_get",
    "SELECT data FROM assignment_decisions WHERE group_id = $1 AND work_order_id = $2");

std::optional<pb::AssignmentDecision> DispatchStore::Decision(pqxx::work& tx,
                                                              const std::string& group,
                                                              const std::string& order_id) {
  pqxx::result res = tx.exec_prepared(kDecisionGet, group, order_id);
  if (res.empty()) return std::nullopt;
  return Parse<pb::AssignmentDecision>(res[0][0]);
}

// ---- policies and prices --------------------------------------------------------------------

const sql::Statement kPolicyGet =
    statements.Add("dp_policy_get",
                   "SELECT data, version FROM sla_policies WHERE group_id = $1 AND estate_id = $2");

std::optional<pb::SlaPolicy> DispatchStore::Policy(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate) {
  pqxx::result res = tx.exec_prepared(kPolicyGet, group, estate);
  if (res.empty()) return std::nullopt;
  // The data is stored without its version (PutPolicy); the column has it.
  pb::SlaPolicy policy = Parse<pb::SlaPolicy>(res[0][0]);
  policy.set_version(res[0][1].as<int64_t>());
  return policy;
}

const sql::Statement kPolicyLayers = statements.Add(
    "dp_policy_layers",
    "SELECT (SELECT data FROM sla_policies WHERE group_id = $1 AND estate_id = ''), "
    "(SELECT data FROM sla_policies WHERE group_id = $1 AND estate_id = $2), "
    "(SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = NULLIF($2, '')::uuid)");

PolicyLayers DispatchStore::Layers(pqxx::work& tx, const std::string& group,
                                   const std::string& estate) {
  pqxx::row r = tx.exec_prepared1(kPolicyLayers, group, estate);
  PolicyLayers out;
  if (!r[0].is_null()) out.group = Parse<pb::SlaPolicy>(r[0]);
  if (!r[1].is_null() && !estate.empty()) out.estate = Parse<pb::SlaPolicy>(r[1]);
  out.directory_zone = Text(r[2]);
  return out;
}

const sql::Statement kPolicyPut = statements.Add(
    "dp_policy_put",
    "INSERT INTO sla_policies (group_id, estate_id, data, version, updated_at) VALUES ($1, "
    "$2, $3::bytea, 1, " WUYE_SQL_TIME("$4") ") "
    "ON CONFLICT (group_id, estate_id) DO UPDATE SET data = "
    "EXCLUDED.data, version = sla_policies.version + 1, updated_at = EXCLUDED.updated_at "
    "RETURNING version");

pb::SlaPolicy DispatchStore::PutPolicy(pqxx::work& tx, const std::string& group,
                                       pb::SlaPolicy policy, absl::Time now) {
  policy.clear_version();
  *policy.mutable_update_time() = ToProtoTime(now);
  pqxx::result res = tx.exec_prepared(kPolicyPut, group, policy.estate_id(),
                                      tx.esc_raw(policy.SerializeAsString()), Micros(now));
  policy.set_version(res[0][0].as<int64_t>());
  return policy;
}

// The estate's published price (a withdrawn one: not offered there), else the group's
// standard price; rank 0 first.
const sql::Statement kPriceQuote = statements.Add(
    "dp_price_quote",
    "SELECT price_fen, per, withdrawn, 0 AS rank FROM prices WHERE group_id = $1 AND "
    "estate_id = $2 AND item_code = $3 UNION ALL SELECT price_fen, per, false, 1 FROM "
    "standard_prices WHERE group_id = $1 AND item_code = $3 ORDER BY rank LIMIT 1");

std::optional<ListPrice> DispatchStore::QuotePrice(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& code) {
  pqxx::result res = tx.exec_prepared(kPriceQuote, group, estate, code);
  if (res.empty() || res[0][2].as<bool>()) return std::nullopt;
  ListPrice p;
  p.price_fen = res[0][0].as<int64_t>();
  p.per = Text(res[0][1]);
  p.source = res[0][3].as<int>() == 0 ? "estate" : "standard";
  return p;
}

const sql::Statement kPriceBilling = statements.Add(
    "dp_price_billing",
    "INSERT INTO prices (group_id, estate_id, item_code, name, price_fen, withdrawn, source, "
    "version, per) VALUES ($1, $2, $3, $4, $5, $6, 'billing', $7, $8) ON CONFLICT (group_id, "
    "estate_id, item_code) DO UPDATE SET name = EXCLUDED.name, price_fen = "
    "EXCLUDED.price_fen, withdrawn = EXCLUDED.withdrawn, per = EXCLUDED.per, version = "
    "EXCLUDED.version WHERE prices.version < EXCLUDED.version");

void DispatchStore::PutBillingPrice(pqxx::work& tx, const std::string& group,
                                    const BillingPrice& p) {
  tx.exec_prepared(kPriceBilling, group, p.estate_id, p.item_code, p.name, p.price_fen, p.withdrawn,
                   p.version, p.per);
}

const sql::Statement kPriceStandard = statements.Add(
    "dp_price_standard",
    "INSERT INTO standard_prices (group_id, item_code, name, price_fen, per, version) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_id, item_code) DO UPDATE SET name = "
    "EXCLUDED.name, price_fen = EXCLUDED.price_fen, per = EXCLUDED.per, version = "
    "EXCLUDED.version WHERE standard_prices.version < EXCLUDED.version");

void DispatchStore::PutStandardPrice(pqxx::work& tx, const std::string& group,
                                     const BillingPrice& p) {
  tx.exec_prepared(kPriceStandard, group, p.item_code, p.name, p.price_fen, p.per, p.version);
}

// ---- SLA progress and pauses ----------------------------------------------------------------

const sql::Statement kPausePut = statements.Add(
    "dp_pause_put",
    "INSERT INTO work_order_pauses (id, group_id, estate_id, work_order_id, reason_code, "
    "worker_ids, paused_at, resumed_at) VALUES ($3, $1, $2, $4, $5, $6::uuid[], "
    WUYE_SQL_TIME("$7") ", " WUYE_SQL_TIME_OR_NULL("$8") ") "
    "ON CONFLICT (id) DO UPDATE SET resumed_at = EXCLUDED.resumed_at "
    "WHERE work_order_pauses.group_id = EXCLUDED.group_id");

void DispatchStore::PutPause(pqxx::work& tx, const pb::WorkOrder& o, const pb::Pause& p) {
  std::vector<std::string> workers(p.worker_ids().begin(), p.worker_ids().end());
  tx.exec_prepared(kPausePut, o.group_id(), o.estate_id(), p.id(), o.id(), p.reason_code(),
                   ArrayOf(workers), Micros(FromProtoTime(p.paused_at())),
                   p.has_resumed_at() ? Micros(FromProtoTime(p.resumed_at())) : int64_t{-1});
}

const sql::Statement kOpenClocks = statements.Add(
    "dp_open_clocks",
    "SELECT data FROM work_orders WHERE group_id = $1 AND ($2 = '' OR estate_id = "
    "NULLIF($2, '')::uuid) AND sla_settled_at IS NOT NULL AND sla_stopped_at IS NULL "
    "AND state NOT IN (8, 9) ORDER BY id FOR UPDATE");

std::vector<pb::WorkOrder> DispatchStore::OpenClocks(pqxx::work& tx, const std::string& group,
                                                     const std::string& estate) {
  return Orders(tx.exec_prepared(kOpenClocks, group, estate));
}

// The same, read without locking them (the report), made before `$3`.
const sql::Statement kOpenClocksRead = statements.Add(
    "dp_open_clocks_read",
    "SELECT data FROM work_orders WHERE group_id = $1 AND estate_id = $2::uuid "
    "AND sla_settled_at IS NOT NULL AND sla_stopped_at IS NULL AND state NOT IN (8, 9) "
    "AND created_at < " WUYE_SQL_TIME("$3") " ORDER BY id");

std::vector<pb::WorkOrder> DispatchStore::OpenClocksBefore(pqxx::work& tx,
                                                           const std::string& group,
                                                           const std::string& estate,
                                                           absl::Time before) {
  return Orders(tx.exec_prepared(kOpenClocksRead, group, estate, Micros(before)));
}

const sql::Statement kReasonsGet = statements.Add(
    "dp_reasons_get", "SELECT data, version FROM pause_reasons WHERE group_id = $1");

std::optional<pb::PauseReasons> DispatchStore::PauseReasons(pqxx::work& tx,
                                                            const std::string& group) {
  pqxx::result res = tx.exec_prepared(kReasonsGet, group);
  if (res.empty()) return std::nullopt;
  pb::PauseReasons out = Parse<pb::PauseReasons>(res[0][0]);
  out.set_version(res[0][1].as<int64_t>());
  return out;
}

const sql::Statement kReasonsPut = statements.Add(
    "dp_reasons_put",
    "INSERT INTO pause_reasons (group_id, data, version, updated_at) VALUES ($1, $2::bytea, 1, "
    WUYE_SQL_TIME("$3") ") ON CONFLICT (group_id) DO UPDATE SET data = EXCLUDED.data, "
    "version = pause_reasons.version + 1, updated_at = EXCLUDED.updated_at RETURNING version");

pb::PauseReasons DispatchStore::PutPauseReasons(pqxx::work& tx, const std::string& group,
                                                pb::PauseReasons reasons, absl::Time now) {
  reasons.clear_version();
  pqxx::result res =
      tx.exec_prepared(kReasonsPut, group, tx.esc_raw(reasons.SerializeAsString()), Micros(now));
  reasons.set_version(res[0][0].as<int64_t>());
  return reasons;
}

const sql::Statement kOrderEstates = statements.Add(
    "dp_order_estates",
    "SELECT DISTINCT estate_id::text FROM work_orders WHERE group_id = $1 ORDER BY 1");

std::vector<std::string> DispatchStore::OrderEstates(pqxx::work& tx, const std::string& group) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared(kOrderEstates, group)) out.push_back(Text(r[0]));
  return out;
}

// Orders whose clock stopped in [from, to) (not cancelled), per estate ('' ) and per worker.
const sql::Statement kSlaMet = statements.Add(
    "dp_sla_met",
    "SELECT '' AS staff, count(*)::int, (count(*) FILTER (WHERE sla_met))::int, "
    "(count(*) FILTER (WHERE sla_met_unpaused))::int FROM work_orders WHERE group_id = $1 "
    "AND estate_id = $2::uuid AND sla_stopped_at >= " WUYE_SQL_TIME("$3") " AND sla_stopped_at < "
    WUYE_SQL_TIME("$4") " AND state <> 9 "
    "UNION ALL SELECT w::text, count(*)::int, (count(*) FILTER (WHERE sla_met))::int, "
    "(count(*) FILTER (WHERE sla_met_unpaused))::int FROM work_orders, unnest(worker_ids) w "
    "WHERE group_id = $1 AND estate_id = $2::uuid AND sla_stopped_at >= " WUYE_SQL_TIME("$3") " "
    "AND sla_stopped_at < " WUYE_SQL_TIME("$4") " AND state <> 9 GROUP BY w");

// The time of pauses within [from, to) (an active pause until `now`), per estate and worker.
const sql::Statement kSlaPaused = statements.Add(
    "dp_sla_paused",
    "WITH p AS (SELECT worker_ids, (extract(epoch FROM least(COALESCE(resumed_at, "
    WUYE_SQL_TIME("$5") "), " WUYE_SQL_TIME("$4") ") - greatest(paused_at, " WUYE_SQL_TIME("$3")
    ")) * 1000000)::bigint AS us FROM work_order_pauses WHERE group_id = $1 AND estate_id = "
    "$2::uuid AND paused_at < " WUYE_SQL_TIME("$4") " AND COALESCE(resumed_at, "
    WUYE_SQL_TIME("$5") ") > " WUYE_SQL_TIME("$3") ") "
    "SELECT '' AS staff, count(*)::int, COALESCE(sum(us), 0)::bigint FROM p "
    "UNION ALL SELECT w::text, count(*)::int, COALESCE(sum(us), 0)::bigint FROM p, "
    "unnest(worker_ids) w GROUP BY w");

std::vector<DispatchStore::SlaRow> DispatchStore::SlaRows(pqxx::work& tx, const std::string& group,
                                                          const std::string& estate,
                                                          absl::Time from, absl::Time to,
                                                          absl::Time now) {
  std::vector<SlaRow> rows;
  auto row = [&](const std::string& staff) -> SlaRow& {
    for (auto& r : rows) {
      if (r.staff_id == staff) return r;
    }
    rows.push_back(SlaRow{staff});
    return rows.back();
  };
  row("");  // the estate's row first, even when empty
  for (const auto& r : tx.exec_prepared(kSlaMet, group, estate, Micros(from), Micros(to))) {
    SlaRow& out = row(Text(r[0]));
    out.orders = r[1].as<int>();
    out.met = r[2].as<int>();
    out.met_unpaused = r[3].as<int>();
  }
  for (const auto& r :
       tx.exec_prepared(kSlaPaused, group, estate, Micros(from), Micros(to), Micros(now))) {
    SlaRow& out = row(Text(r[0]));
    out.pauses = r[1].as<int>();
    out.paused = absl::Microseconds(r[2].as<int64_t>());
  }
  std::sort(rows.begin() + 1, rows.end(),
            [](const SlaRow& a, const SlaRow& b) { return a.staff_id < b.staff_id; });
  return rows;
}

// ---- timers ---------------------------------------------------------------------------------

const sql::Statement kDueSla = statements.Add(
    "dp_due_sla",
    "SELECT data FROM work_orders WHERE next_sla_at <= " WUYE_SQL_TIME("$1") " "
    "ORDER BY next_sla_at "
    "LIMIT $2 FOR UPDATE SKIP LOCKED");

std::vector<pb::WorkOrder> DispatchStore::DueSla(pqxx::work& tx, absl::Time now, int limit) {
  return Orders(tx.exec_prepared(kDueSla, Micros(now), limit));
}

const sql::Statement kDueEscalation = statements.Add(
    "dp_due_escalation",
    "SELECT data FROM work_orders WHERE next_escalation_at <= " WUYE_SQL_TIME("$1") " ORDER BY "
    "next_escalation_at LIMIT $2 FOR UPDATE SKIP LOCKED");

std::vector<pb::WorkOrder> DispatchStore::DueEscalations(pqxx::work& tx, absl::Time now,
                                                         int limit) {
  return Orders(tx.exec_prepared(kDueEscalation, Micros(now), limit));
}

const sql::Statement kWaiting =
    statements.Add("dp_waiting",
                   "SELECT data FROM work_orders WHERE state = 1 ORDER BY updated_at LIMIT $1 "
                   "FOR UPDATE SKIP LOCKED");

std::vector<pb::WorkOrder> DispatchStore::Waiting(pqxx::work& tx, int limit) {
  return Orders(tx.exec_prepared(kWaiting, limit));
}

// ---- repeat repairs -------------------------------------------------------------------------

const sql::Statement kRepairs = statements.Add(
    "dp_repairs",
    "SELECT count(*)::int FROM work_orders WHERE group_id = $1 AND unit_id = $2 AND "
    "category = $3 AND completed_at >= " WUYE_SQL_TIME("$4") " AND state = 8 AND repair");

int DispatchStore::CompletedRepairs(pqxx::work& tx, const std::string& group,
                                    const std::string& unit, int category, absl::Time since) {
  return tx.exec_prepared(kRepairs, group, unit, category, Micros(since))[0][0].as<int>();
}

const sql::Statement kPreventiveRaised = statements.Add(
    "dp_preventive_raised",
    "SELECT 1 FROM work_orders WHERE group_id = $1 AND unit_id = $2 AND category = $3 AND "
    "origin = 4 AND created_at >= " WUYE_SQL_TIME("$4") " LIMIT 1");

bool DispatchStore::PreventiveRaised(pqxx::work& tx, const std::string& group,
                                     const std::string& unit, int category, absl::Time since) {
  return !tx.exec_prepared(kPreventiveRaised, group, unit, category, Micros(since)).empty();
}

}  // namespace wuye::dispatch
