#include "services/duty/task_flow.h"

#include "services/duty/notification.h"
#include "services/duty/notifier.h"
#include "shared/ids.h"
#include "shared/proto_time.h"

namespace wuye::duty {

std::vector<std::string> TaskFlow::OnDutyIn(pqxx::work& tx, const std::string& group,
                                            const std::string& estate, ev::StaffRole role,
                                            absl::Time at) {
  std::vector<std::string> out;
  for (const pb::OnDuty& d : store_.OnDuty(tx, group, estate, at, role)) {
    if (out.empty() || out.back() != d.staff_id()) out.push_back(d.staff_id());
  }
  return out;
}

void TaskFlow::Publish(pqxx::work& tx, const std::string& group, const pb::Task& t,
                       const std::string& type, const std::string& closed_by, absl::Time now,
                       const std::string& trace_id) {
  ev::TaskChanged p;
  p.set_task_id(t.id());
  p.set_estate_id(t.estate_id());
  p.set_kind(t.kind());
  p.set_state(t.state());
  p.set_role(t.role());
  p.set_level(t.level());
  p.set_subject_ref(t.subject_ref());
  *p.mutable_location() = t.location();
  *p.mutable_ack_due_at() = t.ack_due_time();
  p.set_acknowledged_by(t.acknowledged_by());
  p.set_closed_by_event_id(closed_by);
  *p.mutable_at() = ToProtoTime(now);
  p.set_version(t.version());
  outbox_.Append(tx,
                 {.type = type,
                  .group_id = group,
                  .estate_id = t.estate_id(),
                  .subject = t.id(),
                  .subject_version = t.version(),
                  .payload = &p},
                 now, trace_id);
  store_.SignalTaskChange(tx, t.estate_id());
  // The notification outlet (notifier.h): raised and escalated tasks reach the gateway.
  if (auto change = NotifyingChange(type)) QueueNotification(tx, store_, group, t, *change, now);
}

bool TaskFlow::Raise(pqxx::work& tx, const std::string& group, const TaskDraft& d, absl::Time now,
                     const std::string& trace_id) {
  pb::Settings settings = store_.GetSettings(tx, group);
  pb::Task t;
  t.set_id(NewId(now));
  t.set_estate_id(d.estate_id);
  t.set_kind(d.kind);
  t.set_state(ev::TASK_STATE_OPEN);
  t.set_role(d.role);
  t.set_level(d.level);
  t.set_subject_ref(d.subject_ref);
  *t.mutable_location() = d.location;
  t.set_title(d.title);
  std::vector<std::string> people = OnDutyIn(tx, group, d.estate_id, d.role, now);
  // Nobody on duty in the role: the next level up takes it at once (a role gap), as far up
  // as someone is on duty; at the top it stays with the manager's role, unassigned.
  while (people.empty()) {
    std::optional<ev::StaffRole> up = GapTarget(t.role());
    if (!up) break;
    t.set_role(*up);
    t.set_level(LevelOf(*up));
    t.set_state(ev::TASK_STATE_ESCALATED);
    people = OnDutyIn(tx, group, d.estate_id, *up, now);
  }
  for (const std::string& p : people) t.add_assignee_ids(p);
  *t.mutable_ack_due_time() = ToProtoTime(now + AckWindow(settings, d.kind));
  *t.mutable_create_time() = ToProtoTime(now);
  *t.mutable_update_time() = ToProtoTime(now);
  t.set_version(1);
  // first_role keeps the draft's role: one task per (event, role) however far it moved.
  if (!store_.InsertTask(tx, group, t, d.source_event_id, d.role)) return false;
  Publish(tx, group, t, "duty.task.raised", "", now, trace_id);
  return true;
}

int TaskFlow::CloseAbout(pqxx::work& tx, const std::string& group, const std::string& subject_ref,
                         const std::string& event_id, absl::Time now, const std::string& trace_id,
                         const std::string& estate) {
  int closed = 0;
  for (pb::Task& t : store_.OpenTasksAbout(tx, group, subject_ref)) {
    if (!estate.empty() && t.estate_id() != estate) continue;
    t.set_state(ev::TASK_STATE_DONE);
    *t.mutable_close_time() = ToProtoTime(now);
    *t.mutable_update_time() = ToProtoTime(now);
    t.set_version(t.version() + 1);
    store_.SaveTask(tx, group, t, event_id);
    Publish(tx, group, t, "duty.task.done", event_id, now, trace_id);
    ++closed;
  }
  return closed;
}

void TaskFlow::Acknowledged(pqxx::work& tx, const std::string& group, pb::Task& t, absl::Time now,
                            const std::string& trace_id) {
  *t.mutable_update_time() = ToProtoTime(now);
  t.set_version(t.version() + 1);
  store_.SaveTask(tx, group, t, "");
  Publish(tx, group, t, "duty.task.acknowledged", "", now, trace_id);
}

bool TaskFlow::Escalate(pqxx::work& tx, const std::string& group, pb::Task& t, absl::Time now) {
  pb::Settings settings = store_.GetSettings(tx, group);
  std::optional<Step> step =
      EscalationOf(t.kind(), t.role(), FromProtoTime(t.ack_due_time()), now, settings);
  if (!step) return false;
  t.set_role(step->role);
  t.set_level(step->level);
  t.set_state(ev::TASK_STATE_ESCALATED);
  *t.mutable_ack_due_time() = ToProtoTime(step->ack_due);
  t.clear_assignee_ids();
  for (const std::string& p : OnDutyIn(tx, group, t.estate_id(), step->role, now)) {
    t.add_assignee_ids(p);
  }
  *t.mutable_update_time() = ToProtoTime(now);
  t.set_version(t.version() + 1);
  store_.SaveTask(tx, group, t, "");
  Publish(tx, group, t, "duty.task.escalated", "", now, "");
  return true;
}

}  // namespace wuye::duty
