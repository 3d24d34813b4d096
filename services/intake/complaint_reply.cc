#include "services/intake/complaint_reply.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye::intake {

namespace common = ::wuye::common::v1;

SlaClock ClockOf(common::SlaClock clock) {
  switch (clock) {
    case common::SLA_CLOCK_ELAPSED:
      return SlaClock::kElapsed;
    case common::SLA_CLOCK_OFFICE_HOURS:
      return SlaClock::kOfficeHours;
    default:
      return SlaClock::kWorkingDays;
  }
}

void FillComplaintReplyDefaults(v1::CallbackSettings& s) {
  if (s.complaint_reply_hours() == 0) s.set_complaint_reply_hours(kDefaultComplaintReplyHours);
  if (s.complaint_reply_clock() == common::SLA_CLOCK_UNSPECIFIED) {
    s.set_complaint_reply_clock(kDefaultComplaintReplyClock);
  }
}

absl::Status CheckComplaintReplySettings(const v1::CallbackSettings& s, absl::string_view field) {
  if (s.complaint_reply_hours() < 1 || s.complaint_reply_hours() > kMaxComplaintReplyHours) {
    return FieldError(absl::StrCat(field, ".complaint_reply_hours"), "1..2160 hours");
  }
  switch (s.complaint_reply_clock()) {
    case common::SLA_CLOCK_ELAPSED:
    case common::SLA_CLOCK_WORKING_DAYS:
    case common::SLA_CLOCK_OFFICE_HOURS:
      return absl::OkStatus();
    default:
      return FieldError(absl::StrCat(field, ".complaint_reply_clock"),
                        "ELAPSED, WORKING_DAYS or OFFICE_HOURS");
  }
}

std::string ComplaintReplyLabel(int hours, common::SlaClock clock) {
  switch (ClockOf(clock)) {
    case SlaClock::kElapsed:
      return absl::StrCat(hours, "小时");
    case SlaClock::kOfficeHours:
      return absl::StrCat(hours, "个办公小时");
    default:
      if (hours % 24 == 0) return absl::StrCat(hours / 24, "个工作日");
      return absl::StrCat(hours, "小时（工作日）");
  }
}

absl::Duration ComplaintReplyWarnBefore(int hours) {
  return std::min(absl::Hours(hours) / 3, absl::Hours(24));
}

Deadline ComplaintReplyDue(const WorkCalendar& calendar, absl::Time received, int hours,
                           common::SlaClock clock, const absl::TimeZone& tz) {
  return DeadlineOf(calendar, received, absl::Hours(hours), ClockOf(clock),
                    ComplaintReplyWarnBefore(hours), ComplaintReplyLabel(hours, clock), tz);
}

Deadline ComplaintReplyRetimed(const WorkCalendar& before, const WorkCalendar& after,
                               const SlaProgress& kept, absl::Time received, int hours,
                               common::SlaClock clock, absl::Time old_due, absl::Time now,
                               const absl::TimeZone& tz, const absl::TimeZone& before_tz) {
  return DeadlineRetimed(before, after, kept, received, absl::Hours(hours), ClockOf(clock),
                         old_due, now, ComplaintReplyWarnBefore(hours),
                         ComplaintReplyLabel(hours, clock), tz, before_tz);
}

wuye::events::v1::ComplaintReplyEvent ComplaintReplyEventOf(const v1::Ticket& t) {
  wuye::events::v1::ComplaintReplyEvent e;
  e.set_ticket_id(t.id());
  e.set_estate_id(t.estate_id());
  *e.mutable_location() = t.location();
  if (e.location().estate_id().empty()) e.mutable_location()->set_estate_id(t.estate_id());
  e.set_owner_id(t.owner_id());
  *e.mutable_received_at() = t.received_time();
  *e.mutable_due_at() = t.complaint_reply().due_time();
  if (t.complaint_reply().has_reply_time()) {
    *e.mutable_replied_at() = t.complaint_reply().reply_time();
    e.set_on_time(t.complaint_reply().on_time());
  }
  return e;
}

}  // namespace wuye::intake
