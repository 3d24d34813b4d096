#include "tools/rpc_client.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_split.h"
#include "shared/auth.h"
#include "shared/secret.h"

namespace wuye::tools {

void Die(absl::string_view tool, absl::string_view what) {
  std::cerr << tool << ": error: " << what << std::endl;
  std::exit(2);
}

std::string ReadJwtSecret(absl::string_view tool, const std::string& path) {
  auto secret = ReadSecretFileOrEnv("--jwt_secret_file", path, "WUYE_JWT_SECRET");
  if (!secret.ok()) Die(tool, secret.status().message());
  return *secret;
}

std::string Mint(const std::string& secret, const std::string& group, const std::string& subject,
                 std::string_view role) {
  TokenClaims c;
  c.subject = subject;
  c.group_id = group;
  c.estate_ids = {"*"};
  c.roles = {std::string(role)};
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(6);
  auto token = MintHs256(c, secret);
  if (!token.ok()) Die("mint", token.status().message());
  return *token;
}

bool Transient(grpc::StatusCode code) {
  return code == grpc::UNAVAILABLE || code == grpc::DEADLINE_EXCEEDED || code == grpc::ABORTED ||
         code == grpc::INTERNAL || code == grpc::UNKNOWN || code == grpc::RESOURCE_EXHAUSTED;
}

std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& addresses) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (absl::string_view addr : absl::StrSplit(addresses, ',', absl::SkipEmpty())) {
    grpc::ChannelArguments args;
    // One connection per channel: a replica's calls are not spread over sub-channels.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    out.push_back(grpc::CreateCustomChannel(std::string(addr), grpc::InsecureChannelCredentials(),
                                            args));
  }
  return out;
}

}  // namespace wuye::tools
