#include "services/intake/hotline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace wuye::intake {
namespace {

// The latest instant t <= due from which the working-day clock still counts `days` whole
// days up to `due`; `floor` when even that counts less.
absl::Time WarnTime(const WorkCalendar& cal, absl::Time due, int days, absl::Time floor,
                    const absl::TimeZone& tz) {
  if (days <= 0 || due == absl::InfiniteFuture()) return std::max(floor, due);
  const absl::Duration want = absl::Hours(24) * days;
  auto enough = [&](absl::Time t) {
    return cal.Counted(t, due, SlaClock::kWorkingDays, tz) >= want;
  };
  // Step back a day at a time until the clock has counted enough (holidays included), then
  // narrow down to the second: the clock's count only grows as t moves back.
  absl::Time lo = due - want;
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

}  // namespace

HotlineDue HotlineDueOf(const WorkCalendar& calendar, absl::Time received, int working_days,
                        std::optional<absl::Time> given, int warn_days, const absl::TimeZone& tz) {
  HotlineDue out;
  if (working_days > 0) {
    out.due = calendar.Advance(received, absl::Hours(24) * working_days, SlaClock::kWorkingDays,
                               tz);
    out.reason = absl::StrCat(working_days, "个工作日：",
                              calendar.Explain(received, out.due, SlaClock::kWorkingDays, tz));
  } else {
    out.due = given.value_or(received);
    out.reason = absl::StrCat(
        "12345给定：", calendar.Explain(received, out.due, SlaClock::kElapsed, tz));
  }
  out.warn = WarnTime(calendar, out.due, warn_days, received, tz);
  return out;
}

HotlineDue HotlineDueRetimed(const WorkCalendar& before, const WorkCalendar& after,
                             absl::Time received, int working_days, absl::Time old_due,
                             absl::Time now, int warn_days, const absl::TimeZone& tz) {
  const absl::Duration window = absl::Hours(24) * working_days;
  SlaProgress p{absl::ZeroDuration(), received, true};
  p = Settle(p, std::max(now, received), before, SlaClock::kWorkingDays, tz);
  HotlineDue out;
  out.due = p.spent >= window ? old_due : DueTime(p, window, after, SlaClock::kWorkingDays, tz);
  out.reason = absl::StrCat(working_days, "个工作日：",
                            after.Explain(received, out.due, SlaClock::kWorkingDays, tz));
  out.warn = WarnTime(after, out.due, warn_days, received, tz);
  return out;
}

}  // namespace wuye::intake
