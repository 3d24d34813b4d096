// The bearer-token parser and verifier: any bytes as a token must give a status, never a
// crash, and never a caller unless signed with the key.
#include <cstdlib>
#include <string_view>

#include "absl/time/time.h"
#include "shared/auth.h"
#include "tests/fuzz/fuzz.h"

namespace {

const wuye::TokenVerifier& Verifier() {
  static const auto* verifier = [] {
    wuye::AuthConfig config;
    config.hs256_secret = "fuzzing-secret-fuzzing-secret-fuzzing-secret";
    return wuye::TokenVerifier::Create(config)->release();
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto caller = Verifier().Verify(token, absl::FromUnixSeconds(1'800'000'000));
  // A forged token must never pass: the only token signed with the secret above is the
  // corpus's "valid" one, whose subject is fuzz-valid.
  if (caller.ok() && caller->subject != "fuzz-valid") std::abort();
  return 0;
}
