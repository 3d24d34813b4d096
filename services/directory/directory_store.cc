#include "services/directory/directory_store.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "services/directory/directory.h"
#include "shared/ids.h"
#include "shared/proto_time.h"

namespace wuye::directory {
namespace {

// Times cross the wire as Unix microseconds.
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(param) "to_timestamp(" param "::float8 / 1000000)"
#define AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, '00000000-0000-0000-0000-000000000000')"
#define OPT_UUID(param) "NULLIF(" param ", '')::uuid"

constexpr char kEstateCols[] =
    "id, group_id, name, kind, time_zone, desk_opens_min, desk_closes_min, fee_fen_per_m2, "
    "household_count, address, version, " US("created_at") ", " US("updated_at") ", desk_24h, "
    "duty_phone";
constexpr char kBuildingCols[] =
    "id, group_id, estate_id, name, floors, version, " US("created_at");
constexpr char kUnitCols[] =
    "id, group_id, estate_id, building_id, number, area_m2::text, type, occupancy, handed_over, "
    "floor, version, " US("created_at") ", " US("updated_at") ", "
    "COALESCE(handover_date::text, ''), COALESCE(move_in_date::text, '')";
constexpr char kResidentCols[] =
    "id, group_id, estate_id, unit_id, name, phone, COALESCE(birth_date::text, ''), role, "
    "COALESCE(lease_start::text, ''), COALESCE(lease_end::text, ''), version, " US(
        "created_at") ", " US("updated_at") ", COALESCE(move_out_date::text, '')";
constexpr char kStaffCols[] =
    "id, group_id, name, phone, roles, skills, home_estates, active, "
    "COALESCE(start_date::text, ''), version, " US("created_at") ", " US("updated_at");
constexpr char kShiftCols[] = "id, group_id, estate_id, staff_id, " US("lower(during)") ", " US(
    "upper(during)") ", " US("created_at");

google::protobuf::Timestamp Micros(const pqxx::field& f) {
  return ToProtoTime(absl::FromUnixMicros(f.as<int64_t>()));
}
int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
std::string Str(const pqxx::field& f) { return f.as<std::string>(); }

v1::Estate EstateRow(const pqxx::row& r) {
  v1::Estate e;
  e.set_id(Str(r[0]));
  e.set_group_id(Str(r[1]));
  e.set_name(Str(r[2]));
  e.set_kind(static_cast<v1::EstateKind>(r[3].as<int>()));
  e.set_time_zone(Str(r[4]));
  e.set_desk_24h(r[13].as<bool>());
  if (!e.desk_24h()) {  // a 24-hour desk has no hours
    int opens = r[5].as<int>(), closes = r[6].as<int>();
    e.mutable_desk_opens()->set_hours(opens / 60);
    e.mutable_desk_opens()->set_minutes(opens % 60);
    e.mutable_desk_closes()->set_hours(closes / 60);
    e.mutable_desk_closes()->set_minutes(closes % 60);
  }
  e.set_duty_phone(Str(r[14]));
  e.set_management_fee_fen_per_m2(r[7].as<int64_t>());
  e.set_household_count(r[8].as<int>());
  e.set_address(Str(r[9]));
  e.set_version(r[10].as<int64_t>());
  *e.mutable_create_time() = Micros(r[11]);
  *e.mutable_update_time() = Micros(r[12]);
  return e;
}

v1::Building BuildingRow(const pqxx::row& r) {
  v1::Building b;
  b.set_id(Str(r[0]));
  b.set_group_id(Str(r[1]));
  b.set_estate_id(Str(r[2]));
  b.set_name(Str(r[3]));
  b.set_floors(r[4].as<int>());
  b.set_version(r[5].as<int64_t>());
  *b.mutable_create_time() = Micros(r[6]);
  return b;
}

v1::Unit UnitRow(const pqxx::row& r) {
  v1::Unit u;
  u.set_id(Str(r[0]));
  u.set_group_id(Str(r[1]));
  u.set_estate_id(Str(r[2]));
  u.set_building_id(Str(r[3]));
  u.set_number(Str(r[4]));
  u.set_building_area_m2(Str(r[5]));
  u.set_type(static_cast<v1::UnitType>(r[6].as<int>()));
  u.set_occupancy(static_cast<v1::Occupancy>(r[7].as<int>()));
  u.set_handed_over(r[8].as<bool>());
  u.set_floor(r[9].as<int>());
  u.set_version(r[10].as<int64_t>());
  *u.mutable_create_time() = Micros(r[11]);
  *u.mutable_update_time() = Micros(r[12]);
  if (!Str(r[13]).empty()) *u.mutable_handover_date() = DateFromText(Str(r[13]));
  if (!Str(r[14]).empty()) *u.mutable_move_in_date() = DateFromText(Str(r[14]));
  return u;
}

v1::Resident ResidentRow(const pqxx::row& r) {
  v1::Resident x;
  x.set_id(Str(r[0]));
  x.set_group_id(Str(r[1]));
  x.set_estate_id(Str(r[2]));
  x.set_unit_id(Str(r[3]));
  x.set_name(Str(r[4]));
  x.set_phone(Str(r[5]));
  if (!Str(r[6]).empty()) *x.mutable_date_of_birth() = DateFromText(Str(r[6]));
  x.set_role(static_cast<v1::ResidentRole>(r[7].as<int>()));
  if (!Str(r[8]).empty()) *x.mutable_lease_start() = DateFromText(Str(r[8]));
  if (!Str(r[9]).empty()) *x.mutable_lease_end() = DateFromText(Str(r[9]));
  x.set_version(r[10].as<int64_t>());
  *x.mutable_create_time() = Micros(r[11]);
  *x.mutable_update_time() = Micros(r[12]);
  if (!Str(r[13]).empty()) *x.mutable_move_out_date() = DateFromText(Str(r[13]));
  return x;
}

v1::Staff StaffRow(const pqxx::row& r) {
  v1::Staff s;
  s.set_id(Str(r[0]));
  s.set_group_id(Str(r[1]));
  s.set_name(Str(r[2]));
  s.set_phone(Str(r[3]));
  for (const auto& v : ParsePgArray(r[4])) s.add_roles(static_cast<v1::StaffRole>(std::stoi(v)));
  for (const auto& v : ParsePgArray(r[5])) s.add_skills(static_cast<v1::Skill>(std::stoi(v)));
  for (const auto& v : ParsePgArray(r[6])) s.add_home_estate_ids(v);
  s.set_active(r[7].as<bool>());
  if (!Str(r[8]).empty()) *s.mutable_start_date() = DateFromText(Str(r[8]));
  s.set_version(r[9].as<int64_t>());
  *s.mutable_create_time() = Micros(r[10]);
  *s.mutable_update_time() = Micros(r[11]);
  return s;
}

v1::Shift ShiftRow(const pqxx::row& r) {
  v1::Shift s;
  s.set_id(Str(r[0]));
  s.set_group_id(Str(r[1]));
  s.set_estate_id(Str(r[2]));
  s.set_staff_id(Str(r[3]));
  *s.mutable_start_time() = Micros(r[4]);
  *s.mutable_end_time() = Micros(r[5]);
  *s.mutable_create_time() = Micros(r[6]);
  return s;
}

template <class T, class F>
std::vector<T> Rows(const pqxx::result& res, F row) {
  std::vector<T> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(row(r));
  return out;
}

template <class T, class F>
std::optional<T> One(const pqxx::result& res, F row) {
  if (res.empty()) return std::nullopt;
  return row(res[0]);
}

std::string IntArray(const google::protobuf::RepeatedField<int>& values) {
  std::vector<std::string> items;
  for (int v : values) items.push_back(std::to_string(v));
  return PgArray(items);
}

int Minutes(const v1::TimeOfDay& t) { return t.hours() * 60 + t.minutes(); }

// Runs an INSERT ... ON CONFLICT DO NOTHING RETURNING statement; false when a unique or
// exclusion constraint stopped it (nothing came back).
template <class... Args>
bool TryInsert(pqxx::work& tx, pqxx::result* out, const std::string& name, Args&&... args) {
  *out = tx.exec_prepared(name, std::forward<Args>(args)...);
  return !out->empty();
}

}  // namespace

DirectoryStore::DirectoryStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  prep("dir_group_insert",
       "INSERT INTO groups (id, name, created_at) VALUES ($1, $2, " TS("$3") ") "
       "RETURNING id, name, " US("created_at"));
  prep("dir_group_get", "SELECT id, name, " US("created_at") " FROM groups WHERE id = $1");

  prep("dir_estate_insert",
       absl::StrCat("INSERT INTO estates (id, group_id, name, kind, time_zone, desk_opens_min, "
                    "desk_closes_min, fee_fen_per_m2, household_count, address, created_at, "
                    "updated_at, desk_24h, duty_phone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                    "$9, $10, " TS("$11") ", " TS("$11") ", $12, $13) RETURNING ",
                    kEstateCols));
  prep("dir_estate_get",
       absl::StrCat("SELECT ", kEstateCols, " FROM estates WHERE group_id = $1 AND id = $2"));
  prep("dir_estate_get_locked",
       absl::StrCat("SELECT ", kEstateCols,
                    " FROM estates WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("dir_estate_update",
       absl::StrCat(
           "UPDATE estates SET name = $3, kind = $4, time_zone = $5, desk_opens_min = $6, "
           "desk_closes_min = $7, fee_fen_per_m2 = $8, household_count = $9, address = $10, "
           "version = version + 1, updated_at = " TS(
               "$11") ", desk_24h = $12, duty_phone = $13 WHERE group_id = $1 AND id = $2 "
                      "RETURNING ",
           kEstateCols));
  prep("dir_estate_list",
       absl::StrCat(
           "SELECT ", kEstateCols,
           " FROM estates WHERE group_id = $1 AND ($2 OR id = ANY($3::uuid[])) AND id > " AFTER(
               "$4") " ORDER BY id LIMIT $5"));
  prep("dir_estate_count",
       "SELECT count(*) FROM estates WHERE group_id = $1 AND id = ANY($2::uuid[])");

  prep("dir_building_insert",
       absl::StrCat("INSERT INTO buildings (id, group_id, estate_id, name, floors, created_at) "
                    "VALUES ($1, $2, $3, $4, $5, " TS("$6") ") ON CONFLICT DO NOTHING RETURNING ",
                    kBuildingCols));
  prep("dir_building_get",
       absl::StrCat("SELECT ", kBuildingCols, " FROM buildings WHERE group_id = $1 AND id = $2"));
  prep("dir_building_list",
       absl::StrCat("SELECT ", kBuildingCols,
                    " FROM buildings WHERE group_id = $1 AND estate_id = $2 AND id > " AFTER(
                        "$3") " ORDER BY id LIMIT $4"));

  prep("dir_unit_insert",
       absl::StrCat(
           "INSERT INTO units (id, group_id, estate_id, building_id, number, area_m2, type, "
           "occupancy, handed_over, floor, created_at, updated_at, handover_date, "
           "move_in_date) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, " TS(
               "$11") ", " TS("$11") ", NULLIF($12, '')::date, NULLIF($13, '')::date) "
                                     "ON CONFLICT DO NOTHING RETURNING ",
           kUnitCols));
  prep("dir_unit_get",
       absl::StrCat("SELECT ", kUnitCols, " FROM units WHERE group_id = $1 AND id = $2"));
  prep(
      "dir_unit_get_locked",
      absl::StrCat("SELECT ", kUnitCols, " FROM units WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("dir_unit_update",
       absl::StrCat("UPDATE units SET area_m2 = $3::numeric, type = $4, occupancy = $5, "
                    "handed_over = $6, floor = $7, handover_date = NULLIF($9, '')::date, "
                    "move_in_date = NULLIF($10, '')::date, version = version + 1, updated_at = " TS(
                        "$8") " WHERE group_id = $1 AND id = $2 RETURNING ",
                    kUnitCols));
  prep("dir_unit_list", absl::StrCat("SELECT ", kUnitCols,
                                     " FROM units WHERE group_id = $1 AND estate_id = $2"
                                     " AND (" OPT_UUID("$3") " IS NULL OR building_id = " OPT_UUID(
                                         "$3") ")"
                                               " AND ($4 = 0 OR occupancy = $4) AND id > " AFTER(
                                                   "$5") " ORDER BY id LIMIT $6"));
  prep("dir_import_buildings",
       absl::StrCat("INSERT INTO buildings (id, group_id, estate_id, name, created_at) "
                    "SELECT id, $1, $2, name, " TS(
                        "$5") " FROM unnest($3::uuid[], $4::text[]) AS t(id, name) "
                              "ON CONFLICT (estate_id, name) DO NOTHING RETURNING ",
                    kBuildingCols));
  prep("dir_import_building_ids",
       "SELECT name, id FROM buildings WHERE group_id = $1 AND estate_id = $2 AND name = "
       "ANY($3::text[])");
  prep("dir_import_units",
       absl::StrCat(
           "INSERT INTO units (id, group_id, estate_id, building_id, number, area_m2, type, "
           "occupancy, handed_over, floor, created_at, updated_at, handover_date, move_in_date) "
           "SELECT id, $1, $2, building_id, number, area, type, occupancy, handed_over, floor, " TS(
               "$11") ", " TS("$11") ", NULLIF(ho, '')::date, NULLIF(mi, '')::date "
                                     "FROM unnest($3::uuid[], $4::uuid[], $5::text[], "
                                     "$6::numeric[], $7::smallint[], "
                                     "$8::smallint[], $9::boolean[], $10::int[], $12::text[], "
                                     "$13::text[]) "
                                     "AS t(id, building_id, number, area, type, occupancy, "
                                     "handed_over, floor, ho, mi) "
                                     "ON CONFLICT (building_id, number) DO NOTHING RETURNING ",
           kUnitCols));
  prep("dir_import_existing",
       "SELECT u.ord, (x.area_m2 = u.area AND x.type = u.type AND x.occupancy = u.occupancy AND "
       "x.handed_over = u.handed_over AND x.floor = u.floor), x.id, "
       "COALESCE(x.handover_date::text, ''), COALESCE(x.move_in_date::text, '') "
       "FROM unnest($2::uuid[], $3::text[], $4::numeric[], $5::smallint[], $6::smallint[], "
       "$7::boolean[], $8::int[]) WITH ORDINALITY "
       "AS u(building_id, number, area, type, occupancy, handed_over, floor, ord) "
       "JOIN units x ON x.building_id = u.building_id AND x.number = u.number AND x.group_id = $1 "
       "ORDER BY u.ord");
  // Re-imported hand-over and move-in days of existing units (003_…, Q4 and Q6).
  prep("dir_import_dates",
       absl::StrCat("UPDATE units x SET handover_date = NULLIF(u.ho, '')::date, move_in_date = "
                    "NULLIF(u.mi, '')::date, version = x.version + 1, updated_at = " TS(
                        "$5") " FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u(uid, ho, "
                              "mi) WHERE x.group_id = $1 AND x.id = u.uid RETURNING ",
                    kUnitCols));

  prep("dir_resident_insert",
       absl::StrCat(
           "INSERT INTO residents (id, group_id, estate_id, unit_id, name, phone, birth_date, "
           "role, lease_start, lease_end, created_at, updated_at, move_out_date) VALUES ($1, $2, "
           "$3, $4, $5, $6, NULLIF($7, '')::date, $8, NULLIF($9, '')::date, NULLIF($10, "
           "'')::date, " TS("$11") ", " TS("$11") ", NULLIF($12, '')::date) RETURNING ",
           kResidentCols));
  prep("dir_resident_get",
       absl::StrCat("SELECT ", kResidentCols,
                    " FROM residents WHERE group_id = $1 AND id = $2 AND removed_at IS NULL"));
  prep("dir_resident_get_locked",
       absl::StrCat("SELECT ", kResidentCols,
                    " FROM residents WHERE group_id = $1 AND id = $2 AND removed_at IS NULL "
                    "FOR UPDATE"));
  prep("dir_resident_update",
       absl::StrCat(
           "UPDATE residents SET name = $3, phone = $4, birth_date = NULLIF($5, '')::date, "
           "role = $6, lease_start = NULLIF($7, '')::date, lease_end = NULLIF($8, '')::date, "
           "move_out_date = NULLIF($10, '')::date, version = version + 1, updated_at = " TS(
               "$9") " WHERE group_id = $1 AND id = $2 RETURNING ",
           kResidentCols));
  prep("dir_resident_remove",
       absl::StrCat(
           "UPDATE residents SET removed_at = " TS(
               "$3") ", version = version + 1, "
                     "updated_at = " TS("$3") " WHERE group_id = $1 AND id = $2 AND removed_at IS "
                                              "NULL RETURNING ",
           kResidentCols));
  prep("dir_resident_list",
       absl::StrCat("SELECT ", kResidentCols,
                    " FROM residents WHERE group_id = $1 AND estate_id = $2 AND removed_at IS NULL"
                    " AND (" OPT_UUID("$3") " IS NULL OR unit_id = " OPT_UUID(
                        "$3") ")"
                              " AND id > " AFTER("$4") " ORDER BY id LIMIT $5"));

  prep("dir_staff_insert",
       absl::StrCat(
           "INSERT INTO staff (id, group_id, name, phone, roles, skills, home_estates, active, "
           "start_date, created_at, updated_at) VALUES ($1, $2, $3, $4, $5::smallint[], "
           "$6::smallint[], $7::uuid[], $8, NULLIF($9, '')::date, " TS("$10") ", " TS(
               "$10") ") RETURNING ",
           kStaffCols));
  prep("dir_staff_get",
       absl::StrCat("SELECT ", kStaffCols, " FROM staff WHERE group_id = $1 AND id = $2"));
  prep("dir_staff_get_locked",
       absl::StrCat("SELECT ", kStaffCols,
                    " FROM staff WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("dir_staff_update",
       absl::StrCat("UPDATE staff SET name = $3, phone = $4, roles = $5::smallint[], skills = "
                    "$6::smallint[], "
                    "home_estates = $7::uuid[], active = $8, start_date = NULLIF($9, '')::date, "
                    "version = version + 1, updated_at = " TS(
                        "$10") " WHERE group_id = $1 AND id = $2 RETURNING ",
                    kStaffCols));
  prep("dir_staff_list",
       absl::StrCat("SELECT ", kStaffCols,
                    " FROM staff WHERE group_id = $1"
                    " AND (" OPT_UUID("$2") " IS NULL OR home_estates @> ARRAY[" OPT_UUID(
                        "$2") "])"
                              " AND ($3 = 0 OR roles @> ARRAY[$3::smallint]) AND ($4 = 0 OR skills "
                              "@> ARRAY[$4::smallint])"
                              " AND ($5 OR active) AND ($8 OR home_estates && $9::uuid[])"
                              " AND id > " AFTER("$6") " ORDER BY id LIMIT $7"));

  prep("dir_shift_insert",
       absl::StrCat("INSERT INTO shifts (id, group_id, estate_id, staff_id, during, created_at) "
                    "VALUES ($1, $2, $3, $4, tstzrange(" TS("$5") ", " TS("$6") "), " TS(
                        "$7") ") ON CONFLICT DO NOTHING RETURNING ",
                    kShiftCols));
  prep("dir_shift_get",
       absl::StrCat("SELECT ", kShiftCols, " FROM shifts WHERE group_id = $1 AND id = $2"));
  prep("dir_shift_delete", "DELETE FROM shifts WHERE group_id = $1 AND id = $2");
  prep("dir_shift_list",
       absl::StrCat("SELECT ", kShiftCols,
                    " FROM shifts WHERE group_id = $1 AND estate_id = $2"
                    " AND (" OPT_UUID("$3") " IS NULL OR staff_id = " OPT_UUID(
                        "$3") ")"
                              " AND during && tstzrange(" TS("$4") ", " TS(
                                  "$5") ")"
                                        " AND id > " AFTER("$6") " ORDER BY id LIMIT $7"));
}

void DirectoryStore::InsertGroup(pqxx::work& tx, const v1::Group& g, absl::Time now,
                                 v1::Group* out) {
  auto r = tx.exec_prepared1("dir_group_insert", g.id(), g.name(), ToMicros(now));
  out->set_id(Str(r[0]));
  out->set_name(Str(r[1]));
  *out->mutable_create_time() = Micros(r[2]);
}

std::optional<v1::Group> DirectoryStore::GetGroup(pqxx::work& tx, const std::string& id) {
  return One<v1::Group>(tx.exec_prepared("dir_group_get", id), [](const pqxx::row& r) {
    v1::Group g;
    g.set_id(Str(r[0]));
    g.set_name(Str(r[1]));
    *g.mutable_create_time() = Micros(r[2]);
    return g;
  });
}

void DirectoryStore::InsertEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now,
                                  v1::Estate* out) {
  *out = EstateRow(tx.exec_prepared1("dir_estate_insert", e.id(), e.group_id(), e.name(),
                                     static_cast<int>(e.kind()), e.time_zone(),
                                     Minutes(e.desk_opens()), Minutes(e.desk_closes()),
                                     e.management_fee_fen_per_m2(), e.household_count(),
                                     e.address(), ToMicros(now), e.desk_24h(), e.duty_phone()));
}

std::optional<v1::Estate> DirectoryStore::GetEstate(pqxx::work& tx, const std::string& group,
                                                    const std::string& id, bool for_update) {
  return One<v1::Estate>(
      tx.exec_prepared(for_update ? "dir_estate_get_locked" : "dir_estate_get", group, id),
      EstateRow);
}

void DirectoryStore::UpdateEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now,
                                  v1::Estate* out) {
  *out = EstateRow(tx.exec_prepared1("dir_estate_update", e.group_id(), e.id(), e.name(),
                                     static_cast<int>(e.kind()), e.time_zone(),
                                     Minutes(e.desk_opens()), Minutes(e.desk_closes()),
                                     e.management_fee_fen_per_m2(), e.household_count(),
                                     e.address(), ToMicros(now), e.desk_24h(), e.duty_phone()));
}

std::vector<v1::Estate> DirectoryStore::ListEstates(pqxx::work& tx, const std::string& group,
                                                    bool all,
                                                    const std::vector<std::string>& estate_ids,
                                                    const std::string& after, int limit) {
  return Rows<v1::Estate>(
      tx.exec_prepared("dir_estate_list", group, all, PgArray(estate_ids), after, limit),
      EstateRow);
}

int DirectoryStore::CountEstates(pqxx::work& tx, const std::string& group,
                                 const std::vector<std::string>& estate_ids) {
  return tx.exec_prepared1("dir_estate_count", group, PgArray(estate_ids))[0].as<int>();
}

bool DirectoryStore::InsertBuilding(pqxx::work& tx, const v1::Building& b, absl::Time now,
                                    v1::Building* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, "dir_building_insert", b.id(), b.group_id(), b.estate_id(), b.name(),
                 b.floors(), ToMicros(now))) {
    return false;
  }
  *out = BuildingRow(res[0]);
  return true;
}

std::optional<v1::Building> DirectoryStore::GetBuilding(pqxx::work& tx, const std::string& group,
                                                        const std::string& id) {
  return One<v1::Building>(tx.exec_prepared("dir_building_get", group, id), BuildingRow);
}

std::vector<v1::Building> DirectoryStore::ListBuildings(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate_id,
                                                        const std::string& after, int limit) {
  return Rows<v1::Building>(tx.exec_prepared("dir_building_list", group, estate_id, after, limit),
                            BuildingRow);
}

bool DirectoryStore::InsertUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, "dir_unit_insert", u.id(), u.group_id(), u.estate_id(), u.building_id(),
                 u.number(), u.building_area_m2(), static_cast<int>(u.type()),
                 static_cast<int>(u.occupancy()), u.handed_over(), u.floor(), ToMicros(now),
                 DateText(u.handover_date()), DateText(u.move_in_date()))) {
    return false;
  }
  *out = UnitRow(res[0]);
  return true;
}

std::optional<v1::Unit> DirectoryStore::GetUnit(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update) {
  return One<v1::Unit>(
      tx.exec_prepared(for_update ? "dir_unit_get_locked" : "dir_unit_get", group, id), UnitRow);
}

void DirectoryStore::UpdateUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out) {
  *out = UnitRow(tx.exec_prepared1("dir_unit_update", u.group_id(), u.id(), u.building_area_m2(),
                                   static_cast<int>(u.type()), static_cast<int>(u.occupancy()),
                                   u.handed_over(), u.floor(), ToMicros(now),
                                   DateText(u.handover_date()), DateText(u.move_in_date())));
}

std::vector<v1::Unit> DirectoryStore::ListUnits(pqxx::work& tx, const std::string& group,
                                                const std::string& estate_id,
                                                const std::string& building_id,
                                                v1::Occupancy occupancy, const std::string& after,
                                                int limit) {
  return Rows<v1::Unit>(tx.exec_prepared("dir_unit_list", group, estate_id, building_id,
                                         static_cast<int>(occupancy), after, limit),
                        UnitRow);
}

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
  for (const auto& r : tx.exec_prepared("dir_import_buildings", group, estate_id, PgArray(new_ids),
                                        PgArray(names), ToMicros(now))) {
    result.buildings_created.push_back(BuildingRow(r));
  }
  for (const auto& r :
       tx.exec_prepared("dir_import_building_ids", group, estate_id, PgArray(names))) {
    building_ids[Str(r[0])] = Str(r[1]);
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
    for (const auto& r : tx.exec_prepared("dir_import_units", group, estate_id, chunk(ids),
                                          chunk(bids), chunk(numbers), chunk(areas), chunk(types),
                                          chunk(occupancies), chunk(handed), chunk(floors),
                                          ToMicros(now), chunk(handovers), chunk(move_ins))) {
      result.units_created.push_back(UnitRow(r));
    }
  }
  if (result.units_created.size() == units.size()) return result;
  // 3. Units that were there already: the same content is fine, other content is a conflict.
  // A day the row gives replaces the stored one; a day it leaves unset keeps it.
  std::set<std::string> created_ids;
  for (const auto& u : result.units_created) created_ids.insert(u.id());
  std::vector<std::string> dated_ids, dated_handovers, dated_move_ins;
  for (const auto& r : tx.exec_prepared("dir_import_existing", group, PgArray(bids),
                                        PgArray(numbers), PgArray(areas), PgArray(types),
                                        PgArray(occupancies), PgArray(handed), PgArray(floors))) {
    int index = r[0].as<int>() - 1;
    if (created_ids.count(ids[index])) continue;
    if (!r[1].as<bool>()) {
      if (result.first_conflict < 0) result.first_conflict = index;
      continue;
    }
    std::string stored_handover = Str(r[3]), stored_move_in = Str(r[4]);
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
    dated_ids.push_back(Str(r[2]));
    dated_handovers.push_back(handover);
    dated_move_ins.push_back(move_in);
  }
  if (result.first_conflict >= 0 || result.first_bad_dates >= 0 || dated_ids.empty()) {
    return result;
  }
  for (const auto& r :
       tx.exec_prepared("dir_import_dates", group, PgArray(dated_ids), PgArray(dated_handovers),
                        PgArray(dated_move_ins), ToMicros(now))) {
    result.units_updated.push_back(UnitRow(r));
  }
  return result;
}

void DirectoryStore::InsertResident(pqxx::work& tx, const v1::Resident& r, absl::Time now,
                                    v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1(
      "dir_resident_insert", r.id(), r.group_id(), r.estate_id(), r.unit_id(), r.name(), r.phone(),
      DateText(r.date_of_birth()), static_cast<int>(r.role()), DateText(r.lease_start()),
      DateText(r.lease_end()), ToMicros(now), DateText(r.move_out_date())));
}

std::optional<v1::Resident> DirectoryStore::GetResident(pqxx::work& tx, const std::string& group,
                                                        const std::string& id, bool for_update) {
  return One<v1::Resident>(
      tx.exec_prepared(for_update ? "dir_resident_get_locked" : "dir_resident_get", group, id),
      ResidentRow);
}

void DirectoryStore::UpdateResident(pqxx::work& tx, const v1::Resident& r, absl::Time now,
                                    v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1(
      "dir_resident_update", r.group_id(), r.id(), r.name(), r.phone(), DateText(r.date_of_birth()),
      static_cast<int>(r.role()), DateText(r.lease_start()), DateText(r.lease_end()), ToMicros(now),
      DateText(r.move_out_date())));
}

void DirectoryStore::RemoveResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                    absl::Time now, v1::Resident* out) {
  *out = ResidentRow(tx.exec_prepared1("dir_resident_remove", group, id, ToMicros(now)));
}

std::vector<v1::Resident> DirectoryStore::ListResidents(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate_id,
                                                        const std::string& unit_id,
                                                        const std::string& after, int limit) {
  return Rows<v1::Resident>(
      tx.exec_prepared("dir_resident_list", group, estate_id, unit_id, after, limit), ResidentRow);
}

void DirectoryStore::InsertStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now,
                                 v1::Staff* out) {
  std::vector<std::string> estates(s.home_estate_ids().begin(), s.home_estate_ids().end());
  *out = StaffRow(tx.exec_prepared1("dir_staff_insert", s.id(), s.group_id(), s.name(), s.phone(),
                                    IntArray(s.roles()), IntArray(s.skills()), PgArray(estates),
                                    s.active(), DateText(s.start_date()), ToMicros(now)));
}

std::optional<v1::Staff> DirectoryStore::GetStaff(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update) {
  return One<v1::Staff>(
      tx.exec_prepared(for_update ? "dir_staff_get_locked" : "dir_staff_get", group, id), StaffRow);
}

void DirectoryStore::UpdateStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now,
                                 v1::Staff* out) {
  std::vector<std::string> estates(s.home_estate_ids().begin(), s.home_estate_ids().end());
  *out = StaffRow(tx.exec_prepared1("dir_staff_update", s.group_id(), s.id(), s.name(), s.phone(),
                                    IntArray(s.roles()), IntArray(s.skills()), PgArray(estates),
                                    s.active(), DateText(s.start_date()), ToMicros(now)));
}

std::vector<v1::Staff> DirectoryStore::ListStaff(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate_id, v1::StaffRole role,
                                                 v1::Skill skill, bool include_inactive,
                                                 bool all_estates,
                                                 const std::vector<std::string>& visible,
                                                 const std::string& after, int limit) {
  return Rows<v1::Staff>(
      tx.exec_prepared("dir_staff_list", group, estate_id, static_cast<int>(role),
                       static_cast<int>(skill), include_inactive, after, limit, all_estates,
                       PgArray(visible)),
      StaffRow);
}

bool DirectoryStore::InsertShift(pqxx::work& tx, const v1::Shift& s, absl::Time now,
                                 v1::Shift* out) {
  pqxx::result res;
  if (!TryInsert(tx, &res, "dir_shift_insert", s.id(), s.group_id(), s.estate_id(), s.staff_id(),
                 ToMicros(FromProtoTime(s.start_time())), ToMicros(FromProtoTime(s.end_time())),
                 ToMicros(now))) {
    return false;
  }
  *out = ShiftRow(res[0]);
  return true;
}

std::optional<v1::Shift> DirectoryStore::GetShift(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  return One<v1::Shift>(tx.exec_prepared("dir_shift_get", group, id), ShiftRow);
}

void DirectoryStore::DeleteShift(pqxx::work& tx, const std::string& group, const std::string& id) {
  tx.exec_prepared("dir_shift_delete", group, id);
}

std::vector<v1::Shift> DirectoryStore::ListShifts(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate_id,
                                                  const std::string& staff_id,
                                                  absl::Time window_start, absl::Time window_end,
                                                  const std::string& after, int limit) {
  return Rows<v1::Shift>(
      tx.exec_prepared("dir_shift_list", group, estate_id, staff_id, ToMicros(window_start),
                       ToMicros(window_end), after, limit),
      ShiftRow);
}

}  // namespace wuye::directory
