#include "shared/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wuye {
namespace {

std::string WriteFile(absl::string_view name, const std::string& text) {
  std::string path = absl::StrCat(::testing::TempDir(), "/secret-", getpid(), "-", name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Issue 21, item 3: one reader, one trimming rule, one set of errors.
TEST(ReadSecretFile, TrimsOnlyTrailingWhiteSpace) {
  std::string path = WriteFile("trim", "  k3y\tpart  \r\n\n");
  EXPECT_EQ(*ReadSecretFile("--key_file", path), "  k3y\tpart");
  path = WriteFile("plain", "abc");
  EXPECT_EQ(*ReadSecretFile("--key_file", path), "abc");
  path = WriteFile("pem", "-----BEGIN X-----\nAAAA\n-----END X-----\n");
  EXPECT_EQ(*ReadSecretFile("--key_file", path), "-----BEGIN X-----\nAAAA\n-----END X-----");
}

TEST(ReadSecretFile, ErrorsNameTheFlagNotTheContent) {
  auto missing = ReadSecretFile("--key_file", "/nonexistent/wuye-key");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "--key_file: no such file");

  auto dir = ReadSecretFile("--key_file", ::testing::TempDir());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir.status().message(), "--key_file: cannot read the file");

  auto empty = ReadSecretFile("--key_file", WriteFile("empty", " \n"));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "--key_file: the file is empty");

  auto short_key =
      ReadSecretFile("--key_file", WriteFile("short", "secret-31-bytes-long-xxxxxxxxxx\n"), 32);
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(short_key.status().message(), "--key_file: at least 32 bytes");
  EXPECT_TRUE(
      ReadSecretFile("--key_file", WriteFile("long", std::string(32, 'k') + "\n"), 32).ok());
}

TEST(ReadSecretFile, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  std::string path = WriteFile("unreadable", "secret");
  chmod(path.c_str(), 0);
  auto st = ReadSecretFile("--key_file", path);
  EXPECT_EQ(st.status().message(), "--key_file: cannot read the file");
}

TEST(ReadSecretFile, ToolsFallBackToTheEnvironment) {
  setenv("WUYE_TEST_SECRET", "from-env", 1);
  std::string path = WriteFile("tool", "from-file\n");
  EXPECT_EQ(*ReadSecretFileOrEnv("--jwt_secret_file", path, "WUYE_TEST_SECRET"), "from-file");
  EXPECT_EQ(*ReadSecretFileOrEnv("--jwt_secret_file", "/nonexistent/s", "WUYE_TEST_SECRET"),
            "from-env");
  unsetenv("WUYE_TEST_SECRET");
  EXPECT_EQ(ReadSecretFileOrEnv("--jwt_secret_file", "/nonexistent/s", "WUYE_TEST_SECRET")
                .status()
                .message(),
            "--jwt_secret_file: no such file");
}

}  // namespace
}  // namespace wuye
