#include "shared/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "shared/status.h"

namespace wuye {
namespace {

// Monotonic state: the last millisecond used and a 12-bit counter within it (rand_a).
absl::Mutex g_mu;
uint64_t g_last_ms ABSL_GUARDED_BY(g_mu) = 0;
uint32_t g_seq ABSL_GUARDED_BY(g_mu) = 0;

// The random tails, drawn from OpenSSL's generator 4 KiB at a time. One RAND_bytes call
// per id was 7% of a CreateTicket's server CPU (four or five ids a call), most of it not the
// bytes but OpenSSL setting up a generator for each new thread (RAND_get0_public ->
// EVP_RAND_instantiate), and gRPC's sync server starts and ends threads as load changes.
// One pool, taken under the id lock NewId holds anyway, is refilled by a thread now and
// then. The bytes are as random; each is handed out once.
unsigned char g_pool[4096] ABSL_GUARDED_BY(g_mu);
size_t g_pool_used ABSL_GUARDED_BY(g_mu) = sizeof g_pool;

void TakeRandomBytes(unsigned char* out, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  if (g_pool_used + n > sizeof g_pool) {
    if (RAND_bytes(g_pool, sizeof g_pool) != 1) throw std::runtime_error("RAND_bytes failed");
    g_pool_used = 0;
  }
  std::memcpy(out, g_pool + g_pool_used, n);
  std::memset(g_pool + g_pool_used, 0, n);
  g_pool_used += n;
}

}  // namespace

std::string NewId(absl::Time now) {
  // UUIDv7 has no room for times before 1970.
  uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
  uint32_t seq;
  unsigned char b[16];
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
    TakeRandomBytes(b + 8, 8);
  }
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((seq >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(seq & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));
  // 8-4-4-4-12 lower-case hex.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  for (int i = 0, o = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++o;
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0x0F];
  }
  return out;
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
