// The 12345 government hotline's handlers (issue 27 §3; docs/api/intake.md "12345
// government hotline"): orders imported through a city's format become complaint tickets
// with the hotline's deadline on the estate's working calendar; replies go back as a file;
// the government's callback results come in; the estate's month is reported.
//
// Privacy: the caller's number is hashed as soon as the line is read and kept only as a
// hotline caller's is (tickets.caller_hash); the caller's name is not kept at all; the
// complaint's text is the ticket's description, any phone or ID number in it masked
// (MaskPersonalNumbers). None of the three goes into an event, a log line, a refusal or an
// error.
#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/intake/hotline.h"
#include "services/intake/hotline_format.h"
#include "services/intake/intake_service.h"
#include "services/intake/ticket.h"
#include "shared/basis_points.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/work_calendar_store.h"
#include "shared/zone.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSupervisor;
using roles::kTeamLead;

absl::StatusOr<const HotlineFormat*> FormatOf(absl::string_view name) {
  const HotlineFormat* f = FindHotlineFormat(name);
  if (f == nullptr) return FieldError("format", "unknown format (known: csv)");
  return f;
}

bool IsHotlineOrder(const v1::Ticket& t) {
  return t.channel() == common::CHANNEL_GOVERNMENT_HOTLINE && t.has_hotline();
}

absl::Status NotAnOrder() {
  return WithReason(absl::FailedPreconditionError("ticket: not a 12345 order"),
                    "NOT_A_HOTLINE_ORDER");
}

// The event every 12345 timer and step publishes: ids, the place, the city's order and the
// times; never the caller, the number nor the complaint's text.
ev::HotlineOrderEvent OrderEvent(const v1::Ticket& t) {
  ev::HotlineOrderEvent e;
  e.set_ticket_id(t.id());
  e.set_estate_id(t.estate_id());
  *e.mutable_location() = t.location();
  if (e.location().estate_id().empty()) e.mutable_location()->set_estate_id(t.estate_id());
  e.set_owner_id(t.owner_id());
  e.set_city(t.hotline().city());
  e.set_order_number(t.hotline().order_number());
  *e.mutable_hotline_received_at() = t.hotline().hotline_received_time();
  *e.mutable_due_at() = t.external_due_time();
  return e;
}

v1::HotlineLineResult Refused(const HotlineLineError& e) {
  v1::HotlineLineResult r;
  r.set_line(e.line);
  r.set_outcome(v1::HotlineLineResult::OUTCOME_REFUSED);
  r.set_order_number(e.order_number);
  r.set_field(e.field);
  r.set_reason(e.reason);
  return r;
}

template <typename Resp>
void SortLines(Resp* resp) {
  std::sort(resp->mutable_lines()->begin(), resp->mutable_lines()->end(),
            [](const v1::HotlineLineResult& a, const v1::HotlineLineResult& b) {
              return a.line() < b.line();
            });
}

std::string ResultName(v1::HotlineResult r) {
  switch (r) {
    case v1::HOTLINE_RESULT_SATISFIED:
      return "satisfied";
    case v1::HOTLINE_RESULT_BASICALLY_SATISFIED:
      return "basically satisfied";
    case v1::HOTLINE_RESULT_UNSATISFIED:
      return "unsatisfied";
    default:
      return "unknown";
  }
}

}  // namespace

grpc::Status IntakeServiceImpl::ImportHotlineOrders(Ctx* ctx,
                                                    const v1::ImportHotlineOrdersRequest* req,
                                                    v1::ImportHotlineOrdersResponse* resp) {
  return rpc_.Run(
      ctx, "ImportHotlineOrders", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireDesk(rc));
        WUYE_ASSIGN_OR_RETURN(const HotlineFormat* format, FormatOf(req->format()));
        WUYE_RETURN_IF_ERROR(CheckHotlineCity(req->city(), "city"));
        for (const auto& [ref, estate] : req->estate_refs()) {
          WUYE_RETURN_IF_ERROR(
              CheckText(ref, "estate_refs", 100, Presence::kRequired, Lines::kOne));
          WUYE_RETURN_IF_ERROR(CheckId(estate, "estate_refs"));
        }
        WUYE_ASSIGN_OR_RETURN(HotlineOrders parsed, format->ParseOrders(req->content()));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          return ImportHotlineOrdersTx(tx, rc, req->city(), req->estate_refs(), parsed, resp);
        });
      });
}

// One file of orders, imported in `tx` for `rc`'s caller (a desk's RPC, or the HTTP
// exchange acting for an endpoint's estates).
absl::Status IntakeServiceImpl::ImportHotlineOrdersTx(
    pqxx::work& tx, const RequestContext& rc, const std::string& city,
    const google::protobuf::Map<std::string, std::string>& estate_refs, const HotlineOrders& parsed,
    v1::ImportHotlineOrdersResponse* resp) {
  resp->Clear();
  // The calendars' lock before any row (shared/work_calendar_store.h).
  LockWorkCalendars(tx, rc.caller.group_id, CalendarLock::kShared);
  for (const auto& e : parsed.refused) *resp->add_lines() = Refused(e);
  struct EstateCalendar {
    std::optional<EstateFacts> facts;
    WorkCalendar calendar;
    absl::TimeZone tz;
  };
  std::map<std::string, EstateCalendar> estates;
  for (const HotlineOrderLine& o : parsed.lines) {
    auto refuse = [&](absl::string_view field, absl::string_view reason) {
      *resp->add_lines() =
          Refused({o.line, o.order_number, std::string(field), std::string(reason)});
    };
    // Where: an estate of the group the caller works at.
    std::string estate_id = o.estate_ref;
    if (auto it = estate_refs.find(o.estate_ref); it != estate_refs.end()) {
      estate_id = it->second;
    }
    if (!IsValidId(estate_id)) {
      refuse("estate", "no such estate (map the city's reference with estate_refs)");
      continue;
    }
    auto [it, added] = estates.try_emplace(estate_id);
    EstateCalendar& ec = it->second;
    if (added) {
      ec.facts = store_.GetEstate(tx, rc.caller.group_id, estate_id);
      if (ec.facts) {
        ec.calendar = LoadWorkCalendar(tx, rc.caller.group_id, estate_id);
        ec.tz = EstateZone(ec.facts->time_zone);
      }
    }
    if (!ec.facts) {
      refuse("estate", "no such estate");
      continue;
    }
    if (!rc.caller.CanSeeEstate(estate_id)) {
      refuse("estate", "not an estate of the caller's");
      continue;
    }
    if (!o.unit_id.empty() && !IsValidId(o.unit_id)) {
      refuse("unit_id", "must be a unit id");
      continue;
    }
    if (o.received > rc.now + kHotlineClockSkew) {
      refuse("received_time", "must not be in the future");
      continue;
    }
    // A platform's clock a little ahead of ours: received now.
    const absl::Time received_at = std::min(o.received, rc.now);
    // The same order again: nothing changes.
    if (auto known = store_.HotlineTicketId(tx, rc.caller.group_id, city, o.order_number)) {
      auto* r = resp->add_lines();
      r->set_line(o.line);
      r->set_outcome(v1::HotlineLineResult::OUTCOME_ALREADY_IMPORTED);
      r->set_order_number(o.order_number);
      // Its ticket only when the caller may see its estate (the same order number
      // imported for another estate of the group is not theirs to read).
      if (auto k = store_.GetTicket(tx, rc.caller.group_id, *known, false);
          k && rc.caller.CanSeeEstate(k->estate_id())) {
        r->set_ticket_id(*known);
      }
      continue;
    }

    v1::Ticket t;
    t.set_estate_id(estate_id);
    if (!o.unit_id.empty()) t.mutable_location()->set_unit_id(o.unit_id);
    t.set_channel(common::CHANNEL_GOVERNMENT_HOTLINE);
    t.set_kind(common::TICKET_KIND_COMPLAINT);
    // The city's words cannot be refused: a phone or ID number in them (a caller's own, a
    // neighbour's) is masked before they become the ticket's, so no event, copy or reader of
    // the ticket gets it (docs/api/intake.md). The order number is the city's, not personal.
    const std::string category = MaskPersonalNumbers(o.category);
    t.set_summary(category.empty() ? absl::StrCat("12345 ", o.order_number)
                                   : absl::StrCat("12345 ", o.order_number, " ", category));
    t.set_description(MaskPersonalNumbers(o.content));
    if (auto s = PrepareTicket(t, "", rc.now, "line"); !s.ok()) {
      refuse("", s.message());
      continue;
    }
    HotlineDue due = HotlineDueOf(ec.calendar, received_at, o.deadline_working_days, o.due,
                                  hotline_due_soon_days_, ec.tz);
    auto* h = t.mutable_hotline();
    h->set_city(city);
    h->set_order_number(o.order_number);
    *h->mutable_hotline_received_time() = ToProtoTime(received_at);
    h->set_deadline_working_days(o.deadline_working_days);
    h->set_category(category);
    *t.mutable_external_due_time() = ToProtoTime(due.due);
    t.set_external_due_reason(due.reason);
    t.set_id(NewId(rc.now));
    t.set_group_id(rc.caller.group_id);
    t.set_owner_id(rc.caller.subject);

    std::string caller_hash;
    if (!o.caller_phone.empty()) {
      // Read by the format already; hashed here and dropped.
      auto digits = NormalizeCallerPhone(o.caller_phone, "caller_phone");
      if (digits.ok()) caller_hash = HashPhone(phone_key_, *digits);
    }
    TicketCreation creation =
        flow_.Create(std::move(t), std::move(caller_hash), "",
                     Change(rc, absl::StrCat("12345 order received (", city, ")")));
    const v1::Ticket& made = creation.rows.ticket;
    HotlineColumns cols{city, o.order_number, MonthKey(received_at, ec.tz), due.due, due.warn};
    if (!store_.InsertHotlineTicket(tx, creation.rows, cols)) {
      // Another import took the order since the look-up above.
      auto* r = resp->add_lines();
      r->set_line(o.line);
      r->set_outcome(v1::HotlineLineResult::OUTCOME_ALREADY_IMPORTED);
      r->set_order_number(o.order_number);
      r->set_ticket_id(
          store_.HotlineTicketId(tx, rc.caller.group_id, city, o.order_number).value_or(""));
      continue;
    }
    for (const ev::Event& e : creation.events) {
      tx.exec_prepared("wuye_outbox_append", e.event_id(), e.type(),
                       tx.esc_raw(e.SerializeAsString()));
    }
    ev::HotlineOrderEvent received = OrderEvent(made);
    outbox_.Append(
        tx, {"intake.hotline.received", made.group_id(), made.estate_id(), made.id(), 0, &received},
        rc.now, rc.trace_id);
    auto* r = resp->add_lines();
    r->set_line(o.line);
    r->set_outcome(v1::HotlineLineResult::OUTCOME_CREATED);
    r->set_order_number(o.order_number);
    r->set_ticket_id(made.id());
  }
  for (const auto& l : resp->lines()) {
    switch (l.outcome()) {
      case v1::HotlineLineResult::OUTCOME_CREATED:
        resp->set_created(resp->created() + 1);
        break;
      case v1::HotlineLineResult::OUTCOME_ALREADY_IMPORTED:
        resp->set_already_imported(resp->already_imported() + 1);
        break;
      default:
        resp->set_refused(resp->refused() + 1);
    }
  }
  SortLines(resp);
  return absl::OkStatus();
}

grpc::Status IntakeServiceImpl::RecordHotlineReply(Ctx* ctx,
                                                   const v1::RecordHotlineReplyRequest* req,
                                                   v1::HotlineReply* resp) {
  return rpc_.Run(
      ctx, "RecordHotlineReply", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireDesk(rc));
        WUYE_RETURN_IF_ERROR(CheckId(req->ticket_id(), "ticket_id"));
        WUYE_RETURN_IF_ERROR(
            CheckText(req->reply(), "reply", 2000, Presence::kRequired, Lines::kMany));
        absl::Time at = rc.now;
        if (req->has_reply_time()) {
          WUYE_ASSIGN_OR_RETURN(at, RequestTime(req->reply_time(), "reply_time"));
          if (at > rc.now) return FieldError("reply_time", "must not be in the future");
        }
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          auto found = store_.GetTicket(tx, rc.caller.group_id, req->ticket_id(), true);
          if (!found) return absl::NotFoundError("ticket_id: no such ticket");
          WUYE_RETURN_IF_ERROR(rc.RequireEstate(found->estate_id()));
          v1::Ticket t = *std::move(found);
          if (!IsHotlineOrder(t)) return NotAnOrder();
          // Issue 27 §3: a desk replying late cannot date its reply back into time — at most
          // the group's hours before now (the seeds are silent; 24 h a reading). On time is
          // judged by the delivery anyway; this keeps the stated time, sent to the city, true.
          const int backdate =
              store_.GetCallbackSettings(tx, rc.caller.group_id).hotline_reply_backdate_hours();
          if (at < rc.now - absl::Hours(backdate)) {
            return FieldError("reply_time",
                              absl::StrCat("at most ", backdate,
                                           " hours before now "
                                           "(CallbackSettings.hotline_reply_backdate_hours)"));
          }
          if (at < FromProtoTime(t.hotline().hotline_received_time())) {
            return FieldError("reply_time", "not before the hotline received the order");
          }
          // Nor before the order reached the desk: a reply cannot be dated back into the
          // time before anyone here had it (and so be judged on time after the deadline).
          if (t.has_create_time() && at < FromProtoTime(t.create_time())) {
            return FieldError("reply_time", "not before the order was imported");
          }
          v1::HotlineReply r;
          r.set_id(NewId(rc.now));
          r.set_ticket_id(t.id());
          r.set_estate_id(t.estate_id());
          r.set_city(t.hotline().city());
          r.set_order_number(t.hotline().order_number());
          r.set_reply(req->reply());
          r.set_replied_by(rc.caller.subject);
          *r.mutable_reply_time() = ToProtoTime(at);
          // On time is its delivery's (DeliverHotlineReplies): not yet.
          r.set_on_time(false);
          store_.InsertHotlineReply(tx, rc.caller.group_id, r);
          if (!t.hotline().has_reply_time()) {
            // The timers run on until a reply reaches the city's platform.
            store_.MarkHotlineReplied(tx, rc.caller.group_id, t.id(), at);
            *t.mutable_hotline()->mutable_reply_time() = r.reply_time();
            flow_.Note(tx, t, Change(rc, "12345 reply recorded, not yet delivered"));
          }
          ev::HotlineOrderEvent e = OrderEvent(t);
          *e.mutable_replied_at() = r.reply_time();
          outbox_.Append(tx, {"intake.hotline.replied", t.group_id(), t.estate_id(), t.id(), 0, &e},
                         rc.now, rc.trace_id);
          *resp = r;
          return absl::OkStatus();
        });
      });
}

grpc::Status IntakeServiceImpl::ExportHotlineReplies(Ctx* ctx,
                                                     const v1::ExportHotlineRepliesRequest* req,
                                                     v1::ExportHotlineRepliesResponse* resp) {
  return rpc_.Run(
      ctx, "ExportHotlineReplies", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireDesk(rc));
        WUYE_ASSIGN_OR_RETURN(const HotlineFormat* format, FormatOf(req->format()));
        WUYE_RETURN_IF_ERROR(CheckHotlineCity(req->city(), "city"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          resp->Clear();
          std::vector<HotlineReplyRow> rows;
          std::vector<std::string> ids;
          // Only the estates the caller works at; the others' stay for their own desks.
          for (auto& r : store_.UnexportedHotlineReplies(tx, rc.caller.group_id, req->city(),
                                                         kMaxHotlineLines, rc.caller)) {
            if (!rc.caller.CanSeeEstate(r.estate_id())) continue;
            rows.push_back(
                {r.order_number(), FromProtoTime(r.reply_time()), r.replied_by(), r.reply()});
            ids.push_back(r.id());
            *resp->add_replies() = std::move(r);
          }
          // The file is the delivery (issue 27 §3): on time by now.
          absl::flat_hash_map<std::string, IntakeStore::DeliveredReply> marked;
          for (auto& d : DeliverHotlineReplies(tx, rc, ids)) marked[d.id] = std::move(d);
          for (auto& r : *resp->mutable_replies()) {
            const IntakeStore::DeliveredReply& d = marked[r.id()];
            *r.mutable_export_time() = ToProtoTime(d.exported_at);
            r.set_on_time(d.on_time);
          }
          resp->set_content(format->FormatReplies(rows));
          return absl::OkStatus();
        });
      });
}

std::vector<IntakeStore::DeliveredReply> IntakeServiceImpl::DeliverHotlineReplies(
    pqxx::work& tx, const RequestContext& rc, const std::vector<std::string>& ids) {
  std::vector<IntakeStore::DeliveredReply> marked =
      store_.MarkHotlineRepliesExported(tx, rc.caller.group_id, ids, rc.now);
  std::set<std::string> orders;  // in id order: the tickets locked in one order
  for (const auto& d : marked) orders.insert(d.ticket_id);
  for (const std::string& id : orders) {
    auto found = store_.GetTicket(tx, rc.caller.group_id, id, true);
    if (!found) continue;
    v1::Ticket t = *std::move(found);
    const v1::HotlineOrder& h = t.hotline();
    if (!h.has_delivery_time() || rc.now < FromProtoTime(h.delivery_time())) {
      // The first delivery (or an earlier one) is the one the deadline is judged by; it
      // stops the timers.
      store_.MarkHotlineDelivered(tx, rc.caller.group_id, t.id(), rc.now);
      *t.mutable_hotline()->mutable_delivery_time() = ToProtoTime(rc.now);
      const bool on_time = rc.now <= FromProtoTime(t.external_due_time());
      flow_.Note(tx, t,
                 Change(rc, on_time ? "12345 reply delivered to the city's platform, in time"
                                    : "12345 reply delivered to the city's platform, after the "
                                      "due time"));
    }
    ev::HotlineOrderEvent e = OrderEvent(t);
    *e.mutable_replied_at() = h.reply_time();
    *e.mutable_delivered_at() = ToProtoTime(rc.now);
    outbox_.Append(tx, {"intake.hotline.delivered", t.group_id(), t.estate_id(), t.id(), 0, &e},
                   rc.now, rc.trace_id);
  }
  return marked;
}

grpc::Status IntakeServiceImpl::ImportHotlineCallbacks(Ctx* ctx,
                                                       const v1::ImportHotlineCallbacksRequest* req,
                                                       v1::ImportHotlineCallbacksResponse* resp) {
  return rpc_.Run(
      ctx, "ImportHotlineCallbacks", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireDesk(rc));
        WUYE_ASSIGN_OR_RETURN(const HotlineFormat* format, FormatOf(req->format()));
        WUYE_RETURN_IF_ERROR(CheckHotlineCity(req->city(), "city"));
        WUYE_ASSIGN_OR_RETURN(HotlineCallbacks parsed, format->ParseCallbacks(req->content()));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          return ImportHotlineCallbacksTx(tx, rc, req->city(), parsed, resp);
        });
      });
}

// One file of callback results, recorded in `tx` for `rc`'s caller.
absl::Status IntakeServiceImpl::ImportHotlineCallbacksTx(pqxx::work& tx, const RequestContext& rc,
                                                         const std::string& city,
                                                         const HotlineCallbacks& parsed,
                                                         v1::ImportHotlineCallbacksResponse* resp) {
  resp->Clear();
  for (const auto& e : parsed.refused) *resp->add_lines() = Refused(e);
  for (const HotlineCallbackLine& c : parsed.lines) {
    auto* r = resp->add_lines();
    r->set_line(c.line);
    r->set_order_number(c.order_number);
    auto refuse = [&](absl::string_view field, absl::string_view reason) {
      r->set_outcome(v1::HotlineLineResult::OUTCOME_REFUSED);
      r->set_field(std::string(field));
      r->set_reason(std::string(reason));
    };
    std::optional<v1::Ticket> t;
    if (auto id = store_.HotlineTicketId(tx, rc.caller.group_id, city, c.order_number)) {
      t = store_.GetTicket(tx, rc.caller.group_id, *id, true);
    }
    // Another estate's order is as unknown to the caller as one never imported.
    if (!t || !rc.caller.CanSeeEstate(t->estate_id())) {
      refuse("order_number", "no such 12345 order of the city");
      continue;
    }
    if (c.at < FromProtoTime(t->hotline().hotline_received_time())) {
      refuse("callback_time", "not before the hotline received the order");
      continue;
    }
    r->set_ticket_id(t->id());
    if (t->hotline().government_result() == c.result &&
        FromProtoTime(t->hotline().government_callback_time()) == c.at) {
      r->set_outcome(v1::HotlineLineResult::OUTCOME_ALREADY_IMPORTED);
      continue;
    }
    // An older file imported again never replaces a later callback's result.
    if (t->hotline().government_result() != v1::HOTLINE_RESULT_UNSPECIFIED &&
        c.at < FromProtoTime(t->hotline().government_callback_time())) {
      refuse("callback_time", "older than the callback already recorded");
      continue;
    }
    WUYE_RETURN_IF_ERROR(RecordHotlineRating(tx, *t, c, Change(rc, "")));
    r->set_outcome(v1::HotlineLineResult::OUTCOME_CREATED);
  }
  for (const auto& l : resp->lines()) {
    if (l.outcome() == v1::HotlineLineResult::OUTCOME_CREATED) {
      resp->set_recorded(resp->recorded() + 1);
    } else if (l.outcome() == v1::HotlineLineResult::OUTCOME_ALREADY_IMPORTED) {
      resp->set_already_imported(resp->already_imported() + 1);
    } else {
      resp->set_refused(resp->refused() + 1);
    }
  }
  SortLines(resp);
  return absl::OkStatus();
}

// The government's callback on a 12345 order (政府回访), recorded: the result on the order,
// a line in the ticket's history, and "intake.hotline.rated" for duty (an unsatisfied one is
// the supervisor's task). An unsatisfied answer reopens the matter (DOMAIN.md), as our own
// callback's does (RecordCallback): a ticket closed or waiting for its callback is reopened;
// one still being worked on stays as it is, the rating noted.
absl::Status IntakeServiceImpl::RecordHotlineRating(pqxx::work& tx, v1::Ticket& t,
                                                    const HotlineCallbackLine& c,
                                                    ChangeContext change) {
  t.mutable_hotline()->set_government_result(c.result);
  *t.mutable_hotline()->mutable_government_callback_time() = ToProtoTime(c.at);
  store_.SetHotlineResult(tx, t.group_id(), t.id(), static_cast<int>(c.result), c.at);
  const bool unsatisfied = c.result == v1::HOTLINE_RESULT_UNSATISFIED;
  const bool reopen = unsatisfied && (t.state() == ev::TICKET_STATE_CLOSED ||
                                      t.state() == ev::TICKET_STATE_CALLBACK_DUE);
  change.reason =
      absl::StrCat("12345 government callback: ", ResultName(c.result), reopen ? ", reopened" : "");
  if (reopen) {
    WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, ev::TICKET_STATE_REOPENED, change));
  } else {
    flow_.Note(tx, t, change);
  }
  ev::HotlineOrderEvent e = OrderEvent(t);
  *e.mutable_callback_at() = ToProtoTime(c.at);
  e.set_rating(static_cast<ev::HotlineRating>(static_cast<int>(c.result)));
  e.set_reopened(reopen);
  outbox_.Append(tx, {"intake.hotline.rated", t.group_id(), t.estate_id(), t.id(), 0, &e},
                 change.now, change.trace_id);
  return absl::OkStatus();
}

grpc::Status IntakeServiceImpl::GetHotlineReport(Ctx* ctx, const v1::GetHotlineReportRequest* req,
                                                 v1::HotlineReport* resp) {
  return rpc_.Run(ctx, "GetHotlineReport", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kEstateManager, kSupervisor, kQualityInspector, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->month(), "month"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      HotlineMonthRows m =
          store_.HotlineMonth(tx, rc.caller.group_id, req->estate_id(),
                              MonthKey(req->month().year(), req->month().month()), rc.now);
      resp->set_estate_id(req->estate_id());
      *resp->mutable_month() = req->month();
      resp->set_orders(m.orders);
      resp->set_replied(m.replied);
      resp->set_replied_on_time(m.replied_on_time);
      resp->set_overdue_unreplied(m.overdue_unreplied);
      resp->set_replied_undelivered(m.replied_undelivered);
      int callbacks = m.satisfied + m.basically_satisfied + m.unsatisfied;
      resp->set_callbacks(callbacks);
      resp->set_satisfied(m.satisfied);
      resp->set_basically_satisfied(m.basically_satisfied);
      resp->set_unsatisfied(m.unsatisfied);
      resp->set_on_time_bp(BasisPoints(m.replied_on_time, m.orders, 0));
      resp->set_satisfaction_bp(BasisPoints(m.satisfied + m.basically_satisfied, callbacks, 0));
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::intake
