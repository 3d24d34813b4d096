#include "services/duty/notification.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/crypto.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::duty {

std::optional<absl::string_view> NotifyingChange(absl::string_view event_type) {
  if (event_type == "duty.task.raised") return "raised";
  if (event_type == "duty.task.escalated") return "escalated";
  return std::nullopt;
}

std::string NotificationBody(const std::string& notification_id, const std::string& group,
                             const pb::Task& task, absl::string_view change,
                             const std::string& zone_name) {
  const KindRule* kind = FindKind(task.kind());
  absl::Time due = FromProtoTime(task.ack_due_time());
  absl::TimeZone zone = EstateZone(zone_name);
  nlohmann::json location = nlohmann::json::object();
  if (task.location().has_unit_id()) location["unit_id"] = task.location().unit_id();
  if (task.location().has_common_area()) location["common_area"] = task.location().common_area();
  nlohmann::json body = {
      {"notification_id", notification_id},
      {"group_id", group},
      {"estate_id", task.estate_id()},
      {"task_id", task.id()},
      {"task_version", task.version()},
      {"change", std::string(change)},
      {"kind", kind == nullptr ? std::string() : std::string(kind->code)},
      {"title", task.title()},
      {"location", location},
      {"role", std::string(RoleName(task.role()))},
      {"level", task.level()},
      {"assignee_staff_ids",
       std::vector<std::string>(task.assignee_ids().begin(), task.assignee_ids().end())},
      {"ack_due_time", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", due, absl::UTCTimeZone())},
      {"ack_due_local", absl::FormatTime("%Y-%m-%d %H:%M", due, zone)},
      {"time_zone", zone.name()},
  };
  return body.dump();
}

std::string GroupGatewayKey(absl::string_view secret, absl::string_view group) {
  return absl::BytesToHexString(HmacSha256(secret, absl::StrCat("wuye.duty.gateway.v1/", group)));
}

std::string SignatureOf(absl::string_view group_key, int64_t unix_seconds, absl::string_view body) {
  return absl::StrCat(
      "v1=", absl::BytesToHexString(HmacSha256(group_key, absl::StrCat(unix_seconds, ".", body))));
}

absl::Status CheckGatewayUrl(absl::string_view url, absl::string_view field, bool allow_http) {
  if (url.empty()) return absl::OkStatus();
  if (url.size() > kMaxGatewayUrlBytes) {
    return FieldError(field, absl::StrCat("at most ", kMaxGatewayUrlBytes, " characters"));
  }
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return FieldError(field, "no spaces or control characters");
  }
  absl::string_view rest;
  if (absl::StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (absl::StartsWith(url, "http://")) {
    if (!allow_http)
      return FieldError(field, "must be https:// (http:// is off in this deployment)");
    rest = url.substr(7);
  } else {
    return FieldError(field, "must be an https:// URL");
  }
  if (absl::StrContains(url, "#")) return FieldError(field, "no fragment");
  absl::string_view authority = rest.substr(0, std::min(rest.find_first_of("/?"), rest.size()));
  if (absl::StrContains(authority, "@")) return FieldError(field, "no user or password");
  absl::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) return FieldError(field, "a bracketed host must close");
    absl::string_view after = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!after.empty() && after.front() != ':') return FieldError(field, "not a host[:port]");
    authority = after;
  } else {
    size_t colon = host.find(':');
    authority = colon == absl::string_view::npos ? absl::string_view() : host.substr(colon);
    host = host.substr(0, std::min(colon, host.size()));
  }
  if (host.empty() || host == "[]") return FieldError(field, "a host is required");
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '[' &&
        c != ']' && c != ':') {
      return FieldError(field, "the host has a character no host name has");
    }
  }
  if (!authority.empty()) {  // ":port"
    absl::string_view port = authority.substr(1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return FieldError(field, "the port must be a number");
    }
  }
  return absl::OkStatus();
}

absl::Duration RetryDelay(int attempts, absl::Duration base, absl::Duration cap, double jitter) {
  absl::Duration d = base;
  for (int i = 1; i < attempts && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return d + d * (jitter / 4);
}

}  // namespace wuye::duty
