// All of dispatch's SQL: named statements, every query filtered by group_id (the timer
// queries read across groups and hand each order back with its group).
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/dispatch/work_order.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye {
const MigrationSet& dispatch_migrations();
}  // namespace wuye

namespace wuye::dispatch {

struct ListFilter {
  std::string estate_id;  // "" = every estate of the group
  int state = 0;
  std::string worker_id;
  int priority = 0;
  std::string after;  // id
  int limit = 50;
};

// A price as billing publishes it: an estate's (estate_id set) or the group's standard.
struct BillingPrice {
  std::string estate_id, item_code, name, per;
  int64_t price_fen = 0;
  bool withdrawn = false;
  int64_t version = 0;
};

// Where a resident lives, in the directory copy.
struct ResidentPlace {
  std::string estate_id;
  std::string unit_id;  // "" when none
};

// What an estate's effective SLA policy is made of.
struct PolicyLayers {
  std::optional<pb::SlaPolicy> group, estate;
  std::string directory_zone;  // "" when unknown
};

class DispatchStore {
 public:
  explicit DispatchStore(Db& db);

  // -- the directory copy
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    const std::string& time_zone, int64_t version);
  void UpsertStaff(pqxx::work& tx, const std::string& group,
                   const ::wuye::events::v1::StaffChanged& staff);
  void UpsertShift(pqxx::work& tx, const std::string& group,
                   const ::wuye::events::v1::ShiftChanged& shift, bool deleted, int64_t version);
  void UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                  const std::string& estate_id, int64_t version);
  void UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                      const std::string& estate_id, const std::string& unit_id, int64_t version);
  // nullopt when the copy does not know the resident (of this group).
  std::optional<ResidentPlace> ResidentOf(pqxx::work& tx, const std::string& group,
                                          const std::string& resident);
  // The estate of a unit in the copy, "" when unknown (yet).
  std::string UnitEstate(pqxx::work& tx, const std::string& group, const std::string& unit);
  // The directory's zone of the estate, "" when unknown.
  std::string EstateZone(pqxx::work& tx, const std::string& group, const std::string& estate);

  // -- work orders
  // False when an order of the same origin_ref exists already (nothing written).
  bool Insert(pqxx::work& tx, const pb::WorkOrder& order, const std::string& origin_ref,
              absl::Time next_sla, absl::Time next_escalation);
  // `loads_changed`: workers were assigned or declined, or the order closed; their open
  // loads are then brought up to date.
  void Update(pqxx::work& tx, const pb::WorkOrder& order, absl::Time next_sla,
              absl::Time next_escalation, bool loads_changed = true);
  // Brings the assignments and open loads of the order's workers up to date.
  void SyncLoads(pqxx::work& tx, const pb::WorkOrder& order);
  std::optional<pb::WorkOrder> Get(pqxx::work& tx, const std::string& group, const std::string& id,
                                   bool for_update);
  // The order made of a source ("ticket:<id>", ...), locked.
  std::optional<pb::WorkOrder> GetByOrigin(pqxx::work& tx, const std::string& group,
                                           const std::string& origin_ref);
  std::vector<pb::WorkOrder> List(pqxx::work& tx, const std::string& group,
                                  const ListFilter& filter);
  void SaveSignatureImage(pqxx::work& tx, const std::string& group, const std::string& id,
                          const std::string& image);

  // -- assignment
  // Staff on shift at the estate at `now` with `skill`, not in `exclude`, with their open
  // load and last assignment.
  std::vector<Candidate> Eligible(pqxx::work& tx, const std::string& group,
                                  const std::string& estate, int skill, absl::Time now,
                                  const std::vector<std::string>& exclude);
  // Staff of the group known to the directory copy and active.
  bool StaffActive(pqxx::work& tx, const std::string& group, const std::string& staff_id);
  void SaveDecision(pqxx::work& tx, const std::string& group, const pb::AssignmentDecision& d);
  std::optional<pb::AssignmentDecision> Decision(pqxx::work& tx, const std::string& group,
                                                 const std::string& order_id);

  // -- policies and prices
  // estate "" = the group's default.
  std::optional<pb::SlaPolicy> Policy(pqxx::work& tx, const std::string& group,
                                      const std::string& estate);
  // The group's default, the estate's override and the directory's zone, in one query.
  PolicyLayers Layers(pqxx::work& tx, const std::string& group, const std::string& estate);
  pb::SlaPolicy PutPolicy(pqxx::work& tx, const std::string& group, pb::SlaPolicy policy,
                          absl::Time now);
  // What a paid job of `code` at `estate` is quoted at: the estate's published price, else
  // the group's standard price; nullopt when neither is known or the estate withdrew it.
  std::optional<ListPrice> QuotePrice(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, const std::string& code);
  // Billing's prices; a newer version wins.
  void PutBillingPrice(pqxx::work& tx, const std::string& group, const BillingPrice& price);
  void PutStandardPrice(pqxx::work& tx, const std::string& group, const BillingPrice& price);

  // -- SLA progress and pauses (issue 27)
  // The pause's row (the report's pause time), by its id.
  void PutPause(pqxx::work& tx, const pb::WorkOrder& order, const pb::Pause& pause);
  // The group's open orders whose clock counts (running or paused), of one estate or every
  // estate (""), locked.
  // The estate's open clocks of orders made before `before`, not locked (the report).
  std::vector<pb::WorkOrder> OpenClocksBefore(pqxx::work& tx, const std::string& group,
                                              const std::string& estate, absl::Time before);
  std::vector<pb::WorkOrder> OpenClocks(pqxx::work& tx, const std::string& group,
                                        const std::string& estate);
  // The group's list of pause reasons; nullopt: the seeded default.
  std::optional<pb::PauseReasons> PauseReasons(pqxx::work& tx, const std::string& group);
  pb::PauseReasons PutPauseReasons(pqxx::work& tx, const std::string& group,
                                   pb::PauseReasons reasons, absl::Time now);
  // The estates of the group that have orders.
  std::vector<std::string> OrderEstates(pqxx::work& tx, const std::string& group);
  // The report's figures of an estate for [from, to): per estate (staff_id "") and per worker.
  struct SlaRow {
    std::string staff_id;
    int orders = 0, met = 0, met_unpaused = 0, pauses = 0;
    absl::Duration paused;
  };
  std::vector<SlaRow> SlaRows(pqxx::work& tx, const std::string& group, const std::string& estate,
                              absl::Time from, absl::Time to, absl::Time now);

  // -- timers (across groups, FOR UPDATE SKIP LOCKED)
  std::vector<pb::WorkOrder> DueSla(pqxx::work& tx, absl::Time now, int limit);
  std::vector<pb::WorkOrder> DueEscalations(pqxx::work& tx, absl::Time now, int limit);
  std::vector<pb::WorkOrder> Waiting(pqxx::work& tx, int limit);

  // -- repeat repairs
  int CompletedRepairs(pqxx::work& tx, const std::string& group, const std::string& unit,
                       int category, absl::Time since);
  bool PreventiveRaised(pqxx::work& tx, const std::string& group, const std::string& unit,
                        int category, absl::Time since);
};

}  // namespace wuye::dispatch
