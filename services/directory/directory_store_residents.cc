// DirectoryStore: residents.
#include "absl/strings/str_cat.h"
#include "services/directory/directory.h"
#include "services/directory/directory_store.h"
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

// The days are read as '' when NULL (not set).
constexpr char kResidentCols[] =
    "id, group_id, estate_id, unit_id, name, phone, COALESCE(birth_date::text, ''), role, "
    "COALESCE(lease_start::text, ''), COALESCE(lease_end::text, ''), version, " WUYE_SQL_MICROS(
        "created_at") ", " WUYE_SQL_MICROS("updated_at") ", COALESCE(move_out_date::text, '')";

v1::Resident ResidentRow(const pqxx::row& r) {
  v1::Resident x;
  x.set_id(Text(r[0]));
  x.set_group_id(Text(r[1]));
  x.set_estate_id(Text(r[2]));
  x.set_unit_id(Text(r[3]));
  x.set_name(Text(r[4]));
  x.set_phone(Text(r[5]));
  if (!Text(r[6]).empty()) *x.mutable_date_of_birth() = DateFromText(Text(r[6]));
  x.set_role(static_cast<v1::ResidentRole>(r[7].as<int>()));
  if (!Text(r[8]).empty()) *x.mutable_lease_start() = DateFromText(Text(r[8]));
  if (!Text(r[9]).empty()) *x.mutable_lease_end() = DateFromText(Text(r[9]));
  x.set_version(r[10].as<int64_t>());
  *x.mutable_create_time() = Stamp(r[11]);
  *x.mutable_update_time() = Stamp(r[12]);
  if (!Text(r[13]).empty()) *x.mutable_move_out_date() = DateFromText(Text(r[13]));
  return x;
}

}  // namespace

const sql::Statements& DirectoryStore::ResidentStatements() { return statements; }

const sql::Statement kResidentInsert = statements.Add(
    "dir_resident_insert",
    absl::StrCat("INSERT INTO residents (id, group_id, estate_id, unit_id, name, phone, "
                 "birth_date, role, lease_start, lease_end, created_at, updated_at, "
                 "move_out_date) VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::date, $8, "
                 "NULLIF($9, '')::date, NULLIF($10, '')::date, " WUYE_SQL_TIME(
                     "$11") ", " WUYE_SQL_TIME("$11") ", NULLIF($12, '')::date) RETURNING ",
                 kResidentCols));

void DirectoryStore::InsertResident(pqxx::work& tx, const v1::Resident& r, absl::Time now,
                                    v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1(
      kResidentInsert, r.id(), r.group_id(), r.estate_id(), r.unit_id(), r.name(), r.phone(),
      DateText(r.date_of_birth()), static_cast<int>(r.role()), DateText(r.lease_start()),
      DateText(r.lease_end()), Micros(now), DateText(r.move_out_date())));
}

// A removed resident is kept but no longer read.
const sql::Statement kResidentGet = statements.Add(
    "dir_resident_get",
    absl::StrCat("SELECT ", kResidentCols,
                 " FROM residents WHERE group_id = $1 AND id = $2 AND removed_at IS NULL"));
const sql::Statement kResidentGetLocked = statements.Add(
    "dir_resident_get_locked",
    absl::StrCat("SELECT ", kResidentCols,
                 " FROM residents WHERE group_id = $1 AND id = $2 AND removed_at IS NULL "
                 "FOR UPDATE"));

std::optional<v1::Resident> DirectoryStore::GetResident(pqxx::work& tx, const std::string& group,
                                                        const std::string& id, bool for_update) {
  return One<v1::Resident>(
      tx.exec_prepared(for_update ? kResidentGetLocked : kResidentGet, group, id), ResidentRow);
}

const sql::Statement kResidentUpdate = statements.Add(
    "dir_resident_update",
    absl::StrCat("UPDATE residents SET name = $3, phone = $4, birth_date = NULLIF($5, '')::date, "
                 "role = $6, lease_start = NULLIF($7, '')::date, lease_end = NULLIF($8, "
                 "'')::date, move_out_date = NULLIF($10, '')::date, version = version + 1, "
                 "updated_at = " WUYE_SQL_TIME("$9") " WHERE group_id = $1 AND id = $2 "
                                                     "RETURNING ",
                 kResidentCols));

void DirectoryStore::UpdateResident(pqxx::work& tx, const v1::Resident& r, absl::Time now,
                                    v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1(kResidentUpdate, r.group_id(), r.id(), r.name(), r.phone(),
                                       DateText(r.date_of_birth()), static_cast<int>(r.role()),
                                       DateText(r.lease_start()), DateText(r.lease_end()),
                                       Micros(now), DateText(r.move_out_date())));
}

const sql::Statement kResidentRemove = statements.Add(
    "dir_resident_remove", absl::StrCat("UPDATE residents SET removed_at = " WUYE_SQL_TIME(
                                            "$3") ", version = version + "
                                                  "1, updated_at = " WUYE_SQL_TIME(
                                                      "$3") " WHERE group_id = $1 AND id = $2 AND "
                                                            "removed_at IS NULL RETURNING ",
                                        kResidentCols));

void DirectoryStore::RemoveResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                    absl::Time now, v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1(kResidentRemove, group, id, Micros(now)));
}

const sql::Statement kResidentList = statements.Add(
    "dir_resident_list",
    absl::StrCat("SELECT ", kResidentCols,
                 " FROM residents WHERE group_id = $1 AND estate_id = $2 AND removed_at IS NULL"
                 " AND (" OPT_UUID("$3") " IS NULL OR unit_id = " OPT_UUID(
                     "$3") ")"
                           " AND id > " WUYE_SQL_AFTER("$4") " ORDER BY id LIMIT $5"));

std::vector<v1::Resident> DirectoryStore::ListResidents(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate_id,
                                                        const std::string& unit_id,
                                                        const std::string& after, int limit) {
  return Rows<v1::Resident>(
      tx.exec_prepared(kResidentList, group, estate_id, unit_id, after, limit), ResidentRow);
}

}  // namespace wuye::directory
