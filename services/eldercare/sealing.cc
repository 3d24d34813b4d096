#include "services/eldercare/sealing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/crypto.h"
#include "shared/log.h"
#include "shared/secret.h"
#include "shared/status.h"

ABSL_FLAG(std::string, eldercare_keys_file, "",
          "file holding the health-data keys \"kid:base64,...\", active first (or set "
          "WUYE_ELDERCARE_KEYS)");
ABSL_FLAG(std::string, eldercare_lookup_key_file, "",
          "file holding the base64 HMAC key for ID-number lookups (or set "
          "WUYE_ELDERCARE_LOOKUP_KEY)");

namespace wuye::eldercare {
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

// Length-prefixed parts, so that no two places share an encoding.
std::string AssociatedData(const SealedPlace& p, absl::string_view key_id) {
  std::string out = "wuye.eldercare.v1";
  for (absl::string_view part : {absl::string_view(p.group_id), absl::string_view(p.table),
                                 absl::string_view(p.row_id), absl::string_view(p.field), key_id}) {
    absl::StrAppend(&out, "|", part.size(), ":", part);
  }
  return out;
}

// The environment variable if set, else the file named by the flag, else "".
absl::StatusOr<std::string> Setting(const char* env, absl::string_view flag_name,
                                    const std::string& file) {
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') {
    return std::string(absl::StripAsciiWhitespace(v));
  }
  if (!file.empty()) return ReadSecretFile(flag_name, file);
  return std::string();
}

}  // namespace

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view keys, absl::string_view lookup_key) {
  Keyring ring;
  for (absl::string_view entry : absl::StrSplit(keys, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    size_t colon = entry.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError("eldercare keys: each entry must be kid:base64key");
    }
    absl::string_view id = entry.substr(0, colon);
    if (!ValidKeyId(id)) {
      return absl::InvalidArgumentError(
          "eldercare keys: a key id must be 1..32 characters of A-Z a-z 0-9 - _");
    }
    std::string raw;
    if (!absl::Base64Unescape(entry.substr(colon + 1), &raw) || raw.size() != kKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("eldercare keys: key ", id, " must be 32 bytes in base64"));
    }
    if (!ring.keys_.emplace(std::string(id), std::move(raw)).second) {
      return absl::InvalidArgumentError(absl::StrCat("eldercare keys: key id ", id, " twice"));
    }
    if (ring.active_.empty()) ring.active_ = std::string(id);
  }
  if (ring.active_.empty()) {
    return absl::FailedPreconditionError(
        "eldercare keys: none configured (WUYE_ELDERCARE_KEYS or --eldercare_keys_file)");
  }
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(lookup_key), &ring.lookup_key_) ||
      ring.lookup_key_.size() < kKeyBytes) {
    return absl::FailedPreconditionError(
        "eldercare lookup key: must be at least 32 bytes in base64 (WUYE_ELDERCARE_LOOKUP_KEY "
        "or --eldercare_lookup_key_file)");
  }
  return ring;
}

absl::StatusOr<Keyring> Keyring::FromEnvironment() {
  WUYE_ASSIGN_OR_RETURN(std::string keys, Setting("WUYE_ELDERCARE_KEYS", "eldercare_keys_file",
                                                  absl::GetFlag(FLAGS_eldercare_keys_file)));
  WUYE_ASSIGN_OR_RETURN(std::string lookup,
                        Setting("WUYE_ELDERCARE_LOOKUP_KEY", "eldercare_lookup_key_file",
                                absl::GetFlag(FLAGS_eldercare_lookup_key_file)));
  return Parse(keys, lookup);
}

absl::StatusOr<SealedValue> Keyring::Seal(const SealedPlace& place,
                                          absl::string_view plaintext) const {
  const std::string& key = keys_.at(active_);
  SealedValue out;
  out.key_id = active_;
  out.blob.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* blob = reinterpret_cast<unsigned char*>(out.blob.data());
  if (RAND_bytes(blob, kNonceBytes) != 1) return absl::InternalError("seal: no random nonce");
  std::string aad = AssociatedData(place, active_);
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
    LogError("eldercare.key_not_loaded")
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
    LogError("eldercare.ciphertext_rejected")
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
  std::string aad = AssociatedData(place, sealed.key_id);
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

}  // namespace wuye::eldercare
