#include "services/directory/calendar_watch.h"

#include <algorithm>
#include <string>

#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/work_calendar.h"

namespace wuye::directory {

namespace {

const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* tz = [] {
    auto* zone = new absl::TimeZone;
    if (!absl::LoadTimeZone("Asia/Shanghai", zone)) *zone = absl::FixedTimeZone(8 * 3600);
    return zone;
  }();
  return *tz;
}

}  // namespace

absl::StatusOr<NextYearCalendar> CheckNextYearCalendar(Db& db, absl::Time now) {
  const absl::CivilDay today = absl::ToCivilDay(now, ChinaTime());
  NextYearCalendar next;
  next.year = static_cast<int>(today.year()) + 1;
  next.days_left = absl::CivilDay(next.year, 1, 1) - today;
  const auto& shipped = NationalCalendarYears();
  next.shipped = std::any_of(shipped.begin(), shipped.end(), [&](const CalendarYear& y) {
    return y.year == next.year && !y.overlay;
  });
  if (next.shipped) return next;
  // A group's own whole year covers it (an overlay does not: docs/api/directory.md).
  absl::Status st = db.Transact([&](pqxx::work& tx) {
    next.groups_without =
        tx.exec_params1(
              "SELECT count(*) FROM groups g WHERE NOT EXISTS (SELECT 1 FROM "
              "wuye_work_calendars c WHERE c.group_id = g.id::text AND c.estate_id = '' "
              "AND c.year = $1 AND c.calendar <> '' "
              "AND position('mode overlay' IN c.calendar) = 0)",
              next.year)[0]
            .as<int64_t>();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return next;
}

absl::StatusOr<int> NextYearCalendarWatch::Tick(absl::Time now) {
  absl::StatusOr<NextYearCalendar> next = CheckNextYearCalendar(db_, now);
  if (!next.ok()) return next.status();
  Metrics& m = Metrics::Global();
  m.Set("wuye_work_calendar_next_year_shipped", next->shipped ? 1 : 0);
  m.Set("wuye_work_calendar_next_year_groups_uncovered", static_cast<double>(next->groups_without));
  m.Set("wuye_work_calendar_next_year_days_left", static_cast<double>(next->days_left));
  const absl::CivilDay today = absl::ToCivilDay(now, ChinaTime());
  if (next->groups_without > 0 && absl::Hours(24 * next->days_left) <= warn_within_ &&
      today != warned_) {
    warned_ = today;
    LogWarn("calendar.next_year_missing")
        .Int("year", next->year)
        .Int("days_left", next->days_left)
        .Int("groups", next->groups_without)
        .Str("do", "import the State Council's arrangement (docs/operations.md, Each November)");
  }
  return 0;
}

}  // namespace wuye::directory
