// Dispatch's timer ticks: SLA warnings and breaches, pauses past their look-at time,
// escalation, re-trying waiting orders.
// Ticks claim orders with FOR UPDATE SKIP LOCKED, so replicas may run them at once and each
// deadline fires once.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/dispatch/work_order_flow.h"
#include "shared/db.h"

namespace wuye::dispatch {

class DispatchJobs {
 public:
  explicit DispatchJobs(Db& db);

  // Each returns the number of orders it changed.
  absl::StatusOr<int> FireDeadlines(absl::Time now, int batch = 200);
  absl::StatusOr<int> Escalate(absl::Time now, int batch = 200);
  absl::StatusOr<int> RetryWaiting(absl::Time now, int batch = 100);

 private:
  Db& db_;
  WorkOrderFlow flow_;
};

}  // namespace wuye::dispatch
