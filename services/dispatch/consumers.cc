#include "services/dispatch/consumers.h"

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/dispatch/work_order_flow.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/work_calendar_store.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::dispatch {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

bool Valid(const std::string& group, const std::string& id) {
  return IsValidId(group) && IsValidId(id);
}

// What a price is per; billing's own check allows these three.
std::string PerOf(const std::string& per) { return per == "hour" || per == "m2" ? per : "job"; }

class Handler {
 public:
  Handler(Db& db, const Clock& clock) : flow_(db), clock_(clock) {
    router_.On("intake.work.requested", this, &Handler::WorkRequested)
        .On("intake.ticket.changed", this, &Handler::TicketChanged)
        .On("eldercare.emergency.raised", this, &Handler::ElderEmergency)
        .On("billing.price.published", this, &Handler::PricePublished)
        .On("billing.standard_price.set", this, &Handler::StandardPriceSet)
        .On({"directory.resident.created", "directory.resident.updated"}, this, &Handler::Resident)
        .On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.unit.created", "directory.unit.updated"}, this, &Handler::Unit)
        .On("directory.units.imported", this, &Handler::UnitsImported)
        .On({"directory.staff.created", "directory.staff.updated"}, this, &Handler::Staff)
        .On("directory.shift.created", this, &Handler::ShiftCreated)
        .On("directory.shift.deleted", this, &Handler::ShiftDeleted)
        .On("directory.calendar.changed", this, &Handler::CalendarChanged);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  const EventRouter& router() const { return router_; }

 private:
  DispatchStore& store() { return flow_.store(); }

  absl::Status TicketChanged(pqxx::work& tx, const ev::Event& e, const ev::TicketChanged& t) {
    if (t.state() == ev::TICKET_STATE_CANCELLED && Valid(e.group_id(), t.ticket_id())) {
      return TicketCancelled(tx, e, t);
    }
    return absl::OkStatus();
  }

  absl::Status PricePublished(pqxx::work& tx, const ev::Event& e, const ev::PricePublished& p) {
    const std::string& group = e.group_id();
    if (!Valid(group, p.estate_id()) || !CheckItemCode(p.item_code(), "item_code").ok()) {
      return absl::OkStatus();
    }
    BillingPrice price{p.estate_id(),
                       p.item_code(),
                       p.name(),
                       PerOf(p.per()),
                       p.price_fen(),
                       p.withdrawn(),
                       std::max<int64_t>(e.subject_version(), 1)};
    store().PutBillingPrice(tx, group, price);
    return absl::OkStatus();
  }

  absl::Status StandardPriceSet(pqxx::work& tx, const ev::Event& e, const ev::StandardPriceSet& p) {
    const std::string& group = e.group_id();
    if (!IsValidId(group) || !CheckItemCode(p.item_code(), "item_code").ok() ||
        p.price_fen() <= 0) {
      return absl::OkStatus();
    }
    BillingPrice price{"",
                       p.item_code(),
                       p.name(),
                       PerOf(p.per()),
                       p.price_fen(),
                       false,
                       std::max<int64_t>(e.subject_version(), 1)};
    store().PutStandardPrice(tx, group, price);
    return absl::OkStatus();
  }

  // Only where the resident lives: no name, no phone.
  absl::Status Resident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    const std::string& group = e.group_id();
    if (!Valid(group, r.resident_id()) || !IsValidId(r.estate_id())) return absl::OkStatus();
    std::string unit = IsValidId(r.unit_id()) ? r.unit_id() : "";
    store().UpsertResident(tx, group, r.resident_id(), r.estate_id(), unit,
                           std::max<int64_t>(e.subject_version(), 1));
    return absl::OkStatus();
  }

  // The directory's zone of an estate is the one its clocks count in: when it changes, the
  // open clocks are settled in the old zone up to the change and re-timed forward in the
  // new one (the calendar change's path, under the calendar lock taken first).
  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    if (!Valid(e.group_id(), estate.estate_id())) return absl::OkStatus();
    // Most updates (a name, the desk's hours) leave the zone as it was: no clock moves, so
    // neither the group's calendar lock nor the estate's open orders are taken.
    if (!estate.time_zone().empty() &&
        store().EstateZone(tx, e.group_id(), estate.estate_id()) == estate.time_zone()) {
      store().UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.time_zone(),
                           estate.version());
      return absl::OkStatus();
    }
    return flow_
        .Retime(tx, e.group_id(), estate.estate_id(), EventTime(e), /*zones_only=*/true,
                "the estate's time zone changed in the directory",
                WorkOrderFlow::System(clock_.Now()), e.trace_id(),
                [&]() -> absl::StatusOr<bool> {
                  store().UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.time_zone(),
                                       estate.version());
                  return true;
                })
        .status();
  }

  absl::Status Unit(pqxx::work& tx, const ev::Event& e, const ev::UnitChanged& unit) {
    if (Valid(e.group_id(), unit.unit_id()) && IsValidId(unit.estate_id())) {
      store().UpsertUnit(tx, e.group_id(), unit.unit_id(), unit.estate_id(), unit.version());
    }
    return absl::OkStatus();
  }

  absl::Status UnitsImported(pqxx::work& tx, const ev::Event& e, const ev::UnitImportChunk& chunk) {
    for (const auto& unit : chunk.units()) WUYE_RETURN_IF_ERROR(Unit(tx, e, unit));
    return absl::OkStatus();
  }

  absl::Status Staff(pqxx::work& tx, const ev::Event& e, const ev::StaffChanged& staff) {
    const std::string& group = e.group_id();
    if (!Valid(group, staff.staff_id())) return absl::OkStatus();
    for (const auto& estate : staff.home_estate_ids()) {
      if (!IsValidId(estate)) return absl::OkStatus();
    }
    store().UpsertStaff(tx, group, staff);
    return absl::OkStatus();
  }

  absl::Status ShiftCreated(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& shift) {
    return CopyShift(tx, e, shift, /*deleted=*/false);
  }
  absl::Status ShiftDeleted(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& shift) {
    return CopyShift(tx, e, shift, /*deleted=*/true);
  }
  absl::Status CopyShift(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& shift,
                         bool deleted) {
    const std::string& group = e.group_id();
    if (!Valid(group, shift.shift_id()) || !IsValidId(shift.estate_id()) ||
        !IsValidId(shift.staff_id())) {
      return absl::OkStatus();
    }
    store().UpsertShift(tx, group, shift, deleted,
                        e.subject_version() > 0 ? e.subject_version() : (deleted ? 2 : 1));
    return absl::OkStatus();
  }

  // Issue 27 §1: a group's or an estate's working calendar changed. In the same
  // transaction, under the group's calendar lock (taken first), every open order of it is
  // settled on the calendar in force until the change was made (the event's time: a backlog
  // of the bus does not count on the old calendar; the time already spent is kept, never
  // counted twice) and its due and warning times are computed forward on the new one; an
  // order whose due time, or the reason given for it, changed records a "retimed" step. A replay or
  // an older version changes nothing.
  absl::Status CalendarChanged(pqxx::work& tx, const ev::Event& e, const ev::CalendarChanged& c) {
    const std::string& group = e.group_id();
    if (!IsValidId(group) || (!c.group_id().empty() && c.group_id() != group)) {
      return absl::OkStatus();
    }
    if (!c.estate_id().empty() && !IsValidId(c.estate_id())) return absl::OkStatus();
    ev::CalendarChanged change = c;
    change.set_group_id(group);
    std::string why = absl::StrCat("working calendar ", c.year(), " of the ",
                                   c.estate_id().empty() ? "group" : "estate", " changed (version ",
                                   c.version(), ")");
    return flow_
        .Retime(tx, group, c.estate_id(), EventTime(e), /*zones_only=*/false, why,
                WorkOrderFlow::System(clock_.Now()), e.trace_id(),
                [&]() -> absl::StatusOr<bool> { return ApplyCalendarChanged(tx, change); })
        .status();
  }

  // When the event's change was made (never later than now).
  absl::Time EventTime(const ev::Event& e) {
    absl::Time now = clock_.Now();
    return e.has_occurred_at() ? std::min(now, FromProtoTime(e.occurred_at())) : now;
  }

  absl::Status WorkRequested(pqxx::work& tx, const ev::Event& e, const ev::WorkRequested& w) {
    if (!Valid(e.group_id(), w.ticket_id())) return absl::OkStatus();
    absl::Time now = clock_.Now();
    pb::WorkOrder o = OrderOfRequest(w, now);
    absl::Status ok = PrepareWorkOrder(o, "work_order", now);
    if (!ok.ok()) {
      LogWarn("dispatch.work_request.skipped")
          .Str("ticket_id", w.ticket_id())
          .Str("field", ErrorField(ok));
      return absl::OkStatus();
    }
    o.set_group_id(e.group_id());
    // The SLA clock starts when the desk received the request, not when it was typed in.
    return Create(tx, e, o, pb::ORIGIN_TICKET, absl::StrCat("ticket:", w.ticket_id()),
                  SlaStartOfRequest(w, now))
        .status();
  }

  // The front desk cancelled the ticket: its order goes too, unless the work is done.
  absl::Status TicketCancelled(pqxx::work& tx, const ev::Event& e, const ev::TicketChanged& t) {
    auto o = flow_.store().GetByOrigin(tx, e.group_id(), absl::StrCat("ticket:", t.ticket_id()));
    if (!o || !CheckMove(o->state(), ev::WORK_ORDER_STATE_CANCELLED).ok()) return absl::OkStatus();
    int steps = o->history_size();
    Act act = WorkOrderFlow::System(clock_.Now());
    WUYE_RETURN_IF_ERROR(Cancel(*o, "the ticket was cancelled", act));
    flow_.Save(tx, *o, steps, act.now, e.trace_id());
    return absl::OkStatus();
  }

  absl::Status ElderEmergency(pqxx::work& tx, const ev::Event& e, const ev::ElderEmergency& em) {
    if (!Valid(e.group_id(), em.emergency_id()) || !IsValidId(em.estate_id()) ||
        !IsValidId(em.elder_id())) {
      return absl::OkStatus();
    }
    // 000_…, item 13: the security guards guide the ambulance; the care staff are informed.
    pb::WorkOrder o = OrderOfElderEmergency(em);
    absl::Time now = clock_.Now();
    WUYE_RETURN_IF_ERROR(PrepareWorkOrder(o, "work_order", now));
    o.set_group_id(e.group_id());
    o.set_emergency_id(em.emergency_id());  // output only: set after the input is checked
    WUYE_ASSIGN_OR_RETURN(bool created, Create(tx, e, o, pb::ORIGIN_ELDER_EMERGENCY,
                                               absl::StrCat("elder_emergency:", em.emergency_id()),
                                               SlaStartOfEmergency(em, now)));
    if (!created) return absl::OkStatus();
    int steps = o.history_size();
    Act act = WorkOrderFlow::System(now);
    InformCare(o, flow_.CareStaffOnShift(tx, o, now), act);
    flow_.Save(tx, o, steps, now, e.trace_id());
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Create(pqxx::work& tx, const ev::Event& e, pb::WorkOrder& o,
                              pb::Origin origin, const std::string& ref, absl::Time sla_start) {
    Act act = WorkOrderFlow::System(clock_.Now());
    return flow_.Create(tx, o, origin, ref, sla_start, false, act, e.trace_id());
  }

  WorkOrderFlow flow_;
  const Clock& clock_;
  EventRouter router_;
};

}  // namespace

std::vector<std::string> ConsumedStreams() {
  return {StreamOf("intake"), StreamOf("directory"), StreamOf("eldercare"), StreamOf("billing")};
}

EventHandler MakeHandler(Db& db, const Clock& clock) {
  auto handler = std::make_shared<Handler>(db, clock);
  return [handler](pqxx::work& tx, const ev::Event& event) {
    return handler->router().Apply(tx, event);
  };
}

}  // namespace wuye::dispatch
