#include "services/eldercare/consumers.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "services/eldercare/eldercare_store.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::eldercare {
namespace {

namespace dir = ::wuye::directory::v1;
namespace ev = ::wuye::events::v1;

template <class T>
absl::StatusOr<T> Payload(const ev::Event& event) {
  T out;
  if (!event.payload().UnpackTo(&out)) {
    return absl::InvalidArgumentError(absl::StrCat(event.type(), ": unreadable payload"));
  }
  return out;
}

std::optional<absl::CivilDay> Day(bool has, const dir::Date& d) {
  if (!has || d.year() == 0) return std::nullopt;
  return absl::CivilDay(d.year(), d.month(), d.day());
}

class Handler {
 public:
  explicit Handler(Db& db) : store_(db) {}

  absl::Status Apply(pqxx::work& tx, const ev::Event& e) {
    const std::string& type = e.type();
    const std::string& group = e.group_id();
    if (type == "directory.estate.created" || type == "directory.estate.updated") {
      WUYE_ASSIGN_OR_RETURN(dir::Estate estate, Payload<dir::Estate>(e));
      if (!Valid(group, estate.id())) return absl::OkStatus();
      store_.UpsertEstate(tx, group, estate.id(), estate.time_zone(), estate.version());
    } else if (type == "directory.unit.created" || type == "directory.unit.updated") {
      WUYE_ASSIGN_OR_RETURN(dir::Unit unit, Payload<dir::Unit>(e));
      if (!Valid(group, unit.id())) return absl::OkStatus();
      store_.UpsertUnit(tx, group, unit.id(), unit.estate_id(), unit.version());
    } else if (type == "directory.units.imported") {
      WUYE_ASSIGN_OR_RETURN(ev::UnitsImported chunk, Payload<ev::UnitsImported>(e));
      for (const auto& unit : chunk.units()) {
        if (Valid(group, unit.id())) {
          store_.UpsertUnit(tx, group, unit.id(), unit.estate_id(), unit.version());
        }
      }
    } else if (type == "directory.resident.created" || type == "directory.resident.updated") {
      WUYE_ASSIGN_OR_RETURN(dir::Resident r, Payload<dir::Resident>(e));
      if (!Valid(group, r.id()) || !IsValidId(r.estate_id()) || !IsValidId(r.unit_id())) {
        return absl::OkStatus();
      }
      ResidentCopy copy;
      copy.id = r.id();
      copy.estate_id = r.estate_id();
      copy.unit_id = r.unit_id();
      copy.facts.role = static_cast<ResidentRole>(r.role());
      copy.facts.date_of_birth = Day(r.has_date_of_birth(), r.date_of_birth());
      copy.facts.lease_start = Day(r.has_lease_start(), r.lease_start());
      copy.facts.lease_end = Day(r.has_lease_end(), r.lease_end());
      copy.version = r.version();
      store_.UpsertResident(tx, group, copy);
    }
    return absl::OkStatus();
  }

 private:
  static bool Valid(const std::string& group, const std::string& id) {
    return IsValidId(group) && IsValidId(id);
  }
  EldercareStore store_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) { return handler->Apply(tx, event); };
}

}  // namespace wuye::eldercare
