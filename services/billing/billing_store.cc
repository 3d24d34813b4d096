// BillingStore: its constructor, and the directory's estates, units and residents as billing
// keeps them.
#include "services/billing/billing_store.h"

#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Text;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& BillingStore::CopyStatements() { return statements; }

BillingStore::BillingStore(Db& db) {
  for (const sql::Statements* part :
       {&CopyStatements(), &PriceStatements(), &MeterStatements(), &BillStatements(),
        &PaymentStatements(), &CollectionStatements(), &SettingsStatements()}) {
    part->PrepareOn(db);
  }
}

// ---- directory copy ---------------------------------------------------------------------

const sql::Statement kEstateUpsert =
    statements.Add("bl_estate_upsert",
                   "INSERT INTO bl_estates (id, group_id, fee_fen_per_m2, time_zone, version) "
                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
                   "fee_fen_per_m2 = excluded.fee_fen_per_m2, time_zone = excluded.time_zone, "
                   "version = excluded.version WHERE bl_estates.version < excluded.version "
                   "AND bl_estates.group_id = excluded.group_id");

void BillingStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                int64_t rate, const std::string& tz, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, rate, tz, version);
}

const sql::Statement kUnitsUpsert = statements.Add(
    "bl_units_upsert",
    "INSERT INTO bl_units (id, group_id, estate_id, area_centi, type, occupancy, "
    "handed_over, version, handover_date, move_in_date) SELECT i, g, e, a, t, o, h, v, "
    "NULLIF(hd, '')::date, NULLIF(md, '')::date FROM unnest($1::uuid[], $2::uuid[], "
    "$3::uuid[], $4::bigint[], $5::smallint[], $6::smallint[], $7::boolean[], $8::bigint[], "
    "$9::text[], $10::text[]) AS x(i, g, e, a, t, o, h, v, hd, md) "
    "ON CONFLICT (id) DO UPDATE SET area_centi = excluded.area_centi, type = excluded.type, "
    "occupancy = excluded.occupancy, handed_over = excluded.handed_over, "
    "handover_date = excluded.handover_date, move_in_date = excluded.move_in_date, "
    "version = excluded.version WHERE bl_units.version < excluded.version "
    "AND bl_units.group_id = excluded.group_id");

void BillingStore::UpsertUnits(pqxx::work& tx, const std::string& group,
                               const std::vector<UnitCopy>& units) {
  if (units.empty()) return;
  std::vector<std::string> ids, groups, estates, areas, types, occs, handed, versions, handover,
      move_in;
  auto day = [](const std::optional<absl::CivilDay>& d) {
    return d ? absl::FormatCivilTime(*d) : std::string();
  };
  for (const auto& u : units) {
    ids.push_back(u.id);
    groups.push_back(group);
    estates.push_back(u.estate_id);
    areas.push_back(std::to_string(u.facts.area_centi_m2));
    types.push_back(std::to_string(u.facts.type));
    occs.push_back(std::to_string(u.facts.occupancy));
    handed.push_back(u.facts.handed_over ? "t" : "f");
    versions.push_back(std::to_string(u.version));
    handover.push_back(day(u.facts.handover_day));
    move_in.push_back(day(u.facts.move_in_day));
  }
  tx.exec_prepared(kUnitsUpsert, PgArray(ids), PgArray(groups), PgArray(estates), PgArray(areas),
                   PgArray(types), PgArray(occs), PgArray(handed), PgArray(versions),
                   PgArray(handover), PgArray(move_in));
}

const sql::Statement kResidentUpsert = statements.Add(
    "bl_resident_upsert",
    "INSERT INTO bl_residents (id, group_id, unit_id, owner, version) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET unit_id = excluded.unit_id, "
    "owner = excluded.owner, version = excluded.version "
    "WHERE bl_residents.version < excluded.version AND bl_residents.group_id = "
    "excluded.group_id");

void BillingStore::UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                  const std::string& unit_id, bool owner, int64_t version) {
  tx.exec_prepared(kResidentUpsert, id, group, unit_id, owner, version);
}

const sql::Statement kEstateGet = statements.Add(
    "bl_estate_get",
    "SELECT id, fee_fen_per_m2, time_zone FROM bl_estates WHERE group_id = $1 AND id = $2");

std::optional<EstateCopy> BillingStore::GetEstate(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  pqxx::result r = tx.exec_prepared(kEstateGet, group, id);
  if (r.empty()) return std::nullopt;
  return EstateCopy{Text(r[0][0]), r[0][1].as<int64_t>(), Text(r[0][2])};
}

const sql::Statement kEstateNext =
    statements.Add("bl_estate_next",
                   "SELECT id, fee_fen_per_m2, time_zone FROM bl_estates WHERE group_id = $1 "
                   "AND id > " WUYE_SQL_AFTER("$2") " ORDER BY id LIMIT 1");

std::optional<EstateCopy> BillingStore::NextEstate(pqxx::work& tx, const std::string& group,
                                                   const std::string& after) {
  pqxx::result r = tx.exec_prepared(kEstateNext, group, after);
  if (r.empty()) return std::nullopt;
  return EstateCopy{Text(r[0][0]), r[0][1].as<int64_t>(), Text(r[0][2])};
}

const sql::Statement kEstateZones = statements.Add(
    "bl_estate_zones", "SELECT DISTINCT time_zone FROM bl_estates WHERE group_id = $1");

std::vector<std::string> BillingStore::EstateZones(pqxx::work& tx, const std::string& group) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared(kEstateZones, group)) out.push_back(Text(r[0]));
  return out;
}

const sql::Statement kUnitGet = statements.Add(
    "bl_unit_get",
    "SELECT id, estate_id, area_centi, type, occupancy, handed_over, version, "
    "COALESCE(handover_date::text, ''), COALESCE(move_in_date::text, '') FROM bl_units "
    "WHERE group_id = $1 AND id = $2");

std::optional<UnitCopy> BillingStore::GetUnit(pqxx::work& tx, const std::string& group,
                                              const std::string& id) {
  pqxx::result r = tx.exec_prepared(kUnitGet, group, id);
  if (r.empty()) return std::nullopt;
  UnitCopy u;
  u.id = Text(r[0][0]);
  u.estate_id = Text(r[0][1]);
  u.facts.area_centi_m2 = r[0][2].as<int64_t>();
  u.facts.type = r[0][3].as<int>();
  u.facts.occupancy = r[0][4].as<int>();
  u.facts.handed_over = r[0][5].as<bool>();
  u.version = r[0][6].as<int64_t>();
  absl::CivilDay day;
  if (absl::ParseCivilTime(Text(r[0][7]), &day)) u.facts.handover_day = day;
  if (absl::ParseCivilTime(Text(r[0][8]), &day)) u.facts.move_in_day = day;
  return u;
}

const sql::Statement kUnitLock = statements.Add(
    "bl_unit_lock", "SELECT 1 FROM bl_units WHERE group_id = $1 AND id = $2 FOR UPDATE");

bool BillingStore::LockUnit(pqxx::work& tx, const std::string& group, const std::string& unit) {
  return !tx.exec_prepared(kUnitLock, group, unit).empty();
}

const sql::Statement kUnitsBillable =
    statements.Add("bl_units_billable",
                   "SELECT count(*) FROM bl_units WHERE group_id = $1 AND handed_over AND "
                   "($2 = '' OR estate_id = NULLIF($2, '')::uuid) AND (handover_date IS NULL OR "
                   "handover_date < ($3::date + interval '1 month')::date)");

int64_t BillingStore::CountBillableUnits(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& period) {
  return tx.exec_prepared1(kUnitsBillable, group, estate, period)[0].as<int64_t>();
}

}  // namespace wuye::billing
