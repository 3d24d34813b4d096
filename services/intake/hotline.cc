#include "services/intake/hotline.h"

#include "absl/strings/str_cat.h"

namespace wuye::intake {
namespace {

absl::Duration Days(int n) { return absl::Hours(24) * n; }

}  // namespace

HotlineDue HotlineDueOf(const WorkCalendar& calendar, absl::Time received, int working_days,
                        std::optional<absl::Time> given, int warn_days, const absl::TimeZone& tz) {
  if (working_days > 0) {
    return DeadlineOf(calendar, received, Days(working_days), SlaClock::kWorkingDays,
                      Days(warn_days), absl::StrCat(working_days, "个工作日"), tz);
  }
  HotlineDue out;
  out.due = given.value_or(received);
  out.reason =
      absl::StrCat("12345给定：", calendar.Explain(received, out.due, SlaClock::kElapsed, tz));
  out.warn = WarnTime(calendar, out.due, Days(warn_days), SlaClock::kWorkingDays, received, tz);
  return out;
}

HotlineDue HotlineDueRetimed(const WorkCalendar& before, const WorkCalendar& after,
                             const SlaProgress& kept, absl::Time received, int working_days,
                             absl::Time old_due, absl::Time now, int warn_days,
                             const absl::TimeZone& tz, const absl::TimeZone& before_tz) {
  return DeadlineRetimed(before, after, kept, received, Days(working_days), SlaClock::kWorkingDays,
                         old_due, now, Days(warn_days), absl::StrCat(working_days, "个工作日"),
                         tz, before_tz);
}

}  // namespace wuye::intake
