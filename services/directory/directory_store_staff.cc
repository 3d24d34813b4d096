// DirectoryStore: staff and their shifts.
#include "absl/strings/str_cat.h"
#include "services/directory/directory.h"
#include "services/directory/directory_store.h"
#include "services/directory/directory_store_rows.h"
#include "shared/proto_time.h"
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

// The start day is read as '' when NULL (not set).
constexpr char kStaffCols[] =
    "id, group_id, name, phone, roles, skills, home_estates, active, "
    "COALESCE(start_date::text, ''), version, " WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS(
        "updated_at");

v1::Staff StaffRow(const pqxx::row& r) {
  v1::Staff s;
  s.set_id(Text(r[0]));
  s.set_group_id(Text(r[1]));
  s.set_name(Text(r[2]));
  s.set_phone(Text(r[3]));
  for (const auto& v : ParsePgArray(r[4])) s.add_roles(static_cast<v1::StaffRole>(std::stoi(v)));
  for (const auto& v : ParsePgArray(r[5])) s.add_skills(static_cast<v1::Skill>(std::stoi(v)));
  for (const auto& v : ParsePgArray(r[6])) s.add_home_estate_ids(v);
  s.set_active(r[7].as<bool>());
  if (!Text(r[8]).empty()) *s.mutable_start_date() = DateFromText(Text(r[8]));
  s.set_version(r[9].as<int64_t>());
  *s.mutable_create_time() = Stamp(r[10]);
  *s.mutable_update_time() = Stamp(r[11]);
  return s;
}

std::string IntArray(const google::protobuf::RepeatedField<int>& values) {
  std::vector<std::string> items;
  for (int v : values) items.push_back(std::to_string(v));
  return PgArray(items);
}

constexpr char kShiftCols[] = "id, group_id, estate_id, staff_id, " WUYE_SQL_MICROS(
    "lower(during)") ", " WUYE_SQL_MICROS("upper(during)") ", " WUYE_SQL_MICROS("created_at");

v1::Shift ShiftRow(const pqxx::row& r) {
  v1::Shift s;
  s.set_id(Text(r[0]));
  s.set_group_id(Text(r[1]));
  s.set_estate_id(Text(r[2]));
  s.set_staff_id(Text(r[3]));
  *s.mutable_start_time() = Stamp(r[4]);
  *s.mutable_end_time() = Stamp(r[5]);
  *s.mutable_create_time() = Stamp(r[6]);
  return s;
}

}  // namespace

const sql::Statements& DirectoryStore::StaffStatements() { return statements; }

// ---- staff ------------------------------------------------------------------------------

const sql::Statement kStaffInsert = statements.Add(
    "dir_staff_insert",
    absl::StrCat("INSERT INTO staff (id, group_id, name, phone, roles, skills, home_estates, "
                 "active, start_date, created_at, updated_at) VALUES ($1, $2, $3, $4, "
                 "$5::smallint[], $6::smallint[], $7::uuid[], $8, NULLIF($9, '')::date, "
                 "" WUYE_SQL_TIME("$10") ", " WUYE_SQL_TIME("$10") ") RETURNING ",
                 kStaffCols));

void DirectoryStore::InsertStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now,
                                 v1::Staff* out) {
  std::vector<std::string> estates(s.home_estate_ids().begin(), s.home_estate_ids().end());
  *out = StaffRow(tx.exec_prepared1(kStaffInsert, s.id(), s.group_id(), s.name(), s.phone(),
                                    IntArray(s.roles()), IntArray(s.skills()), PgArray(estates),
                                    s.active(), DateText(s.start_date()), Micros(now)));
}

const sql::Statement kStaffGet = statements.Add(
    "dir_staff_get",
    absl::StrCat("SELECT ", kStaffCols, " FROM staff WHERE group_id = $1 AND id = $2"));
const sql::Statement kStaffGetLocked = statements.Add(
    "dir_staff_get_locked",
    absl::StrCat("SELECT ", kStaffCols, " FROM staff WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::Staff> DirectoryStore::GetStaff(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update) {
  return One<v1::Staff>(tx.exec_prepared(for_update ? kStaffGetLocked : kStaffGet, group, id),
                        StaffRow);
}

const sql::Statement kStaffUpdate = statements.Add(
    "dir_staff_update",
    absl::StrCat("UPDATE staff SET name = $3, phone = $4, roles = $5::smallint[], skills = "
                 "$6::smallint[], home_estates = $7::uuid[], active = $8, start_date = "
                 "NULLIF($9, '')::date, version = version + 1, updated_at = " WUYE_SQL_TIME(
                     "$10") " WHERE group_id = $1 AND id = $2 RETURNING ",
                 kStaffCols));

void DirectoryStore::UpdateStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now,
                                 v1::Staff* out) {
  std::vector<std::string> estates(s.home_estate_ids().begin(), s.home_estate_ids().end());
  *out = StaffRow(tx.exec_prepared1(kStaffUpdate, s.group_id(), s.id(), s.name(), s.phone(),
                                    IntArray(s.roles()), IntArray(s.skills()), PgArray(estates),
                                    s.active(), DateText(s.start_date()), Micros(now)));
}

const sql::Statement kStaffList = statements.Add(
    "dir_staff_list",
    absl::StrCat("SELECT ", kStaffCols,
                 " FROM staff WHERE group_id = $1"
                 " AND (" OPT_UUID("$2") " IS NULL OR home_estates @> ARRAY[" OPT_UUID(
                     "$2") "])"
                           " AND ($3 = 0 OR roles @> ARRAY[$3::smallint]) AND ($4 = 0 OR skills "
                           "@> ARRAY[$4::smallint])"
                           " AND ($5 OR active) AND ($8 OR home_estates && $9::uuid[])"
                           " AND id > " WUYE_SQL_AFTER("$6") " ORDER BY id LIMIT $7"));

std::vector<v1::Staff> DirectoryStore::ListStaff(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate_id, v1::StaffRole role,
                                                 v1::Skill skill, bool include_inactive,
                                                 bool all_estates,
                                                 const std::vector<std::string>& visible,
                                                 const std::string& after, int limit) {
  return Rows<v1::Staff>(tx.exec_prepared(kStaffList, group, estate_id, static_cast<int>(role),
                                          static_cast<int>(skill), include_inactive, after, limit,
                                          all_estates, PgArray(visible)),
                         StaffRow);
}

// ---- shifts -----------------------------------------------------------------------------

// Nothing comes back when the staff member already has an overlapping shift
// (shifts_no_overlap).
const sql::Statement kShiftInsert = statements.Add(
    "dir_shift_insert",
    absl::StrCat("INSERT INTO shifts (id, group_id, estate_id, staff_id, during, created_at) "
                 "VALUES ($1, $2, $3, $4, tstzrange(" WUYE_SQL_TIME("$5") ", " WUYE_SQL_TIME(
                     "$6") "), " WUYE_SQL_TIME("$7") ") ON CONFLICT DO NOTHING RETURNING ",
                 kShiftCols));

bool DirectoryStore::InsertShift(pqxx::work& tx, const v1::Shift& s, absl::Time now,
                                 v1::Shift* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, kShiftInsert, s.id(), s.group_id(), s.estate_id(), s.staff_id(),
                 Micros(FromProtoTime(s.start_time())), Micros(FromProtoTime(s.end_time())),
                 Micros(now))) {
    return false;
  }
  *out = ShiftRow(res[0]);
  return true;
}

const sql::Statement kShiftGet = statements.Add(
    "dir_shift_get",
    absl::StrCat("SELECT ", kShiftCols, " FROM shifts WHERE group_id = $1 AND id = $2"));

std::optional<v1::Shift> DirectoryStore::GetShift(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  return One<v1::Shift>(tx.exec_prepared(kShiftGet, group, id), ShiftRow);
}

const sql::Statement kShiftDelete =
    statements.Add("dir_shift_delete", "DELETE FROM shifts WHERE group_id = $1 AND id = $2");

void DirectoryStore::DeleteShift(pqxx::work& tx, const std::string& group, const std::string& id) {
  tx.exec_prepared(kShiftDelete, group, id);
}

const sql::Statement kShiftList = statements.Add(
    "dir_shift_list",
    absl::StrCat("SELECT ", kShiftCols,
                 " FROM shifts WHERE group_id = $1 AND estate_id = $2"
                 " AND (" OPT_UUID("$3") " IS NULL OR staff_id = " OPT_UUID(
                     "$3") ")"
                           " AND during && tstzrange(" WUYE_SQL_TIME("$4") ", " WUYE_SQL_TIME(
                               "$5") ")"
                                     " AND id > " WUYE_SQL_AFTER("$6") " ORDER BY id LIMIT $7"));

std::vector<v1::Shift> DirectoryStore::ListShifts(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate_id,
                                                  const std::string& staff_id,
                                                  absl::Time window_start, absl::Time window_end,
                                                  const std::string& after, int limit) {
  return Rows<v1::Shift>(tx.exec_prepared(kShiftList, group, estate_id, staff_id,
                                          Micros(window_start), Micros(window_end), after, limit),
                         ShiftRow);
}

}  // namespace wuye::directory
