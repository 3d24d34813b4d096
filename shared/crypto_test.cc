#include "shared/crypto.h"

#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wuye {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

// Issue 21, item 3: one place for SHA-256/HMAC. Vectors: FIPS 180-2 and RFC 4231.
TEST(Crypto, Sha256KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("x").size(), kSha256Bytes);
}

TEST(Crypto, HmacSha256KnownAnswers) {
  // RFC 4231, test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231, test case 1.
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_NE(HmacSha256("key-one", "13800001111"), HmacSha256("key-two", "13800001111"));
  EXPECT_EQ(HmacSha256("", "x").size(), kSha256Bytes);  // an empty key is a valid HMAC key
}

// Each thread keeps an HMAC context per key (four at most): a key met again, or after more
// than four others, or on another thread, still gives RFC 4231's answer.
TEST(Crypto, HmacSha256KeptContextsGiveTheSameAnswers) {
  const std::string jefe = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  auto check = [&] {
    for (int round = 0; round < 3; ++round) {
      EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")), jefe);
      for (int k = 0; k < 6; ++k) {  // more keys than a thread keeps
        EXPECT_EQ(HmacSha256(absl::StrCat("key-", k), "13800001111"),
                  HmacSha256(absl::StrCat("key-", k), "13800001111"));
      }
      EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")), jefe);
    }
    EXPECT_EQ(Hex(HmacSha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    EXPECT_EQ(Hex(Sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  };
  check();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(check);
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace wuye
