// Work that is not one caller's request: publishing a charge, settling care days and
// renewing service years (the daily settlement, PeriodicWorker), and re-encrypting records
// to the active key (RotateKeys, wuye-eldercare-rotate). Ticks claim their rows with
// FOR UPDATE SKIP LOCKED, so replicas may run them at once.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/eldercare/eldercare.h"
#include "services/eldercare/eldercare_store.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/sealing.h"

namespace wuye::eldercare {

// Who a charge is for.
struct ChargeTarget {
  std::string group_id, estate_id, unit_id, resident_id, elder_id;
};

// Records the charge and appends "eldercare.fee.charged" with a new charge_id, in `tx`.
std::string PublishCharge(pqxx::work& tx, EldercareStore& store, const Outbox& outbox,
                          const ChargeTarget& target, const FeeLine& line, absl::Time now,
                          absl::string_view trace_id);

// Charges `days` (uncharged care days of ONE elder): per kind for the elder, and the
// clinic's management fee; marks them charged. Returns the number of charges published.
int ChargeCareDays(pqxx::work& tx, EldercareStore& store, const Outbox& outbox,
                   const std::vector<UnchargedDay>& days, absl::Time now,
                   absl::string_view trace_id);

// The daily settlement: care days before each estate's today, and service years due.
class Settlement {
 public:
  Settlement(Db& db, const Clock& clock);
  // One pass over at most `batch` care days and `batch` renewals; returns how many charges
  // it published.
  absl::StatusOr<int> Tick(int batch = 500);

 private:
  Db& db_;
  const Clock& clock_;
  EldercareStore store_;
  Outbox outbox_;
};

// The service's keyring ("eldercare"): WUYE_ELDERCARE_KEYS or --eldercare_keys_file, and
// WUYE_ELDERCARE_LOOKUP_KEY or --eldercare_lookup_key_file (shared/sealing.h).
// FAILED_PRECONDITION when no key is configured: the service and the rotation tool refuse
// to start.
absl::StatusOr<Keyring> KeyringFromEnvironment();

struct RotationResult {
  int reencrypted = 0;
  int64_t remaining = 0;
};

// Re-encrypts up to `batch` sealed values that are under another key than the active one,
// with an audit row per elder touched. A value that fails to open stops the batch
// (DATA_LOSS naming its place) and nothing of the batch is written.
absl::StatusOr<RotationResult> RotateBatch(Db& db, EldercareStore& store, const Keyring& keys,
                                           int batch, absl::Time now, const std::string& actor,
                                           const std::string& trace_id);

}  // namespace wuye::eldercare
