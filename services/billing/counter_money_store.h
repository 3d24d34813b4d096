// The SQL of the counter's money in billing (counter_money_flow.h): opening meter readings
// and the renovation deposit bills a payment settled. Every call takes the caller's group
// (or a unit of it, found through the group first) and filters by it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/billing/billing.h"
#include "services/billing/eldercare_money_store.h"
#include "shared/db.h"
#include "wuye/billing/v1/billing.pb.h"

namespace wuye::billing {

// A renovation deposit's charge bill, and whether its renovation's deposit was released.
struct DepositBill {
  ChargeBill bill;
  bool released = false;
};

class CounterMoneyStore {
 public:
  explicit CounterMoneyStore(Db& db);

  // Whether `unit` is a unit of another group than `group` in billing's copy.
  bool UnitOfAnotherGroup(pqxx::work& tx, const std::string& group, const std::string& unit);
  // Whether the unit has a reading of a meter of `kind` (opening or not).
  bool HasReadingOfKind(pqxx::work& tx, const std::string& unit, v1::MeterKind kind);
  // Files an opening reading (billable, consumption 0, amount 0) of the unit's meter
  // `meter_id` under `period` ("YYYY-MM-01"); false when the meter has a reading there.
  bool InsertOpeningReading(pqxx::work& tx, const std::string& group, const std::string& id,
                            const std::string& estate, const std::string& unit,
                            const std::string& meter_id, v1::MeterKind kind,
                            const std::string& period, int64_t reading_centi, absl::Time at);
  // The unit's latest opening reading of `kind` filed before `period`: the baseline of a
  // meter of that kind with no billable reading of its own yet.
  std::optional<PriorReading> OpeningReading(pqxx::work& tx, const std::string& unit,
                                             v1::MeterKind kind, const std::string& period);
  // Of `bill_ids`, the renovation deposit charge bills.
  std::vector<DepositBill> DepositBills(pqxx::work& tx, const std::string& group,
                                        const std::vector<std::string>& bill_ids);
};

}  // namespace wuye::billing
