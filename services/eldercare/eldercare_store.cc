// EldercareStore's constructor, and the copy of the directory's estates, units and residents.
#include "services/eldercare/eldercare_store.h"

#include "services/eldercare/eldercare_store_rows.h"
#include "shared/sql.h"

namespace wuye::eldercare {
namespace {

using sql::Text;
using store_rows::DayParam;
using store_rows::ParseDay;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& EldercareStore::DirectoryCopyStatements() { return statements; }

EldercareStore::EldercareStore(Db& db) {
  for (const sql::Statements* part :
       {&DirectoryCopyStatements(), &ElderStatements(), &HealthStatements(), &CareStatements(),
        &MoneyStatements(), &SafetyStatements()}) {
    part->PrepareOn(db);
  }
}

// ---- the directory copy ---------------------------------------------------------------

const sql::Statement kEstateUpsert = statements.Add(
    "ec_estate_upsert",
    "INSERT INTO dir_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = "
    "EXCLUDED.version WHERE dir_estates.version < EXCLUDED.version "
    "AND dir_estates.group_id = EXCLUDED.group_id");

void EldercareStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                  const std::string& time_zone, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, time_zone, version);
}

const sql::Statement kUnitUpsert = statements.Add(
    "ec_unit_upsert",
    "INSERT INTO dir_units (id, group_id, estate_id, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, version = "
    "EXCLUDED.version WHERE dir_units.version < EXCLUDED.version "
    "AND dir_units.group_id = EXCLUDED.group_id");

void EldercareStore::UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                                const std::string& estate_id, int64_t version) {
  tx.exec_prepared(kUnitUpsert, id, group, estate_id, version);
}

const sql::Statement kResidentUpsert = statements.Add(
    "ec_resident_upsert",
    "INSERT INTO dir_residents (id, group_id, estate_id, unit_id, role, birth_date, "
    "lease_start, lease_end, version) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::date, "
    "NULLIF($7, '')::date, NULLIF($8, '')::date, $9) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, unit_id = "
    "EXCLUDED.unit_id, role = EXCLUDED.role, birth_date = EXCLUDED.birth_date, "
    "lease_start = EXCLUDED.lease_start, lease_end = EXCLUDED.lease_end, version = "
    "EXCLUDED.version WHERE dir_residents.version < EXCLUDED.version "
    "AND dir_residents.group_id = EXCLUDED.group_id");

void EldercareStore::UpsertResident(pqxx::work& tx, const std::string& group,
                                    const ResidentCopy& r) {
  tx.exec_prepared(kResidentUpsert, r.id, group, r.estate_id, r.unit_id,
                   static_cast<int>(r.facts.role), DayParam(r.facts.date_of_birth),
                   DayParam(r.facts.lease_start), DayParam(r.facts.lease_end), r.version);
}

const sql::Statement kResidentGet =
    statements.Add("ec_resident_get",
                   "SELECT id, estate_id, unit_id, role, COALESCE(birth_date::text, ''), "
                   "COALESCE(lease_start::text, ''), COALESCE(lease_end::text, ''), version "
                   "FROM dir_residents WHERE group_id = $1 AND id = $2");

std::optional<ResidentCopy> EldercareStore::GetResident(pqxx::work& tx, const std::string& group,
                                                        const std::string& id) {
  pqxx::result res = tx.exec_prepared(kResidentGet, group, id);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  ResidentCopy c;
  c.id = Text(r[0]);
  c.estate_id = Text(r[1]);
  c.unit_id = Text(r[2]);
  c.facts.role = static_cast<ResidentRole>(r[3].as<int>());
  c.facts.date_of_birth = ParseDay(Text(r[4]));
  c.facts.lease_start = ParseDay(Text(r[5]));
  c.facts.lease_end = ParseDay(Text(r[6]));
  c.version = r[7].as<int64_t>();
  return c;
}

const sql::Statement kEstateZone = statements.Add(
    "ec_estate_zone", "SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = $2");

bool EldercareStore::EstateKnown(pqxx::work& tx, const std::string& group,
                                 const std::string& estate) {
  return !tx.exec_prepared(kEstateZone, group, estate).empty();
}

std::string EldercareStore::EstateZone(pqxx::work& tx, const std::string& group,
                                       const std::string& estate) {
  pqxx::result res = tx.exec_prepared(kEstateZone, group, estate);
  return res.empty() ? "" : Text(res[0][0]);
}

}  // namespace wuye::eldercare
