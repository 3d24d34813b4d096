#include "services/duty/duty_jobs.h"

#include "shared/status.h"

namespace wuye::duty {

absl::StatusOr<int> DutyJobs::Escalate(absl::Time now, int batch) {
  int moved = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    moved = 0;
    for (auto& [group, task] : store_.DueTasks(tx, now, batch)) {
      if (flow_.Escalate(tx, group, task, now)) ++moved;
    }
    return absl::OkStatus();
  }));
  return moved;
}

}  // namespace wuye::duty
