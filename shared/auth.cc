#include "shared/auth.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "shared/crypto.h"
#include "shared/status.h"

namespace wuye {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxTokenBytes = size_t{8} * 1024;
constexpr size_t kMinSecretBytes = 32;
// Two suffice for a rotation; a few more leave room for mistakes, not for a key store.
constexpr size_t kMaxPublicKeys = 8;
constexpr size_t kHs256SigBytes = 32;
constexpr size_t kEs256SigBytes = 64;
constexpr size_t kP256ScalarBytes = 32;
// Dates beyond year 9999 are nonsense and would overflow some conversions.
constexpr double kMaxAbsUnixSeconds = 253402300799.0;

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using OsslBytes = std::unique_ptr<unsigned char, OpensslFree>;

absl::Status Unauthenticated(std::string_view reason) {
  return absl::UnauthenticatedError(std::string("token: ").append(reason));
}

// Leaves no stale errors behind for unrelated OpenSSL users on this thread.
template <typename T>
T ClearErrors(T result) {
  ERR_clear_error();
  return result;
}

// ---- base64url (RFC 4648 §5, no padding) ----

constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string B64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64Alphabet[(acc >> bits) & 0x3F]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(kB64Alphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

// Strict: alphabet only, no padding, and unused trailing bits must be zero so
// that every byte string has exactly one accepted encoding.
std::optional<std::string> B64UrlDecode(absl::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = B64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
    acc &= (1u << bits) - 1;
  }
  if (acc != 0) return std::nullopt;
  return out;
}

// ---- keys and signatures ----

std::optional<std::string> Hs256(std::string_view key, std::string_view data) {
  std::string mac = HmacSha256(absl::string_view(key.data(), key.size()),
                               absl::string_view(data.data(), data.size()));
  if (mac.size() != kHs256SigBytes) return std::nullopt;
  return mac;
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char name[64];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) return false;
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = EC_curve_nist2nid(name);
  return nid == NID_X9_62_prime256v1;
}

// Refuses encrypted PEMs instead of letting OpenSSL prompt on the terminal.
int NoPassword(char*, int, int, void*) { return -1; }

absl::StatusOr<PkeyPtr> LoadP256(std::string_view pem, bool is_private) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("auth: out of memory");
  PkeyPtr key(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr)
                         : PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  const char* what = is_private ? "private" : "public";
  if (!key) {
    return absl::InvalidArgumentError(absl::StrCat("auth: not a PEM ", what, " key"));
  }
  if (!IsP256(key.get())) {
    return absl::InvalidArgumentError(absl::StrCat("auth: ", what, " key is not an EC P-256 key"));
  }
  return key;
}

// Every PEM block of `pems` (one or more public keys, concatenated).
absl::StatusOr<std::vector<PkeyPtr>> LoadP256PublicKeys(std::string_view pems) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  std::vector<size_t> starts;
  for (size_t at = pems.find(kBegin); at != std::string_view::npos;
       at = pems.find(kBegin, at + kBegin.size())) {
    starts.push_back(at);
  }
  if (starts.empty()) starts.push_back(0);  // not PEM at all: LoadP256 says so
  if (starts.size() > kMaxPublicKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth: at most ", kMaxPublicKeys, " ES256 public keys"));
  }
  std::vector<PkeyPtr> keys;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : pems.size();
    absl::StatusOr<PkeyPtr> key = LoadP256(pems.substr(starts[i], end - starts[i]), false);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return keys;
}

// JWS carries ECDSA signatures as fixed-width R||S; OpenSSL wants DER.
bool Es256Verify(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  if (sig.size() != kEs256SigBytes) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  BnPtr r(BN_bin2bn(raw, kP256ScalarBytes, nullptr));
  BnPtr s(BN_bin2bn(raw + kP256ScalarBytes, kP256ScalarBytes, nullptr));
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  if (!r || !s || !ecdsa) return ClearErrors(false);
  ECDSA_SIG_set0(ecdsa.get(), r.release(), s.release());
  unsigned char* der_raw = nullptr;
  int der_len = i2d_ECDSA_SIG(ecdsa.get(), &der_raw);
  OsslBytes der(der_raw);
  if (der_len <= 0) return ClearErrors(false);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), der.get(), der_len,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  return ClearErrors(ok);
}

absl::StatusOr<std::string> Es256Sign(EVP_PKEY* key, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, in, data.size()) != 1) {
    return ClearErrors(absl::InternalError("auth: ES256 signing failed"));
  }
  std::string der(der_len, '\0');
  auto* der_buf = reinterpret_cast<unsigned char*>(der.data());
  if (EVP_DigestSign(ctx.get(), der_buf, &der_len, in, data.size()) != 1) {
    return ClearErrors(absl::InternalError("auth: ES256 signing failed"));
  }
  const unsigned char* p = der_buf;
  EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!ecdsa) {
    return ClearErrors(absl::InternalError("auth: ES256 signing failed"));
  }
  std::string raw(kEs256SigBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, kP256ScalarBytes) !=
          static_cast<int>(kP256ScalarBytes) ||
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + kP256ScalarBytes, kP256ScalarBytes) !=
          static_cast<int>(kP256ScalarBytes)) {
    return ClearErrors(absl::InternalError("auth: ES256 signing failed"));
  }
  return raw;
}

// ---- claims ----

std::optional<absl::Time> NumericDate(const json& v) {
  double seconds;
  if (v.is_number_unsigned()) {
    seconds = static_cast<double>(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    seconds = static_cast<double>(v.get<int64_t>());
  } else if (v.is_number_float()) {
    seconds = v.get<double>();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || std::fabs(seconds) > kMaxAbsUnixSeconds) {
    return std::nullopt;
  }
  if (v.is_number_float()) return absl::UnixEpoch() + absl::Seconds(seconds);
  return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
}

// Non-empty strings only: an empty role or estate id is never meaningful.
std::optional<std::vector<std::string>> StringArray(const json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const json& e : v) {
    if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<json> ParseObject(absl::string_view b64) {
  std::optional<std::string> text = B64UrlDecode(b64);
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

absl::StatusOr<std::string> EncodeSegment(const json& j) {
  try {
    return B64UrlEncode(j.dump());
  } catch (const json::exception&) {
    return absl::InvalidArgumentError("auth: claims are not valid UTF-8");
  }
}

absl::StatusOr<std::string> SigningInput(const TokenClaims& c, std::string_view alg) {
  if (c.subject.empty()) return absl::InvalidArgumentError("auth: no subject");
  if (c.roles.empty()) return absl::InvalidArgumentError("auth: no roles");
  bool platform = std::find(c.roles.begin(), c.roles.end(), roles::kPlatformAdmin) != c.roles.end();
  if (c.group_id.empty() && !platform) {
    return absl::InvalidArgumentError("auth: no group");
  }
  if (c.issuer.empty() || c.audience.empty()) {
    return absl::InvalidArgumentError("auth: no issuer or audience");
  }
  if (c.expires_at == absl::InfiniteFuture() || c.expires_at == absl::InfinitePast() ||
      c.issued_at == absl::InfiniteFuture() || c.issued_at == absl::InfinitePast()) {
    return absl::InvalidArgumentError("auth: dates must be finite");
  }
  json header = {{"alg", alg}, {"typ", "JWT"}};
  json payload = {{"iss", c.issuer},
                  {"aud", c.audience},
                  {"sub", c.subject},
                  {"roles", c.roles},
                  {"iat", absl::ToUnixSeconds(c.issued_at)},
                  {"exp", absl::ToUnixSeconds(c.expires_at)}};
  if (!c.group_id.empty()) payload["grp"] = c.group_id;
  if (!c.estate_ids.empty()) payload["est"] = c.estate_ids;
  absl::StatusOr<std::string> h = EncodeSegment(header);
  if (!h.ok()) return h.status();
  absl::StatusOr<std::string> p = EncodeSegment(payload);
  if (!p.ok()) return p.status();
  return absl::StrCat(*h, ".", *p);
}

}  // namespace

// ---- Caller ----

bool Caller::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Caller::HasAnyRole(std::initializer_list<std::string_view> wanted) const {
  return std::any_of(wanted.begin(), wanted.end(),
                     [this](std::string_view r) { return HasRole(r); });
}

bool Caller::CanSeeEstate(std::string_view estate_id) const {
  if (all_estates) return true;
  return std::find(estate_ids.begin(), estate_ids.end(), estate_id) != estate_ids.end();
}

// ---- TokenVerifier ----

// The caller a token's claims name; the first claim refused, if any.
static absl::Status ClaimsOf(const json& c, Caller* out) {
  Caller& caller = *out;
  auto sub = c.find("sub");
  if (sub == c.end()) return Unauthenticated("missing subject");
  if (!sub->is_string()) return Unauthenticated("bad claim");
  caller.subject = sub->get<std::string>();
  if (caller.subject.empty()) return Unauthenticated("missing subject");

  auto roles_it = c.find("roles");
  if (roles_it == c.end()) return Unauthenticated("missing roles");
  std::optional<std::vector<std::string>> role_list = StringArray(*roles_it);
  if (!role_list) return Unauthenticated("bad claim");
  if (role_list->empty()) return Unauthenticated("missing roles");
  caller.roles = *std::move(role_list);

  if (auto grp = c.find("grp"); grp != c.end()) {
    if (!grp->is_string()) return Unauthenticated("bad claim");
    caller.group_id = grp->get<std::string>();
  }
  if (caller.group_id.empty() && !caller.HasRole(roles::kPlatformAdmin)) {
    return Unauthenticated("missing group");
  }

  if (auto est = c.find("est"); est != c.end()) {
    std::optional<std::vector<std::string>> ids = StringArray(*est);
    if (!ids) return Unauthenticated("bad claim");
    bool star = std::find(ids->begin(), ids->end(), "*") != ids->end();
    // "*" mixed with ids is ambiguous; only ["*"] alone means every estate.
    if (star && ids->size() != 1) return Unauthenticated("bad claim");
    if (star) {
      caller.all_estates = true;
    } else {
      caller.estate_ids = *std::move(ids);
    }
  }
  return absl::OkStatus();
}

// What a token says once its signature and claims are checked: everything but the checks
// against the clock, which every call makes again.
struct CheckedToken {
  Caller caller;
  absl::Time expires;
  std::optional<absl::Time> not_before, issued;
  absl::Status claims;  // a claim refused after the times are checked (the order of reasons)
};

struct TokenVerifier::Impl {
  AuthConfig config;
  std::vector<PkeyPtr> es256_keys;  // empty when only HS256 is configured

  // A client sends the same token on every call of its session: its signature and claims
  // are checked once, and a call with the same bytes only meets the clock again. Bounded;
  // emptied when full (a few thousand live tokens per process is a busy one).
  static constexpr size_t kMaxChecked = 4096;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<const CheckedToken>> checked
      ABSL_GUARDED_BY(mu);

  absl::StatusOr<CheckedToken> Check(std::string_view token) const;
  absl::Status CheckTimes(const CheckedToken& t, absl::Time now) const;
};

TokenVerifier::TokenVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenVerifier::~TokenVerifier() = default;

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(const AuthConfig& config) {
  if (config.hs256_secret.empty() && config.es256_public_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "auth: no key configured (need an HS256 secret or an ES256 public "
        "key)");
  }
  if (!config.hs256_secret.empty() && config.hs256_secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError("auth: HS256 secret must be at least 32 bytes");
  }
  if (config.production && !config.hs256_secret.empty()) {
    return absl::InvalidArgumentError(
        "auth: an HS256 secret is refused in production: anyone holding it can mint tokens "
        "for every group; give services only the issuer's ES256 public key");
  }
  if (config.production && config.es256_public_key_pem.empty()) {
    return absl::InvalidArgumentError("auth: production needs an ES256 public key");
  }
  if (config.issuer.empty() || config.audience.empty()) {
    return absl::InvalidArgumentError("auth: issuer and audience must be set");
  }
  if (config.max_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("auth: max_lifetime must be positive");
  }
  if (config.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("auth: leeway must not be negative");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (!config.es256_public_key_pem.empty()) {
    absl::StatusOr<std::vector<PkeyPtr>> keys = LoadP256PublicKeys(config.es256_public_key_pem);
    if (!keys.ok()) return keys.status();
    impl->es256_keys = *std::move(keys);
  }
  return std::unique_ptr<TokenVerifier>(new TokenVerifier(std::move(impl)));
}

absl::StatusOr<CheckedToken> TokenVerifier::Impl::Check(std::string_view token) const {
  const AuthConfig& cfg = config;
  CheckedToken out;
  if (token.size() > kMaxTokenBytes) return Unauthenticated("too large");
  // Abseil here is built with its own string_view, distinct from
  // std::string_view.
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return Unauthenticated("malformed");
  }

  std::optional<json> header = ParseObject(parts[0]);
  if (!header) return Unauthenticated("malformed");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return Unauthenticated("algorithm not allowed");
  }
  const std::string& alg_name = alg->get_ref<const std::string&>();
  bool hs256 = alg_name == "HS256" && !cfg.production && !cfg.hs256_secret.empty();
  bool es256 = alg_name == "ES256" && !es256_keys.empty();
  if (!hs256 && !es256) return Unauthenticated("algorithm not allowed");
  // "JWT", or RFC 9068's type for access tokens, which OpenID providers may set on those
  // they issue (the console's sign-in: docs/operations.md); a media type, so in any case.
  if (auto typ = header->find("typ"); typ != header->end()) {
    const std::string t = typ->is_string() ? absl::AsciiStrToLower(typ->get<std::string>()) : "";
    if (t != "jwt" && t != "at+jwt" && t != "application/at+jwt") return Unauthenticated("unsupported header");
  }
  // We understand no extensions, so any critical one must be refused (RFC 7515
  // §4.1.11).
  if (header->contains("crit")) return Unauthenticated("unsupported header");

  std::optional<std::string> sig = B64UrlDecode(parts[2]);
  if (!sig) return Unauthenticated("malformed");
  std::string_view signing_input(token.data(), parts[0].size() + 1 + parts[1].size());
  if (hs256) {
    std::optional<std::string> mac = Hs256(cfg.hs256_secret, signing_input);
    if (!mac || sig->size() != mac->size() ||
        CRYPTO_memcmp(sig->data(), mac->data(), mac->size()) != 0) {
      return Unauthenticated("bad signature");
    }
  } else if (std::none_of(
                 es256_keys.begin(), es256_keys.end(),
                 [&](const PkeyPtr& key) { return Es256Verify(key.get(), signing_input, *sig); })) {
    return Unauthenticated("bad signature");
  }

  std::optional<json> claims = ParseObject(parts[1]);
  if (!claims) return Unauthenticated("malformed");
  const json& c = *claims;

  auto iss = c.find("iss");
  if (iss == c.end() || !iss->is_string() || iss->get_ref<const std::string&>() != cfg.issuer) {
    return Unauthenticated("wrong issuer");
  }
  auto aud = c.find("aud");
  if (aud == c.end()) return Unauthenticated("wrong audience");
  if (aud->is_string()) {
    if (aud->get_ref<const std::string&>() != cfg.audience) {
      return Unauthenticated("wrong audience");
    }
  } else if (aud->is_array()) {
    bool found = false;
    for (const json& a : *aud) {
      if (!a.is_string()) return Unauthenticated("bad claim");
      found = found || a.get_ref<const std::string&>() == cfg.audience;
    }
    if (!found) return Unauthenticated("wrong audience");
  } else {
    return Unauthenticated("bad claim");
  }

  auto exp = c.find("exp");
  if (exp == c.end()) return Unauthenticated("missing expiry");
  std::optional<absl::Time> exp_time = NumericDate(*exp);
  if (!exp_time) return Unauthenticated("bad claim");
  out.expires = *exp_time;
  if (auto nbf = c.find("nbf"); nbf != c.end()) {
    out.not_before = NumericDate(*nbf);
    if (!out.not_before) return Unauthenticated("bad claim");
  }
  if (auto iat = c.find("iat"); iat != c.end()) {
    out.issued = NumericDate(*iat);
    if (!out.issued) return Unauthenticated("bad claim");
  }
  out.claims = ClaimsOf(c, &out.caller);
  return out;
}

absl::Status TokenVerifier::Impl::CheckTimes(const CheckedToken& t, absl::Time now) const {
  const AuthConfig& cfg = config;
  if (now >= t.expires + cfg.leeway) return Unauthenticated("expired");
  if (t.not_before && now + cfg.leeway < *t.not_before) return Unauthenticated("not yet valid");
  // A stolen token is worth only its lifetime; an iat in the future would stretch it.
  if (cfg.max_lifetime != absl::InfiniteDuration()) {
    if (t.issued && *t.issued > now + cfg.leeway) return Unauthenticated("issued in the future");
    if (t.expires - t.issued.value_or(now) > cfg.max_lifetime) {
      return Unauthenticated("lifetime too long");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Caller> TokenVerifier::Verify(std::string_view token, absl::Time now) const {
  if (token.size() > kMaxTokenBytes) return Unauthenticated("too large");
  std::shared_ptr<const CheckedToken> checked;
  {
    absl::MutexLock lock(&impl_->mu);
    auto it = impl_->checked.find(absl::string_view(token.data(), token.size()));
    if (it != impl_->checked.end()) checked = it->second;
  }
  if (checked == nullptr) {
    absl::StatusOr<CheckedToken> fresh = impl_->Check(token);
    if (!fresh.ok()) return fresh.status();
    checked = std::make_shared<const CheckedToken>(*std::move(fresh));
    if (checked->claims.ok() && impl_->CheckTimes(*checked, now).ok()) {
      absl::MutexLock lock(&impl_->mu);
      if (impl_->checked.size() >= Impl::kMaxChecked) impl_->checked.clear();
      impl_->checked.emplace(std::string(token), checked);
    }
  }
  WUYE_RETURN_IF_ERROR(impl_->CheckTimes(*checked, now));
  WUYE_RETURN_IF_ERROR(checked->claims);
  return checked->caller;
}

// ---- minting ----

absl::StatusOr<std::string> MintHs256(const TokenClaims& claims, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError("auth: HS256 secret must be at least 32 bytes");
  }
  absl::StatusOr<std::string> input = SigningInput(claims, "HS256");
  if (!input.ok()) return input.status();
  std::optional<std::string> mac = Hs256(secret, *input);
  if (!mac) return absl::InternalError("auth: HMAC failed");
  return absl::StrCat(*input, ".", B64UrlEncode(*mac));
}

absl::StatusOr<std::string> MintEs256(const TokenClaims& claims, std::string_view private_key_pem) {
  absl::StatusOr<PkeyPtr> key = LoadP256(private_key_pem, /*is_private=*/true);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> input = SigningInput(claims, "ES256");
  if (!input.ok()) return input.status();
  absl::StatusOr<std::string> sig = Es256Sign(key->get(), *input);
  if (!sig.ok()) return sig.status();
  return absl::StrCat(*input, ".", B64UrlEncode(*sig));
}

absl::StatusOr<Es256KeyPair> GenerateEs256KeyPair() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ClearErrors(absl::InternalError("auth: EC keygen failed"));
  BioPtr priv(BIO_new(BIO_s_mem()));
  BioPtr pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1) {
    return ClearErrors(absl::InternalError("auth: PEM encoding failed"));
  }
  auto read_all = [](BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, len > 0 ? static_cast<size_t>(len) : 0);
  };
  return Es256KeyPair{read_all(priv.get()), read_all(pub.get())};
}

}  // namespace wuye
