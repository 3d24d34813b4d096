#include "services/counter/renovation_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "shared/sql.h"
#include "shared/zone.h"

namespace wuye::counter {
namespace {

using sql::Text;

sql::Statements statements;

// 'YYYY-MM-DD' as a day (the form a date column reads as text); 1970-01-01 if unreadable.
absl::CivilDay ParseDay(const std::string& text) {
  return ParseDayText(text).value_or(absl::CivilDay(1970, 1, 1));
}

std::string DateText(const pb::Date& d) {
  return DayText(absl::CivilDay(d.year(), d.month(), d.day()));
}

// The counts a renovation answers with, beside its body.
#define RENOVATION_COLUMNS                                                                    \
  "r.body, "                                                                                  \
  "(SELECT count(*) FROM cases c WHERE c.group_id = r.group_id AND c.renovation_id = r.id "   \
  "AND c.state = 1), "                                                                        \
  "(SELECT count(*) FROM cases c WHERE c.group_id = r.group_id AND c.renovation_id = r.id), " \
  "(SELECT count(*) FROM renovation_missed_days m WHERE m.renovation_id = r.id) "

pb::Renovation RenovationOf(const pqxx::row& row) {
  pb::Renovation r;
  r.ParseFromString(sql::Bytes(row[0]));
  r.set_cases_open(row[1].as<int32_t>());
  r.set_cases_total(row[2].as<int32_t>());
  r.set_patrols_missed(row[3].as<int32_t>());
  return r;
}

// The body as stored: without the counts, which are read.
std::string BodyOf(const pb::Renovation& r) {
  pb::Renovation body = r;
  body.clear_cases_open();
  body.clear_cases_total();
  body.clear_patrols_missed();
  return body.SerializeAsString();
}

}  // namespace

RenovationStore::RenovationStore(Db& db) { statements.PrepareOn(db); }

const sql::Statement kInsert = statements.Add(
    "ct_renovation_insert",
    "INSERT INTO renovations (id, group_id, estate_id, unit_id, state, start_date, end_date, "
    "body, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, $8, "
    "$9, " WUYE_SQL_TIME("$10") ")");

void RenovationStore::Insert(pqxx::work& tx, const std::string& group, const pb::Renovation& r,
                             absl::Time now) {
  tx.exec_prepared(kInsert, r.id(), group, r.estate_id(), r.unit_id(), static_cast<int>(r.state()),
                   DateText(r.start_date()), DateText(r.end_date()), pqxx::binarystring(BodyOf(r)),
                   r.version(), sql::Micros(now));
}

const sql::Statement kGet =
    statements.Add("ct_renovation_get", "SELECT " RENOVATION_COLUMNS
                                        "FROM renovations r WHERE r.group_id = $1 AND r.id = $2");
const sql::Statement kGetForUpdate = statements.Add(
    "ct_renovation_get_for_update", "SELECT " RENOVATION_COLUMNS
                                    "FROM renovations r WHERE r.group_id = $1 AND r.id = $2 "
                                    "FOR UPDATE OF r");

std::optional<pb::Renovation> RenovationStore::Get(pqxx::work& tx, const std::string& group,
                                                   const std::string& id, bool for_update) {
  pqxx::result res = tx.exec_prepared(for_update ? kGetForUpdate : kGet, group, id);
  if (res.empty()) return std::nullopt;
  return RenovationOf(res[0]);
}

const sql::Statement kUpdate = statements.Add(
    "ct_renovation_update",
    "UPDATE renovations SET state = $3, body = $4, version = $5, updated_at = " WUYE_SQL_TIME("$6")
    ", next_check_day = COALESCE(NULLIF($7, '')::date, next_check_day) "
    "WHERE group_id = $1 AND id = $2");

void RenovationStore::Update(pqxx::work& tx, const std::string& group, const pb::Renovation& r,
                             absl::Time now, std::optional<absl::CivilDay> next_check) {
  tx.exec_prepared(kUpdate, group, r.id(), static_cast<int>(r.state()),
                   pqxx::binarystring(BodyOf(r)), r.version(), sql::Micros(now),
                   next_check ? DayText(*next_check) : std::string());
}

const sql::Statement kList =
    statements.Add("ct_renovation_list",
                   "SELECT " RENOVATION_COLUMNS
                   "FROM renovations r WHERE r.group_id = $1 AND r.estate_id = $2 "
                   "AND ($3 = 0 OR r.state = $3) AND ($4 = '' OR r.unit_id = NULLIF($4, '')::uuid) "
                   "AND r.id > " WUYE_SQL_AFTER("$5") " ORDER BY r.id LIMIT $6");

std::vector<pb::Renovation> RenovationStore::List(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate, int state,
                                                  const std::string& unit,
                                                  const PageRequest& page) {
  std::vector<pb::Renovation> out;
  for (const auto& row :
       tx.exec_prepared(kList, group, estate, state, unit, page.after, page.size + 1)) {
    out.push_back(RenovationOf(row));
  }
  return out;
}

const sql::Statement kUnitBusy = statements.Add(
    "ct_renovation_unit_busy",
    "SELECT count(*) FROM renovations WHERE group_id = $1 AND unit_id = $2 AND state IN (1, 2)");

bool RenovationStore::UnitBusy(pqxx::work& tx, const std::string& group, const std::string& unit) {
  return tx.exec_prepared1(kUnitBusy, group, unit)[0].as<int64_t>() > 0;
}

const sql::Statement kAdmissionInsert = statements.Add(
    "ct_admission_insert",
    "INSERT INTO renovation_admissions (id, group_id, renovation_id, body, admitted_at) "
    "VALUES ($1, $2, $3, $4, " WUYE_SQL_TIME("$5") ")");

void RenovationStore::InsertAdmission(pqxx::work& tx, const std::string& group,
                                      const pb::Admission& a) {
  tx.exec_prepared(kAdmissionInsert, a.id(), group, a.renovation_id(),
                   pqxx::binarystring(a.SerializeAsString()),
                   a.admit_time().seconds() * 1000000 + a.admit_time().nanos() / 1000);
}

const sql::Statement kPatrolInsert = statements.Add(
    "ct_patrol_insert",
    "INSERT INTO renovation_patrols (id, group_id, renovation_id, day, body, patrolled_at) "
    "VALUES ($1, $2, $3, $4::date, $5, " WUYE_SQL_TIME("$6") ")");

void RenovationStore::InsertPatrol(pqxx::work& tx, const std::string& group, const pb::Patrol& p,
                                   absl::CivilDay day) {
  tx.exec_prepared(kPatrolInsert, p.id(), group, p.renovation_id(), DayText(day),
                   pqxx::binarystring(p.SerializeAsString()),
                   p.patrol_time().seconds() * 1000000 + p.patrol_time().nanos() / 1000);
}

const sql::Statement kPatrolList =
    statements.Add("ct_patrol_list",
                   "SELECT body FROM renovation_patrols WHERE group_id = $1 AND renovation_id = $2 "
                   "AND id > " WUYE_SQL_AFTER("$3") " ORDER BY id LIMIT $4");

std::vector<pb::Patrol> RenovationStore::ListPatrols(pqxx::work& tx, const std::string& group,
                                                     const std::string& renovation,
                                                     const PageRequest& page) {
  std::vector<pb::Patrol> out;
  for (const auto& row :
       tx.exec_prepared(kPatrolList, group, renovation, page.after, page.size + 1)) {
    pb::Patrol p;
    p.ParseFromString(sql::Bytes(row[0]));
    out.push_back(std::move(p));
  }
  return out;
}

// ---- the daily patrol check --------------------------------------------------------------------

const sql::Statement kClaimDue = statements.Add(
    "ct_renovation_claim_due",
    "SELECT r.id, r.group_id, r.estate_id, r.unit_id, COALESCE(e.time_zone, ''), "
    "r.next_check_day::text, r.end_date::text "
    "FROM renovations r LEFT JOIN dir_estates e ON e.id = r.estate_id AND e.group_id = r.group_id "
    "WHERE r.state = 2 AND r.next_check_day IS NOT NULL AND r.next_check_day <= r.end_date "
    "AND r.next_check_day < (" WUYE_SQL_TIME("$1") " AT TIME ZONE COALESCE(NULLIF(e.time_zone, "
    "''), " WUYE_SQL_DEFAULT_ESTATE_ZONE "))::date "
    "ORDER BY r.next_check_day, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED");

std::vector<DueCheck> RenovationStore::ClaimDue(pqxx::work& tx, absl::Time now, int batch) {
  std::vector<DueCheck> out;
  for (const auto& row : tx.exec_prepared(kClaimDue, sql::Micros(now), batch)) {
    out.push_back({Text(row[0]), Text(row[1]), Text(row[2]), Text(row[3]), Text(row[4]),
                   ParseDay(Text(row[5])), ParseDay(Text(row[6]))});
  }
  return out;
}

const sql::Statement kPatrolledOn = statements.Add(
    "ct_renovation_patrolled_on",
    "SELECT count(*) FROM renovation_patrols WHERE renovation_id = $1 AND day = $2::date");

bool RenovationStore::PatrolledOn(pqxx::work& tx, const std::string& renovation,
                                  absl::CivilDay day) {
  return tx.exec_prepared1(kPatrolledOn, renovation, DayText(day))[0].as<int64_t>() > 0;
}

const sql::Statement kMissedInsert =
    statements.Add("ct_renovation_missed_insert",
                   "INSERT INTO renovation_missed_days (renovation_id, day, group_id, found_at) "
                   "VALUES ($1, $2::date, $3, " WUYE_SQL_TIME("$4") ") ON CONFLICT DO NOTHING");

bool RenovationStore::InsertMissed(pqxx::work& tx, const std::string& group,
                                   const std::string& renovation, absl::CivilDay day,
                                   absl::Time now) {
  return tx.exec_prepared(kMissedInsert, renovation, DayText(day), group, sql::Micros(now))
             .affected_rows() > 0;
}

const sql::Statement kSetNextCheck =
    statements.Add("ct_renovation_set_next_check",
                   "UPDATE renovations SET next_check_day = $2::date WHERE id = $1");

void RenovationStore::SetNextCheck(pqxx::work& tx, const std::string& renovation,
                                   absl::CivilDay day) {
  tx.exec_prepared(kSetNextCheck, renovation, DayText(day));
}

}  // namespace wuye::counter
