// Phone numbers as keyed hashes (HMAC-SHA256). The key is intake's phone-hash key, which the
// directory holds too so that its resident events carry a number's hash and never the
// number (ResidentChanged.phone_hash); it is never derived from another secret, so that
// rotating the token keys never breaks matching of older tickets.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wuye {

// A caller's number as digits only: accepts digits with an optional leading '+', spaces
// and dashes, and China's country code 86 in front of an 11-digit mobile number (dropped:
// +86 138 0000 0000 and 138 0000 0000 are the same caller); 7 to 15 digits. The error
// names `field` and never quotes the number.
absl::StatusOr<std::string> NormalizeCallerPhone(absl::string_view text, absl::string_view field);
// HMAC-SHA256 of the normalized number under `key`: 32 raw bytes.
std::string HashPhone(absl::string_view key, absl::string_view normalized);

// At least this many bytes, from the environment or from the file alike.
inline constexpr size_t kMinPhoneKeyBytes = 32;

// `env_value` (WUYE_INTAKE_PHONE_KEY; null or empty when unset) wins over `file_path`
// (--phone_key_file; trailing newlines stripped). Neither, an unreadable file or a key
// shorter than kMinPhoneKeyBytes: INVALID_ARGUMENT naming the source, never the key.
absl::StatusOr<std::string> LoadPhoneKey(const char* env_value, const std::string& file_path);

}  // namespace wuye
