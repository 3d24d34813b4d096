#include "services/duty/notification_store.h"

#include "absl/strings/str_cat.h"
#include "shared/sql.h"

namespace wuye::duty {
namespace {

using sql::Micros;
using sql::Text;
using sql::TimeOf;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

const sql::Statement kEnqueue = statements.Add(
    "du_notification_enqueue",
    "INSERT INTO notifications (id, group_id, estate_id, task_id, task_version, change, body, "
    "state, next_attempt_at, queued_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, "
    WUYE_SQL_TIME("$8") ", " WUYE_SQL_TIME("$8") ", " WUYE_SQL_TIME("$8") ") "
    "ON CONFLICT (group_id, task_id, task_version) DO NOTHING");

const sql::Statement kExpire = statements.Add(
    "du_notification_expire",
    "UPDATE notifications SET state = 3, failed_at = " WUYE_SQL_TIME("$2") ", claim = NULL, "
    "last_error = 'expired: not sent within the maximum age' WHERE id IN (SELECT id FROM "
    "notifications WHERE state = 1 AND queued_at <= " WUYE_SQL_TIME("$1") " AND next_attempt_at "
    "<= " WUYE_SQL_TIME("$2") " ORDER BY queued_at LIMIT $3 FOR UPDATE SKIP LOCKED)");

const sql::Statement kClaim = statements.Add(
    "du_notification_claim",
    "UPDATE notifications SET attempts = attempts + 1, claim = $3, next_attempt_at = "
    WUYE_SQL_TIME("$2") " WHERE id = (SELECT id FROM notifications WHERE state = 1 AND "
    "next_attempt_at <= " WUYE_SQL_TIME("$1") " ORDER BY next_attempt_at LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) RETURNING id, group_id, body, attempts");

const sql::Statement kMarkSent = statements.Add(
    "du_notification_sent",
    "UPDATE notifications SET state = 2, sent_at = " WUYE_SQL_TIME("$4") ", http_status = $3, "
    "last_error = '', claim = NULL WHERE id = $1 AND claim = $2 AND state = 1");

const sql::Statement kMarkRetry = statements.Add(
    "du_notification_retry",
    "UPDATE notifications SET next_attempt_at = " WUYE_SQL_TIME("$5") ", http_status = $3, "
    "last_error = $4, claim = NULL WHERE id = $1 AND claim = $2 AND state = 1");

const sql::Statement kMarkFailed = statements.Add(
    "du_notification_failed",
    "UPDATE notifications SET state = 3, failed_at = " WUYE_SQL_TIME("$5") ", http_status = $3, "
    "last_error = $4, claim = NULL WHERE id = $1 AND claim = $2 AND state = 1");

const sql::Statement kOldest = statements.Add(
    "du_notification_oldest",
    "SELECT " WUYE_SQL_MICROS("min(queued_at)") " FROM notifications WHERE state = 1");

constexpr char kRowCols[] =
    "id, estate_id, task_id, task_version, change, state, attempts, last_error, "
    "http_status, " WUYE_SQL_MICROS("created_at") ", " WUYE_SQL_MICROS(
        "next_attempt_at") ", " WUYE_SQL_MICROS("sent_at") ", " WUYE_SQL_MICROS("failed_at");

const sql::Statement kList = statements.Add(
    "du_notification_list",
    absl::StrCat(
        "SELECT ", kRowCols,
        " FROM notifications WHERE group_id = $1 AND ($2 = 0 OR "
        "state = $2) AND ($3 = '' OR task_id = NULLIF($3, '')::uuid) AND id < " WUYE_SQL_BEFORE(
            "$4") " ORDER BY id DESC LIMIT $5"));

const sql::Statement kGet = statements.Add(
    "du_notification_get",
    absl::StrCat("SELECT ", kRowCols, " FROM notifications WHERE group_id = $1 AND id = $2"));

const sql::Statement kGetForUpdate =
    statements.Add("du_notification_get_for_update",
                   absl::StrCat("SELECT ", kRowCols,
                                " FROM notifications WHERE group_id = $1 AND id = $2 FOR UPDATE"));

const sql::Statement kRequeue = statements.Add(
    "du_notification_requeue",
    "UPDATE notifications SET state = 1, attempts = 0, claim = NULL, failed_at = NULL, "
    "next_attempt_at = " WUYE_SQL_TIME("$3") ", queued_at = " WUYE_SQL_TIME("$3") " "
    "WHERE group_id = $1 AND id = $2 AND state = 3");

NotificationRow RowOf(const pqxx::row& r) {
  NotificationRow n;
  n.id = Text(r[0]);
  n.estate_id = Text(r[1]);
  n.task_id = Text(r[2]);
  n.task_version = r[3].as<int64_t>();
  n.change = Text(r[4]);
  n.state = static_cast<NotificationState>(r[5].as<int>());
  n.attempts = r[6].as<int>();
  n.last_error = Text(r[7]);
  n.http_status = r[8].as<int>();
  n.created_at = TimeOf(r[9]);
  n.next_attempt_at = TimeOf(r[10]);
  n.sent_at = TimeOf(r[11]);
  n.failed_at = TimeOf(r[12]);
  return n;
}

}  // namespace

void NotificationStore::Prepare(Db& db) { statements.PrepareOn(db); }

bool NotificationStore::Enqueue(pqxx::work& tx, const std::string& id, const std::string& group,
                                const std::string& estate, const std::string& task_id,
                                int64_t task_version, const std::string& change,
                                const std::string& body, absl::Time now) {
  return tx.exec_prepared(kEnqueue, id, group, estate, task_id, task_version, change, body,
                          Micros(now))
             .affected_rows() == 1;
}

int NotificationStore::Expire(pqxx::work& tx, absl::Time cutoff, absl::Time now, int limit) {
  return static_cast<int>(
      tx.exec_prepared(kExpire, Micros(cutoff), Micros(now), limit).affected_rows());
}

std::optional<ClaimedNotification> NotificationStore::ClaimOne(pqxx::work& tx, absl::Time now,
                                                               absl::Time lease_until,
                                                               const std::string& claim) {
  pqxx::result r = tx.exec_prepared(kClaim, Micros(now), Micros(lease_until), claim);
  if (r.empty()) return std::nullopt;
  ClaimedNotification n;
  n.id = Text(r[0][0]);
  n.group_id = Text(r[0][1]);
  n.body = Text(r[0][2]);
  n.attempts = r[0][3].as<int>();
  n.claim = claim;
  return n;
}

bool NotificationStore::MarkSent(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                                 absl::Time now) {
  return tx.exec_prepared(kMarkSent, n.id, n.claim, http_status, Micros(now)).affected_rows() == 1;
}

bool NotificationStore::MarkRetry(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                                  const std::string& error, absl::Time next_attempt) {
  return tx.exec_prepared(kMarkRetry, n.id, n.claim, http_status, error, Micros(next_attempt))
             .affected_rows() == 1;
}

bool NotificationStore::MarkFailed(pqxx::work& tx, const ClaimedNotification& n, int http_status,
                                   const std::string& error, absl::Time now) {
  return tx.exec_prepared(kMarkFailed, n.id, n.claim, http_status, error, Micros(now))
             .affected_rows() == 1;
}

std::optional<absl::Time> NotificationStore::OldestPending(pqxx::work& tx) {
  pqxx::result r = tx.exec_prepared(kOldest);
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return TimeOf(r[0][0]);
}

std::vector<NotificationRow> NotificationStore::List(pqxx::work& tx, const std::string& group,
                                                     int state, const std::string& task_id,
                                                     const std::string& before, int limit) {
  std::vector<NotificationRow> out;
  for (const pqxx::row& r : tx.exec_prepared(kList, group, state, task_id, before, limit)) {
    out.push_back(RowOf(r));
  }
  return out;
}

std::optional<NotificationRow> NotificationStore::Get(pqxx::work& tx, const std::string& group,
                                                      const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kGetForUpdate : kGet, group, id);
  if (r.empty()) return std::nullopt;
  return RowOf(r[0]);
}

void NotificationStore::Requeue(pqxx::work& tx, const std::string& group, const std::string& id,
                                absl::Time now) {
  tx.exec_prepared(kRequeue, group, id, Micros(now));
}

}  // namespace wuye::duty
