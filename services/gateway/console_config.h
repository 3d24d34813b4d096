// What the web console learns from the gateway at run time (issue #24), so that one built
// console serves every group: the group's OpenID Connect provider, if any.
//
//   GET /console/config  → {"oidc":{"issuer":"https://sso.example.com/realms/g",
//                                   "clientId":"wuye-console","scopes":"openid"}}
//                          {} when the gateway runs without --oidc_issuer
//
// The issuer's origin is also what the console's Content-Security-Policy lets it connect
// to (discovery and the token endpoint; console_files.h).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "services/gateway/http.h"

namespace wuye::gateway {

struct ConsoleOidc {
  std::string issuer;     // empty: no OpenID Connect sign-in
  std::string client_id;  // the console's public client at the provider
  std::string scopes = "openid";

  bool configured() const { return !issuer.empty(); }
};

// INVALID_ARGUMENT naming the flag (oidc_issuer, oidc_client_id, oidc_scopes): the issuer an
// https URL without query or fragment (http only on a loopback host, for tests); a client
// id with the issuer and only with it; scopes of printable words that include "openid".
absl::Status ValidateConsoleOidc(const ConsoleOidc& oidc);

// "https://sso.example.com" of "https://sso.example.com/realms/g"; the issuer must be valid.
std::string OriginOf(const std::string& url);

class ConsoleConfig {
 public:
  explicit ConsoleConfig(ConsoleOidc oidc);
  static bool Owns(absl::string_view path) { return path == "/console/config"; }
  HttpResponse Answer(const HttpRequest& request) const;

 private:
  std::string body_;
};

}  // namespace wuye::gateway
