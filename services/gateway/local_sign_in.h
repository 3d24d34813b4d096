// Local sign-in for the web console (issue #24): on a developer's machine or the demo,
// the console's sign-in page lists the staff of the demo's groups and signs in as any of
// them with a token minted from the local HS256 secret. Present only when the gateway
// runs with --local_sign_in_file; refused in production (--production), where people sign
// in with the group's OpenID Connect provider and the services accept only ES256 tokens.
//
//   GET  /local/people   {"groups":[{"id","name","people":[{"id","name","roles":[…],
//                          "estates":[{"id","name"}]}]}]}
//   POST /local/sign-in  {"staffId":"…"} → {"token","expireTime","groupId","staffId","name",
//                          "roles":[…],"estateIds":[…]}
//
// The groups are the ids in the file, one per line (`make demo` writes the demo's), read
// at each request. What is listed comes from the directory, asked with a group admin's
// token of each group: names, roles and estates — never a phone number.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "services/gateway/http.h"

namespace wuye::gateway {

struct LocalSignInOptions {
  std::string groups_file;
  std::string jwt_secret;  // the services' HS256 secret
  absl::Duration token_lifetime = absl::Hours(12);
};

class LocalSignIn {
 public:
  LocalSignIn(LocalSignInOptions options, std::shared_ptr<grpc::Channel> directory)
      : options_(std::move(options)), directory_(std::move(directory)) {}

  // Whether `path` is one of its two.
  static bool Owns(absl::string_view path) { return path == "/local/people" || path == "/local/sign-in"; }
  HttpResponse Answer(const HttpRequest& request) const;

 private:
  HttpResponse People() const;
  HttpResponse SignIn(const std::string& body) const;

  LocalSignInOptions options_;
  std::shared_ptr<grpc::Channel> directory_;
};

}  // namespace wuye::gateway
