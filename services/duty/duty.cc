#include "services/duty/duty.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/duty/handover.h"
#include "shared/event_router.h"
#include "shared/proto_time.h"
#include "shared/staff_roles.h"
#include "shared/status.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/events/v1/performance_events.pb.h"

namespace wuye::duty {

int LevelOf(ev::StaffRole role) {
  switch (role) {
    case ev::STAFF_ROLE_TEAM_LEAD:
      return 1;
    case ev::STAFF_ROLE_SUPERVISOR:
      return 2;
    case ev::STAFF_ROLE_ESTATE_MANAGER:
      return 3;
    default:
      return 0;
  }
}

std::optional<ev::StaffRole> NextUp(ev::StaffRole role) {
  switch (LevelOf(role)) {
    case 0:
      return ev::STAFF_ROLE_TEAM_LEAD;
    case 1:
      return ev::STAFF_ROLE_SUPERVISOR;
    case 2:
      return ev::STAFF_ROLE_ESTATE_MANAGER;
    default:
      return std::nullopt;
  }
}

std::string_view RoleName(ev::StaffRole role) { return TokenRoleName(role); }

std::optional<ev::StaffRole> RoleOfName(std::string_view name) { return StaffRoleOfToken(name); }

bool IsDutyRole(ev::StaffRole role) {
  return ev::StaffRole_IsValid(role) && role != ev::STAFF_ROLE_UNSPECIFIED &&
         role != ev::STAFF_ROLE_GROUP_ADMIN;
}

// ---- kinds ------------------------------------------------------------------------------

const std::vector<KindRule>& Kinds() {
  using ev::StaffRole;
  static const std::vector<KindRule>* const kinds = new std::vector<KindRule>{
      {ev::TASK_KIND_MAJOR_COMPLAINT,
       "major_complaint",
       "major complaint",
       {ev::STAFF_ROLE_SUPERVISOR, ev::STAFF_ROLE_ESTATE_MANAGER},
       absl::Minutes(15)},
      {ev::TASK_KIND_SECOND_COMPLAINT,
       "second_complaint",
       "second complaint",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Minutes(30)},
      {ev::TASK_KIND_ESCALATION, "escalation", "work order escalated", {}, absl::Minutes(15)},
      {ev::TASK_KIND_SLA_WARNING,
       "sla_warning",
       "work order about to miss its deadline",
       {ev::STAFF_ROLE_TEAM_LEAD},
       absl::Minutes(15)},
      {ev::TASK_KIND_SLA_BREACH,
       "sla_breach",
       "work order missed its deadline",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Minutes(15)},
      {ev::TASK_KIND_CONSULTATION_OVERDUE,
       "consultation_overdue",
       "consultation not answered",
       {ev::STAFF_ROLE_TEAM_LEAD},
       absl::Minutes(10)},
      {ev::TASK_KIND_CALLBACK_UNSATISFIED,
       "callback_unsatisfied",
       "unsatisfied callback",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(4)},
      {ev::TASK_KIND_UNRECORDED_CALL,
       "unrecorded_call",
       "unrecorded call to review",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(24)},
      {ev::TASK_KIND_DISPUTED_BILL,
       "disputed_bill",
       "disputed bill",
       {ev::STAFF_ROLE_FINANCE_CLERK},
       absl::Hours(4)},
      {ev::TASK_KIND_APPEAL,
       "appeal",
       "appeal to decide",
       {ev::STAFF_ROLE_ESTATE_MANAGER},
       absl::Hours(24)},
      {ev::TASK_KIND_ELDER_EMERGENCY,
       "elder_emergency",
       "elderly-care emergency",
       {ev::STAFF_ROLE_SECURITY_GUARD, ev::STAFF_ROLE_CARE_WORKER},
       absl::Minutes(3)},
      {ev::TASK_KIND_SAFETY_CHECK,
       "safety_check",
       "safety check of elderly-care homes due",
       {ev::STAFF_ROLE_CARE_WORKER},
       absl::Minutes(30)},
      {ev::TASK_KIND_METER_READING,
       "meter_reading",
       "meter reading flagged",
       {ev::STAFF_ROLE_FINANCE_CLERK},
       absl::Hours(24)},
      {ev::TASK_KIND_DESK_GAP,
       "desk_gap",
       "nobody checked in at the 24-hour desk",
       {ev::STAFF_ROLE_TEAM_LEAD},
       absl::Minutes(10)},
      {ev::TASK_KIND_ROLE_GAP, "role_gap", "nobody on duty for a task", {}, absl::Minutes(10)},
      // The counter's (issue #25). The windows are readings: the seeds ask that each be
      // decided, patrolled, handled; a lost card is refused at the gates as soon as can be.
      {ev::TASK_KIND_RENOVATION_APPLICATION,
       "renovation_application",
       "renovation application to decide",
       {ev::STAFF_ROLE_ESTATE_MANAGER},
       absl::Hours(24)},
      {ev::TASK_KIND_PATROL_MISSED,
       "patrol_missed",
       "renovation patrol missed",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(4)},
      {ev::TASK_KIND_CASE_UNHANDLED,
       "case_unhandled",
       "case found not handled",
       {ev::STAFF_ROLE_ESTATE_MANAGER},
       absl::Hours(4)},
      {ev::TASK_KIND_CARD_TO_BLOCK,
       "card_to_block",
       "lost card to block at the gates",
       {ev::STAFF_ROLE_SECURITY_GUARD},
       absl::Minutes(30)},
      // Dispatch's pauses (issue #27 §2): the clock runs until a supervisor decides.
      {ev::TASK_KIND_PAUSE_REQUEST,
       "pause_request",
       "work order pause to approve",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Minutes(30)},
      // A pause still active at its look-at time (issue 27 §2: a pause never runs unseen):
      // the supervisor on duty, who decided the pause's approval, sees the order goes on.
      // The window is a reading (the seeds are silent on pauses), as the approval's.
      {ev::TASK_KIND_PAUSE_OVERDUE,
       "pause_overdue",
       "work order paused past its resume time",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Minutes(30)},
      // The 12345 hotline's (issue 27 §3): the order's reply is due in working days, so the
      // windows are hours.
      {ev::TASK_KIND_HOTLINE_ORDER,
       "hotline_order",
       "12345 order received",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(4)},
      {ev::TASK_KIND_HOTLINE_DUE_SOON,
       "hotline_due_soon",
       "12345 reply due soon",
       {ev::STAFF_ROLE_TEAM_LEAD},
       absl::Hours(2)},
      {ev::TASK_KIND_HOTLINE_OVERDUE,
       "hotline_overdue",
       "12345 reply overdue",
       {ev::STAFF_ROLE_SUPERVISOR, ev::STAFF_ROLE_ESTATE_MANAGER},
       absl::Hours(1)},
      // A complaint's written reply (issue 27 §1): due in working days, so the windows are
      // hours; the supervisor on duty sees that the resident gets the handling result.
      {ev::TASK_KIND_COMPLAINT_REPLY_DUE_SOON,
       "complaint_reply_due_soon",
       "complaint reply due soon",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(2)},
      {ev::TASK_KIND_COMPLAINT_REPLY_OVERDUE,
       "complaint_reply_overdue",
       "complaint reply overdue",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(1)},
      // A 12345 matter for the supervisor (issue 27 §3): the government's callback said the
      // resident was not satisfied (the city counts it against the company, and the matter
      // is reopened), or the exchange with the city's platform has stopped (orders may be
      // waiting unseen). The title's words say which.
      {ev::TASK_KIND_HOTLINE_ATTENTION,
       "hotline_attention",
       "12345 needs attention",
       {ev::STAFF_ROLE_SUPERVISOR},
       absl::Hours(2)},
  };
  return *kinds;
}

const KindRule* FindKind(ev::TaskKind kind) {
  for (const KindRule& k : Kinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

// ---- settings -----------------------------------------------------------------------------

absl::Status CheckSettings(const pb::Settings& settings, absl::string_view field) {
  std::string name = absl::StrCat(field, ".ack_windows");
  std::set<int> seen;
  for (const pb::AckWindow& w : settings.ack_windows()) {
    if (FindKind(w.kind()) == nullptr) return FieldError(name, "kind: not a kind of task");
    if (!seen.insert(w.kind()).second) return FieldError(name, "each kind at most once");
    if (w.window().nanos() != 0) return FieldError(name, "window: whole seconds");
    absl::Duration d = absl::Seconds(w.window().seconds());
    if (d < kMinWindow || d > kMaxWindow) {
      return FieldError(name, "window: from 1 minute to 7 days");
    }
  }
  return absl::OkStatus();
}

absl::Duration AckWindow(const pb::Settings& settings, ev::TaskKind kind) {
  for (const pb::AckWindow& w : settings.ack_windows()) {
    if (w.kind() == kind) return absl::Seconds(w.window().seconds());
  }
  const KindRule* k = FindKind(kind);
  return k == nullptr ? absl::Minutes(15) : k->default_window;
}

pb::Settings EffectiveSettings(const pb::Settings& stored) {
  pb::Settings out;
  for (const KindRule& k : Kinds()) {
    pb::AckWindow* w = out.add_ack_windows();
    w->set_kind(k.kind);
    w->mutable_window()->set_seconds(absl::ToInt64Seconds(AckWindow(stored, k.kind)));
  }
  FillHandoverSettings(stored, &out);
  out.set_notification_gateway_url(stored.notification_gateway_url());
  return out;
}

// ---- tasks from events -------------------------------------------------------------------

std::string TitleOf(ev::TaskKind kind, absl::string_view place, absl::string_view subject_words) {
  const KindRule* k = FindKind(kind);
  std::string title(k == nullptr ? "task" : k->title);
  if (!subject_words.empty()) absl::StrAppend(&title, ": ", subject_words);
  if (!place.empty()) absl::StrAppend(&title, ", ", place);
  return title;
}

std::string RefOf(absl::string_view kind, absl::string_view id) {
  return absl::StrCat(kind, "/", id);
}

namespace {

using wuye::common::v1::Location;

std::string PlaceOf(const Location& l) {
  if (!l.common_area().empty()) return l.common_area();
  return "";  // a unit's words come from the store's copy of units (not kept yet)
}

// One task per role of the kind (or of `role` when given).
void Raise(const ev::Event& e, ev::TaskKind kind, const std::string& estate_id,
           std::string subject_ref, const Location& location, Reading& out,
           std::optional<ev::StaffRole> role = std::nullopt) {
  const KindRule* k = FindKind(kind);
  std::vector<ev::StaffRole> roles = role ? std::vector<ev::StaffRole>{*role} : k->roles;
  for (ev::StaffRole r : roles) {
    TaskDraft d;
    d.kind = kind;
    d.role = r;
    d.level = LevelOf(r);
    d.estate_id = estate_id;
    d.subject_ref = subject_ref;
    d.location = location;
    if (d.location.estate_id().empty()) d.location.set_estate_id(estate_id);
    d.title = TitleOf(kind, PlaceOf(location));
    d.source_event_id = e.event_id();
    d.raised_at = FromProtoTime(e.occurred_at());
    out.raise.push_back(std::move(d));
  }
}

// Raises `kind` about `subject_ref`, keyed by `key` (once per subject).
void RaiseOnce(const ev::Event& e, ev::TaskKind kind, const std::string& estate,
               const std::string& subject_ref, const Location& where, const std::string& key,
               Reading& out) {
  size_t first = out.raise.size();
  Raise(e, kind, estate, subject_ref, where, out);
  for (size_t i = first; i < out.raise.size(); ++i) out.raise[i].source_event_id = key;
}

std::string EstateOf(const ev::Event& e, const std::string& payload_estate) {
  return payload_estate.empty() ? e.estate_id() : payload_estate;
}

absl::Status MajorComplaint(Reading& out, const ev::Event& e, const ev::MajorComplaint& p) {
  Raise(e, ev::TASK_KIND_MAJOR_COMPLAINT, EstateOf(e, p.estate_id()),
        RefOf("ticket", p.ticket_id()), Location(), out);
  return absl::OkStatus();
}

absl::Status Ticket(Reading& out, const ev::Event& e, const ev::TicketChanged& p) {
  std::string estate = EstateOf(e, p.estate_id());
  std::string ref = RefOf("ticket", p.ticket_id());
  if (e.type() == "intake.ticket.created") {
    // A major second complaint is raised by its intake.complaint.major (supervisor and
    // manager); a second complaint that is not major reaches the supervisor from here.
    if (!p.first_complaint_id().empty() && !p.major()) {
      Raise(e, ev::TASK_KIND_SECOND_COMPLAINT, estate, ref, p.location(), out);
    }
    if (!p.disputed_bill_id().empty()) {
      Raise(e, ev::TASK_KIND_DISPUTED_BILL, estate, ref, p.location(), out);
    }
  }
  switch (p.state()) {
    case ev::TICKET_STATE_ANSWERED:
    case ev::TICKET_STATE_CLOSED:
    case ev::TICKET_STATE_CANCELLED:
      out.close_refs.push_back(ref);
      // The ticket ended: its complaint reply's tasks too (issue 27 §1).
      if (p.state() != ev::TICKET_STATE_ANSWERED) {
        out.close_refs.push_back(RefOf("complaint_reply", p.ticket_id()));
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status Callback(Reading& out, const ev::Event& e, const ev::CallbackRecorded& p) {
  if (p.satisfaction() == wuye::common::v1::SATISFACTION_UNSATISFIED ||
      p.satisfaction() == wuye::common::v1::SATISFACTION_VERY_UNSATISFIED) {
    Raise(e, ev::TASK_KIND_CALLBACK_UNSATISFIED, EstateOf(e, p.estate_id()),
          RefOf("ticket", p.ticket_id()), Location(), out);
  }
  return absl::OkStatus();
}

absl::Status UnrecordedCall(Reading& out, const ev::Event& e, const ev::UnrecordedCall& p) {
  // A resident's call is deducted by performance from the agents on duty; any other is a
  // finding a supervisor reviews (performance's DismissCallFinding).
  if (p.has_caller_is_resident() && p.caller_is_resident()) return absl::OkStatus();
  Raise(e, ev::TASK_KIND_UNRECORDED_CALL, EstateOf(e, p.estate_id()),
        RefOf("finding", p.finding_id()), Location(), out);
  return absl::OkStatus();
}

absl::Status WorkOrder(Reading& out, const ev::Event& e, const ev::WorkOrderChanged& p) {
  std::string estate = EstateOf(e, p.estate_id());
  std::string ref = RefOf("work_order", p.work_order_id());
  if (e.type() == "dispatch.work_order.escalated") {
    // Dispatch's level: 1 team lead, 2 supervisor, 3 estate manager (DOMAIN.md §3).
    static constexpr ev::StaffRole kLevels[] = {ev::STAFF_ROLE_TEAM_LEAD, ev::STAFF_ROLE_SUPERVISOR,
                                                ev::STAFF_ROLE_ESTATE_MANAGER};
    int level = p.escalation_level();
    if (level < 1) return absl::OkStatus();
    if (level > 3) level = 3;
    Raise(e, ev::TASK_KIND_ESCALATION, estate, ref, p.location(), out, kLevels[level - 1]);
  } else if (e.type() == "dispatch.sla.warning") {
    Raise(e, ev::TASK_KIND_SLA_WARNING, estate, ref, p.location(), out);
  } else if (e.type() == "dispatch.sla.breached") {
    Raise(e, ev::TASK_KIND_SLA_BREACH, estate, ref, p.location(), out);
  } else if (e.type() == "dispatch.work_order.pause_requested") {
    // Issue #27 §2: without the resident's agreement a pause needs a supervisor's approval.
    if (!p.pause_id().empty()) {
      Raise(e, ev::TASK_KIND_PAUSE_REQUEST, estate, RefOf("pause", p.pause_id()), p.location(),
            out);
    }
  } else if (e.type() == "dispatch.work_order.paused" ||
             e.type() == "dispatch.work_order.pause_refused" ||
             e.type() == "dispatch.work_order.pause_withdrawn") {
    if (!p.pause_id().empty()) out.close_refs.push_back(RefOf("pause", p.pause_id()));
  } else if (e.type() == "dispatch.work_order.pause_overdue") {
    // Issue 27 §2: still paused at its look-at time; once per pause, however often told.
    if (!p.pause_id().empty()) {
      RaiseOnce(e, ev::TASK_KIND_PAUSE_OVERDUE, estate, RefOf("pause_overdue", p.pause_id()),
                p.location(), absl::StrCat(e.type(), "/", p.pause_id()), out);
    }
  } else if (e.type() == "dispatch.work_order.resumed") {
    if (!p.pause_id().empty()) out.close_refs.push_back(RefOf("pause_overdue", p.pause_id()));
  } else if (e.type() == "dispatch.work_order.on_site" ||
             e.type() == "dispatch.work_order.work_done") {
    // The clock stopped for good there ends an active pause (no "resumed" step).
    if (!p.pause_id().empty() && !p.sla_paused()) {
      out.close_refs.push_back(RefOf("pause_overdue", p.pause_id()));
    }
  } else {  // completed, cancelled
    out.close_refs.push_back(ref);
    // A pause still waiting for approval, or paused past its time, is moot once the order
    // is closed.
    if (!p.pause_id().empty()) {
      out.close_refs.push_back(RefOf("pause", p.pause_id()));
      out.close_refs.push_back(RefOf("pause_overdue", p.pause_id()));
    }
    // The ambulance guided: the emergency's own tasks are done too.
    if (!p.emergency_id().empty()) out.close_refs.push_back(RefOf("emergency", p.emergency_id()));
  }
  return absl::OkStatus();
}

absl::Status Emergency(Reading& out, const ev::Event& e, const ev::ElderEmergency& p) {
  // Ids and the place only: nothing of the elder (004_…; DOMAIN.md §6, confidential).
  Location where;
  where.set_estate_id(EstateOf(e, p.estate_id()));
  if (!p.unit_id().empty()) where.set_unit_id(p.unit_id());
  Raise(e, ev::TASK_KIND_ELDER_EMERGENCY, where.estate_id(), RefOf("emergency", p.emergency_id()),
        where, out);
  return absl::OkStatus();
}

absl::Status SafetyCheck(Reading& out, const ev::Event& e, const ev::SafetyCheckRaised& p) {
  Raise(e, ev::TASK_KIND_SAFETY_CHECK, EstateOf(e, p.estate_id()), RefOf("check", p.check_id()),
        Location(), out);
  return absl::OkStatus();
}

// ---- the producers' later events (issue #22 §2) ----

absl::Status ConsultationOverdue(Reading& out, const ev::Event& e,
                                 const ev::ConsultationOverdue& p) {
  // 002_… 2.2.2: a consultation is answered within five minutes (of the desk's hours).
  Raise(e, ev::TASK_KIND_CONSULTATION_OVERDUE, EstateOf(e, p.estate_id()),
        RefOf("ticket", p.ticket_id()), p.location(), out);
  return absl::OkStatus();
}

absl::Status Appeal(Reading& out, const ev::Event& e, const ev::AppealChanged& p) {
  std::string ref = RefOf("appeal", p.appeal_id());
  if (e.type() == "performance.appeal.decided") {
    out.close_refs.push_back(ref);
  } else if (!p.office()) {
    // A staff member's appeal is the estate manager's to decide; the office's appeal of a
    // quality line is the group's (the committee's record), no one's on duty at the estate.
    Raise(e, ev::TASK_KIND_APPEAL, EstateOf(e, p.estate_id()), ref, Location(), out);
  }
  return absl::OkStatus();
}

absl::Status FindingDismissed(Reading& out, const ev::Event&, const ev::CallFindingDismissed& p) {
  out.close_refs.push_back(RefOf("finding", p.finding_id()));
  return absl::OkStatus();
}

absl::Status MeterReading(Reading& out, const ev::Event& e, const ev::MeterReadingFlagged& p) {
  std::string ref = RefOf("reading", p.reading_id());
  if (e.type() == "billing.meter_reading.confirmed" || p.confirmed()) {
    out.close_refs.push_back(ref);
    return absl::OkStatus();
  }
  Location where;
  where.set_estate_id(EstateOf(e, p.estate_id()));
  if (!p.unit_id().empty()) where.set_unit_id(p.unit_id());
  Raise(e, ev::TASK_KIND_METER_READING, where.estate_id(), ref, where, out);
  return absl::OkStatus();
}

// ---- the counter's events (issue #25: every decision reaches a person) ----
// Each task is raised once per subject, not once per delivery: its key is the event's type
// and subject (the raise's source_event_id), so a second event about the same thing (a
// republication under a new envelope id) raises nothing more. Ids and the place only:
// never a name, a phone, a card's number.

// The unit of a counter event as the task's place (its words: places.h).
Location UnitPlace(const std::string& estate, const std::string& unit) {
  Location where;
  where.set_estate_id(estate);
  if (!unit.empty()) where.set_unit_id(unit);
  return where;
}

// 000_… 二.9 (装修审批记录): an application waits for the office's decision — the estate
// manager's; decided (approved or not), the task is done.
absl::Status Renovation(Reading& out, const ev::Event& e, const ev::RenovationApplied& p) {
  if (p.renovation_id().empty()) return absl::OkStatus();
  std::string ref = RefOf("renovation", p.renovation_id());
  std::string estate = EstateOf(e, p.estate_id());
  RaiseOnce(e, ev::TASK_KIND_RENOVATION_APPLICATION, estate, ref, UnitPlace(estate, p.unit_id()),
            absl::StrCat(e.type(), "/", p.renovation_id()), out);
  return absl::OkStatus();
}

absl::Status RenovationDecided(Reading& out, const ev::Event&, const ev::RenovationDecided& p) {
  if (!p.renovation_id().empty()) out.close_refs.push_back(RefOf("renovation", p.renovation_id()));
  return absl::OkStatus();
}

// 000_… 二.9 (日常巡查记录): a day of approved work without a patrol record is a finding,
// the supervisor's; once per renovation and day.
absl::Status PatrolMissed(Reading& out, const ev::Event& e, const ev::PatrolMissed& p) {
  if (p.renovation_id().empty()) return absl::OkStatus();
  std::string day =
      p.has_date() ? absl::StrCat(p.date().year() * 10000 + p.date().month() * 100 + p.date().day())
                   : absl::StrCat(e.subject_version());
  std::string estate = EstateOf(e, p.estate_id());
  RaiseOnce(e, ev::TASK_KIND_PATROL_MISSED, estate, RefOf("renovation", p.renovation_id()),
            UnitPlace(estate, p.unit_id()),
            absl::StrCat(e.type(), "/", p.renovation_id(), "/", day), out);
  return absl::OkStatus();
}

// 000_… 二.7–9 "如发现未处理…": an inspection found a case not handled — the estate
// manager's, once per inspection (the event's subject); the case closed, the task is done.
absl::Status CaseUnhandled(Reading& out, const ev::Event& e, const ev::CaseFoundUnhandled& p) {
  if (p.case_id().empty()) return absl::OkStatus();
  std::string inspection = p.inspection_id().empty() ? e.subject() : p.inspection_id();
  std::string estate = EstateOf(e, p.estate_id());
  RaiseOnce(e, ev::TASK_KIND_CASE_UNHANDLED, estate, RefOf("case", p.case_id()),
            UnitPlace(estate, ""),
            absl::StrCat(e.type(), "/", inspection.empty() ? e.event_id() : inspection), out);
  return absl::OkStatus();
}

absl::Status CaseClosed(Reading& out, const ev::Event&, const ev::CaseChanged& p) {
  if (!p.case_id().empty()) out.close_refs.push_back(RefOf("case", p.case_id()));
  return absl::OkStatus();
}

// Issue #25 §4: a card reported lost is to be refused at the gates — the security guard on
// duty blocks it at the access-control system until an integration consumes the event
// itself. Once per card; the task names the card by id, never by its number.
absl::Status CardBlocked(Reading& out, const ev::Event& e, const ev::CardBlocked& p) {
  if (p.card_id().empty()) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  RaiseOnce(e, ev::TASK_KIND_CARD_TO_BLOCK, estate, RefOf("card", p.card_id()),
            UnitPlace(estate, ""), absl::StrCat(e.type(), "/", p.card_id()), out);
  return absl::OkStatus();
}

// Issue 27 §3: a city's 12345 order (政务服务便民热线) reaches the person on duty when it
// arrives (the supervisor: a complaint the city rates the company on), when its reply is due
// soon (the team lead) and when it is overdue (the supervisor and the estate manager); a
// reply delivered to the city's platform (exported or posted: "intake.hotline.delivered")
// closes them — a reply only recorded closes nothing, and a due-soon or overdue task of an
// order whose reply is recorded but not delivered says so (答复未报送). Once per order and
// kind; ids, the place and the city's order number only (never the caller, the number nor
// the complaint's text).
absl::Status HotlineOrder(Reading& out, const ev::Event& e, const ev::HotlineOrderEvent& p) {
  if (p.ticket_id().empty()) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  std::string ref = RefOf("hotline", p.ticket_id());
  std::string rating_ref = RefOf("hotline_rating", p.ticket_id());
  if (e.type() == "intake.hotline.replied") return absl::OkStatus();
  if (e.type() == "intake.hotline.delivered") {
    out.close_refs.push_back(ref);
    out.close_refs.push_back(rating_ref);
    return absl::OkStatus();
  }
  Location where = p.location();
  if (where.estate_id().empty()) where.set_estate_id(estate);
  if (e.type() == "intake.hotline.rated") {
    // The government's callback (政府回访): unsatisfied, the supervisor hears of it, once
    // per callback; any other rating closes the task an earlier one raised.
    if (p.rating() != ev::HOTLINE_RATING_UNSATISFIED) {
      out.close_refs.push_back(rating_ref);
      return absl::OkStatus();
    }
    size_t first = out.raise.size();
    RaiseOnce(e, ev::TASK_KIND_HOTLINE_ATTENTION, estate, rating_ref, where,
              absl::StrCat(e.type(), "/", p.ticket_id(), "/", p.callback_at().seconds()), out);
    // The city's order number, so the supervisor finds it on the platform; never the caller.
    for (size_t i = first; i < out.raise.size(); ++i) {
      out.raise[i].subject_words =
          absl::StrCat("order ", p.city(), " ", p.order_number(), " rated unsatisfied");
      out.raise[i].title =
          TitleOf(ev::TASK_KIND_HOTLINE_ATTENTION, PlaceOf(where), out.raise[i].subject_words);
    }
    return absl::OkStatus();
  }
  ev::TaskKind kind = e.type() == "intake.hotline.received"   ? ev::TASK_KIND_HOTLINE_ORDER
                      : e.type() == "intake.hotline.due_soon" ? ev::TASK_KIND_HOTLINE_DUE_SOON
                                                              : ev::TASK_KIND_HOTLINE_OVERDUE;
  size_t first = out.raise.size();
  RaiseOnce(e, kind, estate, ref, where, absl::StrCat(e.type(), "/", p.ticket_id()), out);
  if (kind != ev::TASK_KIND_HOTLINE_ORDER && p.has_replied_at()) {
    for (size_t i = first; i < out.raise.size(); ++i) {
      out.raise[i].subject_words = "reply recorded, not delivered to the platform (答复未报送)";
      out.raise[i].title = TitleOf(kind, PlaceOf(where), out.raise[i].subject_words);
    }
  }
  return absl::OkStatus();
}

// Issue 27 §1: a complaint's written reply to the resident (the handling result) due soon
// or overdue reaches the supervisor on duty; the result given ("intake.complaint.replied")
// or the ticket closed or cancelled closes them. Once per complaint and kind; ids and the
// place only (never the resident, a number nor the complaint's text).
absl::Status ComplaintReply(Reading& out, const ev::Event& e, const ev::ComplaintReplyEvent& p) {
  if (p.ticket_id().empty()) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  std::string ref = RefOf("complaint_reply", p.ticket_id());
  if (e.type() == "intake.complaint.replied") {
    out.close_refs.push_back(ref);
    return absl::OkStatus();
  }
  ev::TaskKind kind = e.type() == "intake.complaint.reply_due_soon"
                          ? ev::TASK_KIND_COMPLAINT_REPLY_DUE_SOON
                          : ev::TASK_KIND_COMPLAINT_REPLY_OVERDUE;
  Location where = p.location();
  if (where.estate_id().empty()) where.set_estate_id(estate);
  RaiseOnce(e, kind, estate, ref, where, absl::StrCat(e.type(), "/", p.ticket_id()), out);
  return absl::OkStatus();
}

// Issue 27 §3: the HTTP exchange with a city's 12345 platform has failed for longer than
// its setting: the supervisor of each estate it covers hears of it (orders may be waiting
// unseen, replies not sent); once per failure, closed when it works again. The city only.
// Raised and closed estate by estate: intake tells "recovered" to an estate the endpoint no
// longer covers (and "failing" to one it now covers) when its estates change mid-failure.
absl::Status HotlineEndpoint(Reading& out, const ev::Event& e, const ev::HotlineEndpointEvent& p) {
  if (p.city().empty()) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  std::string ref = RefOf("hotline_endpoint", p.city());
  if (e.type() == "intake.hotline.endpoint_recovered") {
    out.close_refs_in_estate.emplace_back(ref, estate);
    return absl::OkStatus();
  }
  // Once per event (intake tells each estate once per failure, and again only to an estate
  // the endpoint comes to cover mid-failure — perhaps one it covered before, whose task the
  // "recovered" told it then has closed).
  Location where;
  where.set_estate_id(estate);
  size_t first = out.raise.size();
  Raise(e, ev::TASK_KIND_HOTLINE_ATTENTION, estate, ref, where, out);
  for (size_t i = first; i < out.raise.size(); ++i) {
    out.raise[i].subject_words = absl::StrCat(p.city(), " platform exchange failing");
    out.raise[i].title = TitleOf(ev::TASK_KIND_HOTLINE_ATTENTION, "", out.raise[i].subject_words);
  }
  return absl::OkStatus();
}

using TaskRouter = BasicEventRouter<Reading&>;

const TaskRouter& Readers() {
  static const TaskRouter* const readers = [] {
    auto* r = new TaskRouter;
    r->On<ev::MajorComplaint>("intake.complaint.major", &MajorComplaint)
        .On<ev::TicketChanged>({"intake.ticket.created", "intake.ticket.changed"}, &Ticket)
        .On<ev::CallbackRecorded>("intake.callback.recorded", &Callback)
        .On<ev::UnrecordedCall>("intake.call.unrecorded", &UnrecordedCall)
        .On<ev::WorkOrderChanged>(
            {"dispatch.work_order.escalated", "dispatch.sla.warning", "dispatch.sla.breached",
             "dispatch.work_order.completed", "dispatch.work_order.cancelled",
             "dispatch.work_order.pause_requested", "dispatch.work_order.paused",
             "dispatch.work_order.pause_refused", "dispatch.work_order.pause_withdrawn",
             "dispatch.work_order.pause_overdue", "dispatch.work_order.resumed",
             "dispatch.work_order.on_site", "dispatch.work_order.work_done"},
            &WorkOrder)
        .On<ev::ElderEmergency>("eldercare.emergency.raised", &Emergency)
        .On<ev::SafetyCheckRaised>("eldercare.safety_check.raised", &SafetyCheck)
        .On<ev::ConsultationOverdue>("intake.consultation.overdue", &ConsultationOverdue)
        .On<ev::AppealChanged>({"performance.appeal.created", "performance.appeal.decided"},
                               &Appeal)
        .On<ev::CallFindingDismissed>("performance.call_finding.dismissed", &FindingDismissed)
        .On<ev::MeterReadingFlagged>(
            {"billing.meter_reading.flagged", "billing.meter_reading.confirmed"}, &MeterReading)
        .On<ev::RenovationApplied>("counter.renovation.applied", &Renovation)
        .On<ev::RenovationDecided>("counter.renovation.decided", &RenovationDecided)
        .On<ev::PatrolMissed>("counter.renovation.patrol_missed", &PatrolMissed)
        .On<ev::CaseFoundUnhandled>("counter.case.found_unhandled", &CaseUnhandled)
        .On<ev::CaseChanged>("counter.case.closed", &CaseClosed)
        .On<ev::CardBlocked>("counter.card.blocked", &CardBlocked)
        .On<ev::HotlineOrderEvent>(
            {"intake.hotline.received", "intake.hotline.due_soon", "intake.hotline.overdue",
             "intake.hotline.replied", "intake.hotline.delivered", "intake.hotline.rated"},
            &HotlineOrder)
        .On<ev::ComplaintReplyEvent>({"intake.complaint.reply_due_soon",
                                      "intake.complaint.reply_overdue", "intake.complaint.replied"},
                                     &ComplaintReply)
        .On<ev::HotlineEndpointEvent>(
            {"intake.hotline.endpoint_failing", "intake.hotline.endpoint_recovered"},
            &HotlineEndpoint);
    return r;
  }();
  return *readers;
}

}  // namespace

bool Reads(absl::string_view type) { return Readers().Routes(type); }

absl::StatusOr<Reading> ReadEvent(const ev::Event& event) {
  Reading out;
  WUYE_RETURN_IF_ERROR(Readers().Apply(out, event));
  return out;
}

// ---- the timer ----------------------------------------------------------------------------

std::optional<Step> EscalationOf(ev::TaskKind kind, ev::StaffRole role, absl::Time ack_due,
                                 absl::Time now, const pb::Settings& settings) {
  if (now < ack_due) return std::nullopt;
  std::optional<ev::StaffRole> up = NextUp(role);
  if (!up) return std::nullopt;
  return Step{*up, LevelOf(*up), now + AckWindow(settings, kind)};
}

std::optional<ev::StaffRole> GapTarget(ev::StaffRole role) { return NextUp(role); }

// ---- the desk -----------------------------------------------------------------------------

bool DeskOpen(const DeskHours& hours, int local_minute) {
  if (hours.desk_24h) return true;
  int open = hours.opens_minute, close = hours.closes_minute;
  if (open == close) return true;  // the same minute both: around the clock
  if (open < close) return local_minute >= open && local_minute < close;
  return local_minute >= open || local_minute < close;  // over midnight
}

bool DeskGap(const DeskHours& hours, int local_minute, int agents_checked_in) {
  return DeskOpen(hours, local_minute) && agents_checked_in == 0;
}

absl::Status CheckDutyPhone(absl::string_view phone, absl::string_view field) {
  if (phone.empty()) return absl::OkStatus();  // none published yet
  if (phone.size() < 3 || phone.size() > 32) return FieldError(field, "3 to 32 characters");
  int digits = 0;
  for (char c : phone) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-') {
      return FieldError(field, "digits, spaces, '+' and '-' only");
    }
  }
  if (digits < 3) return FieldError(field, "at least 3 digits");
  return absl::OkStatus();
}

}  // namespace wuye::duty
