#include "services/duty/desk_gap.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "shared/sql.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::duty {
namespace {

using sql::Micros;
using sql::Text;
using sql::TimeOf;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

struct Desk {
  std::string group;
  std::string estate;
  std::string time_zone;
  DeskHours hours;
};

}  // namespace

std::string DeskRef(const std::string& estate_id) { return RefOf("desk", estate_id); }

bool DeskGapDue(const DeskHours& hours, int local_minute, int agents_checked_in,
                absl::Time last_agent_out, absl::Time now) {
  return DeskGap(hours, local_minute, agents_checked_in) && now - last_agent_out >= kDeskGapGrace;
}

DeskGapJob::DeskGapJob(Db& db) : db_(db), store_(db), outbox_(db, "duty"), flow_(store_, outbox_) {
  statements.PrepareOn(db);
}

// Across groups, a page of estates by id, each locked: replicas take different ones.
const sql::Statement kDeskEstates = statements.Add(
    "du_desk_estates",
    "SELECT id::text, group_id::text, time_zone, desk_24h, desk_opens_minute, desk_closes_minute "
    "FROM dir_estates WHERE id > " WUYE_SQL_AFTER("$1") " ORDER BY id LIMIT $2 "
    "FOR UPDATE SKIP LOCKED");

// Read after the lock, in a statement of its own (a snapshot that sees what the replica
// that held the lock before committed): agents checked in, the last agent's check-out,
// whether a desk-gap task is open.
const sql::Statement kDeskState = statements.Add(
    "du_desk_state",
    "SELECT e.id::text, "
    " (SELECT count(*) FROM attendances a WHERE a.group_id = e.group_id AND a.estate_id = e.id"
    "  AND a.role = $3 AND a.check_out_time IS NULL AND a.check_in_time <= " WUYE_SQL_TIME("$2")
    ")::int, "
    " (SELECT " WUYE_SQL_MICROS("max(a.check_out_time)") " FROM attendances a"
    "  WHERE a.group_id = e.group_id AND a.estate_id = e.id AND a.role = $3"
    "  AND a.check_out_time <= " WUYE_SQL_TIME("$2") "), "
    " EXISTS (SELECT 1 FROM tasks t WHERE t.group_id = e.group_id"
    "  AND t.subject_ref = 'desk/' || e.id::text AND t.state IN (1, 2, 3)) "
    "FROM dir_estates e WHERE e.id = ANY($1::uuid[])");

absl::StatusOr<int> DeskGapJob::Run(absl::Time now, int batch) {
  int changed = 0;
  std::string after;
  for (;;) {
    int seen = 0, changed_here = 0;
    std::string last;
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
      seen = 0;
      changed_here = 0;
      last.clear();
      std::vector<Desk> desks;
      std::vector<std::string> ids;
      for (const auto& row : tx.exec_prepared(kDeskEstates, after, batch)) {
        Desk d{Text(row[1]), Text(row[0]), Text(row[2]), {}};
        d.hours.desk_24h = row[3].as<bool>();
        d.hours.opens_minute = row[4].as<int>();
        d.hours.closes_minute = row[5].as<int>();
        ids.push_back(d.estate);
        desks.push_back(std::move(d));
      }
      seen = static_cast<int>(desks.size());
      if (desks.empty()) return absl::OkStatus();
      last = desks.back().estate;
      for (const auto& row : tx.exec_prepared(kDeskState, PgArray(ids), Micros(now),
                                              static_cast<int>(ev::STAFF_ROLE_AGENT))) {
        std::string estate = Text(row[0]);
        const Desk* desk = nullptr;
        for (const Desk& d : desks) {
          if (d.estate == estate) desk = &d;
        }
        if (desk == nullptr) continue;
        int agents = row[1].as<int>();
        absl::Time last_out = TimeOf(row[2]);
        bool open_task = row[3].as<bool>();
        if (agents > 0) {
          // An agent at the desk: a gap task still open (a check-in that raced the timer) closes.
          if (open_task) {
            changed_here += flow_.CloseAbout(tx, desk->group, DeskRef(estate), "", now, "");
          }
          continue;
        }
        absl::CivilMinute local = absl::ToCivilMinute(now, EstateZone(desk->time_zone));
        int minute = static_cast<int>(local.hour() * 60 + local.minute());
        if (open_task || !DeskGapDue(desk->hours, minute, agents, last_out, now)) continue;
        TaskDraft t;
        t.kind = ev::TASK_KIND_DESK_GAP;
        t.role = ev::STAFF_ROLE_TEAM_LEAD;
        t.level = LevelOf(t.role);
        t.estate_id = estate;
        t.subject_ref = DeskRef(estate);
        t.location.set_estate_id(estate);
        t.title = TitleOf(t.kind, "");
        t.source_event_id = absl::StrCat("desk_gap/", estate, "/", Micros(now));
        t.raised_at = now;
        if (flow_.Raise(tx, desk->group, t, now, "")) ++changed_here;
      }
      return absl::OkStatus();
    }));
    changed += changed_here;
    if (seen < batch) break;
    after = last;
  }
  return changed;
}

int CloseDeskGap(TaskFlow& flow, pqxx::work& tx, const std::string& group,
                 const std::string& estate, const std::string& attendance_id, absl::Time now,
                 const std::string& trace_id) {
  return flow.CloseAbout(tx, group, DeskRef(estate), attendance_id, now, trace_id);
}

}  // namespace wuye::duty
