// EldercareStore: elders, their enrolment, consent, visit schedule and service year.
#include "absl/strings/str_cat.h"
#include "services/eldercare/eldercare_store.h"
#include "services/eldercare/eldercare_store_rows.h"
#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::eldercare {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using store_rows::DateOf;
using store_rows::Rows;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kElderCols[] =
    "id, group_id, estate_id, unit_id, resident_id, state, enrolled_on::text, "
    "COALESCE(exited_on::text, ''), consent_scope, consent_version, "
    WUYE_SQL_MICROS("consent_signed_at") ", consent_signed_by, visit_every_days, "
    "next_visit_due::text, paid_through::text, deposit_held, version, "
    WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS("updated_at") ", family_call_fund_fen";

v1::Elder ElderRow(const pqxx::row& r) {
  v1::Elder e;
  e.set_id(Text(r[0]));
  e.set_group_id(Text(r[1]));
  e.set_estate_id(Text(r[2]));
  e.set_unit_id(Text(r[3]));
  e.set_resident_id(Text(r[4]));
  e.set_state(static_cast<v1::ElderState>(r[5].as<int>()));
  *e.mutable_enrolled_on() = DateOf(r[6]);
  if (!Text(r[7]).empty()) *e.mutable_exited_on() = DateOf(r[7]);
  e.mutable_consent()->set_scope(Text(r[8]));
  e.mutable_consent()->set_version(Text(r[9]));
  *e.mutable_consent()->mutable_signed_at() = Stamp(r[10]);
  e.mutable_consent()->set_signed_by(Text(r[11]));
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

}  // namespace

const sql::Statements& EldercareStore::ElderStatements() { return statements; }

// ---- elders ---------------------------------------------------------------------------

const sql::Statement kElderInsert = statements.Add(
    "ec_elder_insert",
    absl::StrCat("INSERT INTO elders (id, group_id, estate_id, unit_id, resident_id, "
                 "state, "
                 "enrolled_on, consent_scope, consent_version, consent_signed_at, "
                 "consent_signed_by, "
                 "id_digest, visit_every_days, next_visit_due, paid_through, "
                 "deposit_held, "
                 "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6::date, "
                 "$7, $8, " WUYE_SQL_TIME("$9") ", $10, $11::bytea, $12, $13::date, $14::date, "
                                                "true, " WUYE_SQL_TIME("$15") ", " WUYE_SQL_TIME(
                                                    "$15") ") RETURNING ",
                 kElderCols));

void EldercareStore::InsertElder(pqxx::work& tx, const ElderInsert& in, absl::Time now,
                                 v1::Elder* out) {
  const v1::Elder& e = in.elder;
  auto day = [](const v1::Date& d) {
    return DayText(absl::CivilDay(d.year(), d.month(), d.day()));
  };
  pqxx::result res =
      tx.exec_prepared(kElderInsert, e.id(), e.group_id(), e.estate_id(), e.unit_id(),
                       e.resident_id(), day(e.enrolled_on()), e.consent().scope(),
                       e.consent().version(), Micros(FromProtoTime(e.consent().signed_at())),
                       e.consent().signed_by(), tx.esc_raw(in.id_digest), e.visit_every_days(),
                       day(e.next_visit_due()), day(e.paid_through()), Micros(now));
  *out = ElderRow(res[0]);
}

const sql::Statement kElderGet = statements.Add(
    "ec_elder_get",
    absl::StrCat("SELECT ", kElderCols, " FROM elders WHERE group_id = $1 AND id = $2"));

const sql::Statement kElderGetLocked = statements.Add(
    "ec_elder_get_locked", absl::StrCat("SELECT ", kElderCols,
                                        " FROM elders WHERE group_id = $1 AND id = $2 "
                                        "FOR UPDATE"));

std::optional<v1::Elder> EldercareStore::GetElder(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update) {
  pqxx::result res = tx.exec_prepared(for_update ? kElderGetLocked : kElderGet, group, id);
  if (res.empty()) return std::nullopt;
  return ElderRow(res[0]);
}

const sql::Statement kElderResidentEnrolled =
    statements.Add("ec_elder_resident_enrolled",
                   "SELECT 1 FROM elders WHERE group_id = $1 AND resident_id = $2 AND state = 1");

bool EldercareStore::EnrolledResidentExists(pqxx::work& tx, const std::string& group,
                                            const std::string& resident_id) {
  return !tx.exec_prepared(kElderResidentEnrolled, group, resident_id).empty();
}

const sql::Statement kElderDigestEnrolled = statements.Add(
    "ec_elder_digest_enrolled",
    "SELECT 1 FROM elders WHERE group_id = $1 AND id_digest = $2::bytea AND state = 1");

bool EldercareStore::EnrolledIdDigestExists(pqxx::work& tx, const std::string& group,
                                            const std::string& digest) {
  return !tx.exec_prepared(kElderDigestEnrolled, group, tx.esc_raw(digest)).empty();
}

const sql::Statement kElderList = statements.Add(
    "ec_elder_list",
    absl::StrCat("SELECT ", kElderCols,
                 " FROM elders WHERE group_id = $1 AND estate_id = $2 AND ($3 = 0 OR state = "
                 "$3) AND id > " WUYE_SQL_AFTER("$4") " ORDER BY id LIMIT $5"));

std::vector<v1::Elder> EldercareStore::ListElders(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate, int state,
                                                  const std::string& after, int limit) {
  return Rows<v1::Elder>(tx.exec_prepared(kElderList, group, estate, state, after, limit),
                         ElderRow);
}

const sql::Statement kElderExit = statements.Add(
    "ec_elder_exit",
    absl::StrCat("UPDATE elders SET state = 2, exited_on = $3::date, exit_reason = $4, "
                 "deposit_held = false, version = version + 1, updated_at = " WUYE_SQL_TIME(
                     "$5") " WHERE group_id = $1 AND id = $2 RETURNING ",
                 kElderCols));

void EldercareStore::ExitElder(pqxx::work& tx, const std::string& group, const std::string& id,
                               absl::CivilDay on, const std::string& reason, absl::Time now,
                               v1::Elder* out) {
  pqxx::result res = tx.exec_prepared(kElderExit, group, id, DayText(on), reason, Micros(now));
  *out = ElderRow(res[0]);
}

const sql::Statement kElderNextVisit =
    statements.Add("ec_elder_next_visit",
                   "UPDATE elders SET next_visit_due = $3::date, version = version + 1, updated_at "
                   "= " WUYE_SQL_TIME("$4") " WHERE group_id = $1 AND id = $2");

void EldercareStore::SetNextVisit(pqxx::work& tx, const std::string& group, const std::string& id,
                                  absl::CivilDay due, absl::Time now) {
  tx.exec_prepared(kElderNextVisit, group, id, DayText(due), Micros(now));
}

const sql::Statement kElderContactsBump = statements.Add(
    "ec_elder_contacts_bump",
    "UPDATE elders SET contacts_version = contacts_version + 1, updated_at = " WUYE_SQL_TIME(
        "$3") " WHERE group_id = $1 AND id = $2 RETURNING contacts_version");

int64_t EldercareStore::BumpContactsVersion(pqxx::work& tx, const std::string& group,
                                            const std::string& id, absl::Time now) {
  return tx.exec_prepared1(kElderContactsBump, group, id, Micros(now))[0].as<int64_t>();
}

const sql::Statement kElderContactsVersion =
    statements.Add("ec_elder_contacts_version",
                   "SELECT contacts_version FROM elders WHERE group_id = $1 AND id = $2");

int64_t EldercareStore::ContactsVersion(pqxx::work& tx, const std::string& group,
                                        const std::string& id) {
  pqxx::result res = tx.exec_prepared(kElderContactsVersion, group, id);
  return res.empty() ? 0 : res[0][0].as<int64_t>();
}

const sql::Statement kElderDue = statements.Add(
    "ec_elder_due",
    absl::StrCat("SELECT ", kElderCols,
                 " FROM elders WHERE group_id = $1 AND estate_id = $2 AND state = 1 AND "
                 "next_visit_due <= $3::date AND (next_visit_due, id) > "
                 "(COALESCE(NULLIF($4, '')::date, '-infinity'::date), ",
                 WUYE_SQL_AFTER("$5"), ") ORDER BY next_visit_due, id LIMIT $6"));

std::vector<v1::Elder> EldercareStore::DueVisits(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate, absl::CivilDay as_of,
                                                 const std::string& after_due,
                                                 const std::string& after_id, int limit) {
  return Rows<v1::Elder>(
      tx.exec_prepared(kElderDue, group, estate, DayText(as_of), after_due, after_id, limit),
      ElderRow);
}

const sql::Statement kElderEnrolledInEstate =
    statements.Add("ec_elder_enrolled_in_estate",
                   absl::StrCat("SELECT ", kElderCols,
                                " FROM elders WHERE group_id = $1 AND estate_id = $2 AND state = 1 "
                                "ORDER BY id"));

std::vector<v1::Elder> EldercareStore::EnrolledInEstate(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate) {
  return Rows<v1::Elder>(tx.exec_prepared(kElderEnrolledInEstate, group, estate), ElderRow);
}

const sql::Statement kElderDueRenewal = statements.Add(
    "ec_elder_due_renewal",
    absl::StrCat("SELECT ", kElderCols,
                 " FROM elders e WHERE state = 1 AND paid_through <= " LOCAL_DAY(
                     WUYE_SQL_TIME("$1"), "e.estate_id") " ORDER BY paid_through, id LIMIT $2 "
                                                         "FOR UPDATE SKIP LOCKED"));

std::vector<v1::Elder> EldercareStore::DueRenewals(pqxx::work& tx, absl::Time now, int limit) {
  return Rows<v1::Elder>(tx.exec_prepared(kElderDueRenewal, Micros(now), limit), ElderRow);
}

const sql::Statement kElderPaidThrough = statements.Add(
    "ec_elder_paid_through",
    "UPDATE elders SET paid_through = $2::date, version = version + 1, updated_at = " WUYE_SQL_TIME(
        "$3") " WHERE id = $1");

void EldercareStore::SetPaidThrough(pqxx::work& tx, const std::string& id, absl::CivilDay through,
                                    absl::Time now) {
  tx.exec_prepared(kElderPaidThrough, id, DayText(through), Micros(now));
}

}  // namespace wuye::eldercare
