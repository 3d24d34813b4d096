#include "services/gateway/console_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "shared/status.h"

namespace wuye::gateway {
namespace {

// The host of "scheme://host[:port]/…" without the port ("[::1]" keeps its brackets).
absl::string_view HostOf(absl::string_view authority) {
  if (absl::StartsWith(authority, "[")) return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

}  // namespace

std::string OriginOf(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

absl::Status ValidateConsoleOidc(const ConsoleOidc& oidc) {
  if (!oidc.configured()) {
    if (!oidc.client_id.empty()) return FieldError("oidc_client_id", "needs --oidc_issuer");
    return absl::OkStatus();
  }
  absl::string_view rest = oidc.issuer;
  const bool https = absl::ConsumePrefix(&rest, "https://");
  if (!https && !absl::ConsumePrefix(&rest, "http://")) {
    return FieldError("oidc_issuer", "want https://host[:port][/path], the provider's issuer identifier");
  }
  if (absl::StrContains(oidc.issuer, '?') || absl::StrContains(oidc.issuer, '#')) {
    return FieldError("oidc_issuer", "an issuer has no query or fragment");
  }
  for (char c : oidc.issuer) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ';' || c == ',' || c == '\'') {
      return FieldError("oidc_issuer", "want printable ASCII without quotes, commas, semicolons or spaces");
    }
  }
  const absl::string_view authority = rest.substr(0, rest.find('/'));
  const absl::string_view host = HostOf(authority);
  if (host.empty()) return FieldError("oidc_issuer", "no host");
  if (!https && host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
    return FieldError("oidc_issuer", "must be https (plain http only on a loopback host, for tests)");
  }
  if (oidc.client_id.empty()) return FieldError("oidc_client_id", "required with --oidc_issuer");
  for (char c : oidc.client_id) {
    if (c < 0x20 || c >= 0x7f) return FieldError("oidc_client_id", "want printable ASCII");
  }
  bool openid = false;
  for (absl::string_view scope : absl::StrSplit(oidc.scopes, ' ', absl::SkipEmpty())) {
    for (char c : scope) {
      if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        return FieldError("oidc_scopes", "want space-separated printable words");
      }
    }
    openid = openid || scope == "openid";
  }
  if (!openid) return FieldError("oidc_scopes", "must include openid");
  return absl::OkStatus();
}

ConsoleConfig::ConsoleConfig(ConsoleOidc oidc) {
  nlohmann::json body = nlohmann::json::object();
  if (oidc.configured()) {
    body["oidc"] = {{"issuer", oidc.issuer}, {"clientId", oidc.client_id}, {"scopes", oidc.scopes}};
  }
  body_ = body.dump();
}

HttpResponse ConsoleConfig::Answer(const HttpRequest& request) const {
  HttpResponse r;
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.headers.emplace_back("Allow", "GET, HEAD");
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = "GET only\n";
    return r;
  }
  r.headers.emplace_back("Content-Type", "application/json");
  // Read at each sign-in: a changed provider is seen at the next one.
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = body_;
  return r;
}

}  // namespace wuye::gateway
