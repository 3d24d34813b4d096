#include "services/dispatch/dispatch_jobs.h"

#include "shared/status.h"

namespace wuye::dispatch {

DispatchJobs::DispatchJobs(Db& db) : db_(db), flow_(db) {}

absl::StatusOr<int> DispatchJobs::FireDeadlines(absl::Time now, int batch) {
  int fired = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    fired = 0;
    Act act = WorkOrderFlow::System(now);
    for (pb::WorkOrder& o : flow_.store().DueSla(tx, now, batch)) {
      int steps = o.history_size();
      SlaEvent due = SlaDue(o, now);
      if (due != SlaEvent::kNone) {
        FireSla(o, due, act);
        ++fired;
      } else if (PauseOverdueDue(o, now)) {
        // Issue 27 §2: a pause still active at its look-at time reaches somebody.
        FirePauseOverdue(o, act);
        ++fired;
      }
      flow_.Save(tx, o, steps, now, "");
    }
    return absl::OkStatus();
  }));
  return fired;
}

absl::StatusOr<int> DispatchJobs::Escalate(absl::Time now, int batch) {
  int escalated = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    escalated = 0;
    Act act = WorkOrderFlow::System(now);
    for (pb::WorkOrder& o : flow_.store().DueEscalations(tx, now, batch)) {
      int steps = o.history_size();
      pb::SlaPolicy policy = flow_.EffectivePolicy(tx, o.group_id(), o.estate_id());
      if (auto e = EscalationDue(o, policy, now)) {
        ApplyEscalation(o, *e, act);
        ++escalated;
      }
      flow_.Save(tx, o, steps, now, "", &policy);
    }
    return absl::OkStatus();
  }));
  return escalated;
}

absl::StatusOr<int> DispatchJobs::RetryWaiting(absl::Time now, int batch) {
  int assigned = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    assigned = 0;
    Act act = WorkOrderFlow::System(now);
    for (pb::WorkOrder& o : flow_.store().Waiting(tx, batch)) {
      int steps = o.history_size();
      if (flow_.AutoAssign(tx, o, act)) {
        flow_.Save(tx, o, steps, now, "");
        ++assigned;
      }
    }
    return absl::OkStatus();
  }));
  return assigned;
}

}  // namespace wuye::dispatch
