#include "services/eldercare/consumers.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "services/eldercare/eldercare_store.h"
#include "shared/civil_date.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::eldercare {
namespace {

namespace ev = ::wuye::events::v1;

class Handler {
 public:
  explicit Handler(Db& db) : store_(db) {
    router_.On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.unit.created", "directory.unit.updated"}, this, &Handler::Unit)
        .On("directory.units.imported", this, &Handler::UnitsImported)
        .On({"directory.resident.created", "directory.resident.updated"}, this, &Handler::Resident);
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
    store_.UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.time_zone(), estate.version());
    return absl::OkStatus();
  }

  absl::Status Unit(pqxx::work& tx, const ev::Event& e, const ev::UnitChanged& unit) {
    if (!Valid(e.group_id(), unit.unit_id())) return absl::OkStatus();
    store_.UpsertUnit(tx, e.group_id(), unit.unit_id(), unit.estate_id(), unit.version());
    return absl::OkStatus();
  }

  absl::Status UnitsImported(pqxx::work& tx, const ev::Event& e, const ev::UnitImportChunk& chunk) {
    for (const auto& unit : chunk.units()) WUYE_RETURN_IF_ERROR(Unit(tx, e, unit));
    return absl::OkStatus();
  }

  absl::Status Resident(pqxx::work& tx, const ev::Event& e, const ev::ResidentChanged& r) {
    const std::string& group = e.group_id();
    if (!Valid(group, r.resident_id()) || !IsValidId(r.estate_id()) || !IsValidId(r.unit_id())) {
      return absl::OkStatus();
    }
    ResidentCopy copy;
    copy.id = r.resident_id();
    copy.estate_id = r.estate_id();
    copy.unit_id = r.unit_id();
    copy.facts.role = static_cast<ResidentRole>(r.role());
    copy.facts.date_of_birth = CivilDayOf(r.date_of_birth());
    copy.facts.lease_start = CivilDayOf(r.lease_start());
    copy.facts.lease_end = CivilDayOf(r.lease_end());
    copy.version = r.version();
    store_.UpsertResident(tx, group, copy);
    return absl::OkStatus();
  }

  EldercareStore store_;
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) {
    return handler->router().Apply(tx, event);
  };
}

}  // namespace wuye::eldercare
