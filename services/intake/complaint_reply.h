// A complaint's written reply to the resident (issue #27 §1: "a complaint's written reply"
// runs on working days; DOMAIN.md §2: the resident gets the handling result): its deadline,
// the group's window (CallbackSettings.complaint_reply_hours on complaint_reply_clock)
// counted on the estate's working calendar from the complaint's received time. Pure.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/intake/deadline.h"
#include "shared/work_calendar.h"
#include "wuye/common/v1/domain.pb.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye::intake {

// The seeds give no figure (docs/api/intake.md): the default reading is three working days.
inline constexpr int kDefaultComplaintReplyHours = 72;
inline constexpr int kMaxComplaintReplyHours = 2160;  // 90 days of the clock
inline constexpr wuye::common::v1::SlaClock kDefaultComplaintReplyClock =
    wuye::common::v1::SLA_CLOCK_WORKING_DAYS;

// The clock a setting names (UNSPECIFIED: working days, the default).
SlaClock ClockOf(wuye::common::v1::SlaClock clock);

// The settings' complaint-reply fields left 0 / UNSPECIFIED take their defaults (a whole
// replacement from a client that predates them).
void FillComplaintReplyDefaults(v1::CallbackSettings& s);
// complaint_reply_hours 1..2160; complaint_reply_clock ELAPSED, WORKING_DAYS or
// OFFICE_HOURS. INVALID_ARGUMENT naming `field`.complaint_reply_….
absl::Status CheckComplaintReplySettings(const v1::CallbackSettings& s, absl::string_view field);

// The desk's words for the window: "3个工作日", "30小时（工作日）", "8个办公小时", "48小时".
std::string ComplaintReplyLabel(int hours, wuye::common::v1::SlaClock clock);
// Due soon when a third of the window is left, at most 24 hours of the clock (one working
// day of a working-day window).
absl::Duration ComplaintReplyWarnBefore(int hours);

// The deadline of a complaint received at `received` with the group's window.
Deadline ComplaintReplyDue(const WorkCalendar& calendar, absl::Time received, int hours,
                           wuye::common::v1::SlaClock clock, const absl::TimeZone& tz);
// The same after the calendar changed at `now` from `before` to `after` (time spent kept).
// `kept`: the progress stored at the last change (ProgressFrom(received) before any).
Deadline ComplaintReplyRetimed(const WorkCalendar& before, const WorkCalendar& after,
                               const SlaProgress& kept, absl::Time received, int hours,
                               wuye::common::v1::SlaClock clock,
                               absl::Time old_due, absl::Time now, const absl::TimeZone& tz,
                               const absl::TimeZone& before_tz);

// The payload of the complaint reply's events: ids, the place, the owner and the times
// (never the resident, a number nor the complaint's text).
wuye::events::v1::ComplaintReplyEvent ComplaintReplyEventOf(const v1::Ticket& t);

}  // namespace wuye::intake
