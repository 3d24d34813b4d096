// The key of the phone-number hashes (HMAC-SHA256): intake's own secret, never derived from
// another one, so that rotating the token keys never breaks matching of older tickets.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace wuye::intake {

// At least this many bytes, from the environment or from the file alike.
inline constexpr size_t kMinPhoneKeyBytes = 32;

// `env_value` (WUYE_INTAKE_PHONE_KEY; null or empty when unset) wins over `file_path`
// (--phone_key_file; trailing newlines stripped). Neither, an unreadable file or a key
// shorter than kMinPhoneKeyBytes: INVALID_ARGUMENT naming the source, never the key.
absl::StatusOr<std::string> LoadPhoneKey(const char* env_value, const std::string& file_path);

}  // namespace wuye::intake
