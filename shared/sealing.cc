#include "shared/sealing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/crypto.h"
#include "shared/log.h"
#include "shared/secret.h"
#include "shared/status.h"

namespace wuye {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

// Length-prefixed parts, so that no two places share an encoding. The service's prefix
// ("wuye.eldercare.v1") keeps one service's ciphertext from opening in another's.
std::string AssociatedData(absl::string_view service, const SealedPlace& p,
                           absl::string_view key_id) {
  std::string out = absl::StrCat("wuye.", service, ".v1");
  for (absl::string_view part : {absl::string_view(p.group_id), absl::string_view(p.table),
                                 absl::string_view(p.row_id), absl::string_view(p.field), key_id}) {
    absl::StrAppend(&out, "|", part.size(), ":", part);
  }
  return out;
}

// The environment variable if set, else the file named by the flag, else "".
absl::StatusOr<std::string> Setting(const std::string& env, absl::string_view flag_name,
                                    const std::string& file) {
  if (const char* v = std::getenv(env.c_str()); v != nullptr && *v != '\0') {
    return std::string(absl::StripAsciiWhitespace(v));
  }
  if (!file.empty()) return ReadSecretFile(flag_name, file);
  return std::string();
}

bool ValidService(absl::string_view service) {
  if (service.empty() || service.size() > 32) return false;
  for (char c : service) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view service, absl::string_view keys,
                                       absl::string_view lookup_key) {
  if (!ValidService(service)) {
    return absl::InvalidArgumentError("keyring: the service name must be lower-case letters");
  }
  const std::string svc(service);
  const std::string env = absl::AsciiStrToUpper(service);
  Keyring ring;
  ring.service_ = svc;
  for (absl::string_view entry : absl::StrSplit(keys, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    size_t colon = entry.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(svc, " keys: each entry must be kid:base64key"));
    }
    absl::string_view id = entry.substr(0, colon);
    if (!ValidKeyId(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(svc, " keys: a key id must be 1..32 characters of A-Z a-z 0-9 - _"));
    }
    std::string raw;
    if (!absl::Base64Unescape(entry.substr(colon + 1), &raw) || raw.size() != kKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(svc, " keys: key ", id, " must be 32 bytes in base64"));
    }
    if (!ring.keys_.emplace(std::string(id), std::move(raw)).second) {
      return absl::InvalidArgumentError(absl::StrCat(svc, " keys: key id ", id, " twice"));
    }
    if (ring.active_.empty()) ring.active_ = std::string(id);
  }
  if (ring.active_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(svc, " keys: none configured (WUYE_", env, "_KEYS or --", svc, "_keys_file)"));
  }
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(lookup_key), &ring.lookup_key_) ||
      ring.lookup_key_.size() < kKeyBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(svc, " lookup key: must be at least 32 bytes in base64 (WUYE_", env,
                     "_LOOKUP_KEY or --", svc, "_lookup_key_file)"));
  }
  return ring;
}

absl::StatusOr<Keyring> Keyring::FromEnvironment(absl::string_view service,
                                                 const std::string& keys_file,
                                                 const std::string& lookup_key_file) {
  if (!ValidService(service)) {
    return absl::InvalidArgumentError("keyring: the service name must be lower-case letters");
  }
  const std::string env = absl::StrCat("WUYE_", absl::AsciiStrToUpper(service));
  WUYE_ASSIGN_OR_RETURN(std::string keys,
                        Setting(env + "_KEYS", absl::StrCat(service, "_keys_file"), keys_file));
  WUYE_ASSIGN_OR_RETURN(
      std::string lookup,
      Setting(env + "_LOOKUP_KEY", absl::StrCat(service, "_lookup_key_file"), lookup_key_file));
  return Parse(service, keys, lookup);
}

absl::StatusOr<SealedValue> Keyring::Seal(const SealedPlace& place,
                                          absl::string_view plaintext) const {
  const std::string& key = keys_.at(active_);
  SealedValue out;
  out.key_id = active_;
  out.blob.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* blob = reinterpret_cast<unsigned char*>(out.blob.data());
  if (RAND_bytes(blob, kNonceBytes) != 1) return absl::InternalError("seal: no random nonce");
  std::string aad = AssociatedData(service_, place, active_);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()), blob) &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) &&
            EVP_EncryptUpdate(ctx.get(), blob + kNonceBytes, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) &&
            EVP_EncryptFinal_ex(ctx.get(), blob + kNonceBytes + len, &len) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                blob + kNonceBytes + plaintext.size());
  if (!ok) return absl::InternalError("seal: encryption failed");
  return out;
}

absl::StatusOr<std::string> Keyring::Open(const SealedPlace& place,
                                          const SealedValue& sealed) const {
  auto key = keys_.find(sealed.key_id);
  if (key == keys_.end()) {
    LogError(absl::StrCat(service_, ".key_not_loaded"))
        .Str("table", place.table)
        .Str("row", place.row_id)
        .Str("field", place.field)
        .Str("key_id", sealed.key_id);
    return WithReason(
        absl::InternalError(absl::StrCat(place.table, ".", place.field, " of ", place.row_id,
                                         ": encrypted with a key not loaded")),
        "KEY_NOT_LOADED");
  }
  auto reject = [&] {
    LogError(absl::StrCat(service_, ".ciphertext_rejected"))
        .Str("table", place.table)
        .Str("row", place.row_id)
        .Str("field", place.field)
        .Str("key_id", sealed.key_id);
    return WithReason(
        absl::DataLossError(absl::StrCat(place.table, ".", place.field, " of ", place.row_id,
                                         ": the stored ciphertext failed authentication "
                                         "(altered, or not this record's)")),
        "CIPHERTEXT_REJECTED");
  };
  if (sealed.blob.size() < kNonceBytes + kTagBytes) return reject();
  const auto* blob = reinterpret_cast<const unsigned char*>(sealed.blob.data());
  size_t text_len = sealed.blob.size() - kNonceBytes - kTagBytes;
  std::string plain(text_len, '\0');
  std::string aad = AssociatedData(service_, place, sealed.key_id);
  std::string tag(sealed.blob.end() - kTagBytes, sealed.blob.end());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                               reinterpret_cast<const unsigned char*>(key->second.data()), blob) &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              blob + kNonceBytes, static_cast<int>(text_len)) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data());
  int final_len = 0;
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                                 &final_len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return reject();
  }
  return plain;
}

std::string Keyring::Digest(absl::string_view value) const {
  return HmacSha256(lookup_key_, value);
}

}  // namespace wuye
