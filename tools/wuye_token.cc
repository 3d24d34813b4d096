// wuye-token: mints bearer tokens for local development and tests, or writes a
// fresh ES256 key pair. Not meant for production issuance.
//
//   wuye-token --sub=u1 --group=g1 --estates=e1,e2 --roles=agent
//   wuye-token --es256_key_file=keys/jwt-es256.key --sub=ops
//   --roles=platform_admin wuye-token --generate_es256_keys=keys
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/secret.h"

ABSL_FLAG(std::string, sub, "", "Subject (user or service id).");
ABSL_FLAG(std::string, group, "", "Group id; may be empty only for platform_admin.");
ABSL_FLAG(std::string, estates, "",
          "Comma-separated estate ids, or \"*\" for every estate of the group.");
ABSL_FLAG(std::string, roles, "", "Comma-separated roles, e.g. agent,technician.");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(12), "Token lifetime, at most 12h.");
ABSL_FLAG(std::string, issuer, "wuye", "iss claim.");
ABSL_FLAG(std::string, audience, "wuye", "aud claim.");
ABSL_FLAG(std::string, secret, "",
          "HS256 secret (>= 32 bytes). Prefer env WUYE_JWT_SECRET: flags show up "
          "in ps.");
ABSL_FLAG(std::string, es256_key_file, "",
          "PEM EC P-256 private key; if set, mint ES256 instead of HS256.");
ABSL_FLAG(std::string, generate_es256_keys, "",
          "Write DIR/jwt-es256.key (0600) and DIR/jwt-es256.pub, then exit.");

namespace {

std::vector<std::string> SplitList(const std::string& csv) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(csv, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// O_EXCL: never silently replace an existing key someone may still rely on.
absl::Status WriteNewFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status GenerateKeys(const std::string& dir) {
  std::string key_path = dir + "/jwt-es256.key";
  std::string pub_path = dir + "/jwt-es256.pub";
  struct stat st;
  if (stat(key_path.c_str(), &st) == 0 || stat(pub_path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("key files already exist in ", dir));
  }
  absl::StatusOr<wuye::Es256KeyPair> keys = wuye::GenerateEs256KeyPair();
  if (!keys.ok()) return keys.status();
  if (absl::Status s = WriteNewFile(key_path, keys->private_pem, 0600); !s.ok()) {
    return s;
  }
  return WriteNewFile(pub_path, keys->public_pem, 0644);
}

absl::StatusOr<std::string> Mint() {
  if (absl::GetFlag(FLAGS_ttl) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--ttl must be positive");
  }
  if (absl::GetFlag(FLAGS_ttl) > wuye::kDefaultMaxTokenLifetime) {
    return absl::InvalidArgumentError(
        "--ttl: at most 12h: services refuse tokens that live longer (--jwt_max_lifetime)");
  }
  wuye::TokenClaims claims;
  claims.subject = absl::GetFlag(FLAGS_sub);
  claims.group_id = absl::GetFlag(FLAGS_group);
  claims.estate_ids = SplitList(absl::GetFlag(FLAGS_estates));
  claims.roles = SplitList(absl::GetFlag(FLAGS_roles));
  claims.issuer = absl::GetFlag(FLAGS_issuer);
  claims.audience = absl::GetFlag(FLAGS_audience);
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::GetFlag(FLAGS_ttl);
  if (claims.subject.empty()) return absl::InvalidArgumentError("--sub is required");
  if (claims.roles.empty()) {
    return absl::InvalidArgumentError("--roles is required");
  }

  std::string key_file = absl::GetFlag(FLAGS_es256_key_file);
  if (!key_file.empty()) {
    absl::StatusOr<std::string> pem = wuye::ReadSecretFile("--es256_key_file", key_file);
    if (!pem.ok()) return pem.status();
    return wuye::MintEs256(claims, *pem);
  }
  std::string secret = absl::GetFlag(FLAGS_secret);
  if (secret.empty()) {
    const char* env = std::getenv("WUYE_JWT_SECRET");
    if (env != nullptr) secret = env;
  }
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        "no key: pass --secret, set WUYE_JWT_SECRET, or --es256_key_file");
  }
  return wuye::MintHs256(claims, secret);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Mints a wuye bearer token (HS256 or ES256) and prints it on stdout.");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "wuye-token: unexpected argument " << rest[1] << "\n";
    return 2;
  }
  std::string dir = absl::GetFlag(FLAGS_generate_es256_keys);
  if (!dir.empty()) {
    if (absl::Status s = GenerateKeys(dir); !s.ok()) {
      std::cerr << "wuye-token: " << s.message() << "\n";
      return 2;
    }
    return 0;
  }
  absl::StatusOr<std::string> token = Mint();
  if (!token.ok()) {
    std::cerr << "wuye-token: " << token.status().message() << "\n";
    return 2;
  }
  std::cout << *token << "\n";
  return std::cout.flush() ? 0 : 2;
}
