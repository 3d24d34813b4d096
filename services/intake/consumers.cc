#include "services/intake/consumers.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/intake/complaint_reply.h"
#include "services/intake/hotline.h"
#include "services/intake/intake_store.h"
#include "services/intake/ticket.h"
#include "services/intake/ticket_flow.h"
#include "shared/auth.h"
#include "shared/civil_date.h"
#include "shared/clock.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/work_calendar_store.h"
#include "shared/zone.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"

namespace wuye::intake {
namespace {

namespace ev = ::wuye::events::v1;

// A directory day as intake stores it: "YYYY-MM-DD", or "" when unset.
std::string DayText(const ev::CivilDate& d) {
  std::optional<absl::CivilDay> day = CivilDayOf(d);
  return day ? absl::FormatCivilTime(*day) : std::string();
}

// Every type dispatch publishes (docs/events.md#dispatch): each carries the order after the
// change, and any of them may move a ticket or change who works on it.
constexpr std::initializer_list<absl::string_view> kWorkOrderEvents = {
    "dispatch.work_order.created",
    "dispatch.work_order.assigned",
    "dispatch.work_order.accepted",
    "dispatch.work_order.declined",
    "dispatch.work_order.price_agreed",
    "dispatch.work_order.en_route",
    "dispatch.work_order.on_site",
    "dispatch.work_order.work_done",
    "dispatch.work_order.signed",
    "dispatch.work_order.completed",
    "dispatch.work_order.cancelled",
    "dispatch.work_order.signature_missing",
    "dispatch.work_order.escalated",
    "dispatch.work_order.care_informed",
    "dispatch.sla.warning",
    "dispatch.sla.breached"};

class Consumer {
 public:
  Consumer(Db& db, const Clock& clock, int hotline_due_soon_days)
      : store_(db), outbox_(db, "intake"), flow_(store_, outbox_), clock_(clock),
        hotline_due_soon_days_(hotline_due_soon_days) {
    router_.On(kWorkOrderEvents, this, &Consumer::WorkOrder)
        .On({"directory.estate.created", "directory.estate.updated"}, this, &Consumer::Estate)
        .On({"directory.staff.created", "directory.staff.updated"}, this, &Consumer::Staff)
        .On({"directory.resident.created", "directory.resident.updated"}, this, &Consumer::Resident)
        .On("directory.resident.removed", this, &Consumer::ResidentRemoved)
        .On("billing.price.published", this, &Consumer::PricePublished)
        .On("counter.notice.tickets_linked", this, &Consumer::NoticeTicketsLinked)
        .On("counter.notice.ended", this, &Consumer::NoticeEnded)
        .On("directory.calendar.changed", this, &Consumer::CalendarChanged);
  }
  Consumer(const Consumer&) = delete;  // the routes point at this consumer
  Consumer& operator=(const Consumer&) = delete;

  const EventRouter& router() const { return router_; }

 private:
  // "directory.calendar.changed": intake's copy of the group's and estates' working
  // calendars (shared/work_calendar_store.h), on which 12345 orders' due times and
  // complaints' written replies are counted; the open orders counted in working days and the
  // complaints still waiting for their reply are re-timed forward on the new calendar in the
  // same transaction (issue 27 §1): the time counted on the old one until the change stays
  // spent, the rest is counted on the new one.
  absl::Status CalendarChanged(pqxx::work& tx, const ev::Event& e, const ev::CalendarChanged& c) {
    if (!IsValidId(e.group_id()) || c.group_id() != e.group_id()) return absl::OkStatus();
    const std::string& group = e.group_id();
    // First, before anything is read: an import counting on the old calendar finishes
    // before the open orders are read, or waits and counts on the new one.
    LockWorkCalendars(tx, group, CalendarLock::kExclusive);
    Waiting waiting = LoadWaiting(tx, group, c.estate_id());
    std::map<std::string, CalendarInZone> before;
    for (const auto* tickets : {&waiting.orders, &waiting.replies}) {
      for (const v1::Ticket& t : *tickets) {
        if (!before.contains(t.estate_id())) {
          before[t.estate_id()] = InForce(tx, group, t.estate_id());
        }
      }
    }
    if (!ApplyCalendarChanged(tx, c)) return absl::OkStatus();  // a replay or an older version
    // The change counts from when the directory made it (never later than now).
    const absl::Time now = EventTime(e);
    std::map<std::string, CalendarInZone> after;
    auto after_of = [&](const std::string& estate) -> const CalendarInZone& {
      auto it = after.find(estate);
      if (it == after.end()) it = after.emplace(estate, InForce(tx, group, estate)).first;
      return it->second;
    };
    RetimeWaiting(
        tx, group, waiting, [&](const std::string& estate) -> const CalendarInZone& {
          return before.at(estate);
        },
        after_of, now);
    return absl::OkStatus();
  }

  // The deadlines a change of calendar or zone re-times: the 12345 orders counted in working
  // days no reply of which was delivered yet (issue 27 §3) and the complaints waiting for
  // their written reply of the group (or the estate), locked, each with the progress its
  // clock kept at the last change (migration 011), from which it is settled step by step;
  // none yet: from receipt.
  struct Waiting {
    std::vector<v1::Ticket> orders, replies;
    std::map<std::string, SlaProgress> kept;
  };
  Waiting LoadWaiting(pqxx::work& tx, const std::string& group, const std::string& estate_id) {
    Waiting w;
    for (const OpenDeadline& o : store_.OpenHotlineOrders(tx, group, estate_id)) {
      auto t = store_.GetTicket(tx, group, o.id, /*for_update=*/true);
      if (!t || t->hotline().deadline_working_days() <= 0) continue;
      w.kept[o.id] =
          o.kept.value_or(ProgressFrom(FromProtoTime(t->hotline().hotline_received_time())));
      w.orders.push_back(*std::move(t));
    }
    for (const OpenDeadline& o : store_.OpenComplaintReplies(tx, group, estate_id)) {
      auto t = store_.GetTicket(tx, group, o.id, /*for_update=*/true);
      if (!t || !t->has_complaint_reply()) continue;
      w.kept[o.id] = o.kept.value_or(ProgressFrom(FromProtoTime(t->received_time())));
      w.replies.push_back(*std::move(t));
    }
    return w;
  }

  using CalendarInZone = std::pair<WorkCalendar, absl::TimeZone>;
  using CalendarOf = std::function<const CalendarInZone&(const std::string& estate)>;
  // The estate's calendar and zone as intake holds them now.
  CalendarInZone InForce(pqxx::work& tx, const std::string& group, const std::string& estate) {
    auto facts = store_.GetEstate(tx, group, estate);
    return {LoadWorkCalendar(tx, group, estate), EstateZone(facts ? facts->time_zone : "")};
  }

  // Re-times `w` forward at `now`: the time counted on the estate's calendar and zone in
  // force until now (`before_of`) stays spent, the rest is counted on `after_of`'s. The
  // progress is stored even when the due time stays: the next change settles from it.
  void RetimeWaiting(pqxx::work& tx, const std::string& group, Waiting& w,
                     const CalendarOf& before_of, const CalendarOf& after_of, absl::Time now) {
    for (v1::Ticket& t : w.replies) {
      const auto& [old_calendar, old_tz] = before_of(t.estate_id());
      const auto& [calendar, tz] = after_of(t.estate_id());
      v1::ComplaintReply* r = t.mutable_complaint_reply();
      const absl::Time old_due = FromProtoTime(r->due_time());
      Deadline due = ComplaintReplyRetimed(old_calendar, calendar, w.kept[t.id()],
                                           FromProtoTime(t.received_time()), r->window_hours(),
                                           r->clock(), old_due, now, tz, old_tz);
      const bool moved = due.due != old_due || due.reason != r->due_reason();
      if (moved) {
        *r->mutable_due_time() = ToProtoTime(due.due);
        r->set_due_reason(due.reason);
        store_.UpdateTicket(tx, t);
      }
      store_.RetimeReply(tx, group, t.id(), due.due, due.warn, due.progress,
                         /*rearm_due_soon=*/moved && due.warn > now,
                         /*rearm_overdue=*/moved && due.due > now);
    }
    for (v1::Ticket& t : w.orders) {
      const auto& [old_calendar, old_tz] = before_of(t.estate_id());
      const auto& [calendar, tz] = after_of(t.estate_id());
      const absl::Time old_due = FromProtoTime(t.external_due_time());
      HotlineDue due = HotlineDueRetimed(old_calendar, calendar, w.kept[t.id()],
                                         FromProtoTime(t.hotline().hotline_received_time()),
                                         t.hotline().deadline_working_days(), old_due, now,
                                         hotline_due_soon_days_, tz, old_tz);
      const bool moved = due.due != old_due || due.reason != t.external_due_reason();
      if (moved) {
        *t.mutable_external_due_time() = ToProtoTime(due.due);
        t.set_external_due_reason(due.reason);
        store_.UpdateTicket(tx, t);
      }
      store_.RetimeHotline(tx, group, t.id(), due.due, due.warn, due.progress,
                           /*rearm_due_soon=*/moved && due.warn > now,
                           /*rearm_overdue=*/moved && due.due > now);
    }
  }

  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    if (!IsValidId(estate.estate_id()) || !IsValidId(e.group_id())) return absl::OkStatus();
    DeskHours desk;
    desk.open_24h = estate.desk_24h();
    if (!desk.open_24h) {
      desk.opens_min = estate.desk_opens_minute();
      desk.closes_min = estate.desk_closes_minute();
    }
    // A change of the zone the estate's clocks count in (issue 27 §1; as dispatch does on this
    // event) re-times its complaints waiting for their reply and its 12345 orders counted in
    // working days: the time counted in the old zone until the change stays spent, the rest is
    // counted in the new one. Only when the zone really changes (EstateZone's names differ):
    // then the group's calendar lock is taken exclusive before the tickets are read.
    const std::string& group = e.group_id();
    auto held = store_.GetEstate(tx, group, estate.estate_id());
    const bool zone_moves =
        held && EstateZone(held->time_zone).name() != EstateZone(estate.time_zone()).name();
    Waiting waiting;
    std::optional<CalendarInZone> before;
    if (zone_moves) {
      LockWorkCalendars(tx, group, CalendarLock::kExclusive);
      waiting = LoadWaiting(tx, group, estate.estate_id());
      before = InForce(tx, group, estate.estate_id());
    }
    store_.UpsertEstate(tx, group, estate.estate_id(), estate.household_count(),
                        estate.time_zone(), desk, e.subject_version());
    if (!zone_moves) return absl::OkStatus();
    CalendarInZone after = InForce(tx, group, estate.estate_id());
    if (after.second.name() == before->second.name()) return absl::OkStatus();  // older event
    const absl::Time now = EventTime(e);
    RetimeWaiting(
        tx, group, waiting, [&](const std::string&) -> const CalendarInZone& { return *before; },
        [&](const std::string&) -> const CalendarInZone& { return after; }, now);
    return absl::OkStatus();
  }

  absl::Status Staff(pqxx::work& tx, const ev::Event& e, const ev::StaffChanged& staff) {
    if (staff.staff_id().empty() || !IsValidId(e.group_id())) return absl::OkStatus();
    std::string start = DayText(staff.start_date());
    std::vector<std::string> estates(staff.home_estate_ids().begin(),
                                     staff.home_estate_ids().end());
    store_.UpsertStaff(tx, e.group_id(), staff.staff_id(), start, e.subject_version(), estates,
                       staff.active());
    return absl::OkStatus();
  }

  absl::Status Resident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    return CopyResident(tx, e, r, ResidentTerms());
  }
  absl::Status ResidentRemoved(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    ResidentTerms terms;
    terms.removed_at =
        r.has_removed_at() ? FromProtoTime(r.removed_at()) : FromProtoTime(e.occurred_at());
    return CopyResident(tx, e, r, terms);
  }

  // Whose number a carrier-log call is (seed 000 二.5: 有业主通话记录): the directory sends
  // only the hash of the number normalised as a carrier-log number (empty for a number that
  // matches no call). With it what decides whether it was a resident's on a call's day: the
  // role, a tenant's lease, the move-out day, the removal.
  absl::Status CopyResident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r,
                            ResidentTerms terms) {
    if (!IsValidId(r.resident_id()) || !IsValidId(r.estate_id()) || !IsValidId(e.group_id())) {
      return absl::OkStatus();
    }
    terms.role = static_cast<int>(r.role());
    terms.lease_start = DayText(r.lease_start());
    terms.lease_end = DayText(r.lease_end());
    terms.move_out_date = DayText(r.move_out_date());
    store_.UpsertResidentPhone(tx, e.group_id(), r.resident_id(), r.estate_id(), r.phone_hash(),
                               terms, std::max<int64_t>(e.subject_version(), 1));
    return absl::OkStatus();
  }

  // An item is launched in an estate when its price is first published there (5.6.1:
  // 予以公开); the earliest publication seen is kept, whatever the order of arrival.
  absl::Status PricePublished(pqxx::work& tx, const ev::Event& e, const ev::PricePublished& price) {
    if (price.withdrawn() || !IsValidId(price.estate_id()) || !IsValidId(e.group_id()) ||
        price.item_code().empty() || price.item_code().size() > 40) {
      return absl::OkStatus();
    }
    absl::Time at = price.has_effective_at() ? FromProtoTime(price.effective_at())
                                             : FromProtoTime(e.occurred_at());
    store_.RecordItemLaunch(tx, e.group_id(), price.estate_id(), price.item_code(), at);
    return absl::OkStatus();
  }

  absl::Status WorkOrder(pqxx::work& tx, const ev::Event& e, const ev::WorkOrderChanged& wo) {
    if (wo.ticket_id().empty() || !IsValidId(wo.ticket_id()) || !IsValidId(e.group_id()) ||
        wo.work_order_id().empty()) {
      return absl::OkStatus();
    }
    auto found = store_.GetTicket(tx, e.group_id(), wo.ticket_id(), /*for_update=*/true);
    if (!found) return absl::OkStatus();
    v1::Ticket t = *found;
    int64_t known = store_.WorkOrderVersion(tx, e.group_id(), wo.work_order_id());
    if (e.subject_version() != 0 && known >= e.subject_version()) return absl::OkStatus();

    WorkOrderRow row{wo.work_order_id(),
                     static_cast<int>(wo.state()),
                     {wo.worker_ids().begin(), wo.worker_ids().end()}};
    store_.UpsertWorkOrder(tx, e.group_id(), t.id(), row, e.subject_version());

    // What the ticket remembers: every order, and who is on each live one now (a worker
    // who declined drops out; a cancelled order's people did no work).
    bool all_done = true;
    std::set<std::string> workers, orders(t.work_order_ids().begin(), t.work_order_ids().end());
    for (const auto& o : store_.WorkOrders(tx, e.group_id(), t.id())) {
      if (o.state != ev::WORK_ORDER_STATE_COMPLETED && o.state != ev::WORK_ORDER_STATE_CANCELLED) {
        all_done = false;
      }
      orders.insert(o.id);
      if (o.state == ev::WORK_ORDER_STATE_CANCELLED) continue;
      workers.insert(o.worker_ids.begin(), o.worker_ids.end());
    }
    bool remembered = std::vector<std::string>(workers.begin(), workers.end()) !=
                          std::vector<std::string>(t.worker_ids().begin(), t.worker_ids().end()) ||
                      static_cast<int>(orders.size()) != t.work_order_ids_size();
    if (remembered) {
      t.clear_worker_ids();
      for (const auto& w : workers) t.add_worker_ids(w);
      t.clear_work_order_ids();
      for (const auto& o : orders) t.add_work_order_ids(o);
    }

    ChangeContext c;
    c.actor.set_subject("dispatch");
    c.actor.add_roles(std::string(roles::kService));
    c.now = wo.has_at() ? FromProtoTime(wo.at()) : FromProtoTime(e.occurred_at());
    c.reason = e.type();
    c.trace_id = e.trace_id();

    TicketState next = NextStateForWork(t.state(), TargetForWorkOrder(wo.state()), all_done);
    if (next == ev::TICKET_STATE_UNSPECIFIED || !CanMove(t.kind(), t.state(), next)) {
      if (remembered) {  // no move, but the workers are news
        t.set_version(t.version() + 1);
        *t.mutable_update_time() = ToProtoTime(c.now);
        store_.UpdateTicket(tx, t);
        flow_.Publish(tx, t, t.state(), c);
      }
      return absl::OkStatus();
    }
    // The work done is not the written reply to a complaint: its deadline keeps running.
    if (next == ev::TICKET_STATE_RESOLVED) return flow_.Resolve(tx, t, c, /*gives_reply=*/false);
    return flow_.Move(tx, t, next, c);
  }

  // The counter's notices of a cut (docs/api/counter.md): the tickets it caused are answered
  // once with the notice and resolved together when it ends, each through the flow the desk's
  // calls take (AnswerTicket, CloseTicket, ResolveTicket), so history, events and the callback
  // rule follow as for any ticket. Only tickets of the event's group and the notice's estate;
  // a ticket already past the step is left alone, so an event applied twice changes once.
  ChangeContext NoticeChange(const ev::Event& e, const ev::NoticeTickets& n,
                             const std::string& reason) {
    ChangeContext c;
    c.actor.set_subject("counter");
    c.actor.add_roles(std::string(roles::kService));
    c.now = n.has_at() ? FromProtoTime(n.at()) : FromProtoTime(e.occurred_at());
    c.reason = reason;
    c.trace_id = e.trace_id();
    return c;
  }

  // The notice's tickets of the group and estate, locked, in the order listed.
  std::vector<v1::Ticket> NoticeTickets(pqxx::work& tx, const ev::Event& e,
                                        const ev::NoticeTickets& n) {
    std::vector<v1::Ticket> out;
    if (!IsValidId(e.group_id()) || !IsValidId(n.estate_id())) return out;
    std::set<std::string> seen;
    for (const auto& id : n.ticket_ids()) {
      if (!IsValidId(id) || !seen.insert(id).second) continue;
      auto t = store_.GetTicket(tx, e.group_id(), id, /*for_update=*/true);
      if (t && t->estate_id() == n.estate_id()) out.push_back(*t);
    }
    return out;
  }

  // "counter.notice.tickets_linked": a consultation, suggestion or praise still received is
  // answered with the notice (received → answered, as AnswerTicket). Complaints and work
  // are not answerable: they wait for the notice's end or their work order.
  absl::Status NoticeTicketsLinked(pqxx::work& tx, const ev::Event& e, const ev::NoticeTickets& n) {
    if (n.answer().empty()) return absl::OkStatus();
    ChangeContext c = NoticeChange(e, n, absl::StrCat("answered with notice ", n.notice_id()));
    for (v1::Ticket& t : NoticeTickets(tx, e, n)) {
      if (t.state() != ev::TICKET_STATE_RECEIVED || !IsAnswerable(t.kind())) continue;
      t.set_result(n.answer());
      WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, ev::TICKET_STATE_ANSWERED, c));
    }
    return absl::OkStatus();
  }

  // "counter.notice.ended": each linked ticket still open takes the resolution as its result
  // and moves on by the desk's rules: an answered one is closed (CloseTicket); a received
  // consultation, suggestion or praise is answered and closed; a received complaint, or a
  // reopened ticket, is resolved (ResolveTicket: then callback due or closed by the callback
  // rule). Work waiting for its work order is left to dispatch (ResolveTicket refuses it too).
  absl::Status NoticeEnded(pqxx::work& tx, const ev::Event& e, const ev::NoticeTickets& n) {
    if (n.answer().empty()) return absl::OkStatus();
    const std::string why = absl::StrCat("notice ", n.notice_id(), " ended");
    ChangeContext c = NoticeChange(e, n, why);
    for (v1::Ticket& t : NoticeTickets(tx, e, n)) {
      const bool answerable = IsAnswerable(t.kind());
      if (t.state() == ev::TICKET_STATE_ANSWERED ||
          (answerable && t.state() == ev::TICKET_STATE_RECEIVED)) {
        t.set_result(n.answer());
        if (t.state() == ev::TICKET_STATE_RECEIVED) {
          WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, ev::TICKET_STATE_ANSWERED, c));
        }
        WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, ev::TICKET_STATE_CLOSED, c));
      } else if (t.state() == ev::TICKET_STATE_REOPENED ||
                 (t.state() == ev::TICKET_STATE_RECEIVED && !NeedsWork(t.kind()))) {
        t.set_result(n.answer());
        WUYE_RETURN_IF_ERROR(flow_.Resolve(tx, t, c, /*gives_reply=*/true));
      }
    }
    return absl::OkStatus();
  }

  // When the event's change was made: its occurred_at, never later than now (a clock
  // running ahead at the publisher does not move deadlines into the future).
  absl::Time EventTime(const ev::Event& e) const {
    const absl::Time now = clock_.Now();
    return e.has_occurred_at() ? std::min(now, FromProtoTime(e.occurred_at())) : now;
  }

  IntakeStore store_;
  Outbox outbox_;
  TicketFlow flow_;
  const Clock& clock_;
  int hotline_due_soon_days_;  // --hotline_due_soon_working_days
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db, const Clock& clock, int hotline_due_soon_days) {
  auto consumer = std::make_shared<Consumer>(db, clock, hotline_due_soon_days);
  return [consumer](pqxx::work& tx, const ev::Event& e) { return consumer->router().Apply(tx, e); };
}

}  // namespace wuye::intake
