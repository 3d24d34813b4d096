#include "services/billing/consumers.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/billing/billing.h"
#include "services/billing/billing_store.h"
#include "services/billing/counter_money_flow.h"
#include "services/billing/eldercare_money_flow.h"
#include "shared/civil_date.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::billing {
namespace {

namespace ev = ::wuye::events::v1;

// A unit as billing copies it; a malformed area is refused (the directory never sends one).
absl::StatusOr<UnitCopy> CopyOf(const ev::UnitChanged& u) {
  WUYE_ASSIGN_OR_RETURN(int64_t area, ParseCenti(u.building_area_m2(), "unit.building_area_m2"));
  UnitCopy c;
  c.id = u.unit_id();
  c.estate_id = u.estate_id();
  c.facts = {area, u.type() == ev::UNIT_TYPE_UNSPECIFIED ? 1 : static_cast<int>(u.type()),
             u.occupancy() == ev::OCCUPANCY_UNSPECIFIED ? kOccupancyVacant
                                                        : static_cast<int>(u.occupancy()),
             u.handed_over()};
  c.version = u.version();
  // An unset day, or one that does not exist (the directory never sends one), is unknown.
  c.facts.handover_day = CivilDayOf(u.handover_date());
  c.facts.move_in_day = CivilDayOf(u.move_in_date());
  return c;
}

bool IsOpen(ev::TicketState state) {
  return state != ev::TICKET_STATE_CLOSED && state != ev::TICKET_STATE_CANCELLED;
}

class Handler {
 public:
  explicit Handler(Db& db) : store_(db), eldercare_(db), counter_(db) {
    router_.On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.unit.created", "directory.unit.updated"}, this, &Handler::Unit)
        .On("directory.units.imported", this, &Handler::UnitsImported)
        .On({"directory.resident.created", "directory.resident.updated"}, this, &Handler::Resident)
        .On("dispatch.work_order.completed", this, &Handler::WorkOrderCompleted)
        .On("eldercare.fee.charged", this, &Handler::ElderFee)
        .On({"intake.ticket.created", "intake.ticket.changed"}, this, &Handler::Ticket)
        .On("counter.meters.read", this, &Handler::MetersRead)
        .On("counter.renovation.decided", this, &Handler::RenovationDecided)
        .On("counter.renovation.accepted", this, &Handler::RenovationAccepted)
        .On("counter.card.replaced", this, &Handler::CardReplaced);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  const EventRouter& router() const { return router_; }

 private:
  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    store_.UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.management_fee_fen_per_m2(),
                        estate.time_zone(), estate.version());
    return absl::OkStatus();
  }

  absl::Status Unit(pqxx::work& tx, const ev::Event& e, const ev::UnitChanged& unit) {
    WUYE_ASSIGN_OR_RETURN(UnitCopy copy, CopyOf(unit));
    store_.UpsertUnits(tx, e.group_id(), {copy});
    return absl::OkStatus();
  }

  absl::Status UnitsImported(pqxx::work& tx, const ev::Event& e, const ev::UnitImportChunk& chunk) {
    std::vector<UnitCopy> units;
    units.reserve(chunk.units_size());
    for (const auto& u : chunk.units()) {
      WUYE_ASSIGN_OR_RETURN(UnitCopy copy, CopyOf(u));
      units.push_back(std::move(copy));
    }
    store_.UpsertUnits(tx, e.group_id(), units);
    return absl::OkStatus();
  }

  absl::Status Resident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    store_.UpsertResident(tx, e.group_id(), r.resident_id(), r.unit_id(),
                          r.role() == ev::RESIDENT_ROLE_OWNER, r.version());
    return absl::OkStatus();
  }

  // Only tickets that dispute a bill matter; a ticket that stops naming its bill closes the
  // dispute it had (the stored bill id is kept). A bill that is not of the ticket's group,
  // estate and unit is not disputed by it (issue 20.5): the ticket counts as naming none.
  absl::Status Ticket(pqxx::work& tx, const ev::Event& e, const ev::TicketChanged& t) {
    if (!IsValidId(t.ticket_id())) return absl::OkStatus();
    std::string bill = t.disputed_bill_id();
    if (!bill.empty() && !DisputableBy(tx, e, t, bill)) bill.clear();
    if (!bill.empty() || store_.HasDispute(tx, e.group_id(), t.ticket_id())) {
      store_.UpsertDispute(tx, e.group_id(), t.ticket_id(), bill,
                           !bill.empty() && IsOpen(t.state()), e.subject_version());
    }
    return absl::OkStatus();
  }

  // Whether the ticket's group (and estate, and unit when it names one) owns the bill.
  bool DisputableBy(pqxx::work& tx, const ev::Event& e, const ev::TicketChanged& t,
                    const std::string& bill_id) {
    if (!IsValidId(bill_id)) return false;
    auto bill = store_.GetBill(tx, e.group_id(), bill_id);
    if (!bill) return false;
    const std::string& estate = !t.estate_id().empty() ? t.estate_id() : e.estate_id();
    if (bill->estate_id() != estate) return false;
    return t.location().unit_id().empty() || t.location().unit_id() == bill->unit_id();
  }

  // The unit of a charge, locked as every money movement of the unit is, or UNAVAILABLE
  // while the directory's event has not arrived (the entry is delivered again later).
  absl::StatusOr<UnitCopy> UnitOf(pqxx::work& tx, const std::string& group,
                                  const std::string& unit_id) {
    if (!IsValidId(unit_id)) return absl::InvalidArgumentError("charge: no valid unit id");
    auto unit = store_.GetUnit(tx, group, unit_id);
    if (!unit) return absl::UnavailableError("charge: unit not yet in billing's copy");
    store_.LockUnit(tx, group, unit->id);
    return *unit;
  }

  std::string PeriodOf(pqxx::work& tx, const std::string& group, const std::string& estate,
                       absl::Time at) {
    auto copy = store_.GetEstate(tx, group, estate);
    absl::TimeZone tz = EstateZone(copy ? copy->time_zone : "");
    return MonthStart(MonthOf(absl::ToCivilDay(at, tz)));
  }

  absl::Status WorkOrderCompleted(pqxx::work& tx, const ev::Event& e,
                                  const ev::WorkOrderChanged& wo) {
    if (!wo.paid() || wo.quote_fen() <= 0) return absl::OkStatus();
    std::string unit_id =
        !wo.unit_id().empty() ? wo.unit_id() : std::string(wo.location().unit_id());
    WUYE_ASSIGN_OR_RETURN(UnitCopy unit, UnitOf(tx, e.group_id(), unit_id));
    absl::Time at = wo.has_at() ? FromProtoTime(wo.at()) : FromProtoTime(e.occurred_at());
    std::string source = absl::StrCat("work_order:", wo.work_order_id());
    if (!store_.PostLedger(tx, e.group_id(), unit.estate_id, "charge", source,
                           PaidServicePostings(unit.id, wo.quote_fen()), at)) {
      return absl::OkStatus();  // charged before
    }
    store_.InsertChargeBill(tx, e.group_id(), NewId(at), unit.estate_id, unit.id,
                            PeriodOf(tx, e.group_id(), unit.estate_id, at), "work_order", source,
                            wo.quote_fen(), at);
    return absl::OkStatus();
  }

  // Elderly-care money goes to its keeper (eldercare_money_flow.h).
  absl::Status ElderFee(pqxx::work& tx, const ev::Event& e, const ev::ElderFeeCharged& fee) {
    absl::Time at = fee.has_at() ? FromProtoTime(fee.at()) : FromProtoTime(e.occurred_at());
    return eldercare_.Post(tx, e.group_id(), fee, at);
  }

  // The counter's money goes through its own flow (counter_money_flow.h).
  static absl::Time At(const ev::Event& e, bool has_at, const google::protobuf::Timestamp& at) {
    return has_at ? FromProtoTime(at) : FromProtoTime(e.occurred_at());
  }
  absl::Status MetersRead(pqxx::work& tx, const ev::Event& e, const ev::MetersRead& m) {
    return counter_.OpenMeters(tx, e.group_id(), m, At(e, m.has_read_at(), m.read_at()));
  }
  absl::Status RenovationDecided(pqxx::work& tx, const ev::Event& e,
                                 const ev::RenovationDecided& d) {
    return counter_.AskDeposit(tx, e.group_id(), d, At(e, d.has_at(), d.at()));
  }
  absl::Status RenovationAccepted(pqxx::work& tx, const ev::Event& e,
                                  const ev::RenovationAccepted& a) {
    return counter_.ReleaseDeposit(tx, e.group_id(), a, At(e, a.has_at(), a.at()));
  }
  absl::Status CardReplaced(pqxx::work& tx, const ev::Event& e, const ev::CardReplaced& c) {
    return counter_.ChargeCard(tx, e.group_id(), c, At(e, c.has_at(), c.at()));
  }

  BillingStore store_;
  EldercareMoneyFlow eldercare_;
  CounterMoneyFlow counter_;
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) {
    return handler->router().Apply(tx, event);
  };
}

}  // namespace wuye::billing
