#include "services/eldercare/eldercare_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::eldercare {
namespace {

// Times cross the wire as Unix microseconds, dates as 'YYYY-MM-DD' text.
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(param) "to_timestamp(" param "::float8 / 1000000)"
#define AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, '00000000-0000-0000-0000-000000000000')"
#define AFTER_DESC(param) \
  "COALESCE(NULLIF(" param ", '')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')"
// The estate's local date at a time: eldercare's copy of the estate's zone, else the one
// default of every service (shared/zone.h).
#define LOCAL_DAY(ts, estate)                                                                  \
  "(" ts " AT TIME ZONE COALESCE(NULLIF((SELECT time_zone FROM dir_estates WHERE id = " estate \
  "), ''), " WUYE_SQL_DEFAULT_ESTATE_ZONE "))::date"

constexpr char kElderCols[] =
    "id, group_id, estate_id, unit_id, resident_id, state, enrolled_on::text, "
    "COALESCE(exited_on::text, ''), consent_scope, consent_version, " US(
        "consent_signed_at") ", consent_signed_by, visit_every_days, next_visit_due::text, "
                             "paid_through::text, deposit_held, version, " US(
                                 "created_at") ", " US("updated_at") ", family_call_fund_fen";
constexpr char kCheckupCols[] =
    "id, elder_id, estate_id, performed_on::text, cost_fen, has_care_plan, "
    "COALESCE(follow_up_on::text, ''), " US("created_at") ", advance_fen";
constexpr char kSafetyCols[] =
    "id, estate_id, reason, homes, " US("raised_at") ", COALESCE(" US("completed_at") ", 0)";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
google::protobuf::Timestamp Stamp(const pqxx::field& f) {
  return ToProtoTime(absl::FromUnixMicros(f.as<int64_t>()));
}
std::string Str(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }

std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return std::nullopt;
  }
  return absl::CivilDay(y, m, d);
}
v1::Date DateOf(const pqxx::field& f) {
  auto day = ParseDay(Str(f));
  return day ? ToDate(*day) : v1::Date();
}
std::string DayParam(const std::optional<absl::CivilDay>& day) { return day ? DayText(*day) : ""; }

v1::Elder ElderRow(const pqxx::row& r) {
  v1::Elder e;
  e.set_id(Str(r[0]));
  e.set_group_id(Str(r[1]));
  e.set_estate_id(Str(r[2]));
  e.set_unit_id(Str(r[3]));
  e.set_resident_id(Str(r[4]));
  e.set_state(static_cast<v1::ElderState>(r[5].as<int>()));
  *e.mutable_enrolled_on() = DateOf(r[6]);
  if (!Str(r[7]).empty()) *e.mutable_exited_on() = DateOf(r[7]);
  e.mutable_consent()->set_scope(Str(r[8]));
  e.mutable_consent()->set_version(Str(r[9]));
  *e.mutable_consent()->mutable_signed_at() = Stamp(r[10]);
  e.mutable_consent()->set_signed_by(Str(r[11]));
  e.set_visit_every_days(r[12].as<int>());
  *e.mutable_next_visit_due() = DateOf(r[13]);
  *e.mutable_paid_through() = DateOf(r[14]);
  e.set_deposit_held(r[15].as<bool>());
  e.set_version(r[16].as<int64_t>());
  *e.mutable_create_time() = Stamp(r[17]);
  *e.mutable_update_time() = Stamp(r[18]);
  e.set_family_call_fund_fen(r[19].as<int64_t>());
  return e;
}

v1::Checkup CheckupRow(const pqxx::row& r) {
  v1::Checkup c;
  c.set_id(Str(r[0]));
  c.set_elder_id(Str(r[1]));
  c.set_estate_id(Str(r[2]));
  *c.mutable_performed_on() = DateOf(r[3]);
  c.set_cost_fen(r[4].as<int64_t>());
  c.set_has_care_plan(r[5].as<bool>());
  if (!Str(r[6]).empty()) *c.mutable_follow_up_on() = DateOf(r[6]);
  *c.mutable_create_time() = Stamp(r[7]);
  c.set_advance_fen(r[8].as<int64_t>());
  return c;
}

UnchargedDay DayRow(const pqxx::row& r) {
  UnchargedDay d;
  d.id = Str(r[0]);
  d.group_id = Str(r[1]);
  d.estate_id = Str(r[2]);
  d.elder_id = Str(r[3]);
  d.unit_id = Str(r[4]);
  d.resident_id = Str(r[5]);
  d.kind = static_cast<v1::CareKind>(r[6].as<int>());
  d.day = *ParseDay(Str(r[7]));
  return d;
}

template <class T, class F>
std::vector<T> Rows(const pqxx::result& res, F row) {
  std::vector<T> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(row(r));
  return out;
}

}  // namespace

EldercareStore::EldercareStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  // -- the directory copy
  prep("ec_estate_upsert",
       "INSERT INTO dir_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
       "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = "
       "EXCLUDED.version WHERE dir_estates.version < EXCLUDED.version "
       "AND dir_estates.group_id = EXCLUDED.group_id");
  prep("ec_unit_upsert",
       "INSERT INTO dir_units (id, group_id, estate_id, version) VALUES ($1, $2, $3, $4) "
       "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, version = "
       "EXCLUDED.version WHERE dir_units.version < EXCLUDED.version "
       "AND dir_units.group_id = EXCLUDED.group_id");
  prep("ec_resident_upsert",
       "INSERT INTO dir_residents (id, group_id, estate_id, unit_id, role, birth_date, "
       "lease_start, lease_end, version) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::date, "
       "NULLIF($7, '')::date, NULLIF($8, '')::date, $9) "
       "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, unit_id = "
       "EXCLUDED.unit_id, role = EXCLUDED.role, birth_date = EXCLUDED.birth_date, "
       "lease_start = EXCLUDED.lease_start, lease_end = EXCLUDED.lease_end, version = "
       "EXCLUDED.version WHERE dir_residents.version < EXCLUDED.version "
       "AND dir_residents.group_id = EXCLUDED.group_id");
  prep("ec_resident_get",
       "SELECT id, estate_id, unit_id, role, COALESCE(birth_date::text, ''), "
       "COALESCE(lease_start::text, ''), COALESCE(lease_end::text, ''), version "
       "FROM dir_residents WHERE group_id = $1 AND id = $2");
  prep("ec_estate_zone", "SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = $2");

  // -- elders
  prep("ec_elder_insert",
       absl::StrCat("INSERT INTO elders (id, group_id, estate_id, unit_id, resident_id, "
                    "state, "
                    "enrolled_on, consent_scope, consent_version, consent_signed_at, "
                    "consent_signed_by, "
                    "id_digest, visit_every_days, next_visit_due, paid_through, "
                    "deposit_held, "
                    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6::date, "
                    "$7, $8, " TS("$9") ", $10, $11::bytea, $12, $13::date, $14::date, "
                                        "true, " TS("$15") ", " TS("$15") ") RETURNING ",
                    kElderCols));
  prep("ec_elder_get",
       absl::StrCat("SELECT ", kElderCols, " FROM elders WHERE group_id = $1 AND id = $2"));
  prep("ec_elder_get_locked", absl::StrCat("SELECT ", kElderCols,
                                           " FROM elders WHERE group_id = $1 AND id = $2 "
                                           "FOR UPDATE"));
  prep("ec_elder_resident_enrolled",
       "SELECT 1 FROM elders WHERE group_id = $1 AND resident_id = $2 AND state = 1");
  prep("ec_elder_digest_enrolled",
       "SELECT 1 FROM elders WHERE group_id = $1 AND id_digest = $2::bytea AND state = 1");
  prep("ec_elder_list",
       absl::StrCat("SELECT ", kElderCols,
                    " FROM elders WHERE group_id = $1 AND estate_id = $2 AND ($3 = 0 OR state = "
                    "$3) AND id > " AFTER("$4") " ORDER BY id LIMIT $5"));
  prep("ec_elder_exit",
       absl::StrCat("UPDATE elders SET state = 2, exited_on = $3::date, exit_reason = $4, "
                    "deposit_held = false, version = version + 1, updated_at = " TS(
                        "$5") " WHERE group_id = $1 AND id = $2 RETURNING ",
                    kElderCols));
  prep("ec_elder_next_visit",
       "UPDATE elders SET next_visit_due = $3::date, version = version + 1, updated_at = " TS(
           "$4") " WHERE group_id = $1 AND id = $2");
  prep("ec_elder_contacts_bump",
       "UPDATE elders SET contacts_version = contacts_version + 1, updated_at = " TS(
           "$3") " WHERE group_id = $1 AND id = $2 RETURNING contacts_version");
  prep("ec_elder_contacts_version",
       "SELECT contacts_version FROM elders WHERE group_id = $1 AND id = $2");
  prep("ec_elder_due",
       absl::StrCat("SELECT ", kElderCols,
                    " FROM elders WHERE group_id = $1 AND estate_id = $2 AND state = 1 AND "
                    "next_visit_due <= $3::date ORDER BY next_visit_due, id LIMIT $4"));
  prep("ec_elder_enrolled_in_estate",
       absl::StrCat("SELECT ", kElderCols,
                    " FROM elders WHERE group_id = $1 AND estate_id = $2 AND state = 1 "
                    "ORDER BY id"));
  prep("ec_elder_due_renewal",
       absl::StrCat("SELECT ", kElderCols,
                    " FROM elders e WHERE state = 1 AND paid_through <= " LOCAL_DAY(
                        TS("$1"), "e.estate_id") " ORDER BY paid_through, id LIMIT $2 "
                                                 "FOR UPDATE SKIP LOCKED"));
  prep("ec_elder_paid_through",
       "UPDATE elders SET paid_through = $2::date, version = version + 1, updated_at = " TS(
           "$3") " WHERE id = $1");

  // -- health card metadata
  prep("ec_card_meta",
       "SELECT version, " US("updated_at") " FROM health_cards WHERE group_id = $1 AND "
                                           "elder_id = $2");
  prep("ec_card_upsert",
       "INSERT INTO health_cards (elder_id, group_id, version, updated_at, updated_by) "
       "VALUES ($2, $1, 1, " TS("$4") ", $3) ON CONFLICT (elder_id) DO UPDATE SET version = "
                                      "health_cards.version + 1, updated_at = EXCLUDED.updated_at, "
                                      "updated_by = EXCLUDED.updated_by "
                                      "WHERE health_cards.group_id = EXCLUDED.group_id "
                                      "RETURNING version");

  // -- checkups, visits, calls, care days
  prep("ec_checkup_insert",
       "INSERT INTO checkups (id, group_id, estate_id, elder_id, performed_on, cost_fen, "
       "created_at, advance_fen) VALUES ($1, $2, $3, $4, $5::date, $6, " TS("$7") ", $8)");
  prep("ec_checkup_get",
       absl::StrCat("SELECT ", kCheckupCols, " FROM checkups WHERE group_id = $1 AND id = $2"));
  prep("ec_checkup_get_locked",
       absl::StrCat("SELECT ", kCheckupCols,
                    " FROM checkups WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("ec_checkup_plan",
       "UPDATE checkups SET has_care_plan = true, follow_up_on = NULLIF($3, '')::date "
       "WHERE group_id = $1 AND id = $2");
  prep("ec_checkup_list",
       absl::StrCat("SELECT ", kCheckupCols,
                    " FROM checkups WHERE group_id = $1 AND elder_id = $2 AND id > " AFTER(
                        "$3") " ORDER BY id LIMIT $4"));
  prep("ec_visit_insert",
       "INSERT INTO visits (id, group_id, elder_id, visited_at, care_plan_followed, visitor, "
       "created_at) VALUES ($1, $2, $3, " TS("$4") ", $5, $6, " TS("$7") ")");
  prep("ec_call_insert",
       "INSERT INTO family_calls (id, group_id, elder_id, called_at, caller, created_at, "
       "cost_fen) VALUES ($1, $2, $3, " TS("$4") ", $5, " TS("$6") ", $7)");
  prep("ec_careday_insert",
       "INSERT INTO care_days (id, group_id, estate_id, elder_id, day, kind, created_at) "
       "VALUES ($1, $2, $3, $4, $5::date, $6, " TS("$7") ") ON CONFLICT DO NOTHING RETURNING 1");
  constexpr char kDayCols[] =
      "d.id, d.group_id, d.estate_id, d.elder_id, e.unit_id, e.resident_id, d.kind, d.day::text";
  prep("ec_careday_uncharged_of",
       absl::StrCat("SELECT ", kDayCols,
                    " FROM care_days d JOIN elders e ON e.id = d.elder_id WHERE d.group_id = $1 "
                    "AND d.elder_id = $2 AND d.charge_id IS NULL ORDER BY d.day FOR UPDATE OF d"));
  prep("ec_careday_uncharged_before",
       absl::StrCat("SELECT ", kDayCols,
                    " FROM care_days d JOIN elders e ON e.id = d.elder_id WHERE d.charge_id IS "
                    "NULL AND d.day < " LOCAL_DAY(TS("$1"), "d.estate_id") " ORDER BY d.elder_id, "
                                                                           "d.day LIMIT $2 FOR "
                                                                           "UPDATE OF d SKIP "
                                                                           "LOCKED"));
  prep("ec_careday_mark", "UPDATE care_days SET charge_id = $2::uuid WHERE id = ANY($1::uuid[])");
  prep("ec_charge_insert",
       "INSERT INTO charges (charge_id, group_id, estate_id, elder_id, kind, payer, amount_fen, "
       "quantity, created_at, settles_charge_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " TS(
           "$9") ", NULLIF($10, '')::uuid)");
  prep("ec_charge_last_of_kind",
       "SELECT charge_id::text, amount_fen FROM charges WHERE group_id = $1 AND elder_id = $2 "
       "AND kind = $3 ORDER BY charge_id DESC LIMIT 1");
  prep("ec_fund_add",
       "UPDATE elders SET family_call_fund_fen = family_call_fund_fen + $3, version = version + "
       "1, updated_at = " TS("$4") " WHERE group_id = $1 AND id = $2 RETURNING "
                                  "family_call_fund_fen");

  // -- fee settings
  prep("ec_fees_get",
       "SELECT fees, version FROM fee_settings WHERE group_id = $1 AND estate_id IS NOT "
       "DISTINCT FROM NULLIF($2, '')::uuid");
  prep("ec_fees_put",
       "INSERT INTO fee_settings (group_id, estate_id, fees, version, updated_at) VALUES ($1, "
       "NULLIF($2, '')::uuid, $3::bytea, 1, " TS("$4") ") ON CONFLICT (group_id, COALESCE("
                                                       "estate_id, '00000000-0000-0000-0000-000000000000'::uuid"
                                                       ")) DO UPDATE SET fees = EXCLUDED.fees, "
                                                       "version = fee_settings.version + 1, "
                                                       "updated_at = EXCLUDED.updated_at "
                                                       "RETURNING version");
  prep("ec_charge_totals",
       "SELECT kind, sum(amount_fen)::bigint FROM charges WHERE group_id = $1 AND elder_id = $2 "
       "GROUP BY kind");

  // -- emergencies and safety checks
  prep("ec_emergency_insert",
       "INSERT INTO emergencies (id, group_id, estate_id, elder_id, unit_id, raised_by, "
       "raised_at) VALUES ($1, $2, $3, $4, $5, $6, " TS("$7") ")");
  prep("ec_safety_insert",
       "INSERT INTO safety_checks (id, group_id, estate_id, reason, homes, raised_at) VALUES "
       "($1, $2, $3, $4, $5, " TS("$6") ")");
  prep("ec_safety_home_insert",
       "INSERT INTO safety_check_homes (check_id, elder_id, unit_id) SELECT $1, "
       "unnest($2::uuid[]), unnest($3::uuid[])");
  prep("ec_safety_get",
       absl::StrCat("SELECT ", kSafetyCols, " FROM safety_checks WHERE group_id = $1 AND id = $2"));
  prep("ec_safety_get_locked",
       absl::StrCat("SELECT ", kSafetyCols,
                    " FROM safety_checks WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("ec_safety_homes",
       "SELECT elder_id, unit_id, checked_at IS NOT NULL, COALESCE(safe, false), "
       "COALESCE(" US("checked_at") ", 0) FROM safety_check_homes WHERE check_id = $1 "
                                    "ORDER BY elder_id");
  prep("ec_safety_record",
       "UPDATE safety_check_homes SET checked_at = " TS("$4") ", safe = $3 WHERE check_id = $1 "
                                                             "AND elder_id = $2 RETURNING 1");
  prep("ec_safety_complete",
       "UPDATE safety_checks SET completed_at = " TS("$2") " WHERE id = $1 AND completed_at IS "
                                                           "NULL");

  // -- audit
  prep("ec_audit_insert",
       "INSERT INTO audit_log (id, group_id, elder_id, actor, actor_roles, action, fields, "
       "purpose, break_glass, trace_id, at) VALUES ($1, $2, $3, $4, $5::text[], $6, $7::text[], "
       "$8, $9, $10, " TS("$11") ")");
  prep("ec_audit_list",
       "SELECT id, elder_id, actor, actor_roles, action, fields, purpose, break_glass, "
       "trace_id, " US("at") " FROM audit_log WHERE group_id = $1 AND elder_id = $2 AND "
                             "(NOT $3 OR break_glass) AND id < " AFTER_DESC(
                                 "$4") " ORDER BY id DESC LIMIT $5");

  // -- sealed values
  prep("ec_sealed_put",
       "INSERT INTO sealed_values (group_id, record_table, record_id, field, key_id, blob, "
       "updated_at, elder_id) VALUES ($1, $2, $3, $4, $5, $6::bytea, " TS("$7") ", $8) "
       "ON CONFLICT (record_table, record_id, field) DO UPDATE SET key_id = EXCLUDED.key_id, "
       "blob = EXCLUDED.blob, updated_at = EXCLUDED.updated_at "
       "WHERE sealed_values.group_id = EXCLUDED.group_id");
  prep("ec_sealed_get",
       "SELECT field, key_id, blob FROM sealed_values WHERE group_id = $1 AND record_table = $2 "
       "AND record_id = $3");
  prep("ec_sealed_not_under",
       "SELECT group_id, record_table, record_id, field, key_id, blob, elder_id FROM "
       "sealed_values "
       "WHERE key_id <> $1 ORDER BY record_table, record_id, field LIMIT $2 "
       "FOR UPDATE SKIP LOCKED");
  prep("ec_sealed_count_not_under", "SELECT count(*) FROM sealed_values WHERE key_id <> $1");
}

// ---- the directory copy ---------------------------------------------------------------

void EldercareStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                  const std::string& time_zone, int64_t version) {
  tx.exec_prepared("ec_estate_upsert", id, group, time_zone, version);
}

void EldercareStore::UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                                const std::string& estate_id, int64_t version) {
  tx.exec_prepared("ec_unit_upsert", id, group, estate_id, version);
}

void EldercareStore::UpsertResident(pqxx::work& tx, const std::string& group,
                                    const ResidentCopy& r) {
  tx.exec_prepared("ec_resident_upsert", r.id, group, r.estate_id, r.unit_id,
                   static_cast<int>(r.facts.role), DayParam(r.facts.date_of_birth),
                   DayParam(r.facts.lease_start), DayParam(r.facts.lease_end), r.version);
}

std::optional<ResidentCopy> EldercareStore::GetResident(pqxx::work& tx, const std::string& group,
                                                        const std::string& id) {
  pqxx::result res = tx.exec_prepared("ec_resident_get", group, id);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  ResidentCopy c;
  c.id = Str(r[0]);
  c.estate_id = Str(r[1]);
  c.unit_id = Str(r[2]);
  c.facts.role = static_cast<ResidentRole>(r[3].as<int>());
  c.facts.date_of_birth = ParseDay(Str(r[4]));
  c.facts.lease_start = ParseDay(Str(r[5]));
  c.facts.lease_end = ParseDay(Str(r[6]));
  c.version = r[7].as<int64_t>();
  return c;
}

bool EldercareStore::EstateKnown(pqxx::work& tx, const std::string& group,
                                 const std::string& estate) {
  return !tx.exec_prepared("ec_estate_zone", group, estate).empty();
}

std::string EldercareStore::EstateZone(pqxx::work& tx, const std::string& group,
                                       const std::string& estate) {
  pqxx::result res = tx.exec_prepared("ec_estate_zone", group, estate);
  return res.empty() ? "" : Str(res[0][0]);
}

// ---- elders ---------------------------------------------------------------------------

void EldercareStore::InsertElder(pqxx::work& tx, const ElderInsert& in, absl::Time now,
                                 v1::Elder* out) {
  const v1::Elder& e = in.elder;
  auto day = [](const v1::Date& d) {
    return DayText(absl::CivilDay(d.year(), d.month(), d.day()));
  };
  pqxx::result res =
      tx.exec_prepared("ec_elder_insert", e.id(), e.group_id(), e.estate_id(), e.unit_id(),
                       e.resident_id(), day(e.enrolled_on()), e.consent().scope(),
                       e.consent().version(), Micros(FromProtoTime(e.consent().signed_at())),
                       e.consent().signed_by(), tx.esc_raw(in.id_digest), e.visit_every_days(),
                       day(e.next_visit_due()), day(e.paid_through()), Micros(now));
  *out = ElderRow(res[0]);
}

std::optional<v1::Elder> EldercareStore::GetElder(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update) {
  pqxx::result res =
      tx.exec_prepared(for_update ? "ec_elder_get_locked" : "ec_elder_get", group, id);
  if (res.empty()) return std::nullopt;
  return ElderRow(res[0]);
}

bool EldercareStore::EnrolledResidentExists(pqxx::work& tx, const std::string& group,
                                            const std::string& resident_id) {
  return !tx.exec_prepared("ec_elder_resident_enrolled", group, resident_id).empty();
}

bool EldercareStore::EnrolledIdDigestExists(pqxx::work& tx, const std::string& group,
                                            const std::string& digest) {
  return !tx.exec_prepared("ec_elder_digest_enrolled", group, tx.esc_raw(digest)).empty();
}

std::vector<v1::Elder> EldercareStore::ListElders(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate, int state,
                                                  const std::string& after, int limit) {
  return Rows<v1::Elder>(tx.exec_prepared("ec_elder_list", group, estate, state, after, limit),
                         ElderRow);
}

void EldercareStore::ExitElder(pqxx::work& tx, const std::string& group, const std::string& id,
                               absl::CivilDay on, const std::string& reason, absl::Time now,
                               v1::Elder* out) {
  pqxx::result res = tx.exec_prepared("ec_elder_exit", group, id, DayText(on), reason, Micros(now));
  *out = ElderRow(res[0]);
}

void EldercareStore::SetNextVisit(pqxx::work& tx, const std::string& group, const std::string& id,
                                  absl::CivilDay due, absl::Time now) {
  tx.exec_prepared("ec_elder_next_visit", group, id, DayText(due), Micros(now));
}

int64_t EldercareStore::BumpContactsVersion(pqxx::work& tx, const std::string& group,
                                            const std::string& id, absl::Time now) {
  return tx.exec_prepared1("ec_elder_contacts_bump", group, id, Micros(now))[0].as<int64_t>();
}

int64_t EldercareStore::ContactsVersion(pqxx::work& tx, const std::string& group,
                                        const std::string& id) {
  pqxx::result res = tx.exec_prepared("ec_elder_contacts_version", group, id);
  return res.empty() ? 0 : res[0][0].as<int64_t>();
}

std::vector<v1::Elder> EldercareStore::DueVisits(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate, absl::CivilDay as_of,
                                                 int limit) {
  return Rows<v1::Elder>(tx.exec_prepared("ec_elder_due", group, estate, DayText(as_of), limit),
                         ElderRow);
}

std::vector<v1::Elder> EldercareStore::EnrolledInEstate(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate) {
  return Rows<v1::Elder>(tx.exec_prepared("ec_elder_enrolled_in_estate", group, estate), ElderRow);
}

std::vector<v1::Elder> EldercareStore::DueRenewals(pqxx::work& tx, absl::Time now, int limit) {
  return Rows<v1::Elder>(tx.exec_prepared("ec_elder_due_renewal", Micros(now), limit), ElderRow);
}

void EldercareStore::SetPaidThrough(pqxx::work& tx, const std::string& id, absl::CivilDay through,
                                    absl::Time now) {
  tx.exec_prepared("ec_elder_paid_through", id, DayText(through), Micros(now));
}

// ---- health card metadata --------------------------------------------------------------

std::pair<int64_t, absl::Time> EldercareStore::CardMeta(pqxx::work& tx, const std::string& group,
                                                        const std::string& elder) {
  pqxx::result res = tx.exec_prepared("ec_card_meta", group, elder);
  if (res.empty()) return {0, absl::UnixEpoch()};
  return {res[0][0].as<int64_t>(), absl::FromUnixMicros(res[0][1].as<int64_t>())};
}

int64_t EldercareStore::UpsertCardMeta(pqxx::work& tx, const std::string& group,
                                       const std::string& elder, const std::string& actor,
                                       absl::Time now) {
  return tx.exec_prepared1("ec_card_upsert", group, elder, actor, Micros(now))[0].as<int64_t>();
}

// ---- checkups, visits, calls, care days -------------------------------------------------

void EldercareStore::InsertCheckup(pqxx::work& tx, const std::string& group, const v1::Checkup& c,
                                   absl::Time now) {
  const v1::Date& d = c.performed_on();
  tx.exec_prepared("ec_checkup_insert", c.id(), group, c.estate_id(), c.elder_id(),
                   DayText(absl::CivilDay(d.year(), d.month(), d.day())), c.cost_fen(), Micros(now),
                   c.advance_fen());
}

std::optional<v1::Checkup> EldercareStore::GetCheckup(pqxx::work& tx, const std::string& group,
                                                      const std::string& id, bool for_update) {
  pqxx::result res =
      tx.exec_prepared(for_update ? "ec_checkup_get_locked" : "ec_checkup_get", group, id);
  if (res.empty()) return std::nullopt;
  return CheckupRow(res[0]);
}

void EldercareStore::SetCarePlanMeta(pqxx::work& tx, const std::string& group,
                                     const std::string& id,
                                     std::optional<absl::CivilDay> follow_up_on) {
  tx.exec_prepared("ec_checkup_plan", group, id, DayParam(follow_up_on));
}

std::vector<v1::Checkup> EldercareStore::ListCheckups(pqxx::work& tx, const std::string& group,
                                                      const std::string& elder,
                                                      const std::string& after, int limit) {
  return Rows<v1::Checkup>(tx.exec_prepared("ec_checkup_list", group, elder, after, limit),
                           CheckupRow);
}

void EldercareStore::InsertVisit(pqxx::work& tx, const std::string& group, const v1::Visit& v,
                                 const std::string& visitor, absl::Time now) {
  tx.exec_prepared("ec_visit_insert", v.id(), group, v.elder_id(),
                   Micros(FromProtoTime(v.visited_at())), v.care_plan_followed(), visitor,
                   Micros(now));
}

void EldercareStore::InsertFamilyCall(pqxx::work& tx, const std::string& group,
                                      const v1::FamilyCall& c, const std::string& caller,
                                      absl::Time now) {
  tx.exec_prepared("ec_call_insert", c.id(), group, c.elder_id(),
                   Micros(FromProtoTime(c.called_at())), caller, Micros(now), c.cost_fen());
}

bool EldercareStore::InsertCareDay(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, const v1::CareDay& d,
                                   absl::Time now) {
  const v1::Date& day = d.day();
  return !tx.exec_prepared("ec_careday_insert", d.id(), group, estate, d.elder_id(),
                           DayText(absl::CivilDay(day.year(), day.month(), day.day())),
                           static_cast<int>(d.kind()), Micros(now))
              .empty();
}

std::vector<UnchargedDay> EldercareStore::UnchargedDaysOf(pqxx::work& tx, const std::string& group,
                                                          const std::string& elder) {
  return Rows<UnchargedDay>(tx.exec_prepared("ec_careday_uncharged_of", group, elder), DayRow);
}

std::vector<UnchargedDay> EldercareStore::UnchargedDaysBefore(pqxx::work& tx, absl::Time now,
                                                              int limit) {
  return Rows<UnchargedDay>(tx.exec_prepared("ec_careday_uncharged_before", Micros(now), limit),
                            DayRow);
}

void EldercareStore::MarkCharged(pqxx::work& tx, const std::vector<std::string>& day_ids,
                                 const std::string& charge_id) {
  tx.exec_prepared("ec_careday_mark", PgArray(day_ids), charge_id);
}

void EldercareStore::InsertCharge(pqxx::work& tx, const ChargeRow& c, absl::Time now) {
  tx.exec_prepared("ec_charge_insert", c.charge_id, c.group_id, c.estate_id, c.elder_id,
                   static_cast<int>(c.line.kind), static_cast<int>(c.line.payer), c.line.amount_fen,
                   c.line.quantity, Micros(now), c.line.settles_charge_id);
}

std::optional<std::pair<std::string, int64_t>> EldercareStore::LastChargeOfKind(
    pqxx::work& tx, const std::string& group, const std::string& elder, int kind) {
  pqxx::result res = tx.exec_prepared("ec_charge_last_of_kind", group, elder, kind);
  if (res.empty()) return std::nullopt;
  return std::pair{Str(res[0][0]), res[0][1].as<int64_t>()};
}

int64_t EldercareStore::AddToFund(pqxx::work& tx, const std::string& group,
                                  const std::string& elder, int64_t delta, absl::Time now) {
  return tx.exec_prepared1("ec_fund_add", group, elder, delta, Micros(now))[0].as<int64_t>();
}

// ---- fee settings ---------------------------------------------------------------------------

std::pair<v1::ElderFees, int64_t> EldercareStore::GetFees(pqxx::work& tx, const std::string& group,
                                                          const std::string& estate) {
  v1::ElderFees fees;
  pqxx::result res = tx.exec_prepared("ec_fees_get", group, estate);
  if (res.empty()) return {fees, 0};
  fees.ParseFromString(pqxx::binarystring(res[0][0]).str());
  return {fees, res[0][1].as<int64_t>()};
}

int64_t EldercareStore::PutFees(pqxx::work& tx, const std::string& group, const std::string& estate,
                                const v1::ElderFees& fees, absl::Time now) {
  return tx
      .exec_prepared1("ec_fees_put", group, estate, tx.esc_raw(fees.SerializeAsString()),
                      Micros(now))[0]
      .as<int64_t>();
}

Fees EldercareStore::FeesFor(pqxx::work& tx, const std::string& group, const std::string& estate) {
  return ResolveFees(GetFees(tx, group, "").first, GetFees(tx, group, estate).first);
}

std::map<int, int64_t> EldercareStore::ChargeTotals(pqxx::work& tx, const std::string& group,
                                                    const std::string& elder) {
  std::map<int, int64_t> out;
  for (const auto& r : tx.exec_prepared("ec_charge_totals", group, elder)) {
    out[r[0].as<int>()] = r[1].as<int64_t>();
  }
  return out;
}

// ---- emergencies and safety checks -------------------------------------------------------

void EldercareStore::InsertEmergency(pqxx::work& tx, const std::string& group,
                                     const v1::Emergency& e, const std::string& raised_by) {
  tx.exec_prepared("ec_emergency_insert", e.id(), group, e.estate_id(), e.elder_id(), e.unit_id(),
                   raised_by, Micros(FromProtoTime(e.raised_at())));
}

void EldercareStore::InsertSafetyCheck(pqxx::work& tx, const std::string& group,
                                       const v1::SafetyCheck& c,
                                       const std::vector<v1::Elder>& homes) {
  tx.exec_prepared("ec_safety_insert", c.id(), group, c.estate_id(), c.reason(),
                   static_cast<int>(homes.size()), Micros(FromProtoTime(c.raised_at())));
  std::vector<std::string> elders, units;
  for (const auto& e : homes) {
    elders.push_back(e.id());
    units.push_back(e.unit_id());
  }
  if (!elders.empty()) {
    tx.exec_prepared("ec_safety_home_insert", c.id(), PgArray(elders), PgArray(units));
  }
}

std::optional<v1::SafetyCheck> EldercareStore::GetSafetyCheck(pqxx::work& tx,
                                                              const std::string& group,
                                                              const std::string& id,
                                                              bool for_update) {
  pqxx::result res =
      tx.exec_prepared(for_update ? "ec_safety_get_locked" : "ec_safety_get", group, id);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  v1::SafetyCheck c;
  c.set_id(Str(r[0]));
  c.set_estate_id(Str(r[1]));
  c.set_reason(Str(r[2]));
  c.set_homes(r[3].as<int>());
  *c.mutable_raised_at() = Stamp(r[4]);
  if (r[5].as<int64_t>() != 0) *c.mutable_completed_at() = Stamp(r[5]);
  for (const auto& h : tx.exec_prepared("ec_safety_homes", id)) {
    v1::SafetyCheckHome* home = c.add_home_results();
    home->set_elder_id(Str(h[0]));
    home->set_unit_id(Str(h[1]));
    home->set_checked(h[2].as<bool>());
    home->set_safe(h[3].as<bool>());
    if (home->checked()) *home->mutable_checked_at() = Stamp(h[4]);
    if (home->checked()) c.set_checked(c.checked() + 1);
    if (home->checked() && !home->safe()) c.set_unsafe(c.unsafe() + 1);
  }
  c.set_state(c.has_completed_at() ? v1::SAFETY_CHECK_STATE_COMPLETED
                                   : v1::SAFETY_CHECK_STATE_OPEN);
  return c;
}

bool EldercareStore::RecordSafetyResult(pqxx::work& tx, const std::string& check,
                                        const std::string& elder, bool safe, absl::Time now) {
  return !tx.exec_prepared("ec_safety_record", check, elder, safe, Micros(now)).empty();
}

void EldercareStore::CompleteSafetyCheck(pqxx::work& tx, const std::string& id, absl::Time now) {
  tx.exec_prepared("ec_safety_complete", id, Micros(now));
}

// ---- audit ---------------------------------------------------------------------------

void EldercareStore::InsertAudit(pqxx::work& tx, const AuditRow& a, absl::Time now) {
  tx.exec_prepared("ec_audit_insert", NewId(now), a.group_id, a.elder_id, a.actor,
                   PgArray(a.actor_roles), a.action, PgArray(a.fields), a.purpose, a.break_glass,
                   a.trace_id, Micros(now));
}

std::vector<v1::AuditEntry> EldercareStore::ListAudit(pqxx::work& tx, const std::string& group,
                                                      const std::string& elder,
                                                      bool break_glass_only,
                                                      const std::string& after, int limit) {
  std::vector<v1::AuditEntry> out;
  for (const auto& r :
       tx.exec_prepared("ec_audit_list", group, elder, break_glass_only, after, limit)) {
    v1::AuditEntry a;
    a.set_id(Str(r[0]));
    a.set_elder_id(Str(r[1]));
    a.set_actor(Str(r[2]));
    for (auto& role : ParsePgArray(r[3])) a.add_actor_roles(role);
    a.set_action(Str(r[4]));
    for (auto& f : ParsePgArray(r[5])) a.add_fields(f);
    a.set_purpose(Str(r[6]));
    a.set_break_glass(r[7].as<bool>());
    a.set_trace_id(Str(r[8]));
    *a.mutable_at() = Stamp(r[9]);
    out.push_back(std::move(a));
  }
  return out;
}

// ---- sealed values ---------------------------------------------------------------------

void EldercareStore::PutSealed(pqxx::work& tx, const SealedPlace& p, const SealedValue& v,
                               const std::string& elder_id, absl::Time now) {
  tx.exec_prepared("ec_sealed_put", p.group_id, p.table, p.row_id, p.field, v.key_id,
                   tx.esc_raw(v.blob), Micros(now), elder_id);
}

std::map<std::string, SealedValue> EldercareStore::GetSealed(pqxx::work& tx,
                                                             const std::string& group,
                                                             const std::string& table,
                                                             const std::string& record) {
  std::map<std::string, SealedValue> out;
  for (const auto& r : tx.exec_prepared("ec_sealed_get", group, table, record)) {
    out[Str(r[0])] = SealedValue{Str(r[1]), pqxx::binarystring(r[2]).str()};
  }
  return out;
}

std::vector<SealedRow> EldercareStore::SealedNotUnder(pqxx::work& tx, const std::string& active,
                                                      int limit) {
  std::vector<SealedRow> out;
  for (const auto& r : tx.exec_prepared("ec_sealed_not_under", active, limit)) {
    out.push_back({SealedPlace{Str(r[0]), Str(r[1]), Str(r[2]), Str(r[3])},
                   SealedValue{Str(r[4]), pqxx::binarystring(r[5]).str()}, Str(r[6])});
  }
  return out;
}

int64_t EldercareStore::CountNotUnder(pqxx::work& tx, const std::string& active) {
  return tx.exec_prepared1("ec_sealed_count_not_under", active)[0].as<int64_t>();
}

// ---- SealedRecords ------------------------------------------------------------------------

absl::Status SealedRecords::Write(pqxx::work& tx, const std::string& group,
                                  const std::string& elder, const std::string& table,
                                  const std::string& record,
                                  const std::vector<std::pair<std::string, std::string>>& fields,
                                  absl::Time now) {
  for (const auto& [field, plaintext] : fields) {
    SealedPlace place{group, table, record, field};
    WUYE_ASSIGN_OR_RETURN(SealedValue sealed, keys_.Seal(place, plaintext));
    store_.PutSealed(tx, place, sealed, elder, now);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> SealedRecords::Read(
    pqxx::work& tx, const std::string& group, const std::string& table, const std::string& record,
    const std::vector<std::string>& only) {
  std::map<std::string, std::string> out;
  for (const auto& [field, sealed] : store_.GetSealed(tx, group, table, record)) {
    if (!only.empty() && std::find(only.begin(), only.end(), field) == only.end()) continue;
    WUYE_ASSIGN_OR_RETURN(out[field], keys_.Open(SealedPlace{group, table, record, field}, sealed));
  }
  return out;
}

}  // namespace wuye::eldercare
