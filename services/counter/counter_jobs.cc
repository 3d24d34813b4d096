#include "services/counter/counter_jobs.h"

#include <algorithm>

#include "shared/ids.h"
#include "shared/log.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::counter {

PatrolCheck::PatrolCheck(Db& db, const Clock& clock)
    : db_(db), clock_(clock), store_(db), outbox_(db, "counter") {}

absl::StatusOr<int> PatrolCheck::Tick(int batch) {
  const absl::Time now = clock_.Now();
  const std::string trace = NewId(now);
  int missed = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    missed = 0;
    for (const DueCheck& due : store_.ClaimDue(tx, now, batch)) {
      // The estate's today: every day before it has ended.
      const absl::CivilDay today = absl::ToCivilDay(now, EstateZone(due.time_zone));
      const absl::CivilDay stop = std::min(today, due.end_day + 1);
      if (due.next_day >= stop) continue;
      for (absl::CivilDay day = due.next_day; day < stop; ++day) {
        if (store_.PatrolledOn(tx, due.id, day)) continue;
        if (!store_.InsertMissed(tx, due.group_id, due.id, day, now)) continue;
        auto payload = PatrolMissedEvent(due.id, due.estate_id, due.unit_id, day);
        outbox_.Append(tx,
                       {"counter.renovation.patrol_missed", due.group_id, due.estate_id, due.id,
                        DayNumber(day), &payload},
                       now, trace);
        ++missed;
      }
      store_.SetNextCheck(tx, due.id, stop);
    }
    return absl::OkStatus();
  }));
  if (missed > 0) LogInfo("counter.patrols_missed").Int("days", missed);
  return missed;
}

}  // namespace wuye::counter
