#include "services/duty/handover.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/duty/duty.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::duty {

// ---- settings -----------------------------------------------------------------------------

absl::Status CheckHandoverSettings(const pb::Settings& s, absl::string_view field) {
  if (s.has_handover_window()) {
    std::string name = absl::StrCat(field, ".handover_window");
    if (s.handover_window().nanos() != 0) return FieldError(name, "whole seconds");
    absl::Duration d = absl::Seconds(s.handover_window().seconds());
    if (d < kMinHandoverWindow || d > kMaxHandoverWindow) {
      return FieldError(name, "from 5 minutes to 24 hours");
    }
  }
  if (s.has_daily_log_cutoff_minute() &&
      (s.daily_log_cutoff_minute() < 0 || s.daily_log_cutoff_minute() >= 24 * 60)) {
    return FieldError(absl::StrCat(field, ".daily_log_cutoff_minute"), "0 to 1439");
  }
  std::set<int> seen;
  for (int r : s.handover_roles()) {
    std::string name = absl::StrCat(field, ".handover_roles");
    if (!IsDutyRole(static_cast<ev::StaffRole>(r))) {
      return FieldError(name, "not a role one is on duty in");
    }
    if (!seen.insert(r).second) return FieldError(name, "each role at most once");
  }
  return absl::OkStatus();
}

absl::Duration HandoverWindow(const pb::Settings& s) {
  return s.has_handover_window() ? absl::Seconds(s.handover_window().seconds())
                                 : kDefaultHandoverWindow;
}

int LogCutoffMinute(const pb::Settings& s) {
  return s.has_daily_log_cutoff_minute() ? s.daily_log_cutoff_minute() : kDefaultLogCutoffMinute;
}

std::vector<ev::StaffRole> HandoverRoles(const pb::Settings& s) {
  if (s.handover_roles().empty()) {
    return {ev::STAFF_ROLE_AGENT, ev::STAFF_ROLE_TEAM_LEAD, ev::STAFF_ROLE_SECURITY_GUARD,
            ev::STAFF_ROLE_CARE_WORKER};
  }
  std::vector<ev::StaffRole> out;
  for (int r : s.handover_roles()) out.push_back(static_cast<ev::StaffRole>(r));
  return out;
}

void FillHandoverSettings(const pb::Settings& stored, pb::Settings* out) {
  out->mutable_handover_window()->set_seconds(absl::ToInt64Seconds(HandoverWindow(stored)));
  out->set_daily_log_cutoff_minute(LogCutoffMinute(stored));
  out->clear_handover_roles();
  for (ev::StaffRole r : HandoverRoles(stored)) out->add_handover_roles(r);
}

// ---- notes --------------------------------------------------------------------------------

absl::Status CheckNotes(absl::string_view notes, absl::string_view field, bool required) {
  WUYE_RETURN_IF_ERROR(CheckText(notes, field, kMaxNotesChars,
                                 required ? Presence::kRequired : Presence::kOptional,
                                 Lines::kMany));
  return CheckNoPersonalNumbers(notes, field);
}

// ---- holdings -----------------------------------------------------------------------------

namespace {

std::string EstateOf(const ev::Event& e, const std::string& payload_estate) {
  return IsValidId(payload_estate) ? payload_estate : e.estate_id();
}

absl::Time AtOf(const google::protobuf::Timestamp& ts, const ev::Event& e) {
  return ts.seconds() != 0 ? FromProtoTime(ts) : FromProtoTime(e.occurred_at());
}

void Serve(HoldingReading& out, const std::string& staff, const std::string& estate,
           const std::string& ref, absl::Time at) {
  if (!IsValidId(staff) || !IsValidId(estate)) return;
  out.served.push_back({staff, estate, ref, at});
}

absl::Status Ticket(HoldingReading& out, const ev::Event& e, const ev::TicketChanged& p) {
  if (!IsValidId(p.ticket_id())) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  if (!IsValidId(estate)) return absl::OkStatus();
  Holding h;
  h.ref = RefOf("ticket", p.ticket_id());
  h.estate_id = estate;
  if (IsValidId(p.owner_id())) h.holders.push_back(p.owner_id());
  h.open = p.state() != ev::TICKET_STATE_CLOSED && p.state() != ev::TICKET_STATE_CANCELLED;
  h.version = e.subject_version();
  Serve(out, p.owner_id(), estate, h.ref, FromProtoTime(e.occurred_at()));
  out.holdings.push_back(std::move(h));
  return absl::OkStatus();
}

absl::Status Callback(HoldingReading& out, const ev::Event& e, const ev::CallbackRecorded& p) {
  if (!IsValidId(p.ticket_id())) return absl::OkStatus();
  Serve(out, p.agent_id(), EstateOf(e, p.estate_id()), RefOf("ticket", p.ticket_id()),
        AtOf(p.called_at(), e));
  return absl::OkStatus();
}

absl::Status WorkOrder(HoldingReading& out, const ev::Event& e, const ev::WorkOrderChanged& p) {
  if (!IsValidId(p.work_order_id())) return absl::OkStatus();
  std::string estate = EstateOf(e, p.estate_id());
  if (!IsValidId(estate)) return absl::OkStatus();
  Holding h;
  h.ref = RefOf("work_order", p.work_order_id());
  h.estate_id = estate;
  std::set<std::string> seen;
  for (const std::string& w : p.worker_ids()) {
    if (IsValidId(w) && seen.insert(w).second) h.holders.push_back(w);
  }
  h.open =
      p.state() != ev::WORK_ORDER_STATE_COMPLETED && p.state() != ev::WORK_ORDER_STATE_CANCELLED;
  h.version = e.subject_version();
  // Serving is doing: the steps a worker takes, not an assignment they may decline.
  static const std::set<std::string> kServing = {
      "dispatch.work_order.accepted", "dispatch.work_order.en_route",
      "dispatch.work_order.on_site",  "dispatch.work_order.work_done",
      "dispatch.work_order.signed",   "dispatch.work_order.completed"};
  if (kServing.count(e.type()) > 0) {
    for (const std::string& w : h.holders) Serve(out, w, estate, h.ref, AtOf(p.at(), e));
  }
  out.holdings.push_back(std::move(h));
  return absl::OkStatus();
}

using HoldingRouter = BasicEventRouter<HoldingReading&>;

const HoldingRouter& HoldingReaders() {
  static const HoldingRouter* const readers = [] {
    auto* r = new HoldingRouter;
    r->On<ev::TicketChanged>({"intake.ticket.created", "intake.ticket.changed"}, &Ticket)
        .On<ev::CallbackRecorded>("intake.callback.recorded", &Callback)
        .On<ev::WorkOrderChanged>({"dispatch.work_order.created", "dispatch.work_order.assigned",
                                   "dispatch.work_order.accepted", "dispatch.work_order.declined",
                                   "dispatch.work_order.en_route", "dispatch.work_order.on_site",
                                   "dispatch.work_order.work_done", "dispatch.work_order.signed",
                                   "dispatch.work_order.completed", "dispatch.work_order.cancelled",
                                   "dispatch.work_order.escalated"},
                                  &WorkOrder);
    return r;
  }();
  return *readers;
}

}  // namespace

bool ReadsHoldings(absl::string_view type) { return HoldingReaders().Routes(type); }

absl::StatusOr<HoldingReading> ReadHoldings(const ev::Event& event) {
  HoldingReading out;
  WUYE_RETURN_IF_ERROR(HoldingReaders().Apply(out, event));
  return out;
}

// ---- the timers ---------------------------------------------------------------------------

absl::Time HandoverDue(absl::Time shift_end, const pb::Settings& settings) {
  return shift_end + HandoverWindow(settings);
}

bool TimesHandover(absl::Time shift_end, absl::Time learnt_at) {
  return shift_end >= learnt_at - kHandoverHorizon;
}

absl::CivilDay LocalDay(absl::Time t, absl::TimeZone tz) { return absl::ToCivilDay(t, tz); }

absl::Time LogCutoff(absl::CivilDay day, const pb::Settings& settings, absl::TimeZone tz) {
  absl::CivilMinute at = absl::CivilMinute(day + 1) + LogCutoffMinute(settings);
  return absl::FromCivil(at, tz);
}

std::optional<HandoverFailure> HandoverVerdict(const std::string& shift_staff_id,
                                               const std::vector<int>& roles,
                                               const std::optional<HandoverFound>& handover,
                                               const pb::Settings& settings) {
  std::vector<ev::StaffRole> wanted = HandoverRoles(settings);
  bool needs = std::any_of(roles.begin(), roles.end(), [&](int r) {
    return std::find(wanted.begin(), wanted.end(), r) != wanted.end();
  });
  if (!needs) return std::nullopt;
  if (!handover) return HandoverFailure{shift_staff_id, false};
  if (!handover->acknowledged) return HandoverFailure{handover->incoming_staff_id, true};
  return std::nullopt;
}

std::string LogKey(absl::string_view staff_id, absl::CivilDay day) {
  return absl::StrFormat("%s/%04d-%02d-%02d", staff_id, day.year(), day.month(), day.day());
}

}  // namespace wuye::duty
