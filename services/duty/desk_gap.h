// The desk-gap timer (000_… 二.5 "实行每日24小时服务接待"; issue #22 §1): a desk open by the
// estate's hours, in the estate's local time, with no agent checked in is a gap, and a gap
// is a task for the team lead (TASK_KIND_DESK_GAP, subject "desk/<estate id>"), raised once
// per gap and closed by an agent's check-in.
//
// Durable: the gap is read from the rows themselves (the estate's hours, the open
// check-ins, the last agent's check-out, the open desk-gap task), never from memory. Two
// replicas racing share the estates with FOR UPDATE SKIP LOCKED and read the open task
// again after the lock, so a gap raises one task.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/duty/duty.h"
#include "services/duty/duty_store.h"
#include "services/duty/task_flow.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::duty {

// A desk left without an agent is a gap once this long has passed since the last agent
// checked out: an agent handing the desk to the next (交接班) checks out and in within it.
inline constexpr absl::Duration kDeskGapGrace = absl::Minutes(5);

// "desk/<estate id>": what a desk-gap task is about.
std::string DeskRef(const std::string& estate_id);

// Pure: whether a gap is due at `now`. `local_minute` is `now` in the estate's zone
// (minutes after local midnight); `last_agent_out` is when the last agent checked out
// (InfinitePast when none ever did).
bool DeskGapDue(const DeskHours& hours, int local_minute, int agents_checked_in,
                absl::Time last_agent_out, absl::Time now);

class DeskGapJob {
 public:
  explicit DeskGapJob(Db& db);

  // Looks at every estate's desk once: raises the task of each gap that has none open and
  // closes the open task of each desk an agent has checked in at since. Returns how many
  // tasks it raised or closed.
  absl::StatusOr<int> Run(absl::Time now, int batch = 200);

 private:
  Db& db_;
  DutyStore store_;
  Outbox outbox_;
  TaskFlow flow_;
};

// In a check-in's transaction: an agent's check-in closes the estate's open desk-gap task.
// Returns how many it closed.
int CloseDeskGap(TaskFlow& flow, pqxx::work& tx, const std::string& group,
                 const std::string& estate, const std::string& attendance_id, absl::Time now,
                 const std::string& trace_id);

}  // namespace wuye::duty
