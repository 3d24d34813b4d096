// The 12345 order's deadline (issue 27 §3): the hotline's working days counted on the
// estate's working calendar from when the hotline received it (or the due time it gave),
// the desk's words for it, and when the order is "due soon". Pure.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/intake/deadline.h"
#include "shared/work_calendar.h"

namespace wuye::intake {

// The default of --hotline_due_soon_working_days: intake.hotline.due_soon one working day
// before the due time.
inline constexpr int kDefaultHotlineDueSoonDays = 1;
// How far ahead of intake's clock an order's received time may be (the city platform's
// clock running a little ahead): up to this it is taken and recorded as received now;
// further ahead the line is refused (received_time, "must not be in the future").
inline constexpr absl::Duration kHotlineClockSkew = absl::Minutes(5);
// CallbackSettings.hotline_reply_backdate_hours (issue 27 §3): a reply's stated reply_time at
// most this long before the moment it is recorded, so that a desk replying late cannot date
// its reply back into time. The seeds are silent on 12345: 24 hours is a reading
// (docs/api/intake.md).
inline constexpr int kDefaultHotlineReplyBackdateHours = 24;
inline constexpr int kMaxHotlineReplyBackdateHours = 720;

// reason: WorkCalendar::Explain, or the hotline's own due time; warn:
// intake.hotline.due_soon from here (never before `received`).
using HotlineDue = Deadline;

// `working_days` > 0: `received` advanced that many working days (SlaClock::kWorkingDays)
// on `calendar` in `tz`; otherwise `given`. `warn_days` working days before the due time
// (0: at the due time).
HotlineDue HotlineDueOf(const WorkCalendar& calendar, absl::Time received, int working_days,
                        std::optional<absl::Time> given, int warn_days, const absl::TimeZone& tz);

// An order of `working_days` whose calendar changed at `now` from `before` to `after`
// (issue 27 §1): the working time counted on `before` until `now` stays spent, the rest is
// counted on `after` from `now`. A deadline already past stays where it was. `kept`: the
// progress stored at the last change (ProgressFrom(received) before any).
HotlineDue HotlineDueRetimed(const WorkCalendar& before, const WorkCalendar& after,
                             const SlaProgress& kept, absl::Time received, int working_days,
                             absl::Time old_due, absl::Time now, int warn_days,
                             const absl::TimeZone& tz, const absl::TimeZone& before_tz);

}  // namespace wuye::intake
