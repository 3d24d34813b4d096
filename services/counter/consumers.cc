#include "services/counter/consumers.h"

#include <memory>

#include "services/counter/counter_store.h"
#include "shared/civil_date.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::counter {
namespace {

namespace ev = ::wuye::events::v1;

class Handler {
 public:
  explicit Handler(Db& db) : store_(db) {
    router_.On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.unit.created", "directory.unit.updated"}, this, &Handler::Unit)
        .On("directory.units.imported", this, &Handler::UnitsImported)
        .On({"directory.resident.created", "directory.resident.updated"}, this, &Handler::Resident)
        .On("directory.resident.removed", this, &Handler::ResidentRemoved)
        .On({"directory.staff.created", "directory.staff.updated"}, this, &Handler::Staff)
        .On({"intake.ticket.created", "intake.ticket.changed"}, this, &Handler::Ticket);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  const EventRouter& router() const { return router_; }

 private:
  static bool Valid(const std::string& group, const std::string& id) {
    return IsValidId(group) && IsValidId(id);
  }

  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    if (!Valid(e.group_id(), estate.estate_id())) return absl::OkStatus();
    store_.UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.time_zone(),
                        e.subject_version());
    return absl::OkStatus();
  }

  absl::Status Unit(pqxx::work& tx, const ev::Event& e, const ev::UnitChanged& unit) {
    if (!Valid(e.group_id(), unit.unit_id()) || !IsValidId(unit.estate_id())) {
      return absl::OkStatus();
    }
    UnitCopy u;
    u.id = unit.unit_id();
    u.estate_id = unit.estate_id();
    u.number = unit.number();
    u.handed_over = unit.handed_over();
    u.handover_date = CivilDayOf(unit.handover_date());
    u.move_in_date = CivilDayOf(unit.move_in_date());
    u.occupancy = unit.occupancy();
    u.version = unit.version();
    store_.UpsertUnit(tx, e.group_id(), u);
    return absl::OkStatus();
  }

  absl::Status UnitsImported(pqxx::work& tx, const ev::Event& e, const ev::UnitImportChunk& chunk) {
    for (const auto& unit : chunk.units()) WUYE_RETURN_IF_ERROR(Unit(tx, e, unit));
    return absl::OkStatus();
  }

  absl::Status Resident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    if (!Valid(e.group_id(), r.resident_id()) || !IsValidId(r.estate_id()) ||
        !IsValidId(r.unit_id())) {
      return absl::OkStatus();
    }
    ResidentCopy c;
    c.id = r.resident_id();
    c.estate_id = r.estate_id();
    c.unit_id = r.unit_id();
    c.role = r.role();
    c.birth_date = CivilDayOf(r.date_of_birth());
    c.move_out_date = CivilDayOf(r.move_out_date());
    c.version = r.version();
    store_.UpsertResident(tx, e.group_id(), c);
    return absl::OkStatus();
  }

  absl::Status ResidentRemoved(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    if (!Valid(e.group_id(), r.resident_id())) return absl::OkStatus();
    store_.RemoveResident(tx, e.group_id(), r.resident_id(), r.version());
    return absl::OkStatus();
  }

  absl::Status Staff(pqxx::work& tx, const ev::Event& e, const ev::StaffChanged& s) {
    if (!Valid(e.group_id(), s.staff_id())) return absl::OkStatus();
    StaffCopy c;
    c.id = s.staff_id();
    for (const auto& estate : s.home_estate_ids()) {
      if (IsValidId(estate)) c.estate_ids.push_back(estate);
    }
    c.active = s.active();
    c.version = s.version();
    store_.UpsertStaff(tx, e.group_id(), c);
    return absl::OkStatus();
  }

  absl::Status Ticket(pqxx::work& tx, const ev::Event& e, const ev::TicketChanged& t) {
    if (!Valid(e.group_id(), t.ticket_id()) || !IsValidId(t.estate_id())) {
      return absl::OkStatus();
    }
    bool open = true;
    switch (t.state()) {
      case ev::TICKET_STATE_RESOLVED:
      case ev::TICKET_STATE_CALLBACK_DUE:
      case ev::TICKET_STATE_CLOSED:
      case ev::TICKET_STATE_CANCELLED:
        open = false;
        break;
      default:
        break;
    }
    store_.UpsertTicket(tx, e.group_id(), {t.ticket_id(), t.estate_id(), open},
                        e.subject_version());
    return absl::OkStatus();
  }

  CounterStore store_;
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) {
    return handler->router().Apply(tx, event);
  };
}

}  // namespace wuye::counter
