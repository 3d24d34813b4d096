#include "services/duty/handover_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::duty {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;

sql::Statements statements;

std::string DayText(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

std::optional<absl::CivilDay> DayOf(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  absl::CivilDay d;
  if (!absl::ParseCivilTime(f.as<std::string>(), &d)) return std::nullopt;
  return d;
}

}  // namespace

HandoverStore::HandoverStore(Db& db) { statements.PrepareOn(db); }

// ---- holdings and served refs ---------------------------------------------------------------

// The newest version wins; an equal one is the later delivery of a producer without versions.
const sql::Statement kHoldingPut = statements.Add(
    "du_ho_holding_put",
    "INSERT INTO holdings (group_id, ref, estate_id, holders, open, version) VALUES ($1, $2, $3, "
    "$4::uuid[], $5, $6) ON CONFLICT (group_id, ref) DO UPDATE SET estate_id = excluded.estate_id, "
    "holders = excluded.holders, open = excluded.open, version = excluded.version "
    "WHERE holdings.version <= excluded.version");

void HandoverStore::PutHolding(pqxx::work& tx, const std::string& group, const Holding& h) {
  tx.exec_prepared(kHoldingPut, group, h.ref, h.estate_id, PgArray(h.holders), h.open, h.version);
}

const sql::Statement kServedAdd = statements.Add(
    "du_ho_served_add",
    "INSERT INTO served_refs (group_id, estate_id, staff_id, day, ref) VALUES ($1, $2, $3, "
    "$4::date, $5) ON CONFLICT DO NOTHING");

void HandoverStore::AddServed(pqxx::work& tx, const std::string& group, const ServedRef& s,
                              absl::CivilDay day) {
  tx.exec_prepared(kServedAdd, group, s.estate_id, s.staff_id, DayText(day), s.ref);
}

const sql::Statement kOpenRefs = statements.Add(
    "du_ho_open_refs",
    "SELECT ref FROM holdings WHERE group_id = $1 AND estate_id = $2 AND open "
    "AND $3::uuid = ANY(holders) "
    "UNION SELECT 'task/' || id::text FROM tasks WHERE group_id = $1 AND estate_id = $2 "
    "AND state IN (1, 2, 3) AND ($3::uuid = ANY(assignee_ids) OR acknowledged_by = $3::uuid) "
    "ORDER BY 1");

std::vector<std::string> HandoverStore::OpenRefsOf(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& staff) {
  std::vector<std::string> out;
  for (const auto& row : tx.exec_prepared(kOpenRefs, group, estate, staff)) {
    out.push_back(Text(row[0]));
  }
  return out;
}

// ---- the roster -------------------------------------------------------------------------------

constexpr char kShiftCols[] = "id, estate_id, staff_id, " WUYE_SQL_MICROS(
    "start_time") ", " WUYE_SQL_MICROS("end_time") ", deleted";

static ShiftRow ShiftOf(const pqxx::row& r) {
  ShiftRow s;
  s.id = Text(r[0]);
  s.estate_id = Text(r[1]);
  s.staff_id = Text(r[2]);
  s.start = TimeOf(r[3]);
  s.end = TimeOf(r[4]);
  s.deleted = r[5].as<bool>();
  return s;
}

const sql::Statement kShiftGet = statements.Add(
    "du_ho_shift_get",
    absl::StrCat("SELECT ", kShiftCols, " FROM dir_shifts WHERE group_id = $1 AND id = $2"));

std::optional<ShiftRow> HandoverStore::GetShift(pqxx::work& tx, const std::string& group,
                                                const std::string& id) {
  pqxx::result r = tx.exec_prepared(kShiftGet, group, id);
  if (r.empty()) return std::nullopt;
  return ShiftOf(r[0]);
}

const sql::Statement kShiftNear = statements.Add(
    "du_ho_shift_near",
    absl::StrCat(
        "SELECT ", kShiftCols,
        " FROM dir_shifts WHERE group_id = $1 AND estate_id = $2 AND staff_id = $3 "
        "AND NOT deleted AND start_time <= " WUYE_SQL_TIME("$4") " AND end_time > " WUYE_SQL_TIME(
            "$5") " ORDER BY end_time DESC LIMIT 1"));

std::optional<ShiftRow> HandoverStore::ShiftNear(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate,
                                                 const std::string& staff, absl::Time now) {
  pqxx::result r = tx.exec_prepared(kShiftNear, group, estate, staff, Micros(now),
                                    Micros(now - absl::Hours(24)));
  if (r.empty()) return std::nullopt;
  return ShiftOf(r[0]);
}

// ---- handovers --------------------------------------------------------------------------------

constexpr char kHandoverCols[] =
    "id, estate_id, COALESCE(shift_id::text, ''), outgoing_staff_id, incoming_staff_id, notes, "
    "open_refs, " WUYE_SQL_MICROS("handed_over_at") ", " WUYE_SQL_MICROS(
        "acknowledged_at") ", " WUYE_SQL_MICROS("shift_end") ", acknowledge_note";

static pb::Handover HandoverRow(const pqxx::row& r) {
  pb::Handover h;
  h.set_id(Text(r[0]));
  h.set_estate_id(Text(r[1]));
  h.set_shift_id(Text(r[2]));
  h.set_outgoing_staff_id(Text(r[3]));
  h.set_incoming_staff_id(Text(r[4]));
  h.set_notes(Text(r[5]));
  for (std::string& ref : ParsePgArray(r[6])) h.add_open_refs(std::move(ref));
  *h.mutable_handover_time() = Stamp(r[7]);
  if (!r[8].is_null()) *h.mutable_acknowledge_time() = Stamp(r[8]);
  if (!r[9].is_null()) *h.mutable_shift_end_time() = Stamp(r[9]);
  h.set_acknowledge_note(Text(r[10]));
  return h;
}

const sql::Statement kHandoverInsert = statements.Add(
    "du_ho_insert",
    "INSERT INTO handovers (id, group_id, estate_id, shift_id, shift_end, outgoing_staff_id, "
    "incoming_staff_id, notes, open_refs, handed_over_at) VALUES ($1, $2, $3, NULLIF($4, "
    "'')::uuid, " WUYE_SQL_TIME_OR_NULL("$5") ", $6, $7, $8, $9::text[], " WUYE_SQL_TIME(
        "$10") ") ON CONFLICT DO NOTHING");

bool HandoverStore::InsertHandover(pqxx::work& tx, const std::string& group,
                                   const pb::Handover& h) {
  std::vector<std::string> refs(h.open_refs().begin(), h.open_refs().end());
  int64_t shift_end = h.has_shift_end_time() ? Micros(FromProtoTime(h.shift_end_time())) : -1;
  pqxx::result r = tx.exec_prepared(
      kHandoverInsert, h.id(), group, h.estate_id(), h.shift_id(), shift_end, h.outgoing_staff_id(),
      h.incoming_staff_id(), h.notes(), PgArray(refs), Micros(FromProtoTime(h.handover_time())));
  return r.affected_rows() == 1;
}

const sql::Statement kHandoverGet = statements.Add(
    "du_ho_get",
    absl::StrCat("SELECT ", kHandoverCols, " FROM handovers WHERE group_id = $1 AND id = $2"));
const sql::Statement kHandoverGetForUpdate = statements.Add(
    "du_ho_get_for_update", absl::StrCat("SELECT ", kHandoverCols,
                                         " FROM handovers WHERE group_id = $1 AND id = $2 "
                                         "FOR UPDATE"));

std::optional<pb::Handover> HandoverStore::GetHandover(pqxx::work& tx, const std::string& group,
                                                       const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kHandoverGetForUpdate : kHandoverGet, group, id);
  if (r.empty()) return std::nullopt;
  return HandoverRow(r[0]);
}

const sql::Statement kHandoverAck = statements.Add(
    "du_ho_ack", "UPDATE handovers SET acknowledged_at = " WUYE_SQL_TIME(
                     "$3") ", acknowledge_note = $4 WHERE group_id = $1 AND id = $2");

void HandoverStore::Acknowledge(pqxx::work& tx, const std::string& group, const std::string& id,
                                absl::Time at, const std::string& note) {
  tx.exec_prepared(kHandoverAck, group, id, Micros(at), note);
}

const sql::Statement kHandoverList = statements.Add(
    "du_ho_list",
    absl::StrCat(
        "SELECT ", kHandoverCols,
        " FROM handovers WHERE group_id = $1 AND estate_id = $2 AND handed_over_at "
        ">= " WUYE_SQL_TIME("$3") " AND handed_over_at < " WUYE_SQL_TIME(
            "$4") " AND ($5 = '' OR outgoing_staff_id = NULLIF($5, '')::uuid OR incoming_staff_id "
                  "= NULLIF($5, '')::uuid) AND id < " WUYE_SQL_BEFORE(
                      "$6") " ORDER BY id DESC LIMIT $7"));

std::vector<pb::Handover> HandoverStore::ListHandovers(pqxx::work& tx, const std::string& group,
                                                       const std::string& estate, absl::Time from,
                                                       absl::Time to, const std::string& staff,
                                                       const IdPage& page) {
  std::vector<pb::Handover> out;
  for (const auto& row : tx.exec_prepared(kHandoverList, group, estate, Micros(from), Micros(to),
                                          staff, page.before, page.limit)) {
    out.push_back(HandoverRow(row));
  }
  return out;
}

const sql::Statement kHandoverOfShift =
    statements.Add("du_ho_of_shift",
                   "SELECT incoming_staff_id::text, acknowledged_at IS NOT NULL FROM handovers "
                   "WHERE group_id = $1 AND shift_id = $2::uuid");

std::optional<HandoverFound> HandoverStore::HandoverOfShift(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& shift_id) {
  pqxx::result r = tx.exec_prepared(kHandoverOfShift, group, shift_id);
  if (r.empty()) return std::nullopt;
  return HandoverFound{Text(r[0][0]), r[0][1].as<bool>()};
}

// ---- daily logs -------------------------------------------------------------------------------

const sql::Statement kLogServed = statements.Add(
    "du_ho_log_served",
    "SELECT ref FROM served_refs WHERE group_id = $1 AND estate_id = $2 AND staff_id = $3 "
    "AND day = $4::date ORDER BY ref");
const sql::Statement kLogGet = statements.Add(
    "du_ho_log_get", "SELECT notes, " WUYE_SQL_MICROS(
                         "updated_at") " FROM daily_logs WHERE group_id = $1 AND estate_id = $2 "
                                       "AND staff_id = $3 AND day = $4::date");

pb::DailyLog HandoverStore::GetDailyLog(pqxx::work& tx, const std::string& group,
                                        const std::string& estate, const std::string& staff,
                                        absl::CivilDay day) {
  pb::DailyLog log;
  log.set_staff_id(staff);
  log.set_estate_id(estate);
  log.mutable_day()->set_year(static_cast<int32_t>(day.year()));
  log.mutable_day()->set_month(day.month());
  log.mutable_day()->set_day(day.day());
  for (const auto& row : tx.exec_prepared(kLogServed, group, estate, staff, DayText(day))) {
    log.add_served_refs(Text(row[0]));
  }
  pqxx::result r = tx.exec_prepared(kLogGet, group, estate, staff, DayText(day));
  if (!r.empty()) {
    log.set_notes(Text(r[0][0]));
    *log.mutable_update_time() = Stamp(r[0][1]);
  }
  return log;
}

const sql::Statement kLogPut = statements.Add(
    "du_ho_log_put",
    "INSERT INTO daily_logs (group_id, estate_id, staff_id, day, notes, updated_at) VALUES ($1, "
    "$2, $3, $4::date, $5, " WUYE_SQL_TIME("$6") ") ON CONFLICT (group_id, estate_id, staff_id, "
    "day) DO UPDATE SET notes = excluded.notes, updated_at = excluded.updated_at");

void HandoverStore::PutDailyLogNotes(pqxx::work& tx, const std::string& group,
                                     const std::string& estate, const std::string& staff,
                                     absl::CivilDay day, const std::string& notes, absl::Time now) {
  tx.exec_prepared(kLogPut, group, estate, staff, DayText(day), notes, Micros(now));
}

const sql::Statement kOnDutyBetween = statements.Add(
    "du_ho_on_duty_between",
    "SELECT 1 FROM dir_shifts WHERE group_id = $1 AND estate_id = $2 AND staff_id = $3 AND NOT "
    "deleted AND start_time >= " WUYE_SQL_TIME("$4") " AND start_time < " WUYE_SQL_TIME("$5")
    " UNION ALL SELECT 1 FROM attendances WHERE group_id = $1 AND estate_id = $2 AND staff_id = "
    "$3 AND check_in_time >= " WUYE_SQL_TIME("$4") " AND check_in_time < " WUYE_SQL_TIME("$5")
    " LIMIT 1");

bool HandoverStore::OnDutyBetween(pqxx::work& tx, const std::string& group,
                                  const std::string& estate, const std::string& staff,
                                  absl::Time from, absl::Time to) {
  return !tx.exec_prepared(kOnDutyBetween, group, estate, staff, Micros(from), Micros(to)).empty();
}

const sql::Statement kLogHas = statements.Add(
    "du_ho_log_has",
    "SELECT 1 FROM daily_logs WHERE group_id = $1 AND estate_id = $2 AND staff_id = $3 "
    "AND day = $4::date AND btrim(notes, E' \\t\\r\\n') <> ''");

bool HandoverStore::HasDailyLog(pqxx::work& tx, const std::string& group, const std::string& estate,
                                const std::string& staff, absl::CivilDay day) {
  return !tx.exec_prepared(kLogHas, group, estate, staff, DayText(day)).empty();
}

// ---- timers -----------------------------------------------------------------------------------

constexpr char kTimerCols[] =
    "group_id, kind, key, estate_id, staff_id, " WUYE_SQL_MICROS("base_at") ", to_char(day, "
    "'YYYY-MM-DD'), " WUYE_SQL_MICROS("due_at");

static Timer TimerRow(const pqxx::row& r) {
  Timer t;
  t.group_id = Text(r[0]);
  t.kind = static_cast<TimerKind>(r[1].as<int>());
  t.key = Text(r[2]);
  t.estate_id = Text(r[3]);
  t.staff_id = Text(r[4]);
  t.base_at = TimeOf(r[5]);
  t.day = DayOf(r[6]);
  t.due_at = TimeOf(r[7]);
  return t;
}

const sql::Statement kTimerArm = statements.Add(
    "du_ho_timer_arm",
    "INSERT INTO duty_timers (group_id, kind, key, estate_id, staff_id, base_at, day, due_at) "
    "VALUES ($1, $2, $3, $4, $5, " WUYE_SQL_TIME_OR_NULL(
        "$6") ", NULLIF($7, '')::date, " WUYE_SQL_TIME("$8") ") ON CONFLICT DO NOTHING");

void HandoverStore::ArmTimer(pqxx::work& tx, const Timer& t) {
  int64_t base = t.base_at == absl::InfinitePast() ? -1 : Micros(t.base_at);
  tx.exec_prepared(kTimerArm, t.group_id, static_cast<int>(t.kind), t.key, t.estate_id, t.staff_id,
                   base, t.day ? DayText(*t.day) : "", Micros(t.due_at));
}

const sql::Statement kTimersDue = statements.Add(
    "du_ho_timers_due",
    absl::StrCat("SELECT ", kTimerCols,
                 " FROM duty_timers WHERE fired_at IS NULL AND due_at <= " WUYE_SQL_TIME(
                     "$1") " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED"));

std::vector<Timer> HandoverStore::DueTimers(pqxx::work& tx, absl::Time now, int limit) {
  std::vector<Timer> out;
  for (const auto& row : tx.exec_prepared(kTimersDue, Micros(now), limit)) {
    out.push_back(TimerRow(row));
  }
  return out;
}

const sql::Statement kTimerFired = statements.Add(
    "du_ho_timer_fired",
    "UPDATE duty_timers SET fired_at = " WUYE_SQL_TIME("$5") " WHERE group_id = $1 AND kind = $2 "
    "AND estate_id = $3 AND key = $4 AND fired_at IS NULL");

void HandoverStore::MarkFired(pqxx::work& tx, const Timer& t, absl::Time at) {
  tx.exec_prepared(kTimerFired, t.group_id, static_cast<int>(t.kind), t.estate_id, t.key,
                   Micros(at));
}

const sql::Statement kTimersUnfired = statements.Add(
    "du_ho_timers_unfired", absl::StrCat("SELECT ", kTimerCols,
                                         " FROM duty_timers WHERE group_id = $1 AND fired_at IS "
                                         "NULL ORDER BY due_at FOR UPDATE"));

std::vector<Timer> HandoverStore::UnfiredTimers(pqxx::work& tx, const std::string& group) {
  std::vector<Timer> out;
  for (const auto& row : tx.exec_prepared(kTimersUnfired, group)) out.push_back(TimerRow(row));
  return out;
}

const sql::Statement kTimerSetDue = statements.Add(
    "du_ho_timer_set_due",
    "UPDATE duty_timers SET due_at = " WUYE_SQL_TIME("$5") " WHERE group_id = $1 AND kind = $2 "
    "AND estate_id = $3 AND key = $4 AND fired_at IS NULL");

void HandoverStore::SetDue(pqxx::work& tx, const Timer& t, absl::Time due) {
  tx.exec_prepared(kTimerSetDue, t.group_id, static_cast<int>(t.kind), t.estate_id, t.key,
                   Micros(due));
}

}  // namespace wuye::duty
