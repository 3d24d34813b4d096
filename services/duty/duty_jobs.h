// The duty desk's periodic work: the acknowledgement timer. A task not acknowledged by its
// due time moves one level up the ladder (team lead → supervisor → estate manager) with a
// new window. Durable: the due time is the task's row; replicas share the due rows with
// FOR UPDATE SKIP LOCKED, so each step fires once.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/duty/duty_store.h"
#include "services/duty/task_flow.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::duty {

class DutyJobs {
 public:
  explicit DutyJobs(Db& db) : db_(db), store_(db), outbox_(db, "duty"), flow_(store_, outbox_) {}

  // Moves up to `batch` due tasks one level up; returns how many moved.
  absl::StatusOr<int> Escalate(absl::Time now, int batch = 200);

 private:
  Db& db_;
  DutyStore store_;
  Outbox outbox_;
  TaskFlow flow_;
};

}  // namespace wuye::duty
