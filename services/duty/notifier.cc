#include "services/duty/notifier.h"

#include <cstdlib>
#include <random>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/duty/notification.h"
#include "services/duty/notification_store.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/secret.h"
#include "shared/status.h"

ABSL_FLAG(std::string, duty_gateway_secret_file, "",
          "file holding the secret the notification gateways' keys derive from, at least 32 "
          "bytes (or set WUYE_DUTY_GATEWAY_SECRET)");
ABSL_FLAG(bool, duty_gateway_allow_http, false,
          "allow http:// notification gateway URLs (local bridges, tests); https:// otherwise");
ABSL_FLAG(absl::Duration, duty_gateway_connect_timeout, absl::Seconds(3),
          "connect timeout of a POST to a notification gateway");
ABSL_FLAG(absl::Duration, duty_gateway_timeout, absl::Seconds(10),
          "total timeout of a POST to a notification gateway");
ABSL_FLAG(std::string, duty_gateway_ca_file, "",
          "PEM CA bundle that gateways' certificates are verified against, instead of the "
          "system's (a private CA)");
ABSL_FLAG(int, duty_notify_max_attempts, 12, "attempts before a notification is given up (FAILED)");
ABSL_FLAG(absl::Duration, duty_notify_max_age, absl::Hours(24),
          "age after which a notification not yet sent is given up (FAILED)");

namespace wuye::duty {
namespace {

constexpr char kSentTotal[] = "wuye_duty_notifications_total{outcome=\"sent\"}";
constexpr char kRetriedTotal[] = "wuye_duty_notifications_total{outcome=\"retried\"}";
constexpr char kFailedTotal[] = "wuye_duty_notifications_total{outcome=\"failed\"}";
constexpr char kQueueAge[] = "wuye_duty_notification_queue_age_seconds";

double Jitter() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

bool QueueNotification(pqxx::work& tx, DutyStore& store, const std::string& group,
                       const pb::Task& task, absl::string_view change, absl::Time now) {
  pb::Settings settings = store.GetSettings(tx, group);
  if (settings.notification_gateway_url().empty()) return false;
  std::optional<EstateCopy> estate = store.GetEstate(tx, group, task.estate_id());
  std::string id = NewId(now);
  std::string body =
      NotificationBody(id, group, task, change, estate ? estate->time_zone : std::string());
  return NotificationStore::Enqueue(tx, id, group, task.estate_id(), task.id(), task.version(),
                                    std::string(change), body, now);
}

bool GatewayHttpAllowed() { return absl::GetFlag(FLAGS_duty_gateway_allow_http); }

absl::StatusOr<NotifierOptions> NotifierOptionsFromFlags() {
  NotifierOptions o;
  if (const char* env = std::getenv("WUYE_DUTY_GATEWAY_SECRET"); env != nullptr && *env != '\0') {
    o.secret = std::string(absl::StripTrailingAsciiWhitespace(env));
    if (o.secret.size() < kMinGatewaySecretBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("WUYE_DUTY_GATEWAY_SECRET: at least ", kMinGatewaySecretBytes, " bytes"));
    }
  } else if (std::string file = absl::GetFlag(FLAGS_duty_gateway_secret_file); !file.empty()) {
    WUYE_ASSIGN_OR_RETURN(
        o.secret, ReadSecretFile("--duty_gateway_secret_file", file, kMinGatewaySecretBytes));
  }
  o.http.allow_http = GatewayHttpAllowed();
  o.http.connect_timeout = absl::GetFlag(FLAGS_duty_gateway_connect_timeout);
  o.http.total_timeout = absl::GetFlag(FLAGS_duty_gateway_timeout);
  o.http.ca_file = absl::GetFlag(FLAGS_duty_gateway_ca_file);
  if (!o.http.ca_file.empty()) {
    // Read now, so that a wrong path stops the start rather than every attempt.
    WUYE_RETURN_IF_ERROR(ReadSecretFile("--duty_gateway_ca_file", o.http.ca_file).status());
  }
  if (o.http.connect_timeout <= absl::ZeroDuration() ||
      o.http.total_timeout < o.http.connect_timeout || o.http.total_timeout > absl::Minutes(2)) {
    return absl::InvalidArgumentError(
        "--duty_gateway_timeout: from --duty_gateway_connect_timeout (> 0) to 2 minutes");
  }
  // Twice an attempt, and room for the replicas' clocks to differ.
  o.lease = o.http.total_timeout * 2 + absl::Seconds(10);
  o.max_attempts = absl::GetFlag(FLAGS_duty_notify_max_attempts);
  if (o.max_attempts < 1 || o.max_attempts > 100) {
    return absl::InvalidArgumentError("--duty_notify_max_attempts: from 1 to 100");
  }
  o.max_age = absl::GetFlag(FLAGS_duty_notify_max_age);
  if (o.max_age < absl::Minutes(1)) {
    return absl::InvalidArgumentError("--duty_notify_max_age: at least 1 minute");
  }
  if (o.secret.empty()) {
    LogWarn("duty.notifications.no_secret")
        .Str("effect", "notifications to gateways fail until WUYE_DUTY_GATEWAY_SECRET is set");
  }
  return o;
}

Notifier::Notifier(Db& db, const Clock& clock, NotifierOptions options)
    : db_(db), store_(db), clock_(clock), options_(std::move(options)), client_(options_.http) {}

absl::StatusOr<int> Notifier::Deliver(int batch) {
  absl::Time now = clock_.Now();
  int expired = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    expired = NotificationStore::Expire(tx, now - options_.max_age, now, 100);
    return absl::OkStatus();
  }));
  if (expired > 0) {
    Metrics::Global().Add(kFailedTotal, expired);
    LogError("duty.notifications.expired").Int("count", expired);
  }

  int claimed = 0;
  for (; claimed < batch; ++claimed) {
    std::optional<ClaimedNotification> n;
    std::string url;
    now = clock_.Now();
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
      n = NotificationStore::ClaimOne(tx, now, now + options_.lease, NewId(now));
      // The URL of the row's own group, read now: a fixed URL serves the rows waiting.
      if (n) url = store_.GetSettings(tx, n->group_id).notification_gateway_url();
      return absl::OkStatus();
    }));
    if (!n) break;

    GatewayAnswer answer;
    if (url.empty()) {
      answer.error = "no gateway URL in the group's settings";
    } else if (options_.secret.empty()) {
      answer.error = "no gateway secret in this deployment";
    } else if (!options_.http.allow_http && !absl::StartsWithIgnoreCase(url, "https://")) {
      answer.error = "http:// is off in this deployment";
    } else {
      int64_t ts = absl::ToUnixSeconds(clock_.Now());
      std::string key = GroupGatewayKey(options_.secret, n->group_id);
      answer = client_.Post(url,
                            {{kTimestampHeader, absl::StrCat(ts)},
                             {kSignatureHeader, SignatureOf(key, ts, n->body)},
                             {kIdempotencyHeader, n->id}},
                            n->body);
      if (answer.error.empty() && !answer.ok())
        answer.error = absl::StrCat("HTTP ", answer.http_status);
    }

    absl::Time done = clock_.Now();
    enum { kSent, kRetry, kFailed, kLost } outcome = kLost;
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
      if (answer.ok()) {
        outcome = NotificationStore::MarkSent(tx, *n, answer.http_status, done) ? kSent : kLost;
      } else if (n->attempts >= options_.max_attempts) {
        outcome = NotificationStore::MarkFailed(tx, *n, answer.http_status, answer.error, done)
                      ? kFailed
                      : kLost;
      } else {
        absl::Time next =
            done + RetryDelay(n->attempts, options_.backoff_base, options_.backoff_cap, Jitter());
        outcome = NotificationStore::MarkRetry(tx, *n, answer.http_status, answer.error, next)
                      ? kRetry
                      : kLost;
      }
      return absl::OkStatus();
    }));
    switch (outcome) {
      case kSent:
        Metrics::Global().Add(kSentTotal);
        break;
      case kRetry:
        Metrics::Global().Add(kRetriedTotal);
        LogWarn("duty.notification.retry")
            .Str("notification_id", n->id)
            .Str("group_id", n->group_id)
            .Int("attempts", n->attempts)
            .Str("error", answer.error);
        break;
      case kFailed:
        Metrics::Global().Add(kFailedTotal);
        LogError("duty.notification.failed")
            .Str("notification_id", n->id)
            .Str("group_id", n->group_id)
            .Int("attempts", n->attempts)
            .Str("error", answer.error);
        break;
      case kLost:  // another claimer took it over (its lease ran out meanwhile)
        LogWarn("duty.notification.claim_lost").Str("notification_id", n->id);
        break;
    }
  }

  std::optional<absl::Time> oldest;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    oldest = NotificationStore::OldestPending(tx);
    return absl::OkStatus();
  }));
  Metrics::Global().Set(
      kQueueAge, oldest ? std::max(0.0, absl::ToDoubleSeconds(clock_.Now() - *oldest)) : 0.0);
  return claimed;
}

}  // namespace wuye::duty
