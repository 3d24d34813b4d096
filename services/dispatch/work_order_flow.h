// The write path of a work order that the handlers, the consumers and the timer ticks
// (dispatch_jobs.h) share: creating an order, choosing a worker, saving an order with its
// events.
#pragma once

#include <functional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/dispatch/dispatch_store.h"
#include "services/dispatch/work_order.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::dispatch {

class WorkOrderFlow {
 public:
  explicit WorkOrderFlow(Db& db);

  DispatchStore& store() { return store_; }

  // The policy in force: the documents' defaults, the group's, the estate's. Its zone (the
  // one the estate's clocks count in, as the directory's ExplainDeadline and intake count):
  // the directory's zone of the estate when the copy knows the estate; else the estate
  // override's, else the group's.
  pb::SlaPolicy EffectivePolicy(pqxx::work& tx, const std::string& group,
                                const std::string& estate);

  // The calendar and zone the estate's SLA clocks count on: the State Council's years, the
  // group's and the estate's imports over them (LoadWorkCalendar), in the policy's zone.
  SlaCalendar CalendarOf(pqxx::work& tx, const std::string& group,
                         const std::string& estate, const pb::SlaPolicy* policy = nullptr);

  // What the open clocks of the group's estate (every estate: "") count on changes in
  // `change` (a working calendar, or the zone they count in; issue 27). Takes the group's
  // calendar lock exclusive first (callers take it themselves before they read anything),
  // reads and locks the open clocks and what they count on, runs `change` (false: nothing
  // changed, nothing more is done), then re-times each (RetimeClock) from `at`, the
  // change's time (never after act.now); `zones_only`: only the orders whose zone changed.
  // An order whose due time moved is saved with its "retimed" step and event; why it
  // moved: `why`, and the two zones when they differ. Returns how many moved.
  absl::StatusOr<int> Retime(pqxx::work& tx, const std::string& group, const std::string& estate,
                             absl::Time at, bool zones_only, const std::string& why,
                             const Act& act, const std::string& trace_id,
                             const std::function<absl::StatusOr<bool>()>& change);

  // Creates a prepared order of `order.group_id()`: quotes paid work from the estate's
  // price, else the group's standard price (`strict_price`: no price, or no quantity for
  // a price per hour or m², is INVALID_ARGUMENT; else the quote stays 0 until the
  // agreement), starts its SLA clock at the order's received_time or `sla_start`, the
  // earlier, and assigns it automatically. Returns false and writes nothing when an order
  // of `origin_ref` exists.
  absl::StatusOr<bool> Create(pqxx::work& tx, pb::WorkOrder& order, pb::Origin origin,
                              const std::string& origin_ref, absl::Time sla_start,
                              bool strict_price, const Act& act, const std::string& trace_id);

  // Chooses among the eligible staff (not already on the order) and records the decision.
  // True when somebody was assigned; otherwise the order is WAITING.
  bool AutoAssign(pqxx::work& tx, pb::WorkOrder& order, const Act& act);

  // Saves the order, one version per new step since `steps_before`, and publishes each new
  // step as its event.
  // `policy`: the order's effective policy when the caller has it.
  void Save(pqxx::work& tx, pb::WorkOrder& order, int steps_before, absl::Time now,
            const std::string& trace_id, const pb::SlaPolicy* policy = nullptr);

  // The care staff on shift at the order's estate (skill ELDERLY_CARE), by id.
  std::vector<std::string> CareStaffOnShift(pqxx::work& tx, const pb::WorkOrder& order,
                                            absl::Time now);

  // After a completion: raises a preventive inspection after repeated repairs.
  absl::Status AfterCompletion(pqxx::work& tx, const pb::WorkOrder& order, const Act& act,
                               const std::string& trace_id);

  // The actor of what the service does by itself.
  static Act System(absl::Time now);

 private:
  // The automatic choice for the order, not yet recorded.
  pb::AssignmentDecision Choose(pqxx::work& tx, const pb::WorkOrder& order, absl::Time now);
  // Publishes the order's steps from `from_step` on, the first as version `first_version`.
  void Publish(pqxx::work& tx, const pb::WorkOrder& order, int from_step, int64_t first_version,
               absl::Time now, const std::string& trace_id);

  DispatchStore store_;
  Outbox outbox_;
};

}  // namespace wuye::dispatch
