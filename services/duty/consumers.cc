#include "services/duty/consumers.h"

#include <algorithm>
#include <memory>

#include "services/duty/duty.h"
#include "services/duty/duty_store.h"
#include "services/duty/handover_flow.h"
#include "services/duty/places.h"
#include "services/duty/task_flow.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye::duty {
namespace {

class Handler {
 public:
  Handler(Db& db, const Clock& clock)
      : store_(db),
        places_(db),
        outbox_(db, "duty"),
        flow_(store_, outbox_),
        clock_(clock),
        handover_store_(db),
        handover_(store_, handover_store_, outbox_) {
    router_.On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.staff.created", "directory.staff.updated"}, this, &Handler::Staff)
        .On({"directory.shift.created", "directory.shift.deleted"}, this, &Handler::Shift)
        .On("directory.building.created", this, &Handler::Building)
        .On({"directory.unit.created", "directory.unit.updated"}, this, &Handler::Unit)
        .On("directory.units.imported", this, &Handler::UnitsImported);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  absl::Status Apply(pqxx::work& tx, const ev::Event& e) {
    if (!IsValidId(e.group_id())) return absl::OkStatus();  // platform events concern no desk
    if (Reads(e.type())) {
      WUYE_RETURN_IF_ERROR(Tasks(tx, e));
    } else {
      WUYE_RETURN_IF_ERROR(router_.Apply(tx, e));
    }
    // After the copies: a new shift's timers read the shift as kept.
    return handover_.OnEvent(tx, e, clock_.Now());
  }

 private:
  // Raised at the time the desk learns of it, so a late delivery still gets its whole
  // window; closings first, so an event never raises a task it closes.
  absl::Status Tasks(pqxx::work& tx, const ev::Event& e) {
    WUYE_ASSIGN_OR_RETURN(Reading r, ReadEvent(e));
    TitlePlaces(places_, tx, e.group_id(), r.raise);  // "building 3 unit 1201"
    absl::Time now = clock_.Now();
    for (const std::string& ref : r.close_refs) {
      flow_.CloseAbout(tx, e.group_id(), ref, e.event_id(), now, e.trace_id());
    }
    for (const auto& [ref, estate] : r.close_refs_in_estate) {
      flow_.CloseAbout(tx, e.group_id(), ref, e.event_id(), now, e.trace_id(), estate);
    }
    for (const TaskDraft& d : r.raise) {
      if (!IsValidId(d.estate_id)) continue;  // a task belongs to an estate
      flow_.Raise(tx, e.group_id(), d, now, e.trace_id());
    }
    return absl::OkStatus();
  }

  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    if (!IsValidId(estate.estate_id())) return absl::OkStatus();
    EstateCopy c;
    c.time_zone = estate.time_zone();
    c.hours.desk_24h = estate.desk_24h();
    c.hours.opens_minute = estate.desk_opens_minute();
    c.hours.closes_minute = estate.desk_closes_minute();
    store_.UpsertEstate(tx, e.group_id(), estate.estate_id(), c, estate.version());
    return absl::OkStatus();
  }

  absl::Status Staff(pqxx::work& tx, const ev::Event& e, const ev::StaffChanged& staff) {
    if (!IsValidId(staff.staff_id())) return absl::OkStatus();
    std::vector<int> roles;
    for (int r : staff.roles()) {
      if (IsDutyRole(static_cast<ev::StaffRole>(r))) roles.push_back(r);
    }
    std::vector<std::string> estates;
    for (const std::string& id : staff.home_estate_ids()) {
      if (IsValidId(id)) estates.push_back(id);
    }
    store_.UpsertStaff(tx, e.group_id(), staff.staff_id(), staff.active(), roles, estates,
                       staff.version());
    return absl::OkStatus();
  }

  absl::Status Shift(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& shift) {
    if (!IsValidId(shift.shift_id()) || !IsValidId(shift.estate_id()) ||
        !IsValidId(shift.staff_id()) || !shift.has_start_time() || !shift.has_end_time()) {
      return absl::OkStatus();
    }
    bool deleted = shift.deleted() || e.type() == "directory.shift.deleted";
    store_.UpsertShift(tx, e.group_id(), shift.shift_id(), shift.estate_id(), shift.staff_id(),
                       FromProtoTime(shift.start_time()), FromProtoTime(shift.end_time()), deleted);
    return absl::OkStatus();
  }

  // Buildings and units: the words of a task's place (places.h).
  absl::Status Building(pqxx::work& tx, const ev::Event& e, const ev::BuildingCreated& b) {
    if (IsValidId(b.building_id()) && IsValidId(b.estate_id())) {
      places_.PutBuilding(tx, e.group_id(), b.building_id(), b.estate_id(), b.name());
    }
    return absl::OkStatus();
  }

  absl::Status Unit(pqxx::work& tx, const ev::Event& e, const ev::UnitChanged& u) {
    if (IsValidId(u.unit_id()) && IsValidId(u.estate_id())) {
      places_.PutUnit(
          tx, e.group_id(), u.unit_id(),
          {u.estate_id(), IsValidId(u.building_id()) ? u.building_id() : "", u.number()},
          std::max<int64_t>(u.version(), 1));
    }
    return absl::OkStatus();
  }

  absl::Status UnitsImported(pqxx::work& tx, const ev::Event& e, const ev::UnitImportChunk& c) {
    for (const ev::BuildingCreated& b : c.buildings_created()) {
      WUYE_RETURN_IF_ERROR(Building(tx, e, b));
    }
    for (const ev::UnitChanged& u : c.units()) WUYE_RETURN_IF_ERROR(Unit(tx, e, u));
    return absl::OkStatus();
  }

  DutyStore store_;
  PlaceStore places_;
  Outbox outbox_;
  TaskFlow flow_;
  const Clock& clock_;
  EventRouter router_;
  HandoverStore handover_store_;
  HandoverFlow handover_;
};

}  // namespace

std::vector<std::string> ConsumedStreams() {
  return {StreamOf("intake"),    StreamOf("dispatch"),    StreamOf("directory"),
          StreamOf("eldercare"), StreamOf("performance"), StreamOf("billing"),
          StreamOf("counter")};
}

EventHandler MakeHandler(Db& db, const Clock& clock) {
  auto handler = std::make_shared<Handler>(db, clock);
  return [handler](pqxx::work& tx, const ev::Event& event) { return handler->Apply(tx, event); };
}

}  // namespace wuye::duty
