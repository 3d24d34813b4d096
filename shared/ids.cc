#include "shared/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "shared/status.h"

namespace wuye {
namespace {

// Monotonic state: the last millisecond used and a 12-bit counter within it (rand_a).
absl::Mutex g_mu;
uint64_t g_last_ms ABSL_GUARDED_BY(g_mu) = 0;
uint32_t g_seq ABSL_GUARDED_BY(g_mu) = 0;

}  // namespace

std::string NewId(absl::Time now) {
  // UUIDv7 has no room for times before 1970.
  uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
  uint32_t seq;
  {
    absl::MutexLock lock(&g_mu);
    if (ms <= g_last_ms) {
      ms = g_last_ms;
      if (++g_seq > 0xFFF) {  // counter exhausted: borrow the next millisecond
        ++ms;
        g_seq = 0;
      }
    } else {
      g_seq = 0;
    }
    g_last_ms = ms;
    seq = g_seq;
  }
  unsigned char b[16];
  RAND_bytes(b + 8, 8);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((seq >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(seq & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out, 36);
}

bool IsValidId(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

absl::Status CheckId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return FieldError(field, "required");
  if (!IsValidId(id)) return FieldError(field, "not a valid id");
  return absl::OkStatus();
}

}  // namespace wuye
