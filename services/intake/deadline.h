// A deadline counted on the estate's working calendar (issue 27 §1), shared by the 12345
// order's reply (hotline.h) and a complaint's written reply (complaint_reply.h): the due
// time `window` of `clock` after the start, the calendar's words for it, when it is "due
// soon", and the same deadline re-timed forward when the calendar changes. Pure.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/work_calendar.h"

namespace wuye::intake {

struct Deadline {
  absl::Time due;
  std::string reason;  // `label` + "：" + WorkCalendar::Explain
  absl::Time warn;     // due soon from here (never before the start)
  // The clock settled up to the last calendar change (DeadlineRetimed), to be kept with the
  // deadline so the next change starts from it; {0, start} when counted afresh.
  SlaProgress progress;
};

// The progress of a deadline nothing has settled yet: nothing spent, counting from `start`.
inline SlaProgress ProgressFrom(absl::Time start) { return {absl::ZeroDuration(), start, true}; }

// The latest instant t <= `due` from which `clock` still counts `before` up to `due`;
// `floor` when even that counts less (and never before `floor`). `before` zero: `due`.
absl::Time WarnTime(const WorkCalendar& calendar, absl::Time due, absl::Duration before,
                    SlaClock clock, absl::Time floor, const absl::TimeZone& tz);

// `start` advanced `window` of `clock` on `calendar` in `tz`; due soon `warn_before` of the
// clock before it.
Deadline DeadlineOf(const WorkCalendar& calendar, absl::Time start, absl::Duration window,
                    SlaClock clock, absl::Duration warn_before, absl::string_view label,
                    const absl::TimeZone& tz);

// A deadline whose calendar changed at `now` from `before` to `after` (issue 27 §1): the
// time kept (`kept`: spent until its settled_at, stored at the last change; ProgressFrom
// (start) before any) plus the time counted on `before` from kept.settled_at until `now`
// stays spent (SlaProgress/Settle), the rest is counted on `after` from `now` (DueTime). A
// deadline already spent stays at `old_due`. The result's `progress` is the clock settled at
// `now`, for the next change: never counted again from `start`, so time a retroactive edit
// took away or gave is kept. `before_tz`: the zone the clock counted in until `now` (an
// estate's zone changed), `tz` the one it counts in from now; the same for a calendar change.
Deadline DeadlineRetimed(const WorkCalendar& before, const WorkCalendar& after,
                         const SlaProgress& kept, absl::Time start,
                         absl::Duration window, SlaClock clock, absl::Time old_due,
                         absl::Time now, absl::Duration warn_before, absl::string_view label,
                         const absl::TimeZone& tz, const absl::TimeZone& before_tz);

}  // namespace wuye::intake
