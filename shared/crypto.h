// The suite's one home for SHA-256 and HMAC-SHA256 (OpenSSL). Digests are raw bytes; use
// absl::BytesToHexString for text. The AES-GCM sealing of health data stays in eldercare.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace wuye {

inline constexpr size_t kSha256Bytes = 32;

// SHA-256 of `data`: 32 raw bytes. The process aborts if OpenSSL cannot (out of memory).
std::string Sha256(absl::string_view data);

// HMAC-SHA256 of `data` under `key`: 32 raw bytes, or "" only if OpenSSL fails (out of
// memory). Keyed digests of personal data (phone numbers, ID numbers) use this, never a
// plain hash.
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace wuye
