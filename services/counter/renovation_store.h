// The counter's tables of renovation: applications, consent, admissions, patrols, acceptance. Every
// call takes the caller's group and filters by it (the daily check's claim excepted: it works
// for every group).
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/counter/renovation.h"
#include "shared/db.h"
#include "shared/paging.h"

namespace wuye::counter {

// A renovation due for the daily patrol check.
struct DueCheck {
  std::string id, group_id, estate_id, unit_id, time_zone;
  absl::CivilDay next_day, end_day;
};

class RenovationStore {
 public:
  explicit RenovationStore(Db& db);

  void Insert(pqxx::work& tx, const std::string& group, const pb::Renovation& r, absl::Time now);
  // With its counts (cases open and all, patrols missed); locked when `for_update`.
  std::optional<pb::Renovation> Get(pqxx::work& tx, const std::string& group, const std::string& id,
                                    bool for_update);
  // Writes `r` (its version already raised); `next_check` sets the daily check's next day.
  void Update(pqxx::work& tx, const std::string& group, const pb::Renovation& r, absl::Time now,
              std::optional<absl::CivilDay> next_check = std::nullopt);
  // The estate's renovations by id, filtered by state and unit when given.
  std::vector<pb::Renovation> List(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, int state, const std::string& unit,
                                   const PageRequest& page);
  // Whether the unit has a renovation applied or approved.
  bool UnitBusy(pqxx::work& tx, const std::string& group, const std::string& unit);

  void InsertAdmission(pqxx::work& tx, const std::string& group, const pb::Admission& a);
  void InsertPatrol(pqxx::work& tx, const std::string& group, const pb::Patrol& p,
                    absl::CivilDay day);
  std::vector<pb::Patrol> ListPatrols(pqxx::work& tx, const std::string& group,
                                      const std::string& renovation, const PageRequest& page);

  // ---- the daily patrol check (counter_jobs.h) ----
  // Approved renovations whose next unchecked day has ended in their estate's time at `now`
  // (at most `batch`), locked FOR UPDATE SKIP LOCKED so that replicas share them.
  std::vector<DueCheck> ClaimDue(pqxx::work& tx, absl::Time now, int batch);
  bool PatrolledOn(pqxx::work& tx, const std::string& renovation, absl::CivilDay day);
  // Records the day as missed; false when it already was.
  bool InsertMissed(pqxx::work& tx, const std::string& group, const std::string& renovation,
                    absl::CivilDay day, absl::Time now);
  void SetNextCheck(pqxx::work& tx, const std::string& renovation, absl::CivilDay day);
};

}  // namespace wuye::counter
