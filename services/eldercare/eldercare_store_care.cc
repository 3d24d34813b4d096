// EldercareStore: checkups, visits, family calls and care days (and which charge took them).
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
using store_rows::DayParam;
using store_rows::ParseDay;
using store_rows::Rows;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kCheckupCols[] =
    "id, elder_id, estate_id, performed_on::text, cost_fen, has_care_plan, "
    "COALESCE(follow_up_on::text, ''), " WUYE_SQL_MICROS("created_at") ", advance_fen";

v1::Checkup CheckupRow(const pqxx::row& r) {
  v1::Checkup c;
  c.set_id(Text(r[0]));
  c.set_elder_id(Text(r[1]));
  c.set_estate_id(Text(r[2]));
  *c.mutable_performed_on() = DateOf(r[3]);
  c.set_cost_fen(r[4].as<int64_t>());
  c.set_has_care_plan(r[5].as<bool>());
  if (!Text(r[6]).empty()) *c.mutable_follow_up_on() = DateOf(r[6]);
  *c.mutable_create_time() = Stamp(r[7]);
  c.set_advance_fen(r[8].as<int64_t>());
  return c;
}

constexpr char kDayCols[] =
    "d.id, d.group_id, d.estate_id, d.elder_id, e.unit_id, e.resident_id, d.kind, d.day::text";

UnchargedDay DayRow(const pqxx::row& r) {
  UnchargedDay d;
  d.id = Text(r[0]);
  d.group_id = Text(r[1]);
  d.estate_id = Text(r[2]);
  d.elder_id = Text(r[3]);
  d.unit_id = Text(r[4]);
  d.resident_id = Text(r[5]);
  d.kind = static_cast<v1::CareKind>(r[6].as<int>());
  d.day = *ParseDay(Text(r[7]));
  return d;
}

}  // namespace

const sql::Statements& EldercareStore::CareStatements() { return statements; }

// ---- checkups, visits, calls, care days -------------------------------------------------

const sql::Statement kCheckupInsert = statements.Add(
    "ec_checkup_insert",
    "INSERT INTO checkups (id, group_id, estate_id, elder_id, performed_on, cost_fen, created_at, "
    "advance_fen) VALUES ($1, $2, $3, $4, $5::date, $6, " WUYE_SQL_TIME("$7") ", $8)");

void EldercareStore::InsertCheckup(pqxx::work& tx, const std::string& group, const v1::Checkup& c,
                                   absl::Time now) {
  const v1::Date& d = c.performed_on();
  tx.exec_prepared(kCheckupInsert, c.id(), group, c.estate_id(), c.elder_id(),
                   DayText(absl::CivilDay(d.year(), d.month(), d.day())), c.cost_fen(), Micros(now),
                   c.advance_fen());
}

const sql::Statement kCheckupGet = statements.Add(
    "ec_checkup_get",
    absl::StrCat("SELECT ", kCheckupCols, " FROM checkups WHERE group_id = $1 AND id = $2"));

const sql::Statement kCheckupGetLocked =
    statements.Add("ec_checkup_get_locked",
                   absl::StrCat("SELECT ", kCheckupCols,
                                " FROM checkups WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::Checkup> EldercareStore::GetCheckup(pqxx::work& tx, const std::string& group,
                                                      const std::string& id, bool for_update) {
  pqxx::result res = tx.exec_prepared(for_update ? kCheckupGetLocked : kCheckupGet, group, id);
  if (res.empty()) return std::nullopt;
  return CheckupRow(res[0]);
}

const sql::Statement kCheckupPlan =
    statements.Add("ec_checkup_plan",
                   "UPDATE checkups SET has_care_plan = true, follow_up_on = NULLIF($3, '')::date "
                   "WHERE group_id = $1 AND id = $2");

void EldercareStore::SetCarePlanMeta(pqxx::work& tx, const std::string& group,
                                     const std::string& id,
                                     std::optional<absl::CivilDay> follow_up_on) {
  tx.exec_prepared(kCheckupPlan, group, id, DayParam(follow_up_on));
}

const sql::Statement kCheckupList = statements.Add(
    "ec_checkup_list",
    absl::StrCat("SELECT ", kCheckupCols,
                 " FROM checkups WHERE group_id = $1 AND elder_id = $2 AND id > " WUYE_SQL_AFTER(
                     "$3") " ORDER BY id LIMIT $4"));

std::vector<v1::Checkup> EldercareStore::ListCheckups(pqxx::work& tx, const std::string& group,
                                                      const std::string& elder,
                                                      const std::string& after, int limit) {
  return Rows<v1::Checkup>(tx.exec_prepared(kCheckupList, group, elder, after, limit), CheckupRow);
}

const sql::Statement kVisitInsert = statements.Add(
    "ec_visit_insert",
    "INSERT INTO visits (id, group_id, elder_id, visited_at, care_plan_followed, visitor, "
    "created_at) VALUES ($1, $2, $3, " WUYE_SQL_TIME("$4") ", $5, $6, " WUYE_SQL_TIME("$7") ")");

void EldercareStore::InsertVisit(pqxx::work& tx, const std::string& group, const v1::Visit& v,
                                 const std::string& visitor, absl::Time now) {
  tx.exec_prepared(kVisitInsert, v.id(), group, v.elder_id(), Micros(FromProtoTime(v.visited_at())),
                   v.care_plan_followed(), visitor, Micros(now));
}

const sql::Statement kCallInsert = statements.Add(
    "ec_call_insert",
    "INSERT INTO family_calls (id, group_id, elder_id, called_at, caller, created_at, cost_fen) "
    "VALUES ($1, $2, $3, " WUYE_SQL_TIME("$4") ", $5, " WUYE_SQL_TIME("$6") ", $7)");

void EldercareStore::InsertFamilyCall(pqxx::work& tx, const std::string& group,
                                      const v1::FamilyCall& c, const std::string& caller,
                                      absl::Time now) {
  tx.exec_prepared(kCallInsert, c.id(), group, c.elder_id(), Micros(FromProtoTime(c.called_at())),
                   caller, Micros(now), c.cost_fen());
}

const sql::Statement kCaredayInsert = statements.Add(
    "ec_careday_insert",
    "INSERT INTO care_days (id, group_id, estate_id, elder_id, day, kind, created_at) VALUES ($1, "
    "$2, $3, $4, $5::date, $6, " WUYE_SQL_TIME("$7") ") ON CONFLICT DO NOTHING RETURNING 1");

bool EldercareStore::InsertCareDay(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, const v1::CareDay& d,
                                   absl::Time now) {
  const v1::Date& day = d.day();
  return !tx.exec_prepared(kCaredayInsert, d.id(), group, estate, d.elder_id(),
                           DayText(absl::CivilDay(day.year(), day.month(), day.day())),
                           static_cast<int>(d.kind()), Micros(now))
              .empty();
}

const sql::Statement kCaredayUnchargedOf = statements.Add(
    "ec_careday_uncharged_of",
    absl::StrCat("SELECT ", kDayCols,
                 " FROM care_days d JOIN elders e ON e.id = d.elder_id WHERE d.group_id = $1 "
                 "AND d.elder_id = $2 AND d.charge_id IS NULL ORDER BY d.day FOR UPDATE OF d"));

std::vector<UnchargedDay> EldercareStore::UnchargedDaysOf(pqxx::work& tx, const std::string& group,
                                                          const std::string& elder) {
  return Rows<UnchargedDay>(tx.exec_prepared(kCaredayUnchargedOf, group, elder), DayRow);
}

const sql::Statement kCaredayUnchargedBefore = statements.Add(
    "ec_careday_uncharged_before",
    absl::StrCat(
        "SELECT ", kDayCols,
        " FROM care_days d JOIN elders e ON e.id = d.elder_id WHERE d.charge_id IS "
        "NULL AND d.day < " LOCAL_DAY(WUYE_SQL_TIME("$1"), "d.estate_id") " ORDER BY d.elder_id, "
                                                                          "d.day LIMIT $2 FOR "
                                                                          "UPDATE OF d SKIP "
                                                                          "LOCKED"));

std::vector<UnchargedDay> EldercareStore::UnchargedDaysBefore(pqxx::work& tx, absl::Time now,
                                                              int limit) {
  return Rows<UnchargedDay>(tx.exec_prepared(kCaredayUnchargedBefore, Micros(now), limit), DayRow);
}

const sql::Statement kCaredayMark = statements.Add(
    "ec_careday_mark", "UPDATE care_days SET charge_id = $2::uuid WHERE id = ANY($1::uuid[])");

void EldercareStore::MarkCharged(pqxx::work& tx, const std::vector<std::string>& day_ids,
                                 const std::string& charge_id) {
  tx.exec_prepared(kCaredayMark, PgArray(day_ids), charge_id);
}

}  // namespace wuye::eldercare
