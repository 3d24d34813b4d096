#include "services/intake/deadline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace wuye::intake {

absl::Time WarnTime(const WorkCalendar& cal, absl::Time due, absl::Duration before,
                    SlaClock clock, absl::Time floor, const absl::TimeZone& tz) {
  if (before <= absl::ZeroDuration() || due == absl::InfiniteFuture()) return std::max(floor, due);
  auto enough = [&](absl::Time t) { return cal.Counted(t, due, clock, tz) >= before; };
  // Step back a day at a time until the clock has counted enough (holidays included), then
  // narrow down to the second: the clock's count only grows as t moves back.
  absl::Time lo = due - before;
  for (int i = 0; i < 400 && !enough(lo); ++i) lo -= absl::Hours(24);
  if (!enough(lo)) return floor;
  absl::Time hi = due;  // not enough at hi (counts zero)
  while (hi - lo > absl::Seconds(1)) {
    absl::Time mid = lo + (hi - lo) / 2;
    if (enough(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  lo = absl::FromUnixSeconds(absl::ToUnixSeconds(lo));
  return std::max(floor, lo);
}

Deadline DeadlineOf(const WorkCalendar& calendar, absl::Time start, absl::Duration window,
                    SlaClock clock, absl::Duration warn_before, absl::string_view label,
                    const absl::TimeZone& tz) {
  Deadline out;
  out.due = calendar.Advance(start, window, clock, tz);
  out.reason = absl::StrCat(label, "：", calendar.Explain(start, out.due, clock, tz));
  out.warn = WarnTime(calendar, out.due, warn_before, clock, start, tz);
  out.progress = ProgressFrom(start);
  return out;
}

Deadline DeadlineRetimed(const WorkCalendar& before, const WorkCalendar& after,
                         const SlaProgress& kept, absl::Time start, absl::Duration window,
                         SlaClock clock, absl::Time old_due, absl::Time now,
                         absl::Duration warn_before, absl::string_view label,
                         const absl::TimeZone& tz, const absl::TimeZone& before_tz) {
  // Step by step, as dispatch's clocks: only the time since the last settling is counted on
  // the calendar (and in the zone) in force until now (a change arriving out of order counts
  // nothing).
  SlaProgress p = Settle(kept, std::max(now, kept.settled_at), before, clock, before_tz);
  Deadline out;
  out.progress = p;
  out.due = p.spent >= window ? old_due : DueTime(p, window, after, clock, tz);
  out.reason = absl::StrCat(label, "：", after.Explain(start, out.due, clock, tz));
  out.warn = WarnTime(after, out.due, warn_before, clock, start, tz);
  return out;
}

}  // namespace wuye::intake
