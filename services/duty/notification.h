// What a notification of the duty desk is (docs/api/duty.md "Notifications"): which task
// changes notify, the JSON body posted to the group's gateway, its signature, the rule for
// the gateway's URL and the retry schedule. Pure: no I/O, no clock reads.
//
// The body names the task's kind, title and place, role, level, assignees (staff ids) and
// acknowledgement due time: never a phone number, a name, an ID number or a health field
// (the task carries none: its title is the desk's, made from the kind and the place).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/duty/duty.h"

namespace wuye::duty {

// The headers of a POST to a gateway.
inline constexpr char kTimestampHeader[] = "X-Wuye-Timestamp";   // Unix seconds
inline constexpr char kSignatureHeader[] = "X-Wuye-Signature";   // "v1=<64 hex>"
inline constexpr char kIdempotencyHeader[] = "Idempotency-Key";  // the notification id
// The deployment's secret: from the environment or the file, at least this many bytes.
inline constexpr size_t kMinGatewaySecretBytes = 32;
inline constexpr size_t kMaxGatewayUrlBytes = 1024;

// The change a TaskChanged type notifies as ("raised", "escalated"); nullopt for the
// others (acknowledged, done: the screens show them, nobody is paged for them).
std::optional<absl::string_view> NotifyingChange(absl::string_view event_type);

// The JSON body of a notification: one object with notification_id, group_id, estate_id,
// task_id, task_version, change, kind (the kind's code), title, location (unit_id or
// common_area), role (the role's name), level, assignee_staff_ids, ack_due_time (RFC 3339,
// UTC), ack_due_local ("2026-03-02 17:05", in `zone`) and time_zone. Nothing else of the
// task goes in.
std::string NotificationBody(const std::string& notification_id, const std::string& group,
                             const pb::Task& task, absl::string_view change,
                             const std::string& zone_name);

// The key a group's gateway checks signatures with: lowercase hex of
// HMAC-SHA256(secret, "wuye.duty.gateway.v1/" + group_id). Each group's gateway gets its
// own key, so that one group's bridge cannot sign for another's.
std::string GroupGatewayKey(absl::string_view secret, absl::string_view group);
// "v1=" + lowercase hex of HMAC-SHA256(group_key, "<unix_seconds>." + body).
std::string SignatureOf(absl::string_view group_key, int64_t unix_seconds, absl::string_view body);

// A gateway URL: https://host[:port][/path][?query], at most kMaxGatewayUrlBytes, no user
// or password, no fragment, no white space or control characters; http:// only when
// `allow_http` (the deployment's --duty_gateway_allow_http, for local bridges and tests).
// "" is allowed (no gateway). Errors name `field`.
absl::Status CheckGatewayUrl(absl::string_view url, absl::string_view field, bool allow_http);

// The wait before the next attempt after `attempts` failed ones (1, 2, ...): base × 2^(n−1),
// at most `cap`, stretched by `jitter` (0 ≤ jitter < 1: up to a quarter more) so that rows
// failed together do not come back together.
absl::Duration RetryDelay(int attempts, absl::Duration base, absl::Duration cap, double jitter);

}  // namespace wuye::duty
