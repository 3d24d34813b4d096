#include "shared/phone_key.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shared/status.h"

namespace wuye {
namespace {

std::string WriteKeyFile(const std::string& text) {
  std::string path = absl::StrCat(::testing::TempDir(), "phone-key-", getpid());
  std::ofstream(path) << text;
  return path;
}

// A caller's number (intake) and a resident's (the directory's events) hash alike.
TEST(Phone, NormalizesTheSameCallerToTheSameDigitsAndNeverQuotesIt) {
  EXPECT_EQ(*NormalizeCallerPhone("+86 138-0000-1111", "p"), "13800001111");
  EXPECT_EQ(*NormalizeCallerPhone("13800001111", "p"), "13800001111");
  EXPECT_EQ(*NormalizeCallerPhone("0755-8888 1234", "p"), "075588881234");
  absl::Status bad = NormalizeCallerPhone("138000011112222333", "p").status();
  EXPECT_EQ(ErrorField(bad), "p");
  EXPECT_EQ(bad.message().find("1380000"), std::string::npos);
  std::string h1 = HashPhone("key-one", "13800001111");
  EXPECT_EQ(h1.size(), 32u);
  EXPECT_EQ(h1, HashPhone("key-one", "13800001111"));
  EXPECT_NE(h1, HashPhone("key-two", "13800001111"));
  EXPECT_NE(h1, HashPhone("key-one", "13800001112"));
}

// Issue 20, item 16: the environment's key is held to the file's rule.
TEST(PhoneKey, ShortKeyRefusedFromEnvironmentAndFile) {
  const std::string short_key(31, 'k');
  auto env = LoadPhoneKey(short_key.c_str(), "");
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(env.status().message(), "WUYE_INTAKE_PHONE_KEY"));
  EXPECT_FALSE(absl::StrContains(env.status().message(), short_key));
  std::string path = WriteKeyFile(short_key + "\n");
  auto file = LoadPhoneKey(nullptr, path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(file.status().message(), "phone_key_file"));
  std::remove(path.c_str());
}

TEST(PhoneKey, EnvironmentWinsOverFile) {
  const std::string env_key(32, 'e');
  std::string path = WriteKeyFile(std::string(40, 'f') + "\r\n");
  EXPECT_EQ(*LoadPhoneKey(env_key.c_str(), path), env_key);
  EXPECT_EQ(*LoadPhoneKey("", path), std::string(40, 'f'));
  std::remove(path.c_str());
}

// Issue 20, item 4: no fallback to a key derived from the token secret.
TEST(PhoneKey, MissingOrUnreadableKeyIsAnError) {
  auto none = LoadPhoneKey(nullptr, "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "WUYE_INTAKE_PHONE_KEY"));
  EXPECT_EQ(LoadPhoneKey(nullptr, "/nonexistent/phone-key").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wuye
