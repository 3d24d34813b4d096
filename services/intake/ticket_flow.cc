#include "services/intake/ticket_flow.h"

#include "services/intake/complaint_reply.h"
#include "absl/strings/str_cat.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

std::string ReasonText(v1::CallbackReason r) {
  switch (r) {
    case v1::CALLBACK_REASON_SAMPLE:
      return "callback: picked by the monthly sample";
    case v1::CALLBACK_REASON_COMPLAINT:
      return "callback: every complaint";
    case v1::CALLBACK_REASON_NEW_CONTRACT:
      return "callback: new service contract";
    case v1::CALLBACK_REASON_NEW_SERVICE_ITEM:
      return "callback: newly launched service item";
    case v1::CALLBACK_REASON_NEW_STAFF:
      return "callback: work by staff new to the service";
    case v1::CALLBACK_REASON_COMPLAINED_STAFF:
      return "callback: work by staff complained about last time";
    default:
      return "closed without a callback: not mandatory, and the monthly quota met or not an "
             "in-home service";
  }
}

}  // namespace

ev::TicketChanged TicketFlow::Changed(const v1::Ticket& t, TicketState previous,
                                      const ChangeContext& c) {
  ev::TicketChanged e;
  e.set_ticket_id(t.id());
  e.set_estate_id(t.estate_id());
  if (t.has_location()) *e.mutable_location() = t.location();
  e.set_resident_id(t.resident_id());
  e.set_channel(t.channel());
  e.set_kind(t.kind());
  e.set_state(t.state());
  e.set_previous_state(previous);
  e.set_owner_id(t.owner_id());
  e.set_major(t.major());
  e.set_first_complaint_id(t.first_complaint_id());
  e.set_disputed_bill_id(t.disputed_bill_id());
  for (const auto& w : t.worker_ids()) e.add_worker_ids(w);
  e.set_reason(c.reason);
  *e.mutable_actor() = c.actor;
  *e.mutable_received_at() = t.received_time();
  return e;
}

void TicketFlow::Publish(pqxx::work& tx, const v1::Ticket& t, TicketState previous,
                         const ChangeContext& c) {
  ev::TicketChanged e = Changed(t, previous, c);
  outbox_.Append(tx,
                 {"intake.ticket.changed", t.group_id(), t.estate_id(), t.id(), t.version(), &e},
                 c.now, c.trace_id);
}

v1::TicketChange TicketFlow::Change(const v1::Ticket& t, TicketState from,
                                    const std::string& from_owner, const ChangeContext& c) {
  v1::TicketChange change;
  change.set_from_state(from);
  change.set_to_state(t.state());
  change.set_from_owner_id(from_owner);
  change.set_to_owner_id(t.owner_id());
  *change.mutable_change()->mutable_actor() = c.actor;
  *change.mutable_change()->mutable_at() = ToProtoTime(c.now);
  change.mutable_change()->set_reason(c.reason);
  return change;
}

TicketCreation TicketFlow::Create(v1::Ticket t, std::string caller_hash, const std::string& answer,
                                  const ChangeContext& c) const {
  TicketCreation out;
  out.rows.caller_hash = std::move(caller_hash);
  t.set_state(ev::TICKET_STATE_RECEIVED);
  t.set_version(1);
  *t.mutable_create_time() = ToProtoTime(c.now);
  *t.mutable_update_time() = ToProtoTime(c.now);
  out.rows.history.push_back(Change(t, ev::TICKET_STATE_UNSPECIFIED, "", c));
  auto publish = [&](const EventDraft& draft) {
    out.events.push_back(outbox_.Envelope(draft, c.now, c.trace_id));
  };

  ev::TicketChanged created = Changed(t, ev::TICKET_STATE_UNSPECIFIED, c);
  publish({"intake.ticket.created", t.group_id(), t.estate_id(), t.id(), t.version(), &created});
  if (NeedsWork(t.kind())) {
    ev::WorkRequested work;
    work.set_ticket_id(t.id());
    work.set_estate_id(t.estate_id());
    *work.mutable_location() = t.location();
    work.set_resident_id(t.resident_id());
    work.set_kind(t.kind());
    work.set_category(t.category());
    work.set_priority(t.priority());
    work.set_description(
        t.description().empty() ? t.summary() : absl::StrCat(t.summary(), "\n", t.description()));
    work.set_service_item_code(t.service_item_code());
    *work.mutable_requested_at() = ToProtoTime(c.now);
    *work.mutable_received_at() = t.received_time();  // the SLA clock starts here
    work.set_owner_id(t.owner_id());
    publish({"intake.work.requested", t.group_id(), t.estate_id(), t.id(), 0, &work});
  }
  if (t.kind() == common::TICKET_KIND_COMPLAINT && t.major()) {
    ev::MajorComplaint major;
    major.set_ticket_id(t.id());
    major.set_estate_id(t.estate_id());
    major.set_owner_id(t.owner_id());
    major.set_summary(t.summary());
    major.set_second_complaint(t.second_complaint());
    publish({"intake.complaint.major", t.group_id(), t.estate_id(), t.id(), 0, &major});
  }

  if (!answer.empty()) {  // received → answered, as Move would write it
    ChangeContext answered = c;
    answered.reason = "answered at once";
    t.set_result(answer);
    t.set_state(ev::TICKET_STATE_ANSWERED);
    t.set_version(2);
    out.rows.history.push_back(Change(t, ev::TICKET_STATE_RECEIVED, t.owner_id(), answered));
    ev::TicketChanged changed = Changed(t, ev::TICKET_STATE_RECEIVED, answered);
    publish({"intake.ticket.changed", t.group_id(), t.estate_id(), t.id(), t.version(), &changed});
  }
  out.rows.ticket = std::move(t);
  return out;
}

absl::Status TicketFlow::Move(pqxx::work& tx, v1::Ticket& t, TicketState to,
                              const ChangeContext& c) {
  WUYE_RETURN_IF_ERROR(CheckMove(t.kind(), t.state(), to));
  TicketState from = t.state();
  t.set_state(to);
  t.set_version(t.version() + 1);
  *t.mutable_update_time() = ToProtoTime(c.now);
  v1::TicketChange change = Change(t, from, t.owner_id(), c);
  store_.UpdateTicket(tx, t, &change);
  Publish(tx, t, from, c);
  return absl::OkStatus();
}

void TicketFlow::Transfer(pqxx::work& tx, v1::Ticket& t, const std::string& new_owner,
                          const ChangeContext& c) {
  std::string from_owner = t.owner_id();
  t.set_owner_id(new_owner);
  t.set_version(t.version() + 1);
  *t.mutable_update_time() = ToProtoTime(c.now);
  v1::TicketChange change = Change(t, t.state(), from_owner, c);
  store_.UpdateTicket(tx, t, &change);
  Publish(tx, t, t.state(), c);
}

void TicketFlow::Note(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c) {
  t.set_version(t.version() + 1);
  *t.mutable_update_time() = ToProtoTime(c.now);
  v1::TicketChange change = Change(t, t.state(), t.owner_id(), c);
  store_.UpdateTicket(tx, t, &change);
  Publish(tx, t, t.state(), c);
}

v1::CallbackReason TicketFlow::Decide(pqxx::work& tx, const v1::Ticket& t, const std::string& month,
                                      absl::TimeZone tz, absl::Time now) {
  CallbackInputs in;
  in.kind = t.kind();
  in.in_home = IsInHomeService(t);
  if (in.in_home) {
    // The facts behind 5.5.2 A–D, judged against the group's windows on the day of the work.
    v1::CallbackSettings settings = store_.GetCallbackSettings(tx, t.group_id());
    absl::CivilDay today = absl::ToCivilDay(now, tz);
    auto new_since = [&](const std::string& text, int days) {
      absl::CivilDay start;
      return !text.empty() && absl::ParseCivilTime(text, &start) &&
             StartedWithin(start, today, days);
    };
    for (const auto& start :
         store_.ContractStartsInForce(tx, t.group_id(), t.estate_id(), t.location().unit_id(),
                                      absl::FormatCivilTime(today))) {
      if (new_since(start, settings.new_contract_days())) in.new_contract = true;
    }
    if (!t.service_item_code().empty()) {
      auto launched = store_.ItemLaunch(tx, t.group_id(), t.estate_id(), t.service_item_code());
      in.new_service_item = launched && StartedWithin(absl::ToCivilDay(*launched, tz), today,
                                                      settings.new_item_days());
    }
    std::vector<std::string> workers(t.worker_ids().begin(), t.worker_ids().end());
    if (!workers.empty()) {
      for (const auto& start : store_.StaffStartDates(tx, t.group_id(), workers)) {
        if (new_since(start, settings.new_staff_days())) in.worker_new = true;
      }
      in.worker_complained = store_.AnyComplained(tx, t.group_id(), workers);
    }
  }
  MonthCounts counts =
      store_.CountMonth(tx, t.group_id(), t.estate_id(), month, ServedHousehold(t), t.id());
  in.households_served = counts.households_served;
  in.households_called = counts.households_called;
  in.household_already_called = counts.household_called;
  return DecideCallback(in);
}

bool TicketFlow::OwesReply(const v1::Ticket& t) {
  return t.has_complaint_reply() && !t.complaint_reply().has_reply_time();
}

// A complaint's written reply (issue #27 §1) is the handling result given to the resident;
// the first one is the one its deadline is judged by.
void TicketFlow::MarkReply(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c) {
  v1::ComplaintReply* r = t.mutable_complaint_reply();
  *r->mutable_reply_time() = ToProtoTime(c.now);
  r->set_on_time(c.now <= FromProtoTime(r->due_time()));
  store_.MarkReplyGiven(tx, t.group_id(), t.id(), c.now);
}

void TicketFlow::PublishReply(pqxx::work& tx, const v1::Ticket& t, const ChangeContext& c) {
  ev::ComplaintReplyEvent e = ComplaintReplyEventOf(t);
  outbox_.Append(tx, {"intake.complaint.replied", t.group_id(), t.estate_id(), t.id(), 0, &e},
                 c.now, c.trace_id);
}

absl::Status TicketFlow::Resolve(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c,
                                 bool gives_reply) {
  WUYE_RETURN_IF_ERROR(CheckMove(t.kind(), t.state(), ev::TICKET_STATE_RESOLVED));
  // Only a resolution that writes the result to the resident gives a complaint's written
  // reply; a work order's completion does not (the callback will).
  const bool replied = gives_reply && OwesReply(t);
  if (replied) MarkReply(tx, t, c);
  WUYE_RETURN_IF_ERROR(Move(tx, t, ev::TICKET_STATE_RESOLVED, c));
  if (replied) PublishReply(tx, t, c);
  auto estate = store_.GetEstate(tx, t.group_id(), t.estate_id());
  absl::TimeZone tz = EstateZone(estate ? estate->time_zone : "");
  std::string month = MonthKey(c.now, tz);
  // One decision at a time per estate-month, in resolution order (ticket.h DecideCallback).
  store_.LockMonth(tx, t.estate_id(), month);
  store_.MarkResolved(tx, t.group_id(), t.id(), month, c.now, ServedHousehold(t));
  v1::CallbackReason reason = Decide(tx, t, month, tz, c.now);
  t.set_callback_reason(reason);
  ChangeContext decided = c;
  decided.reason = ReasonText(reason);
  return Move(tx, t,
              reason == v1::CALLBACK_REASON_NOT_REQUIRED ? ev::TICKET_STATE_CLOSED
                                                         : ev::TICKET_STATE_CALLBACK_DUE,
              decided);
}

}  // namespace wuye::intake
