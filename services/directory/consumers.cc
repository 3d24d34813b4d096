#include "services/directory/consumers.h"

#include <memory>
#include <optional>

#include "services/directory/directory.h"
#include "services/directory/directory_store.h"
#include "services/directory/unit_flow.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::directory {
namespace {

namespace ev = ::wuye::events::v1;

v1::Date DateOf(const ev::CivilDate& d) {
  v1::Date out;
  out.set_year(d.year());
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

bool SameDate(const v1::Date& a, const v1::Date& b) { return DateText(a) == DateText(b); }

class Handler {
 public:
  explicit Handler(Db& db) : store_(db), outbox_(db, "directory"), units_(store_, outbox_) {
    router_.On("counter.unit.handed_over", this, &Handler::HandedOver)
        .On("counter.unit.moved_in", this, &Handler::MovedIn);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  const EventRouter& router() const { return router_; }

 private:
  // The event's unit, locked as UpdateUnit locks it; nullopt when it is not a unit of the
  // event's group (and estate). A malformed id is refused (the counter never sends one).
  absl::StatusOr<std::optional<v1::Unit>> UnitOf(pqxx::work& tx, const ev::Event& e,
                                                 const std::string& unit_id,
                                                 const std::string& estate_id) {
    if (!IsValidId(unit_id)) return absl::InvalidArgumentError("unit_id: not a valid id");
    if (!IsValidId(e.group_id())) return std::optional<v1::Unit>();
    auto unit = store_.GetUnit(tx, e.group_id(), unit_id, /*for_update=*/true);
    if (!unit || (!estate_id.empty() && unit->estate_id() != estate_id)) {
      return std::optional<v1::Unit>();
    }
    return unit;
  }

  static absl::Time When(const ev::Event& e) {
    return e.has_occurred_at() ? FromProtoTime(e.occurred_at()) : absl::Now();
  }

  // 003_… Q4: the unit is handed over (收楼) on its day; vacant until someone moves in.
  absl::Status HandedOver(pqxx::work& tx, const ev::Event& e, const ev::UnitHandedOver& h) {
    if (!h.has_handover_date()) return absl::InvalidArgumentError("handover_date: required");
    WUYE_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit,
                          UnitOf(tx, e, h.unit_id(), h.estate_id()));
    if (!unit) return absl::OkStatus();
    const v1::Date day = DateOf(h.handover_date());
    if (unit->handed_over() && unit->has_handover_date() &&
        SameDate(unit->handover_date(), day) &&
        unit->occupancy() != v1::OCCUPANCY_UNSPECIFIED) {
      return absl::OkStatus();  // already so
    }
    unit->set_handed_over(true);
    *unit->mutable_handover_date() = day;
    if (unit->occupancy() == v1::OCCUPANCY_UNSPECIFIED) unit->set_occupancy(v1::OCCUPANCY_VACANT);
    v1::Unit saved;
    return units_.Save(tx, *unit, "unit", When(e), e.trace_id(), &saved);
  }

  // 003_… Q6: stair lighting is owed from the move-in day (入住), self-occupied or let.
  absl::Status MovedIn(pqxx::work& tx, const ev::Event& e, const ev::UnitMovedIn& m) {
    if (m.occupancy() != ev::OCCUPANCY_SELF_OCCUPIED && m.occupancy() != ev::OCCUPANCY_RENTED) {
      return absl::InvalidArgumentError("occupancy: self-occupied or rented");
    }
    if (!m.has_move_in_date()) return absl::InvalidArgumentError("move_in_date: required");
    WUYE_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit,
                          UnitOf(tx, e, m.unit_id(), m.estate_id()));
    if (!unit) return absl::OkStatus();
    const v1::Date day = DateOf(m.move_in_date());
    const auto occupancy = static_cast<v1::Occupancy>(m.occupancy());
    if (unit->occupancy() == occupancy && unit->has_move_in_date() &&
        SameDate(unit->move_in_date(), day)) {
      return absl::OkStatus();  // already so
    }
    unit->set_occupancy(occupancy);
    *unit->mutable_move_in_date() = day;
    v1::Unit saved;
    return units_.Save(tx, *unit, "unit", When(e), e.trace_id(), &saved);
  }

  DirectoryStore store_;
  Outbox outbox_;
  UnitFlow units_;
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) {
    return handler->router().Apply(tx, event);
  };
}

}  // namespace wuye::directory
