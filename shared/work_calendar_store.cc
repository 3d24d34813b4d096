#include "shared/work_calendar_store.h"

#include <string>

namespace wuye {

namespace {
constexpr int kCalendarLockClass = 0x63616c65;  // 'cale'
}  // namespace

void LockWorkCalendars(pqxx::transaction_base& tx, std::string_view group_id, CalendarLock mode) {
  tx.exec_params(mode == CalendarLock::kShared
                     ? "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))"
                     : "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                 kCalendarLockClass, std::string(group_id));
}

bool ApplyCalendarChanged(pqxx::work& tx, const events::v1::CalendarChanged& event) {
  LockWorkCalendars(tx, event.group_id(), CalendarLock::kExclusive);
  std::string calendar = event.calendar();
  if (!calendar.empty()) {
    absl::StatusOr<CalendarYear> year = ParseCalendarYear(calendar);
    if (!year.ok() || year->year != event.year()) calendar.clear();
  }
  pqxx::result r = tx.exec_params(
      "INSERT INTO wuye_work_calendars (group_id, estate_id, year, calendar, version)"
      " VALUES ($1, $2, $3, $4, $5)"
      " ON CONFLICT (group_id, estate_id, year) DO UPDATE"
      "   SET calendar = EXCLUDED.calendar, version = EXCLUDED.version"
      "   WHERE wuye_work_calendars.version < EXCLUDED.version",
      event.group_id(), event.estate_id(), event.year(), calendar, event.version());
  return r.affected_rows() > 0;
}

WorkCalendar LoadWorkCalendar(pqxx::transaction_base& tx, std::string_view group_id,
                              std::string_view estate_id) {
  LockWorkCalendars(tx, group_id, CalendarLock::kShared);
  WorkCalendar calendar = WorkCalendar::National();
  // The group's rows sort before the estate's ('' first), so the estate's years win.
  pqxx::result rows = tx.exec_params(
      "SELECT calendar FROM wuye_work_calendars"
      " WHERE group_id = $1 AND estate_id IN ('', $2) AND calendar <> ''"
      " ORDER BY estate_id, year",
      std::string(group_id), std::string(estate_id));
  for (const pqxx::row& row : rows) {
    if (absl::StatusOr<CalendarYear> year = ParseCalendarYear(row[0].as<std::string>());
        year.ok()) {
      calendar.SetYear(*year);
    }
  }
  return calendar;
}

}  // namespace wuye
