#include "services/duty/duty_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/duty/notification_store.h"
#include "services/duty/task_signal.h"
#include "shared/sql.h"

namespace wuye::duty {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

std::string IntArray(const std::vector<int>& v) {
  return absl::StrCat("{", absl::StrJoin(v, ","), "}");
}

std::vector<int> ParseIntArray(const pqxx::field& f) {
  std::vector<int> out;
  for (const std::string& s : ParsePgArray(f)) out.push_back(std::stoi(s));
  return out;
}

}  // namespace

DutyStore::DutyStore(Db& db) {
  statements.PrepareOn(db);
  NotificationStore::Prepare(db);  // TaskFlow queues notifications through a DutyStore
}

// ---- copies of the directory ------------------------------------------------------------------

const sql::Statement kEstateUpsert = statements.Add(
    "du_estate_upsert",
    "INSERT INTO dir_estates (id, group_id, time_zone, desk_24h, desk_opens_minute, "
    "desk_closes_minute, version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE "
    "SET time_zone = excluded.time_zone, desk_24h = excluded.desk_24h, desk_opens_minute = "
    "excluded.desk_opens_minute, desk_closes_minute = excluded.desk_closes_minute, version = "
    "excluded.version WHERE dir_estates.version < excluded.version AND dir_estates.group_id = "
    "excluded.group_id");

void DutyStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                             const EstateCopy& e, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, e.time_zone, e.hours.desk_24h, e.hours.opens_minute,
                   e.hours.closes_minute, version);
}

const sql::Statement kEstateGet = statements.Add(
    "du_estate_get",
    "SELECT time_zone, desk_24h, desk_opens_minute, desk_closes_minute FROM dir_estates "
    "WHERE group_id = $1 AND id = $2");

std::optional<EstateCopy> DutyStore::GetEstate(pqxx::work& tx, const std::string& group,
                                               const std::string& id) {
  pqxx::result r = tx.exec_prepared(kEstateGet, group, id);
  if (r.empty()) return std::nullopt;
  EstateCopy e;
  e.time_zone = Text(r[0][0]);
  e.hours.desk_24h = r[0][1].as<bool>();
  e.hours.opens_minute = r[0][2].as<int>();
  e.hours.closes_minute = r[0][3].as<int>();
  return e;
}

const sql::Statement kStaffUpsert =
    statements.Add("du_staff_upsert",
                   "INSERT INTO dir_staff (id, group_id, active, roles, home_estate_ids, version) "
                   "VALUES ($1, $2, $3, $4::int[], $5::uuid[], $6) ON CONFLICT (id) DO UPDATE SET "
                   "active = excluded.active, roles = excluded.roles, home_estate_ids = "
                   "excluded.home_estate_ids, version = excluded.version WHERE dir_staff.version < "
                   "excluded.version AND dir_staff.group_id = excluded.group_id");

void DutyStore::UpsertStaff(pqxx::work& tx, const std::string& group, const std::string& id,
                            bool active, const std::vector<int>& roles,
                            const std::vector<std::string>& estates, int64_t version) {
  tx.exec_prepared(kStaffUpsert, id, group, active, IntArray(roles), PgArray(estates), version);
}

const sql::Statement kStaffRoles = statements.Add(
    "du_staff_roles", "SELECT roles FROM dir_staff WHERE group_id = $1 AND id = $2 AND active");

std::optional<std::vector<int>> DutyStore::StaffRoles(pqxx::work& tx, const std::string& group,
                                                      const std::string& id) {
  pqxx::result r = tx.exec_prepared(kStaffRoles, group, id);
  if (r.empty()) return std::nullopt;
  return ParseIntArray(r[0][0]);
}

const sql::Statement kShiftUpsert = statements.Add(
    "du_shift_upsert",
    "INSERT INTO dir_shifts (id, group_id, estate_id, staff_id, start_time, end_time, deleted, "
    "version) VALUES ($1, $2, $3, $4, " WUYE_SQL_TIME("$5") ", " WUYE_SQL_TIME("$6") ", $7, "
    "CASE WHEN $7 THEN 2 ELSE 1 END) ON CONFLICT (id) DO UPDATE SET deleted = true, version = 2 "
    "WHERE excluded.deleted AND dir_shifts.group_id = excluded.group_id");

void DutyStore::UpsertShift(pqxx::work& tx, const std::string& group, const std::string& id,
                            const std::string& estate, const std::string& staff, absl::Time start,
                            absl::Time end, bool deleted) {
  tx.exec_prepared(kShiftUpsert, id, group, estate, staff, Micros(start), Micros(end), deleted);
}

// ---- attendance -------------------------------------------------------------------------------

constexpr char kAttendanceCols[] = "id, estate_id, staff_id, role, " WUYE_SQL_MICROS(
    "check_in_time") ", " WUYE_SQL_MICROS("check_out_time") ", note";

pb::Attendance AttendanceRow(const pqxx::row& r) {
  pb::Attendance a;
  a.set_id(Text(r[0]));
  a.set_estate_id(Text(r[1]));
  a.set_staff_id(Text(r[2]));
  a.set_role(static_cast<ev::StaffRole>(r[3].as<int>()));
  *a.mutable_check_in_time() = Stamp(r[4]);
  if (!r[5].is_null()) *a.mutable_check_out_time() = Stamp(r[5]);
  a.set_note(Text(r[6]));
  return a;
}

const sql::Statement kCheckIn = statements.Add(
    "du_check_in",
    "INSERT INTO attendances (id, group_id, estate_id, staff_id, role, check_in_time, note) "
    "VALUES ($1, $2, $3, $4, $5, " WUYE_SQL_TIME("$6") ", $7) ON CONFLICT DO NOTHING");

bool DutyStore::CheckIn(pqxx::work& tx, const std::string& group, const pb::Attendance& a) {
  pqxx::result r = tx.exec_prepared(kCheckIn, a.id(), group, a.estate_id(), a.staff_id(),
                                    static_cast<int>(a.role()),
                                    Micros(absl::FromUnixSeconds(a.check_in_time().seconds()) +
                                           absl::Nanoseconds(a.check_in_time().nanos())),
                                    a.note());
  return r.affected_rows() == 1;
}

const sql::Statement kCheckOut = statements.Add(
    "du_check_out",
    absl::StrCat(
        "UPDATE attendances SET check_out_time = " WUYE_SQL_TIME(
            "$4") ", out_note = $5 "
                  "WHERE group_id = $1 AND estate_id = $2 AND staff_id = $3 AND check_out_time IS "
                  "NULL RETURNING ",
        kAttendanceCols));

std::optional<pb::Attendance> DutyStore::CheckOut(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate,
                                                  const std::string& staff, absl::Time at,
                                                  const std::string& note) {
  pqxx::result r = tx.exec_prepared(kCheckOut, group, estate, staff, Micros(at), note);
  if (r.empty()) return std::nullopt;
  return AttendanceRow(r[0]);
}

const sql::Statement kAttendances = statements.Add(
    "du_attendances",
    absl::StrCat(
        "SELECT ", kAttendanceCols,
        " FROM attendances WHERE group_id = $1 AND estate_id = $2 AND check_in_time "
        "< " WUYE_SQL_TIME("$4") " AND (check_out_time IS NULL OR check_out_time "
                                 "> " WUYE_SQL_TIME(
                                     "$3") ") AND ($5 = '' OR staff_id = NULLIF($5, '')::uuid) "
                                           "AND id < " WUYE_SQL_BEFORE("$6") " ORDER BY id "
                                                                             "DESC LIMIT $7"));

std::vector<pb::Attendance> DutyStore::ListAttendances(pqxx::work& tx, const std::string& group,
                                                       const std::string& estate, absl::Time from,
                                                       absl::Time to, const std::string& staff,
                                                       const IdPage& page) {
  std::vector<pb::Attendance> out;
  for (const auto& row : tx.exec_prepared(kAttendances, group, estate, Micros(from), Micros(to),
                                          staff, page.before, page.limit)) {
    out.push_back(AttendanceRow(row));
  }
  return out;
}

// Roster: a shift covering the moment, the staff member active, each of their roles.
// Check-ins: open at the moment (checked in before, not out yet), in the role they named.
const sql::Statement kOnDuty = statements.Add(
    "du_on_duty",
    "WITH roster AS ("
    "  SELECT sh.staff_id, r.role, sh.id::text AS shift_id FROM dir_shifts sh"
    "  JOIN dir_staff st ON st.id = sh.staff_id AND st.group_id = sh.group_id AND st.active"
    "  CROSS JOIN LATERAL unnest(st.roles) AS r(role)"
    "  WHERE sh.group_id = $1 AND sh.estate_id = $2 AND NOT sh.deleted"
    "  AND sh.start_time <= " WUYE_SQL_TIME("$3") " AND sh.end_time > " WUYE_SQL_TIME("$3") "),"
    " checked AS ("
    "  SELECT staff_id, role, id::text AS attendance_id FROM attendances"
    "  WHERE group_id = $1 AND estate_id = $2 AND check_in_time <= " WUYE_SQL_TIME("$3") ""
    "  AND (check_out_time IS NULL OR check_out_time > " WUYE_SQL_TIME("$3") "))"
    " SELECT COALESCE(r.staff_id, c.staff_id)::text, COALESCE(r.role, c.role),"
    "  COALESCE(r.shift_id, ''), COALESCE(c.attendance_id, '')"
    " FROM roster r FULL JOIN checked c ON c.staff_id = r.staff_id AND c.role = r.role"
    " WHERE $4 = 0 OR COALESCE(r.role, c.role) = $4"
    " ORDER BY 2, 1");

std::vector<pb::OnDuty> DutyStore::OnDuty(pqxx::work& tx, const std::string& group,
                                          const std::string& estate, absl::Time at, int role) {
  std::vector<pb::OnDuty> out;
  for (const auto& row : tx.exec_prepared(kOnDuty, group, estate, Micros(at), role)) {
    pb::OnDuty d;
    d.set_staff_id(Text(row[0]));
    d.set_role(static_cast<ev::StaffRole>(row[1].as<int>()));
    d.set_shift_id(Text(row[2]));
    d.set_attendance_id(Text(row[3]));
    bool rostered = !d.shift_id().empty(), checked = !d.attendance_id().empty();
    d.set_source(rostered && checked ? pb::DUTY_SOURCE_BOTH
                 : rostered          ? pb::DUTY_SOURCE_ROSTER
                                     : pb::DUTY_SOURCE_CHECK_IN);
    out.push_back(std::move(d));
  }
  return out;
}

// ---- the desk and settings ----------------------------------------------------------------------

const sql::Statement kDeskGet = statements.Add(
    "du_desk_get",
    "SELECT d.duty_phone, d.version, e.desk_24h, e.desk_opens_minute, e.desk_closes_minute, "
    "e.time_zone FROM (SELECT 1) one LEFT JOIN desks d ON d.group_id = $1 AND d.estate_id = $2 "
    "LEFT JOIN dir_estates e ON e.group_id = $1 AND e.id = $2");

pb::Desk DutyStore::GetDesk(pqxx::work& tx, const std::string& group, const std::string& estate) {
  pqxx::result r = tx.exec_prepared(kDeskGet, group, estate);
  pb::Desk d;
  d.set_estate_id(estate);
  d.set_duty_phone(Text(r[0][0]));
  d.set_version(r[0][1].is_null() ? 0 : r[0][1].as<int64_t>());
  d.set_desk_24h(r[0][2].is_null() ? true : r[0][2].as<bool>());
  if (!r[0][3].is_null()) d.set_opens_minute(r[0][3].as<int>());
  if (!r[0][4].is_null()) d.set_closes_minute(r[0][4].as<int>());
  d.set_time_zone(Text(r[0][5]));
  return d;
}

const sql::Statement kDeskPut = statements.Add(
    "du_desk_put",
    "INSERT INTO desks (group_id, estate_id, duty_phone, version, updated_at) VALUES ($1, $2, $3, "
    "1, " WUYE_SQL_TIME("$4") ") ON CONFLICT (group_id, estate_id) DO UPDATE SET duty_phone = "
    "excluded.duty_phone, version = desks.version + 1, updated_at = excluded.updated_at");

void DutyStore::PutDesk(pqxx::work& tx, const std::string& group, const std::string& estate,
                        const std::string& phone, absl::Time now) {
  tx.exec_prepared(kDeskPut, group, estate, phone, Micros(now));
}

const sql::Statement kSettingsGet =
    statements.Add("du_settings_get", "SELECT settings FROM settings WHERE group_id = $1");

pb::Settings DutyStore::GetSettings(pqxx::work& tx, const std::string& group) {
  pb::Settings s;
  pqxx::result r = tx.exec_prepared(kSettingsGet, group);
  if (!r.empty()) s.ParseFromString(sql::Bytes(r[0][0]));
  return s;
}

const sql::Statement kSettingsPut = statements.Add(
    "du_settings_put",
    "INSERT INTO settings (group_id, settings, updated_at) VALUES ($1, $2, " WUYE_SQL_TIME("$3")
    ") ON CONFLICT (group_id) DO UPDATE SET settings = excluded.settings, updated_at = "
    "excluded.updated_at");

void DutyStore::PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s,
                            absl::Time now) {
  tx.exec_prepared(kSettingsPut, group, pqxx::binarystring(s.SerializeAsString()), Micros(now));
}

// ---- tasks --------------------------------------------------------------------------------------

constexpr char kTaskCols[] =
    "id, estate_id, kind, state, role, level, subject_ref, location, title, assignee_ids, "
    WUYE_SQL_MICROS("ack_due_at") ", COALESCE(acknowledged_by::text, ''), " WUYE_SQL_MICROS(
        "acknowledged_at") ", " WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS(
        "closed_at") ", version, " WUYE_SQL_MICROS("updated_at") ", group_id";

pb::Task TaskRow(const pqxx::row& r) {
  pb::Task t;
  t.set_id(Text(r[0]));
  t.set_estate_id(Text(r[1]));
  t.set_kind(static_cast<ev::TaskKind>(r[2].as<int>()));
  t.set_state(static_cast<ev::TaskState>(r[3].as<int>()));
  t.set_role(static_cast<ev::StaffRole>(r[4].as<int>()));
  t.set_level(r[5].as<int>());
  t.set_subject_ref(Text(r[6]));
  t.mutable_location()->ParseFromString(sql::Bytes(r[7]));
  t.set_title(Text(r[8]));
  for (std::string& id : ParsePgArray(r[9])) t.add_assignee_ids(std::move(id));
  *t.mutable_ack_due_time() = Stamp(r[10]);
  t.set_acknowledged_by(Text(r[11]));
  if (!r[12].is_null()) *t.mutable_acknowledge_time() = Stamp(r[12]);
  *t.mutable_create_time() = Stamp(r[13]);
  if (!r[14].is_null()) *t.mutable_close_time() = Stamp(r[14]);
  t.set_version(r[15].as<int64_t>());
  *t.mutable_update_time() = Stamp(r[16]);
  return t;
}

absl::Time TimeOfStamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
// -1 for an unset time (WUYE_SQL_TIME_OR_NULL).
int64_t MicrosOrNull(const google::protobuf::Timestamp& ts, bool set) {
  return set ? Micros(TimeOfStamp(ts)) : -1;
}

const sql::Statement kTaskInsert = statements.Add(
    "du_task_insert",
    "INSERT INTO tasks (id, group_id, estate_id, kind, state, role, level, subject_ref, location, "
    "title, assignee_ids, ack_due_at, source_event_id, first_role, created_at, updated_at, "
    "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::uuid[], " WUYE_SQL_TIME("$12")
    ", $13, $15, " WUYE_SQL_TIME("$14") ", " WUYE_SQL_TIME("$14") ", 1) "
    "ON CONFLICT (group_id, source_event_id, first_role) DO NOTHING");

bool DutyStore::InsertTask(pqxx::work& tx, const std::string& group, const pb::Task& t,
                           const std::string& source_event_id, ev::StaffRole first_role) {
  std::vector<std::string> assignees(t.assignee_ids().begin(), t.assignee_ids().end());
  pqxx::result r = tx.exec_prepared(
      kTaskInsert, t.id(), group, t.estate_id(), static_cast<int>(t.kind()),
      static_cast<int>(t.state()), static_cast<int>(t.role()), t.level(), t.subject_ref(),
      pqxx::binarystring(t.location().SerializeAsString()), t.title(), PgArray(assignees),
      Micros(TimeOfStamp(t.ack_due_time())), source_event_id, Micros(TimeOfStamp(t.create_time())),
      static_cast<int>(first_role));
  return r.affected_rows() == 1;
}

const sql::Statement kTaskGet = statements.Add(
    "du_task_get",
    absl::StrCat("SELECT ", kTaskCols, " FROM tasks WHERE group_id = $1 AND id = $2"));
const sql::Statement kTaskGetForUpdate = statements.Add(
    "du_task_get_for_update",
    absl::StrCat("SELECT ", kTaskCols, " FROM tasks WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<pb::Task> DutyStore::GetTask(pqxx::work& tx, const std::string& group,
                                           const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kTaskGetForUpdate : kTaskGet, group, id);
  if (r.empty()) return std::nullopt;
  return TaskRow(r[0]);
}

const sql::Statement kTaskSave = statements.Add(
    "du_task_save",
    "UPDATE tasks SET state = $3, role = $4, level = $5, assignee_ids = $6::uuid[], ack_due_at = "
    WUYE_SQL_TIME("$7") ", acknowledged_by = NULLIF($8, '')::uuid, acknowledged_at = "
    WUYE_SQL_TIME_OR_NULL("$9") ", closed_at = " WUYE_SQL_TIME_OR_NULL("$10") ", "
    "closed_by_event_id = $11, version = $12, updated_at = " WUYE_SQL_TIME("$13") " "
    "WHERE group_id = $1 AND id = $2");

void DutyStore::SaveTask(pqxx::work& tx, const std::string& group, const pb::Task& t,
                         const std::string& closed_by_event_id) {
  std::vector<std::string> assignees(t.assignee_ids().begin(), t.assignee_ids().end());
  tx.exec_prepared(kTaskSave, group, t.id(), static_cast<int>(t.state()),
                   static_cast<int>(t.role()), t.level(), PgArray(assignees),
                   Micros(TimeOfStamp(t.ack_due_time())), t.acknowledged_by(),
                   MicrosOrNull(t.acknowledge_time(), t.has_acknowledge_time()),
                   MicrosOrNull(t.close_time(), t.has_close_time()), closed_by_event_id,
                   t.version(), Micros(TimeOfStamp(t.update_time())));
}

const sql::Statement kTasksAbout = statements.Add(
    "du_tasks_about",
    absl::StrCat("SELECT ", kTaskCols,
                 " FROM tasks WHERE group_id = $1 AND subject_ref = $2 AND state IN (1, 2, 3) "
                 "ORDER BY id FOR UPDATE"));

std::vector<pb::Task> DutyStore::OpenTasksAbout(pqxx::work& tx, const std::string& group,
                                                const std::string& subject_ref) {
  std::vector<pb::Task> out;
  for (const auto& row : tx.exec_prepared(kTasksAbout, group, subject_ref)) {
    out.push_back(TaskRow(row));
  }
  return out;
}

// The filters of ListTasks and WatchTasks: $2 estate ('' any), $3 states (int[], empty any),
// $4 kind, $5 role, $6 mine, $7 see_all, $8 caller roles, $9 caller.
#define DU_TASK_FILTER                                                                    \
  "group_id = $1 AND ($2 = '' OR estate_id = NULLIF($2, '')::uuid) "                      \
  "AND (cardinality($3::int[]) = 0 OR state = ANY($3::int[])) AND ($4 = 0 OR kind = $4) " \
  "AND ($5 = 0 OR role = $5) AND (NOT $6 OR $9 = ANY(assignee_ids::text[])) "             \
  "AND ($7 OR role = ANY($8::int[]) OR $9 = ANY(assignee_ids::text[]) OR $9 = "           \
  "COALESCE(acknowledged_by::text, '')) "

const sql::Statement kTaskList = statements.Add(
    "du_task_list", absl::StrCat("SELECT ", kTaskCols,
                                 " FROM tasks WHERE " DU_TASK_FILTER
                                 "AND id < " WUYE_SQL_BEFORE("$10") " ORDER BY id DESC LIMIT $11"));

std::vector<pb::Task> DutyStore::ListTasks(pqxx::work& tx, const std::string& group,
                                           const TaskFilter& f, const IdPage& page) {
  std::vector<pb::Task> out;
  for (const auto& row :
       tx.exec_prepared(kTaskList, group, f.estate_id, IntArray(f.states), f.kind, f.role, f.mine,
                        f.see_all, IntArray(f.caller_roles), f.caller, page.before, page.limit)) {
    out.push_back(TaskRow(row));
  }
  return out;
}

const sql::Statement kTaskChanged = statements.Add(
    "du_task_changed",
    absl::StrCat(
        "SELECT ", kTaskCols,
        " FROM tasks WHERE " DU_TASK_FILTER
        // The range for the index, then the exact (µs, id) cursor.
        "AND updated_at >= " WUYE_SQL_TIME(
            "$10") " - interval '1 millisecond' "
                   "AND (" WUYE_SQL_MICROS("updated_at") ", id) > ($10::bigint, " WUYE_SQL_AFTER(
                       "$11") ") ORDER BY updated_at, id LIMIT $12"));

std::vector<pb::Task> DutyStore::TasksChangedSince(pqxx::work& tx, const std::string& group,
                                                   const TaskFilter& f, const ChangeCursor& from,
                                                   int limit) {
  std::vector<pb::Task> out;
  for (const auto& row : tx.exec_prepared(
           kTaskChanged, group, f.estate_id, IntArray(f.states), f.kind, f.role, f.mine, f.see_all,
           IntArray(f.caller_roles), f.caller, Micros(from.time), from.after_id, limit)) {
    out.push_back(TaskRow(row));
  }
  return out;
}

const sql::Statement kSignalTask =
    statements.Add("du_signal_task", absl::StrCat("SELECT pg_notify('", kTaskChannel, "', $1)"));

void DutyStore::SignalTaskChange(pqxx::work& tx, const std::string& estate) {
  tx.exec_prepared(kSignalTask, estate);
}

const sql::Statement kDueTasks = statements.Add(
    "du_due_tasks",
    absl::StrCat("SELECT ", kTaskCols,
                 " FROM tasks WHERE state IN (1, 2) AND level < 3 AND ack_due_at <= " WUYE_SQL_TIME(
                     "$1") " ORDER BY ack_due_at LIMIT $2 FOR UPDATE SKIP LOCKED"));

std::vector<std::pair<std::string, pb::Task>> DutyStore::DueTasks(pqxx::work& tx, absl::Time now,
                                                                  int limit) {
  std::vector<std::pair<std::string, pb::Task>> out;
  for (const auto& row : tx.exec_prepared(kDueTasks, Micros(now), limit)) {
    out.emplace_back(Text(row[17]), TaskRow(row));
  }
  return out;
}

}  // namespace wuye::duty
