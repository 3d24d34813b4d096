// The notification outlet of the duty desk (docs/api/duty.md "Notifications").
//
// A task change that notifies (NotifyingChange: raised, escalated) queues one row in the
// same transaction as the change (QueueNotification, from TaskFlow), when the group has a
// gateway URL (Settings.notification_gateway_url). The notifier job claims due rows one at
// a time with FOR UPDATE SKIP LOCKED (replicas share them), POSTs the row's body to the
// group's gateway, signed with the group's key (notification.h), with the row's id as
// Idempotency-Key, and marks it sent after a 2xx. A failed attempt comes back after an
// exponential backoff with a cap; after max_attempts, or max_age after it was queued, the
// row is FAILED: counted, logged and listed (ListNotifications), never dropped silently.
// A replica gone between the claim and the mark leaves a row that comes due again when its
// lease runs out; the gateway drops the repeat by its Idempotency-Key.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/duty/duty_store.h"
#include "services/duty/gateway_client.h"
#include "shared/clock.h"
#include "shared/db.h"

namespace wuye::duty {

// Queues the notification of `task`'s change `change` ("raised", "escalated") when the
// group has a gateway; false when it has none (or the task's version has one already).
bool QueueNotification(pqxx::work& tx, DutyStore& store, const std::string& group,
                       const pb::Task& task, absl::string_view change, absl::Time now);

struct NotifierOptions {
  // The deployment's gateway secret (WUYE_DUTY_GATEWAY_SECRET / --duty_gateway_secret_file).
  // "": nothing can be signed; every attempt fails "no gateway secret" and the rows end
  // FAILED, so that the missing secret shows.
  std::string secret;
  GatewayClientOptions http;
  // A claimed row's next attempt is this far ahead: longer than an attempt can take.
  absl::Duration lease = absl::Seconds(30);
  absl::Duration backoff_base = absl::Seconds(5);
  absl::Duration backoff_cap = absl::Minutes(10);
  int max_attempts = 12;
  absl::Duration max_age = absl::Hours(24);
};

// The deployment's options: the secret (environment, else file), timeouts and http:// from
// the flags --duty_gateway_*. An unreadable or short secret file is INVALID_ARGUMENT naming
// the flag; no secret at all is allowed (see NotifierOptions::secret) and logged at start.
absl::StatusOr<NotifierOptions> NotifierOptionsFromFlags();
// Whether this deployment allows http:// gateway URLs (--duty_gateway_allow_http).
bool GatewayHttpAllowed();

class Notifier {
 public:
  Notifier(Db& db, const Clock& clock, NotifierOptions options);

  // Fails rows past their maximum age, then sends up to `batch` due rows one by one;
  // returns how many rows it claimed. Sets the queue-age gauge.
  absl::StatusOr<int> Deliver(int batch = 20);

 private:
  Db& db_;
  DutyStore store_;
  const Clock& clock_;
  NotifierOptions options_;
  GatewayClient client_;
};

}  // namespace wuye::duty
