// DirectoryStore's constructor, groups and estates.
#include "services/directory/directory_store.h"

#include "absl/strings/str_cat.h"
#include "services/directory/directory_store_rows.h"
#include "shared/sql.h"

namespace wuye::directory {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using store_rows::One;
using store_rows::Rows;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& DirectoryStore::EstateStatements() { return statements; }

DirectoryStore::DirectoryStore(Db& db) {
  for (const sql::Statements* part :
       {&EstateStatements(), &UnitStatements(), &ResidentStatements(), &StaffStatements()}) {
    part->PrepareOn(db);
  }
}

// ---- groups -----------------------------------------------------------------------------

const sql::Statement kGroupInsert = statements.Add(
    "dir_group_insert",
    "INSERT INTO groups (id, name, created_at) VALUES ($1, $2, " WUYE_SQL_TIME("$3") ") "
    "RETURNING id, name, " WUYE_SQL_MICROS("created_at"));

void DirectoryStore::InsertGroup(pqxx::work& tx, const v1::Group& g, absl::Time now,
                                 v1::Group* out) {
  auto r = tx.exec_prepared1(kGroupInsert, g.id(), g.name(), Micros(now));
  out->set_id(Text(r[0]));
  out->set_name(Text(r[1]));
  *out->mutable_create_time() = Stamp(r[2]);
}

const sql::Statement kGroupGet =
    statements.Add("dir_group_get",
                   "SELECT id, name, " WUYE_SQL_MICROS("created_at") " FROM groups WHERE id = $1");

std::optional<v1::Group> DirectoryStore::GetGroup(pqxx::work& tx, const std::string& id) {
  return One<v1::Group>(tx.exec_prepared(kGroupGet, id), [](const pqxx::row& r) {
    v1::Group g;
    g.set_id(Text(r[0]));
    g.set_name(Text(r[1]));
    *g.mutable_create_time() = Stamp(r[2]);
    return g;
  });
}

// ---- estates ----------------------------------------------------------------------------

namespace {

constexpr char kEstateCols[] =
    "id, group_id, name, kind, time_zone, desk_opens_min, desk_closes_min, fee_fen_per_m2, "
    "household_count, address, version, " WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS(
        "updated_at") ", desk_24h, duty_phone";

v1::Estate EstateRow(const pqxx::row& r) {
  v1::Estate e;
  e.set_id(Text(r[0]));
  e.set_group_id(Text(r[1]));
  e.set_name(Text(r[2]));
  e.set_kind(static_cast<v1::EstateKind>(r[3].as<int>()));
  e.set_time_zone(Text(r[4]));
  e.set_desk_24h(r[13].as<bool>());
  if (!e.desk_24h()) {  // a 24-hour desk has no hours
    int opens = r[5].as<int>(), closes = r[6].as<int>();
    e.mutable_desk_opens()->set_hours(opens / 60);
    e.mutable_desk_opens()->set_minutes(opens % 60);
    e.mutable_desk_closes()->set_hours(closes / 60);
    e.mutable_desk_closes()->set_minutes(closes % 60);
  }
  e.set_duty_phone(Text(r[14]));
  e.set_management_fee_fen_per_m2(r[7].as<int64_t>());
  e.set_household_count(r[8].as<int>());
  e.set_address(Text(r[9]));
  e.set_version(r[10].as<int64_t>());
  *e.mutable_create_time() = Stamp(r[11]);
  *e.mutable_update_time() = Stamp(r[12]);
  return e;
}

int Minutes(const v1::TimeOfDay& t) { return t.hours() * 60 + t.minutes(); }

}  // namespace

const sql::Statement kEstateInsert = statements.Add(
    "dir_estate_insert",
    absl::StrCat("INSERT INTO estates (id, group_id, name, kind, time_zone, desk_opens_min, "
                 "desk_closes_min, fee_fen_per_m2, household_count, address, created_at, "
                 "updated_at, desk_24h, duty_phone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                 "$9, $10, " WUYE_SQL_TIME("$11") ", " WUYE_SQL_TIME("$11") ", $12, $13) "
                                                                            "RETURNING ",
                 kEstateCols));

void DirectoryStore::InsertEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now,
                                  v1::Estate* out) {
  *out = EstateRow(tx.exec_prepared1(
      kEstateInsert, e.id(), e.group_id(), e.name(), static_cast<int>(e.kind()), e.time_zone(),
      Minutes(e.desk_opens()), Minutes(e.desk_closes()), e.management_fee_fen_per_m2(),
      e.household_count(), e.address(), Micros(now), e.desk_24h(), e.duty_phone()));
}

const sql::Statement kEstateGet = statements.Add(
    "dir_estate_get",
    absl::StrCat("SELECT ", kEstateCols, " FROM estates WHERE group_id = $1 AND id = $2"));
const sql::Statement kEstateGetLocked =
    statements.Add("dir_estate_get_locked",
                   absl::StrCat("SELECT ", kEstateCols,
                                " FROM estates WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::Estate> DirectoryStore::GetEstate(pqxx::work& tx, const std::string& group,
                                                    const std::string& id, bool for_update) {
  return One<v1::Estate>(tx.exec_prepared(for_update ? kEstateGetLocked : kEstateGet, group, id),
                         EstateRow);
}

const sql::Statement kEstateUpdate = statements.Add(
    "dir_estate_update",
    absl::StrCat("UPDATE estates SET name = $3, kind = $4, time_zone = $5, desk_opens_min = $6, "
                 "desk_closes_min = $7, fee_fen_per_m2 = $8, household_count = $9, address = $10, "
                 "version = version + 1, updated_at = " WUYE_SQL_TIME(
                     "$11") ", desk_24h = $12, "
                            "duty_phone = $13 WHERE group_id = $1 AND id = $2 RETURNING ",
                 kEstateCols));

void DirectoryStore::UpdateEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now,
                                  v1::Estate* out) {
  *out = EstateRow(tx.exec_prepared1(
      kEstateUpdate, e.group_id(), e.id(), e.name(), static_cast<int>(e.kind()), e.time_zone(),
      Minutes(e.desk_opens()), Minutes(e.desk_closes()), e.management_fee_fen_per_m2(),
      e.household_count(), e.address(), Micros(now), e.desk_24h(), e.duty_phone()));
}

const sql::Statement kEstateList = statements.Add(
    "dir_estate_list",
    absl::StrCat("SELECT ", kEstateCols,
                 " FROM estates WHERE group_id = $1 AND ($2 OR id = ANY($3::uuid[])) AND id > "
                 "" WUYE_SQL_AFTER("$4") " ORDER BY id LIMIT $5"));

std::vector<v1::Estate> DirectoryStore::ListEstates(pqxx::work& tx, const std::string& group,
                                                    bool all,
                                                    const std::vector<std::string>& estate_ids,
                                                    const std::string& after, int limit) {
  return Rows<v1::Estate>(
      tx.exec_prepared(kEstateList, group, all, PgArray(estate_ids), after, limit), EstateRow);
}

const sql::Statement kEstateCount =
    statements.Add("dir_estate_count",
                   "SELECT count(*) FROM estates WHERE group_id = $1 AND id = ANY($2::uuid[])");

int DirectoryStore::CountEstates(pqxx::work& tx, const std::string& group,
                                 const std::vector<std::string>& estate_ids) {
  return tx.exec_prepared1(kEstateCount, group, PgArray(estate_ids))[0].as<int>();
}

}  // namespace wuye::directory
