// The only code that knows the notifications table (migrations/006_notifications.sql):
// the queue of task notifications the notifier job sends to each group's gateway.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "shared/db.h"

namespace wuye::duty {

enum class NotificationState { kPending = 1, kSent = 2, kFailed = 3 };

// A row as the notifier claims it.
struct ClaimedNotification {
  std::string id;
  std::string group_id;
  std::string body;
  int attempts = 0;  // this one included
  std::string claim;
};

// A row as a list shows it (no body).
struct NotificationRow {
  std::string id;
  std::string estate_id;
  std::string task_id;
  int64_t task_version = 0;
  std::string change;
  NotificationState state = NotificationState::kPending;
  int attempts = 0;
  std::string last_error;
  int http_status = 0;
  absl::Time created_at, next_attempt_at, sent_at, failed_at;
};

class NotificationStore {
 public:
  // Registers the statements on `db` (DutyStore's constructor does it, so that every
  // holder of a DutyStore can queue).
  static void Prepare(Db& db);

  // Queues a notification due at `now`; false when the task's version has one already.
  static bool Enqueue(pqxx::work& tx, const std::string& id, const std::string& group,
                      const std::string& estate, const std::string& task_id, int64_t task_version,
                      const std::string& change, const std::string& body, absl::Time now);

  // Across groups: pending rows queued at or before `cutoff` and not out on a claim are
  // failed ("expired"); returns how many (at most `limit`).
  static int Expire(pqxx::work& tx, absl::Time cutoff, absl::Time now, int limit);
  // Across groups: one due pending row, claimed with SKIP LOCKED: its attempts counted, a
  // fresh `claim` set and its next attempt moved to `lease_until` (a claimer gone mid-send
  // leaves a row that comes due again then).
  static std::optional<ClaimedNotification> ClaimOne(pqxx::work& tx, absl::Time now,
                                                     absl::Time lease_until,
                                                     const std::string& claim);
  // The outcome of a claimed attempt; each is false when the claim is no longer the row's
  // (another claimer took it over) and then changes nothing.
  static bool MarkSent(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                       absl::Time now);
  static bool MarkRetry(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                        const std::string& error, absl::Time next_attempt);
  static bool MarkFailed(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                         const std::string& error, absl::Time now);
  // Across groups: when the oldest pending row was queued, if any.
  static std::optional<absl::Time> OldestPending(pqxx::work& tx);

  // The group's rows, newest first, optionally of one state and one task; paged by id
  // (`before`: the last id of the previous page, "" for the first).
  static std::vector<NotificationRow> List(pqxx::work& tx, const std::string& group, int state,
                                           const std::string& task_id, const std::string& before,
                                           int limit);
  static std::optional<NotificationRow> Get(pqxx::work& tx, const std::string& group,
                                            const std::string& id, bool for_update);
  // A failed row back to pending, due at `now`, its attempts and age counted afresh.
  static void Requeue(pqxx::work& tx, const std::string& group, const std::string& id,
                      absl::Time now);
};

}  // namespace wuye::duty
