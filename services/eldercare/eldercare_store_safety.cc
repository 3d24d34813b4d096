// EldercareStore: emergencies and safety checks.
#include "absl/strings/str_cat.h"
#include "services/eldercare/eldercare_store.h"
#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::eldercare {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kSafetyCols[] =
    "id, estate_id, reason, homes, " WUYE_SQL_MICROS("raised_at") ", "
    "COALESCE(" WUYE_SQL_MICROS("completed_at") ", 0)";

}  // namespace

const sql::Statements& EldercareStore::SafetyStatements() { return statements; }

// ---- emergencies and safety checks -------------------------------------------------------

const sql::Statement kEmergencyInsert = statements.Add(
    "ec_emergency_insert",
    "INSERT INTO emergencies (id, group_id, estate_id, elder_id, unit_id, raised_by, raised_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, " WUYE_SQL_TIME("$7") ")");

void EldercareStore::InsertEmergency(pqxx::work& tx, const std::string& group,
                                     const v1::Emergency& e, const std::string& raised_by) {
  tx.exec_prepared(kEmergencyInsert, e.id(), group, e.estate_id(), e.elder_id(), e.unit_id(),
                   raised_by, Micros(FromProtoTime(e.raised_at())));
}

const sql::Statement kSafetyInsert = statements.Add(
    "ec_safety_insert",
    "INSERT INTO safety_checks (id, group_id, estate_id, reason, homes, raised_at) VALUES ($1, $2, "
    "$3, $4, $5, " WUYE_SQL_TIME("$6") ")");

const sql::Statement kSafetyHomeInsert =
    statements.Add("ec_safety_home_insert",
                   "INSERT INTO safety_check_homes (check_id, elder_id, unit_id) SELECT $1, "
                   "unnest($2::uuid[]), unnest($3::uuid[])");

void EldercareStore::InsertSafetyCheck(pqxx::work& tx, const std::string& group,
                                       const v1::SafetyCheck& c,
                                       const std::vector<v1::Elder>& homes) {
  tx.exec_prepared(kSafetyInsert, c.id(), group, c.estate_id(), c.reason(),
                   static_cast<int>(homes.size()), Micros(FromProtoTime(c.raised_at())));
  std::vector<std::string> elders, units;
  for (const auto& e : homes) {
    elders.push_back(e.id());
    units.push_back(e.unit_id());
  }
  if (!elders.empty()) {
    tx.exec_prepared(kSafetyHomeInsert, c.id(), PgArray(elders), PgArray(units));
  }
}

const sql::Statement kSafetyGet = statements.Add(
    "ec_safety_get",
    absl::StrCat("SELECT ", kSafetyCols, " FROM safety_checks WHERE group_id = $1 AND id = $2"));

const sql::Statement kSafetyGetLocked =
    statements.Add("ec_safety_get_locked",
                   absl::StrCat("SELECT ", kSafetyCols,
                                " FROM safety_checks WHERE group_id = $1 AND id = $2 FOR UPDATE"));

const sql::Statement kSafetyHomes = statements.Add("ec_safety_homes",
    "SELECT elder_id, unit_id, checked_at IS NOT NULL, COALESCE(safe, false), COALESCE("
    WUYE_SQL_MICROS("checked_at") ", 0) FROM safety_check_homes WHERE check_id = $1 ORDER BY "
    "elder_id");

std::optional<v1::SafetyCheck> EldercareStore::GetSafetyCheck(pqxx::work& tx,
                                                              const std::string& group,
                                                              const std::string& id,
                                                              bool for_update) {
  pqxx::result res = tx.exec_prepared(for_update ? kSafetyGetLocked : kSafetyGet, group, id);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  v1::SafetyCheck c;
  c.set_id(Text(r[0]));
  c.set_estate_id(Text(r[1]));
  c.set_reason(Text(r[2]));
  c.set_homes(r[3].as<int>());
  *c.mutable_raised_at() = Stamp(r[4]);
  if (r[5].as<int64_t>() != 0) *c.mutable_completed_at() = Stamp(r[5]);
  for (const auto& h : tx.exec_prepared(kSafetyHomes, id)) {
    v1::SafetyCheckHome* home = c.add_home_results();
    home->set_elder_id(Text(h[0]));
    home->set_unit_id(Text(h[1]));
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

const sql::Statement kSafetyRecord = statements.Add("ec_safety_record",
    "UPDATE safety_check_homes SET checked_at = " WUYE_SQL_TIME("$4") ", safe = $3 WHERE "
    "check_id = $1 AND elder_id = $2 RETURNING 1");

bool EldercareStore::RecordSafetyResult(pqxx::work& tx, const std::string& check,
                                        const std::string& elder, bool safe, absl::Time now) {
  return !tx.exec_prepared(kSafetyRecord, check, elder, safe, Micros(now)).empty();
}

const sql::Statement kSafetyComplete = statements.Add("ec_safety_complete",
    "UPDATE safety_checks SET completed_at = " WUYE_SQL_TIME("$2") " WHERE id = $1 AND "
    "completed_at IS NULL");

void EldercareStore::CompleteSafetyCheck(pqxx::work& tx, const std::string& id, absl::Time now) {
  tx.exec_prepared(kSafetyComplete, id, Micros(now));
}

}  // namespace wuye::eldercare
