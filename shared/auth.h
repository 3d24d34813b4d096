// Bearer tokens: compact JWS (HS256 or ES256) carrying who the caller is, which
// group and estates they may act on, and their roles. Verification is strict on
// purpose: anything unexpected is refused, and refusals never echo token
// contents.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wuye {

// Role names as they appear in tokens.
namespace roles {
inline constexpr std::string_view kPlatformAdmin = "platform_admin";
inline constexpr std::string_view kGroupAdmin = "group_admin";
inline constexpr std::string_view kEstateManager = "estate_manager";
inline constexpr std::string_view kSupervisor = "supervisor";
inline constexpr std::string_view kTeamLead = "team_lead";
inline constexpr std::string_view kAgent = "agent";
inline constexpr std::string_view kTechnician = "technician";
inline constexpr std::string_view kCleaner = "cleaner";
inline constexpr std::string_view kGardener = "gardener";
inline constexpr std::string_view kSecurityGuard = "security_guard";
inline constexpr std::string_view kCareWorker = "care_worker";
// Nurses (护理员 with clinical duties) and the community clinic (社区医疗保健室): with care
// workers, the only roles that read an elder's health card.
inline constexpr std::string_view kNurse = "nurse";
inline constexpr std::string_view kClinic = "clinic";
inline constexpr std::string_view kFinanceClerk = "finance_clerk";
inline constexpr std::string_view kQualityInspector = "quality_inspector";
inline constexpr std::string_view kService = "service";
}  // namespace roles

// Who is calling, from a verified token.
struct Caller {
  std::string subject;                  // "sub"
  std::string group_id;                 // "grp"; empty only for platform_admin tokens
  std::vector<std::string> estate_ids;  // "est" array of ids
  bool all_estates = false;             // "est": ["*"] means every estate of the group
  std::vector<std::string> roles;       // "roles"

  bool HasRole(std::string_view role) const;
  bool HasAnyRole(std::initializer_list<std::string_view> roles) const;
  bool CanSeeEstate(std::string_view estate_id) const;  // all_estates || listed
};

// The longest lifetime a token may have (exp − iat), unless configured otherwise.
inline constexpr absl::Duration kDefaultMaxTokenLifetime = absl::Hours(12);

struct AuthConfig {
  std::string issuer = "wuye";
  std::string audience = "wuye";
  std::string hs256_secret;  // may be empty if es256 key given; >= 32 bytes when set
  // Optional: one or more PEM EC P-256 public keys, concatenated. A token verifies if any of
  // them signed it, so that the issuer's key can be rotated (docs/operations.md).
  std::string es256_public_key_pem;
  // Production: only ES256. A configured HS256 secret is refused at Create, and HS256
  // tokens are refused: a service then holds no key that can mint tokens.
  bool production = false;
  absl::Duration leeway = absl::Seconds(30);
  // Tokens living longer than this (exp − iat, or exp − now without iat) are refused, and
  // so is an iat in the future. InfiniteDuration() turns both checks off (tests whose
  // FakeClock is far from the time their tokens were minted).
  absl::Duration max_lifetime = kDefaultMaxTokenLifetime;
};

class TokenVerifier {
 public:
  // INVALID_ARGUMENT when the config is unusable (no key at all, secret shorter
  // than 32 bytes, PEM that is not a P-256 public key, an HS256 secret in production).
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(const AuthConfig& config);

  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // Verifies a compact JWS (no "Bearer " prefix). Every failure is
  // UNAUTHENTICATED with a short reason ("token: expired") that never echoes
  // the token or claim values.
  absl::StatusOr<Caller> Verify(std::string_view token, absl::Time now) const;

 private:
  struct Impl;
  explicit TokenVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TokenClaims {
  std::string subject, group_id;
  std::vector<std::string> estate_ids;  // use {"*"} for all estates
  std::vector<std::string> roles;
  std::string issuer = "wuye", audience = "wuye";
  absl::Time issued_at;
  absl::Time expires_at;
};

absl::StatusOr<std::string> MintHs256(const TokenClaims& claims, std::string_view secret);
absl::StatusOr<std::string> MintEs256(const TokenClaims& claims, std::string_view private_key_pem);

// Helpers for tests and local tooling: a fresh P-256 key pair as PEM strings.
struct Es256KeyPair {
  std::string private_pem, public_pem;
};
absl::StatusOr<Es256KeyPair> GenerateEs256KeyPair();

}  // namespace wuye
