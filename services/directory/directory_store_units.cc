// DirectoryStore: buildings, units and the bulk import of both.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "services/directory/directory.h"
#include "services/directory/directory_store.h"
#include "services/directory/directory_store_rows.h"
#include "shared/ids.h"
#include "shared/sql.h"

namespace wuye::directory {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using store_rows::One;
using store_rows::Rows;
using store_rows::TryInsert;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kBuildingCols[] =
    "id, group_id, estate_id, name, floors, version, " WUYE_SQL_MICROS("created_at");

v1::Building BuildingRow(const pqxx::row& r) {
  v1::Building b;
  b.set_id(Text(r[0]));
  b.set_group_id(Text(r[1]));
  b.set_estate_id(Text(r[2]));
  b.set_name(Text(r[3]));
  b.set_floors(r[4].as<int>());
  b.set_version(r[5].as<int64_t>());
  *b.mutable_create_time() = Stamp(r[6]);
  return b;
}

// The two days are read as '' when NULL (not set).
constexpr char kUnitCols[] =
    "id, group_id, estate_id, building_id, number, area_m2::text, type, occupancy, handed_over, "
    "floor, version, " WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS("updated_at") ", "
    "COALESCE(handover_date::text, ''), COALESCE(move_in_date::text, '')";

v1::Unit UnitRow(const pqxx::row& r) {
  v1::Unit u;
  u.set_id(Text(r[0]));
  u.set_group_id(Text(r[1]));
  u.set_estate_id(Text(r[2]));
  u.set_building_id(Text(r[3]));
  u.set_number(Text(r[4]));
  u.set_building_area_m2(Text(r[5]));
  u.set_type(static_cast<v1::UnitType>(r[6].as<int>()));
  u.set_occupancy(static_cast<v1::Occupancy>(r[7].as<int>()));
  u.set_handed_over(r[8].as<bool>());
  u.set_floor(r[9].as<int>());
  u.set_version(r[10].as<int64_t>());
  *u.mutable_create_time() = Stamp(r[11]);
  *u.mutable_update_time() = Stamp(r[12]);
  if (!Text(r[13]).empty()) *u.mutable_handover_date() = DateFromText(Text(r[13]));
  if (!Text(r[14]).empty()) *u.mutable_move_in_date() = DateFromText(Text(r[14]));
  return u;
}

}  // namespace

const sql::Statements& DirectoryStore::UnitStatements() { return statements; }

// ---- buildings --------------------------------------------------------------------------

const sql::Statement kBuildingInsert = statements.Add(
    "dir_building_insert",
    absl::StrCat("INSERT INTO buildings (id, group_id, estate_id, name, floors, created_at) "
                 "VALUES ($1, $2, $3, $4, $5, " WUYE_SQL_TIME("$6") ") ON CONFLICT DO NOTHING "
                                                                    "RETURNING ",
                 kBuildingCols));

bool DirectoryStore::InsertBuilding(pqxx::work& tx, const v1::Building& b, absl::Time now,
                                    v1::Building* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, kBuildingInsert, b.id(), b.group_id(), b.estate_id(), b.name(),
                 b.floors(), Micros(now))) {
    return false;
  }
  *out = BuildingRow(res[0]);
  return true;
}

const sql::Statement kBuildingGet = statements.Add(
    "dir_building_get",
    absl::StrCat("SELECT ", kBuildingCols, " FROM buildings WHERE group_id = $1 AND id = $2"));

std::optional<v1::Building> DirectoryStore::GetBuilding(pqxx::work& tx, const std::string& group,
                                                        const std::string& id) {
  return One<v1::Building>(tx.exec_prepared(kBuildingGet, group, id), BuildingRow);
}

const sql::Statement kBuildingList = statements.Add(
    "dir_building_list",
    absl::StrCat("SELECT ", kBuildingCols,
                 " FROM buildings WHERE group_id = $1 AND estate_id = $2 AND id > " WUYE_SQL_AFTER(
                     "$3") " ORDER BY id LIMIT $4"));

std::vector<v1::Building> DirectoryStore::ListBuildings(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate_id,
                                                        const std::string& after, int limit) {
  return Rows<v1::Building>(tx.exec_prepared(kBuildingList, group, estate_id, after, limit),
                            BuildingRow);
}

// ---- units ------------------------------------------------------------------------------

const sql::Statement kUnitInsert = statements.Add(
    "dir_unit_insert",
    absl::StrCat("INSERT INTO units (id, group_id, estate_id, building_id, number, area_m2, type, "
                 "occupancy, handed_over, floor, created_at, updated_at, handover_date, "
                 "move_in_date) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, "
                 "" WUYE_SQL_TIME("$11") ", " WUYE_SQL_TIME(
                     "$11") ", NULLIF($12, '')::date, "
                            "NULLIF($13, '')::date) ON CONFLICT DO NOTHING RETURNING ",
                 kUnitCols));

bool DirectoryStore::InsertUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, kUnitInsert, u.id(), u.group_id(), u.estate_id(), u.building_id(),
                 u.number(), u.building_area_m2(), static_cast<int>(u.type()),
                 static_cast<int>(u.occupancy()), u.handed_over(), u.floor(), Micros(now),
                 DateText(u.handover_date()), DateText(u.move_in_date()))) {
    return false;
  }
  *out = UnitRow(res[0]);
  return true;
}

const sql::Statement kUnitGet = statements.Add(
    "dir_unit_get",
    absl::StrCat("SELECT ", kUnitCols, " FROM units WHERE group_id = $1 AND id = $2"));
const sql::Statement kUnitGetLocked = statements.Add(
    "dir_unit_get_locked",
    absl::StrCat("SELECT ", kUnitCols, " FROM units WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::Unit> DirectoryStore::GetUnit(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update) {
  return One<v1::Unit>(tx.exec_prepared(for_update ? kUnitGetLocked : kUnitGet, group, id),
                       UnitRow);
}

const sql::Statement kUnitUpdate = statements.Add(
    "dir_unit_update",
    absl::StrCat("UPDATE units SET area_m2 = $3::numeric, type = $4, occupancy = $5, "
                 "handed_over = $6, floor = $7, handover_date = NULLIF($9, '')::date, "
                 "move_in_date = NULLIF($10, '')::date, version = version + 1, updated_at = "
                 "" WUYE_SQL_TIME("$8") " WHERE group_id = $1 AND id = $2 RETURNING ",
                 kUnitCols));

void DirectoryStore::UpdateUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out) {
  *out = UnitRow(tx.exec_prepared1(kUnitUpdate, u.group_id(), u.id(), u.building_area_m2(),
                                   static_cast<int>(u.type()), static_cast<int>(u.occupancy()),
                                   u.handed_over(), u.floor(), Micros(now),
                                   DateText(u.handover_date()), DateText(u.move_in_date())));
}

const sql::Statement kUnitList = statements.Add(
    "dir_unit_list",
    absl::StrCat("SELECT ", kUnitCols,
                 " FROM units WHERE group_id = $1 AND estate_id = $2"
                 " AND (" OPT_UUID("$3") " IS NULL OR building_id = " OPT_UUID(
                     "$3") ")"
                           " AND ($4 = 0 OR occupancy = $4) AND id > " WUYE_SQL_AFTER(
                               "$5") " ORDER BY id LIMIT $6"));

std::vector<v1::Unit> DirectoryStore::ListUnits(pqxx::work& tx, const std::string& group,
                                                const std::string& estate_id,
                                                const std::string& building_id,
                                                v1::Occupancy occupancy, const std::string& after,
                                                int limit) {
  return Rows<v1::Unit>(tx.exec_prepared(kUnitList, group, estate_id, building_id,
                                         static_cast<int>(occupancy), after, limit),
                        UnitRow);
}

// ---- the bulk import --------------------------------------------------------------------

const sql::Statement kImportBuildings =
    statements.Add("dir_import_buildings",
                   absl::StrCat("INSERT INTO buildings (id, group_id, estate_id, name, created_at) "
                                "SELECT id, $1, $2, name, " WUYE_SQL_TIME(
                                    "$5") " FROM unnest($3::uuid[], "
                                          "$4::text[]) AS t(id, name) "
                                          "ON CONFLICT (estate_id, name) DO NOTHING RETURNING ",
                                kBuildingCols));
const sql::Statement kImportBuildingIds = statements.Add(
    "dir_import_building_ids",
    "SELECT name, id FROM buildings WHERE group_id = $1 AND estate_id = $2 AND name = "
    "ANY($3::text[])");
const sql::Statement kImportUnits = statements.Add(
    "dir_import_units",
    absl::StrCat(
        "INSERT INTO units (id, group_id, estate_id, building_id, number, area_m2, type, "
        "occupancy, handed_over, floor, created_at, updated_at, handover_date, "
        "move_in_date) "
        "SELECT id, $1, $2, building_id, number, area, type, occupancy, handed_over, "
        "floor, " WUYE_SQL_TIME("$11") ", " WUYE_SQL_TIME(
            "$11") ", NULLIF(ho, "
                   "'')::date, NULLIF(mi, '')::date "
                   "FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::numeric[], $7::smallint[], "
                   "$8::smallint[], $9::boolean[], $10::int[], $12::text[], $13::text[]) "
                   "AS t(id, building_id, number, area, type, occupancy, handed_over, floor, ho, "
                   "mi) "
                   "ON CONFLICT (building_id, number) DO NOTHING RETURNING ",
        kUnitCols));
// Whether each imported unit that exists has the same content, and its stored days ('' when
// NULL).
const sql::Statement kImportExisting = statements.Add(
    "dir_import_existing",
    "SELECT u.ord, (x.area_m2 = u.area AND x.type = u.type AND x.occupancy = u.occupancy AND "
    "x.handed_over = u.handed_over AND x.floor = u.floor), x.id, "
    "COALESCE(x.handover_date::text, ''), COALESCE(x.move_in_date::text, '') "
    "FROM unnest($2::uuid[], $3::text[], $4::numeric[], $5::smallint[], $6::smallint[], "
    "$7::boolean[], $8::int[]) WITH ORDINALITY "
    "AS u(building_id, number, area, type, occupancy, handed_over, floor, ord) "
    "JOIN units x ON x.building_id = u.building_id AND x.number = u.number AND x.group_id = $1 "
    "ORDER BY u.ord");
// Re-imported hand-over and move-in days of existing units (003_…, Q4 and Q6).
const sql::Statement kImportDates = statements.Add(
    "dir_import_dates",
    absl::StrCat(
        "UPDATE units x SET handover_date = NULLIF(u.ho, '')::date, move_in_date = "
        "NULLIF(u.mi, '')::date, version = x.version + 1, updated_at = "
        "" WUYE_SQL_TIME("$5") " FROM unnest($2::uuid[], $3::text[], $4::text[]) AS "
                               "u(uid, ho, mi) WHERE x.group_id = $1 AND x.id = u.uid RETURNING ",
        kUnitCols));

ImportResult DirectoryStore::ImportUnits(pqxx::work& tx, const std::string& group,
                                         const std::string& estate_id,
                                         const std::vector<v1::ImportedUnit>& units,
                                         absl::Time now) {
  ImportResult result;
  // A bulk load is the one place where statements may run long.
  tx.exec0("SET LOCAL statement_timeout = '120s'");
  // 1. Buildings named by the import that the estate lacks.
  std::map<std::string, std::string> building_ids;  // name → id
  for (const auto& u : units) building_ids.emplace(u.building_name(), "");
  std::vector<std::string> names, new_ids;
  for (auto& [name, id] : building_ids) {
    names.push_back(name);
    new_ids.push_back(NewId(now));
  }
  for (const auto& r : tx.exec_prepared(kImportBuildings, group, estate_id, PgArray(new_ids),
                                        PgArray(names), Micros(now))) {
    result.buildings_created.push_back(BuildingRow(r));
  }
  for (const auto& r : tx.exec_prepared(kImportBuildingIds, group, estate_id, PgArray(names))) {
    building_ids[Text(r[0])] = Text(r[1]);
  }
  // 2. The units, as parallel arrays: one statement per chunk keeps each statement short.
  std::vector<std::string> ids, bids, numbers, areas, types, occupancies, handed, floors, handovers,
      move_ins;
  for (const auto& u : units) {
    ids.push_back(NewId(now));
    bids.push_back(building_ids[u.building_name()]);
    numbers.push_back(u.number());
    areas.push_back(u.building_area_m2());
    types.push_back(std::to_string(u.type()));
    occupancies.push_back(std::to_string(u.occupancy()));
    handed.push_back(u.handed_over() ? "t" : "f");
    floors.push_back(std::to_string(u.floor()));
    handovers.push_back(DateText(u.handover_date()));
    move_ins.push_back(DateText(u.move_in_date()));
  }
  constexpr size_t kChunk = 20000;
  for (size_t start = 0; start < units.size(); start += kChunk) {
    auto chunk = [&](const std::vector<std::string>& column) {
      return PgArray(absl::MakeConstSpan(column).subspan(start, kChunk));
    };
    for (const auto& r :
         tx.exec_prepared(kImportUnits, group, estate_id, chunk(ids), chunk(bids), chunk(numbers),
                          chunk(areas), chunk(types), chunk(occupancies), chunk(handed),
                          chunk(floors), Micros(now), chunk(handovers), chunk(move_ins))) {
      result.units_created.push_back(UnitRow(r));
    }
  }
  if (result.units_created.size() == units.size()) return result;
  // 3. Units that were there already: the same content is fine, other content is a conflict.
  // A day the row gives replaces the stored one; a day it leaves unset keeps it.
  std::set<std::string> created_ids;
  for (const auto& u : result.units_created) created_ids.insert(u.id());
  std::vector<std::string> dated_ids, dated_handovers, dated_move_ins;
  for (const auto& r :
       tx.exec_prepared(kImportExisting, group, PgArray(bids), PgArray(numbers), PgArray(areas),
                        PgArray(types), PgArray(occupancies), PgArray(handed), PgArray(floors))) {
    int index = r[0].as<int>() - 1;
    if (created_ids.count(ids[index])) continue;
    if (!r[1].as<bool>()) {
      if (result.first_conflict < 0) result.first_conflict = index;
      continue;
    }
    std::string stored_handover = Text(r[3]), stored_move_in = Text(r[4]);
    std::string handover = handovers[index].empty() ? stored_handover : handovers[index];
    std::string move_in = move_ins[index].empty() ? stored_move_in : move_ins[index];
    if (handover == stored_handover && move_in == stored_move_in) {
      ++result.unchanged;
      continue;
    }
    if (!handover.empty() && !move_in.empty() && move_in < handover) {
      if (result.first_bad_dates < 0) result.first_bad_dates = index;
      continue;
    }
    dated_ids.push_back(Text(r[2]));
    dated_handovers.push_back(handover);
    dated_move_ins.push_back(move_in);
  }
  if (result.first_conflict >= 0 || result.first_bad_dates >= 0 || dated_ids.empty()) {
    return result;
  }
  for (const auto& r :
       tx.exec_prepared(kImportDates, group, PgArray(dated_ids), PgArray(dated_handovers),
                        PgArray(dated_move_ins), Micros(now))) {
    result.units_updated.push_back(UnitRow(r));
  }
  return result;
}

}  // namespace wuye::directory
