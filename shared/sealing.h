// Field encryption of a service's most private values (eldercare's health records, the ID
// numbers eldercare and the counter take): AES-256-GCM (OpenSSL EVP) with the associated
// data binding each ciphertext to its service and place (group, table, row id, field) and
// to its key id, so that a ciphertext copied to another row or field, or altered, fails to
// open. Keys come from the environment or a mounted file, never from the database or the
// code; the first key of the ring encrypts, every key of the ring decrypts (rotation). ID
// numbers are looked up by a keyed HMAC-SHA256 digest, never a plain hash.
//
// Each service has its own ring, named by the service: "eldercare" reads WUYE_ELDERCARE_KEYS
// (or the file of --eldercare_keys_file) and WUYE_ELDERCARE_LOOKUP_KEY (or the file of
// --eldercare_lookup_key_file); "counter" reads WUYE_COUNTER_KEYS, and so on. The service
// defines its two flags with WUYE_KEYRING_FLAGS(<service>) and passes their values.
#pragma once

#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Defines --<svc>_keys_file and --<svc>_lookup_key_file (at namespace scope, once per binary,
// in a file the binary links for sure: beside the function that reads them).
#define WUYE_KEYRING_FLAGS(svc)                                   \
  ABSL_FLAG(std::string, svc##_keys_file, "",                     \
            "file holding the " #svc                              \
            " sealing keys \"kid:base64,...\", active first (or " \
            "set WUYE_<SERVICE>_KEYS)");                          \
  ABSL_FLAG(std::string, svc##_lookup_key_file, "",               \
            "file holding the base64 HMAC key of the " #svc       \
            " ID-number lookups (or set "                         \
            "WUYE_<SERVICE>_LOOKUP_KEY)")

namespace wuye {

// Where a sealed value lives; all of it is bound into the associated data.
struct SealedPlace {
  std::string group_id;
  std::string table;   // "health_cards", "handovers"
  std::string row_id;  // the record's id
  std::string field;   // "blood_type"
};

struct SealedValue {
  std::string key_id;
  std::string blob;  // 12-byte nonce || ciphertext || 16-byte tag
};

class Keyring {
 public:
  // `service` ("eldercare", "counter": lower-case letters) names the ring: it is bound
  // into every ciphertext's associated data ("wuye.<service>.v1") and named in errors.
  // Parses "kid1:base64key,kid2:base64key" (the first is active). Key ids are 1..32
  // characters of [A-Za-z0-9_-]; every key decodes to exactly 32 bytes. `lookup_key` is
  // the base64 HMAC key for ID-number digests (>= 32 bytes). Errors never echo key bytes.
  static absl::StatusOr<Keyring> Parse(absl::string_view service, absl::string_view keys,
                                       absl::string_view lookup_key);

  // From the environment: WUYE_<SERVICE>_KEYS or else the file `keys_file` (the value of
  // --<service>_keys_file, itself settable as WUYE_<SERVICE>_KEYS_FILE), and
  // WUYE_<SERVICE>_LOOKUP_KEY or else the file `lookup_key_file` (--<service>_lookup_key_file).
  // FAILED_PRECONDITION when no key is configured.
  static absl::StatusOr<Keyring> FromEnvironment(absl::string_view service,
                                                 const std::string& keys_file,
                                                 const std::string& lookup_key_file);

  const std::string& service() const { return service_; }
  const std::string& active_key_id() const { return active_; }
  bool Has(absl::string_view key_id) const { return keys_.count(std::string(key_id)) > 0; }

  // Encrypts with the active key and a fresh random nonce.
  absl::StatusOr<SealedValue> Seal(const SealedPlace& place, absl::string_view plaintext) const;
  // DATA_LOSS (reason CIPHERTEXT_REJECTED) when the blob was altered or belongs elsewhere;
  // INTERNAL (reason KEY_NOT_LOADED) when its key is not in the ring. Logs the failure by
  // place and key id, never the value.
  absl::StatusOr<std::string> Open(const SealedPlace& place, const SealedValue& sealed) const;

  // HMAC-SHA256 of `value` under the lookup key, for equality lookups.
  std::string Digest(absl::string_view value) const;

 private:
  std::string service_;
  std::map<std::string, std::string> keys_;  // key id → 32 raw bytes
  std::string active_;
  std::string lookup_key_;
};

}  // namespace wuye
