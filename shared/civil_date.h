// Calendar days in event payloads (wuye.events.v1.CivilDate) ⇄ absl::CivilDay.
#pragma once

#include <optional>

#include "absl/time/civil_time.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye {

// The day, or nullopt when unset (year 0) or not a day of the calendar (no producer sends
// one; a consumer takes it as unknown).
inline std::optional<absl::CivilDay> CivilDayOf(const events::v1::CivilDate& d) {
  if (d.year() == 0) return std::nullopt;
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (day.year() != d.year() || day.month() != d.month() || day.day() != d.day()) {
    return std::nullopt;
  }
  return day;
}

inline events::v1::CivilDate CivilDateOf(absl::CivilDay day) {
  events::v1::CivilDate d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

}  // namespace wuye
