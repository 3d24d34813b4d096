// The counter's periodic work: the daily patrol check of renovations (003_… 2.6: 每日現場
// 巡查裝修施工情況; 000_… 二.9: 日常巡查記錄). A tick claims its rows with FOR UPDATE SKIP LOCKED,
// so replicas may run it at once.
#pragma once

#include "absl/status/statusor.h"
#include "services/counter/renovation_store.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::counter {

// After an estate day ends, every approved renovation whose period covered that day and that
// has no patrol recorded for it gets a finding: a row of renovation_missed_days (once per
// renovation and day: patrols_missed counts them) and "counter.renovation.patrol_missed"
// (subject_version yyyymmdd). Each renovation keeps the next day to check, so a day is
// looked at once, and a service that was down catches up day by day.
class PatrolCheck {
 public:
  PatrolCheck(Db& db, const Clock& clock);
  // One pass over at most `batch` renovations; returns how many days it found missed.
  absl::StatusOr<int> Tick(int batch = 200);

 private:
  Db& db_;
  const Clock& clock_;
  RenovationStore store_;
  Outbox outbox_;
};

}  // namespace wuye::counter
