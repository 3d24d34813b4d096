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

// A month's collection (收费率 and the share of owners in arrears, 000_… 二.10) is fixed at
// its close, the end of its due day plus the group's grace, by the service itself: this
// PeriodicWorker tick takes one month past its close that is not fixed yet (FOR UPDATE SKIP
// LOCKED), computes its figures as of the close, stores them and publishes them (final).
// The months are the rows of collection_reports, made by the billing run (and by
// ReportCollection); the row lives in the database, so a restart loses nothing.
class CollectionCloser {
 public:
  CollectionCloser(Db& db, const Clock& clock);
  // 1 when it fixed a month, 0 when none is due.
  absl::StatusOr<int> Tick();

 private:
  Db& db_;
  const Clock& clock_;
  BillingStore store_;
  Outbox outbox_;
};

// Computes the month's figures as of `close`, stores them as fixed and publishes them
// (final); fills `out` (estate, period, figures, rates, as_of, close_time, version).
void FixCollection(pqxx::work& tx, BillingStore& store, Outbox& outbox, const std::string& group,
                   const std::string& estate, const wuye::common::v1::Month& month,
                   absl::Time close, absl::Time now, const std::string& trace_id,
                   v1::CollectionReport* out);
// Appends "billing.collection.reported" for `report` (subject `<estate>/<yyyy-mm>`, its
// version).
void PublishCollection(pqxx::work& tx, Outbox& outbox, const std::string& group,
                       const v1::CollectionReport& report, absl::Time now,
                       const std::string& trace_id);

}  // namespace wuye::billing
