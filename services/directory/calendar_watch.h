// Whether next year's working calendar is arranged before deadlines run into it. A deadline
// on working days that reaches a year no whole arrangement covers is counted Monday to
// Friday (and says so in its reason), so the year's arrangement must be in place by late
// December: shipped with wuye (shared/calendars/cn-YYYY.txt) or imported by each group
// (docs/operations.md, "Each November"). The directory checks hourly and tells the platform
// team by gauges and a daily warning; it changes nothing.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "shared/db.h"

namespace wuye::directory {

struct NextYearCalendar {
  int year = 0;                // next year, on China's clock (Asia/Shanghai)
  int64_t days_left = 0;       // until its first day begins
  bool shipped = false;        // the State Council's arrangement ships with this build
  int64_t groups_without = 0;  // groups that have not imported the year whole either
};

// Reads the groups' imported years; `now` decides which year is next.
absl::StatusOr<NextYearCalendar> CheckNextYearCalendar(Db& db, absl::Time now);

// The hourly tick: sets wuye_work_calendar_next_year_shipped (0/1),
// wuye_work_calendar_next_year_groups_uncovered and wuye_work_calendar_next_year_days_left,
// and, from `warn_within` days before the year, logs `calendar.next_year_missing` once a day
// while any group is uncovered.
class NextYearCalendarWatch {
 public:
  NextYearCalendarWatch(Db& db, absl::Duration warn_within = absl::Hours(24 * 45))
      : db_(db), warn_within_(warn_within) {}
  absl::StatusOr<int> Tick(absl::Time now);

 private:
  Db& db_;
  absl::Duration warn_within_;
  absl::CivilDay warned_{1970, 1, 1};
};

}  // namespace wuye::directory
