// A task's write path, shared by the consumers (raise, close), the handlers (acknowledge)
// and the acknowledgement timer (escalate): each change is saved with a new version and
// published once as a TaskChanged ("duty.task.<raised|acknowledged|escalated|done>") in the
// same transaction.
#pragma once

#include <string>

#include "services/duty/duty.h"
#include "services/duty/duty_store.h"
#include "shared/outbox.h"

namespace wuye::duty {

class TaskFlow {
 public:
  TaskFlow(DutyStore& store, Outbox& outbox) : store_(store), outbox_(outbox) {}

  // Raises the task of a draft at `now`, addressed to the people on duty in its role (none:
  // the next level up at once, a role gap). False when the event raised it before.
  bool Raise(pqxx::work& tx, const std::string& group, const TaskDraft& draft, absl::Time now,
             const std::string& trace_id);
  // Closes every task about `subject_ref` still open or acknowledged (DONE); with `estate`
  // ("" any), only that estate's.
  int CloseAbout(pqxx::work& tx, const std::string& group, const std::string& subject_ref,
                 const std::string& event_id, absl::Time now, const std::string& trace_id,
                 const std::string& estate = "");
  // Saves an acknowledgement made by the handler (state, by, time set on `task`).
  void Acknowledged(pqxx::work& tx, const std::string& group, pb::Task& task, absl::Time now,
                    const std::string& trace_id);
  // Moves a task not acknowledged in time one level up (EscalationOf); false when it stays.
  bool Escalate(pqxx::work& tx, const std::string& group, pb::Task& task, absl::Time now);

 private:
  // The staff ids on duty at the estate in `role`.
  std::vector<std::string> OnDutyIn(pqxx::work& tx, const std::string& group,
                                    const std::string& estate, ev::StaffRole role, absl::Time at);
  void Publish(pqxx::work& tx, const std::string& group, const pb::Task& task,
               const std::string& type, const std::string& closed_by, absl::Time now,
               const std::string& trace_id);

  DutyStore& store_;
  Outbox& outbox_;
};

}  // namespace wuye::duty
