#include "services/intake/ticket.h"

#include "services/intake/complaint_reply.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/intake/hotline.h"
#include "shared/basis_points.h"
#include "shared/crypto.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

std::string Field(absl::string_view prefix, absl::string_view name) {
  return absl::StrCat(prefix, ".", name);
}

// Order of the states along the worked path, for forward-only moves.
int WorkRank(TicketState s) {
  switch (s) {
    case ev::TICKET_STATE_RECEIVED:
    case ev::TICKET_STATE_REOPENED:
      return 0;
    case ev::TICKET_STATE_DISPATCHED:
      return 1;
    case ev::TICKET_STATE_IN_PROGRESS:
      return 2;
    case ev::TICKET_STATE_RESOLVED:
      return 3;
    default:
      return -1;
  }
}

}  // namespace

bool NeedsWork(common::TicketKind kind) {
  switch (kind) {
    case common::TICKET_KIND_REPAIR_UNIT:
    case common::TICKET_KIND_REPAIR_COMMON:
    case common::TICKET_KIND_PAID_SERVICE:
    case common::TICKET_KIND_ELDERCARE_REQUEST:
    case common::TICKET_KIND_EMERGENCY:
      return true;
    default:
      return false;
  }
}

bool IsAnswerable(common::TicketKind kind) {
  return kind == common::TICKET_KIND_CONSULTATION || kind == common::TICKET_KIND_SUGGESTION ||
         kind == common::TICKET_KIND_PRAISE;
}

absl::Status CheckStaffId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return FieldError(field, "required");
  if (id.size() > 128) return FieldError(field, "at most 128 characters");
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return FieldError(field, "printable ASCII without spaces");
  }
  return absl::OkStatus();
}

absl::Status CheckEventText(absl::string_view value, absl::string_view field, int max_chars,
                            Presence presence) {
  WUYE_RETURN_IF_ERROR(CheckText(value, field, max_chars, presence, Lines::kMany));
  return CheckNoPersonalNumbers(value, field);
}

absl::Status CheckTicketEventText(const v1::Ticket& t, absl::string_view prefix) {
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(t.summary(), Field(prefix, "summary")));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(t.description(), Field(prefix, "description")));
  return CheckNoPersonalNumbers(t.location().common_area(), Field(prefix, "location.common_area"));
}

absl::StatusOr<absl::Time> RequestTime(const google::protobuf::Timestamp& ts,
                                       absl::string_view field) {
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z, Timestamp's last
  if (ts.nanos() < 0 || ts.nanos() > 999'999'999 || ts.seconds() > kMaxSeconds ||
      FromProtoTime(ts) < kEarliestRequestTime) {
    return FieldError(field, "a valid time from 2000-01-01T00:00:00Z");
  }
  return FromProtoTime(ts);
}

absl::Status PrepareTicket(v1::Ticket& t, absl::string_view answer, absl::Time now,
                           absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return Field(prefix, name); };
  WUYE_RETURN_IF_ERROR(CheckId(t.estate_id(), f("estate_id")));
  if (!common::Channel_IsValid(t.channel()) || t.channel() == common::CHANNEL_UNSPECIFIED) {
    return FieldError(f("channel"), "required: one of the channels");
  }
  if (!common::TicketKind_IsValid(t.kind()) || t.kind() == common::TICKET_KIND_UNSPECIFIED) {
    return FieldError(f("kind"), "required: one of the ticket kinds");
  }
  WUYE_RETURN_IF_ERROR(CheckText(t.summary(), f("summary"), 200, Presence::kRequired, Lines::kOne));
  WUYE_RETURN_IF_ERROR(
      CheckText(t.description(), f("description"), 4000, Presence::kOptional, Lines::kMany));

  // Where.
  auto* loc = t.mutable_location();
  if (!loc->estate_id().empty() && loc->estate_id() != t.estate_id()) {
    return FieldError(f("location.estate_id"), "must be the ticket's estate");
  }
  bool has_unit = loc->place_case() == common::Location::kUnitId;
  bool has_area = loc->place_case() == common::Location::kCommonArea;
  if (has_unit) WUYE_RETURN_IF_ERROR(CheckId(loc->unit_id(), f("location.unit_id")));
  if (has_area)
    WUYE_RETURN_IF_ERROR(CheckText(loc->common_area(), f("location.common_area"), 200,
                                   Presence::kRequired, Lines::kOne));
  if (t.has_location() || has_unit || has_area) loc->set_estate_id(t.estate_id());
  if ((t.kind() == common::TICKET_KIND_REPAIR_UNIT ||
       t.kind() == common::TICKET_KIND_PAID_SERVICE) &&
      !has_unit) {
    return FieldError(f("location.unit_id"), "required for work inside a unit");
  }
  if (t.kind() == common::TICKET_KIND_REPAIR_COMMON && !has_area) {
    return FieldError(f("location.common_area"), "required for a common-area repair");
  }
  if (!t.resident_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(t.resident_id(), f("resident_id")));

  // Work on site.
  if (NeedsWork(t.kind())) {
    if (!common::WorkCategory_IsValid(t.category()) ||
        t.category() == common::WORK_CATEGORY_UNSPECIFIED) {
      return FieldError(f("category"), "required for work on site");
    }
    if (!common::Priority_IsValid(t.priority()) || t.priority() == common::PRIORITY_UNSPECIFIED) {
      return FieldError(f("priority"), "required for work on site");
    }
  } else {
    if (t.category() != common::WORK_CATEGORY_UNSPECIFIED) {
      return FieldError(f("category"), "only for kinds that need work on site");
    }
    if (t.priority() != common::PRIORITY_UNSPECIFIED) {
      return FieldError(f("priority"), "only for kinds that need work on site");
    }
  }
  if (t.kind() == common::TICKET_KIND_PAID_SERVICE) {
    WUYE_RETURN_IF_ERROR(CheckItemCode(t.service_item_code(), f("service_item_code")));
  } else if (!t.service_item_code().empty()) {
    return FieldError(f("service_item_code"), "only for paid services");
  }

  // Complaints.
  bool complaint = t.kind() == common::TICKET_KIND_COMPLAINT;
  if (!complaint) {
    if (t.major()) return FieldError(f("major"), "only for complaints");
    if (!t.first_complaint_id().empty())
      return FieldError(f("first_complaint_id"), "only for complaints");
    if (!t.disputed_bill_id().empty())
      return FieldError(f("disputed_bill_id"), "only for complaints");
  } else {
    if (!t.first_complaint_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(t.first_complaint_id(), f("first_complaint_id")));
    }
    if (!t.disputed_bill_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(t.disputed_bill_id(), f("disputed_bill_id")));
    }
  }

  // Consultations.
  bool consultation = t.kind() == common::TICKET_KIND_CONSULTATION;
  if (!consultation && t.needs_supervisor()) {
    return FieldError(f("needs_supervisor"), "only for consultations");
  }
  if (!answer.empty()) {
    if (!consultation) return FieldError("answer", "only for consultations");
    if (t.needs_supervisor()) return FieldError("answer", "not with needs_supervisor");
    WUYE_RETURN_IF_ERROR(CheckText(answer, "answer", 4000, Presence::kRequired, Lines::kMany));
  }

  // Hotline caller.
  if (!t.caller_phone().empty()) {
    if (t.channel() != common::CHANNEL_HOTLINE) {
      return FieldError(f("caller_phone"), "only for hotline tickets");
    }
    WUYE_RETURN_IF_ERROR(NormalizeCallerPhone(t.caller_phone(), f("caller_phone")).status());
  }

  // When.
  absl::Time received = now;
  if (t.has_received_time()) {
    WUYE_ASSIGN_OR_RETURN(received, RequestTime(t.received_time(), f("received_time")));
    if (received > now) return FieldError(f("received_time"), "must not be in the future");
    if (received < now - kMaxBackdating) {
      return FieldError(f("received_time"), "at most 7 days ago");
    }
  }
  *t.mutable_received_time() = ToProtoTime(received);
  if (consultation) {
    absl::Time due = t.needs_supervisor() ? received + kSupervisorAnswerWindow : received;
    *t.mutable_answer_due_time() = ToProtoTime(due);
  } else {
    t.clear_answer_due_time();
  }

  // Deprecated inputs (intake.proto): ignored and never stored; the callback rule reads
  // the facts instead.
  for (int number :
       {v1::Ticket::kNewServiceContractFieldNumber, v1::Ticket::kNewServiceItemFieldNumber}) {
    t.GetReflection()->ClearField(&t, t.GetDescriptor()->FindFieldByNumber(number));
  }

  // Output only.
  t.clear_id();
  t.clear_group_id();
  t.clear_state();
  t.clear_owner_id();
  t.clear_second_complaint();
  t.clear_overdue();
  t.clear_result();
  t.clear_worker_ids();
  t.clear_work_order_ids();
  t.clear_callback_reason();
  t.clear_version();
  t.clear_create_time();
  t.clear_update_time();
  t.clear_history();
  t.clear_hotline();
  t.clear_external_due_time();
  t.clear_external_due_reason();
  t.clear_complaint_reply();
  return absl::OkStatus();
}

bool CanMove(common::TicketKind kind, TicketState from, TicketState to) {
  bool complaint = kind == common::TICKET_KIND_COMPLAINT;
  if (complaint && (to == ev::TICKET_STATE_ANSWERED || to == ev::TICKET_STATE_CANCELLED)) {
    return false;
  }
  switch (from) {
    case ev::TICKET_STATE_RECEIVED:
      return to == ev::TICKET_STATE_ANSWERED || to == ev::TICKET_STATE_DISPATCHED ||
             to == ev::TICKET_STATE_IN_PROGRESS || to == ev::TICKET_STATE_RESOLVED ||
             to == ev::TICKET_STATE_CANCELLED;
    case ev::TICKET_STATE_ANSWERED:
      return to == ev::TICKET_STATE_CLOSED || to == ev::TICKET_STATE_CANCELLED;
    case ev::TICKET_STATE_DISPATCHED:
      return to == ev::TICKET_STATE_IN_PROGRESS || to == ev::TICKET_STATE_RESOLVED ||
             to == ev::TICKET_STATE_CANCELLED;
    case ev::TICKET_STATE_IN_PROGRESS:
      return to == ev::TICKET_STATE_RESOLVED || to == ev::TICKET_STATE_CANCELLED;
    case ev::TICKET_STATE_RESOLVED:
      return to == ev::TICKET_STATE_CALLBACK_DUE || to == ev::TICKET_STATE_CLOSED;
    case ev::TICKET_STATE_CALLBACK_DUE:
      return to == ev::TICKET_STATE_CLOSED || to == ev::TICKET_STATE_REOPENED;
    case ev::TICKET_STATE_CLOSED:
      return to == ev::TICKET_STATE_REOPENED;
    case ev::TICKET_STATE_REOPENED:
      return to == ev::TICKET_STATE_DISPATCHED || to == ev::TICKET_STATE_IN_PROGRESS ||
             to == ev::TICKET_STATE_RESOLVED || to == ev::TICKET_STATE_CANCELLED;
    default:
      return false;
  }
}

std::string StateName(TicketState state) {
  std::string name = ev::TicketState_Name(state);
  absl::string_view prefix = "TICKET_STATE_";
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

absl::Status CheckMove(common::TicketKind kind, TicketState from, TicketState to) {
  if (CanMove(kind, from, to)) return absl::OkStatus();
  std::string why =
      absl::StrCat("ticket: cannot move from ", StateName(from), " to ", StateName(to));
  if (kind == common::TICKET_KIND_COMPLAINT &&
      (to == ev::TICKET_STATE_ANSWERED || to == ev::TICKET_STATE_CANCELLED)) {
    absl::StrAppend(&why, " (a complaint is closed only after its handling result)");
  }
  return WithReason(absl::FailedPreconditionError(why), "ILLEGAL_TRANSITION");
}

TicketState TargetForWorkOrder(ev::WorkOrderState state) {
  switch (state) {
    case ev::WORK_ORDER_STATE_WAITING:
    case ev::WORK_ORDER_STATE_ASSIGNED:
      return ev::TICKET_STATE_DISPATCHED;
    case ev::WORK_ORDER_STATE_ACCEPTED:
    case ev::WORK_ORDER_STATE_EN_ROUTE:
    case ev::WORK_ORDER_STATE_ON_SITE:
    case ev::WORK_ORDER_STATE_WORK_DONE:
    case ev::WORK_ORDER_STATE_SIGNED:
      return ev::TICKET_STATE_IN_PROGRESS;
    case ev::WORK_ORDER_STATE_COMPLETED:
      return ev::TICKET_STATE_RESOLVED;
    default:
      return ev::TICKET_STATE_UNSPECIFIED;
  }
}

TicketState NextStateForWork(TicketState current, TicketState target, bool all_done) {
  if (target == ev::TICKET_STATE_RESOLVED && !all_done) target = ev::TICKET_STATE_IN_PROGRESS;
  int from = WorkRank(current), to = WorkRank(target);
  if (from < 0 || to <= 0 || to <= from) return ev::TICKET_STATE_UNSPECIFIED;
  return target;
}

absl::Time AnswerDue(absl::Time received, bool needs_supervisor, const DeskHours& desk,
                     absl::TimeZone tz) {
  absl::Duration left = needs_supervisor ? kSupervisorAnswerWindow : absl::ZeroDuration();
  constexpr int kDay = 24 * 60;
  // Midnight opens a day at 0 and closes it at 24:00.
  const int opens = std::clamp(desk.opens_min, 0, kDay) % kDay;
  int closes = std::clamp(desk.closes_min, 0, kDay);
  if (closes == 0) closes = kDay;
  if (desk.open_24h || opens == closes) return received + left;
  // A day's open spans in local minutes: one, or two for a desk open over midnight (its
  // evening runs into the next day's early span without a break).
  std::vector<std::pair<int, int>> spans;
  if (opens < closes) {
    spans.push_back({opens, closes});
  } else {
    spans.push_back({0, closes});
    spans.push_back({opens, kDay});
  }
  // Walk the open spans from the day received: every day has some, so this ends.
  absl::Time at = received;
  for (absl::CivilDay day = absl::ToCivilDay(received, tz);; ++day) {
    for (const auto& [from, to] : spans) {
      const absl::Time start = absl::FromCivil(absl::CivilMinute(day) + from, tz);
      const absl::Time end = absl::FromCivil(absl::CivilMinute(day) + to, tz);
      if (end <= at) continue;  // over before `at` (or closing at it)
      at = std::max(at, start);
      if (at + left <= end) return at + left;
      left -= end - at;  // the closing interrupts the window: the rest from the next opening
      at = end;
    }
  }
}

bool IsOverdue(const v1::Ticket& t, absl::Time now) {
  if (t.kind() != common::TICKET_KIND_CONSULTATION) return false;
  if (t.state() != ev::TICKET_STATE_RECEIVED || !t.has_answer_due_time()) return false;
  return now > FromProtoTime(t.answer_due_time());
}

int CallbackQuotaPercent(int households_served) {
  // 300 is both 300户以上 and 100户-300户, 100 both 100户-300户 and 100户以下: the stricter.
  if (households_served > 300) return 10;
  if (households_served > 100) return 20;
  return 30;
}

int RequiredCallbacks(int quota_percent, int households_served) {
  if (households_served <= 0) return 0;
  return (quota_percent * households_served + 99) / 100;
}

CallbackCoverageFigures CallbackCoverageOf(int households_served, int callbacks_done,
                                           int mandatory_missing) {
  CallbackCoverageFigures f;
  // The band follows the households served this month, not the estate's size.
  f.quota_percent = CallbackQuotaPercent(households_served);
  f.callbacks_required = RequiredCallbacks(f.quota_percent, households_served);
  f.share_bp = BasisPoints(callbacks_done, households_served, 0);
  f.met = callbacks_done >= f.callbacks_required && mandatory_missing == 0;
  return f;
}

bool IsInHomeService(const v1::Ticket& t) {
  if (t.location().place_case() != common::Location::kUnitId) return false;
  switch (t.kind()) {
    case common::TICKET_KIND_REPAIR_UNIT:
    case common::TICKET_KIND_PAID_SERVICE:
      return true;
    case common::TICKET_KIND_EMERGENCY:
      // A burst pipe or a power cut in the flat is a repair (5.2.5); guiding an ambulance
      // or a care visit is not a 居家服务.
      return t.category() != common::WORK_CATEGORY_SECURITY &&
             t.category() != common::WORK_CATEGORY_ELDERCARE_VISIT &&
             t.category() != common::WORK_CATEGORY_GREENING;
    default:
      return false;
  }
}

std::string ServedHousehold(const v1::Ticket& t) {
  return IsInHomeService(t) ? t.location().unit_id() : std::string();
}

v1::CallbackSettings DefaultCallbackSettings() {
  v1::CallbackSettings s;
  s.set_new_staff_days(90);
  s.set_new_contract_days(30);
  s.set_new_item_days(90);
  FillComplaintReplyDefaults(s);
  s.set_hotline_reply_backdate_hours(kDefaultHotlineReplyBackdateHours);
  return s;
}

absl::Status CheckCallbackSettings(const v1::CallbackSettings& s, absl::string_view field) {
  auto days = [&](int value, absl::string_view name) -> absl::Status {
    if (value < 1 || value > 3650) return FieldError(Field(field, name), "1..3650 days");
    return absl::OkStatus();
  };
  WUYE_RETURN_IF_ERROR(days(s.new_staff_days(), "new_staff_days"));
  WUYE_RETURN_IF_ERROR(days(s.new_contract_days(), "new_contract_days"));
  WUYE_RETURN_IF_ERROR(days(s.new_item_days(), "new_item_days"));
  if (s.hotline_reply_backdate_hours() < 1 ||
      s.hotline_reply_backdate_hours() > kMaxHotlineReplyBackdateHours) {
    return FieldError(Field(field, "hotline_reply_backdate_hours"), "1..720 hours");
  }
  return CheckComplaintReplySettings(s, field);
}

v1::CallbackReason DecideCallback(const CallbackInputs& in) {
  if (in.kind == common::TICKET_KIND_COMPLAINT) return v1::CALLBACK_REASON_COMPLAINT;
  if (!in.in_home) return v1::CALLBACK_REASON_NOT_REQUIRED;
  if (in.new_contract) return v1::CALLBACK_REASON_NEW_CONTRACT;
  if (in.new_service_item) return v1::CALLBACK_REASON_NEW_SERVICE_ITEM;
  if (in.worker_new) return v1::CALLBACK_REASON_NEW_STAFF;
  if (in.worker_complained) return v1::CALLBACK_REASON_COMPLAINED_STAFF;
  if (in.household_already_called) return v1::CALLBACK_REASON_NOT_REQUIRED;
  int quota = CallbackQuotaPercent(in.households_served);
  if (in.households_called < RequiredCallbacks(quota, in.households_served)) {
    return v1::CALLBACK_REASON_SAMPLE;
  }
  return v1::CALLBACK_REASON_NOT_REQUIRED;
}

bool IsMandatory(v1::CallbackReason reason) {
  return reason != v1::CALLBACK_REASON_UNSPECIFIED && reason != v1::CALLBACK_REASON_SAMPLE &&
         reason != v1::CALLBACK_REASON_NOT_REQUIRED;
}

bool IsUnsatisfied(common::Satisfaction s) {
  return s == common::SATISFACTION_UNSATISFIED || s == common::SATISFACTION_VERY_UNSATISFIED;
}

bool StartedWithin(absl::CivilDay start, absl::CivilDay day, int days) {
  return start <= day && day - start < days;
}

std::string HouseholdKey(const v1::Ticket& t) {
  if (t.location().place_case() == common::Location::kUnitId) {
    return absl::StrCat("unit:", t.location().unit_id());
  }
  if (!t.resident_id().empty()) return absl::StrCat("resident:", t.resident_id());
  return absl::StrCat("ticket:", t.id());
}

namespace {

// The date as a civil day, or INVALID_ARGUMENT naming `field` when it is not a real one.
absl::StatusOr<absl::CivilDay> CheckDay(const wuye::directory::v1::Date& d,
                                        absl::string_view field) {
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (d.year() < 2000 || d.year() > 2100 || day.year() != d.year() || day.month() != d.month() ||
      day.day() != d.day()) {
    return FieldError(field, "a real calendar date, years 2000..2100");
  }
  return day;
}

}  // namespace

absl::Status PrepareContract(v1::ServiceContract& c, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return Field(prefix, name); };
  WUYE_RETURN_IF_ERROR(CheckId(c.estate_id(), f("estate_id")));
  WUYE_RETURN_IF_ERROR(CheckId(c.unit_id(), f("unit_id")));
  WUYE_RETURN_IF_ERROR(CheckText(c.summary(), f("summary"), 200, Presence::kRequired, Lines::kOne));
  if (!c.has_start_date()) return FieldError(f("start_date"), "required");
  WUYE_ASSIGN_OR_RETURN(absl::CivilDay start, CheckDay(c.start_date(), f("start_date")));
  if (c.has_end_date()) {
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay end, CheckDay(c.end_date(), f("end_date")));
    if (end < start) return FieldError(f("end_date"), "not before start_date");
  }
  c.clear_id();
  c.clear_created_by();
  c.clear_create_time();
  return absl::OkStatus();
}

std::string DateText(const wuye::directory::v1::Date& d) {
  if (d.year() == 0 && d.month() == 0 && d.day() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

wuye::directory::v1::Date DateFromText(absl::string_view text) {
  wuye::directory::v1::Date d;
  absl::CivilDay day;
  if (absl::ParseCivilTime(text, &day)) {
    d.set_year(static_cast<int>(day.year()));
    d.set_month(day.month());
    d.set_day(day.day());
  }
  return d;
}

std::string MonthKey(int year, int month) { return absl::StrFormat("%04d-%02d", year, month); }

std::string MonthKey(absl::Time t, absl::TimeZone tz) {
  absl::CivilMonth m = absl::ToCivilMonth(t, tz);
  return MonthKey(static_cast<int>(m.year()), m.month());
}

absl::Status CheckMonth(const common::Month& month, absl::string_view field) {
  if (month.year() < 2000 || month.year() > 2100) {
    return FieldError(absl::StrCat(field, ".year"), "2000..2100");
  }
  if (month.month() < 1 || month.month() > 12) {
    return FieldError(absl::StrCat(field, ".month"), "1..12");
  }
  return absl::OkStatus();
}

}  // namespace wuye::intake
