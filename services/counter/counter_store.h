// The counter's base tables: the group's settings and the copies it keeps of the
// directory (estates, units, residents, staff) and of intake (tickets). Every call takes the
// caller's group and filters by it. Each area has its own store beside its rules
// (handover_store.h, renovation_store.h, cases_store.h, registers_store.h,
// notices_store.h).
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/counter/counter.h"
#include "shared/db.h"
#include "shared/migrate.h"

namespace wuye {
const MigrationSet& counter_migrations();
}

namespace wuye::counter {

// The directory's unit as the counter knows it.
struct UnitCopy {
  std::string id, estate_id, number;
  bool handed_over = false;
  std::optional<absl::CivilDay> handover_date, move_in_date;
  int occupancy = 0;  // events.v1.Occupancy
  int64_t version = 0;
};

// The directory's resident, only what the counter checks (no name, no phone).
struct ResidentCopy {
  std::string id, estate_id, unit_id;
  int role = 0;  // events.v1.ResidentRole
  std::optional<absl::CivilDay> birth_date, move_out_date;
  int64_t version = 0;
};

struct StaffCopy {
  std::string id;
  std::vector<std::string> estate_ids;
  bool active = false;
  int64_t version = 0;
};

struct TicketCopy {
  std::string id, estate_id;
  bool open = false;
};

class CounterStore {
 public:
  explicit CounterStore(Db& db);

  pb::Settings GetSettings(pqxx::work& tx, const std::string& group);
  void PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s, absl::Time now);

  // ---- copies, each changed only by a newer version ----
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    const std::string& time_zone, int64_t version);
  void UpsertUnit(pqxx::work& tx, const std::string& group, const UnitCopy& u);
  void UpsertResident(pqxx::work& tx, const std::string& group, const ResidentCopy& r);
  void RemoveResident(pqxx::work& tx, const std::string& group, const std::string& id,
                      int64_t version);
  void UpsertStaff(pqxx::work& tx, const std::string& group, const StaffCopy& s);
  void UpsertTicket(pqxx::work& tx, const std::string& group, const TicketCopy& t, int64_t version);

  // The estate's zone (the default when unknown, shared/zone.h).
  absl::TimeZone Zone(pqxx::work& tx, const std::string& group, const std::string& estate);
  std::optional<UnitCopy> GetUnit(pqxx::work& tx, const std::string& group, const std::string& id);
  std::optional<ResidentCopy> GetResident(pqxx::work& tx, const std::string& group,
                                          const std::string& id);
  std::optional<StaffCopy> GetStaff(pqxx::work& tx, const std::string& group,
                                    const std::string& id);
  std::optional<TicketCopy> GetTicket(pqxx::work& tx, const std::string& group,
                                      const std::string& id);
  // Units of the estate known to the counter (a survey's households).
  int32_t CountUnits(pqxx::work& tx, const std::string& group, const std::string& estate);
};

}  // namespace wuye::counter
