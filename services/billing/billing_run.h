// The billing run's executor: a PeriodicWorker tick that takes the oldest unfinished run
// (FOR UPDATE SKIP LOCKED, so replicas share the work and never run one chunk twice at
// once) and issues the bills of its next chunk of units in one set-based statement, in the
// same transaction as the run's progress. A crash loses at most the chunk in flight, which
// the next tick does again; ON CONFLICT DO NOTHING makes any overlap issue nothing new.
#pragma once

#include "absl/status/statusor.h"
#include "services/billing/billing_store.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::billing {

class BillingRunner {
 public:
  // `chunk_units` units per transaction.
  BillingRunner(Db& db, const Clock& clock, int chunk_units = 20000);

  // Runs one chunk of one run; returns 1 when it did something (the worker then ticks again
  // at once), 0 when no run is waiting.
  absl::StatusOr<int> Tick();

 private:
  Db& db_;
  const Clock& clock_;
  int chunk_units_;
  BillingStore store_;
  Outbox outbox_;
};

}  // namespace wuye::billing
