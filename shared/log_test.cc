#include "shared/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace wuye {
namespace {

using json = nlohmann::json;

// Sends everything written to stderr (fd 2) to a temporary file until Finish(), then puts
// the real stderr back.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = ::dup(STDERR_FILENO);
    if (file_ == nullptr || saved_ < 0 || ::dup2(::fileno(file_), STDERR_FILENO) < 0) {
      ADD_FAILURE() << "cannot redirect stderr";
    }
  }
  ~StderrCapture() { Restore(); }

  // Restores stderr and returns what was written while it was captured.
  std::string Finish() {
    Restore();
    std::string out;
    if (file_ == nullptr) return out;
    std::rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
    return out;
  }

 private:
  void Restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
  }

  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

// Splits captured output into lines and parses each as one JSON object.
std::vector<json> ParseLines(const std::string& out) {
  std::vector<json> lines;
  EXPECT_TRUE(out.empty() || out.back() == '\n') << "last line unterminated: " << out;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << "not one JSON object: " << line;
    lines.push_back(parsed);
  }
  return lines;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogService("wuye");
    SetLogLevel(LogLevel::kInfo);
  }
  void TearDown() override {
    SetLogService("wuye");
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST_F(LogTest, EachLineIsOneJsonObjectWithTimeLevelServiceAndMessage) {
  SetLogService("directory");
  StderrCapture capture;
  LogInfo("rpc.done").Str("method", "directory.CreateUnit").Int("ms", 12);
  LogWarn("db.slow").Num("seconds", 1.5).Bool("retried", true);
  LogError("boom");
  std::vector<json> lines = ParseLines(capture.Finish());

  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["svc"], "directory");
  EXPECT_EQ(lines[0]["msg"], "rpc.done");
  EXPECT_EQ(lines[0]["method"], "directory.CreateUnit");
  EXPECT_EQ(lines[0]["ms"], 12);
  EXPECT_EQ(lines[1]["level"], "warn");
  EXPECT_EQ(lines[1]["seconds"], 1.5);
  EXPECT_EQ(lines[1]["retried"], true);
  EXPECT_EQ(lines[2]["level"], "error");
  EXPECT_EQ(lines[2]["msg"], "boom");
  for (const json& line : lines) {
    EXPECT_EQ(line["svc"], "directory");
    ASSERT_TRUE(line["ts"].is_string());
    EXPECT_TRUE(std::regex_match(line["ts"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line["ts"];
  }
}

TEST_F(LogTest, DefaultServiceNameIsWuye) {
  StderrCapture capture;
  LogInfo("started");
  std::vector<json> lines = ParseLines(capture.Finish());

  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["svc"], "wuye");
}

TEST_F(LogTest, QuotesBackslashesNewlinesAndControlCharactersAreEscaped) {
  const std::string nasty = "say \"hi\"\\ \nnext\r\ttab \x01\x1f end";
  StderrCapture capture;
  LogInfo("msg \"quoted\"\nline").Str("value", nasty).Str("key\n\"x\"", "v");
  std::string out = capture.Finish();

  // One physical line despite the newlines inside.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  for (char c : out.substr(0, out.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << out;
  }
  EXPECT_NE(out.find(R"(\u0001)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(\u001f)"), std::string::npos) << out;
  std::vector<json> lines = ParseLines(out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "msg \"quoted\"\nline");
  EXPECT_EQ(lines[0]["value"], nasty);
  EXPECT_EQ(lines[0]["key\n\"x\""], "v");
}

TEST_F(LogTest, AppendJsonEscapedLeavesPlainTextAlone) {
  std::string out = "prefix:";
  AppendJsonEscaped(&out, "plain text 123 / ok ~");
  EXPECT_EQ(out, "prefix:plain text 123 / ok ~");

  std::string escaped;
  AppendJsonEscaped(&escaped, "a\"b\\c\nd\re\tf\x02");
  EXPECT_EQ(escaped, R"(a\"b\\c\nd\re\tf\u0002)");
}

TEST_F(LogTest, LinesBelowTheLevelAreNotWritten) {
  SetLogLevel(LogLevel::kWarn);
  StderrCapture capture;
  LogDebug("debug.line");
  LogInfo("info.line").Str("k", "v");
  LogWarn("warn.line");
  LogError("error.line");
  std::vector<json> lines = ParseLines(capture.Finish());

  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "warn.line");
  EXPECT_EQ(lines[1]["msg"], "error.line");
}

TEST_F(LogTest, DebugLinesAreWrittenAtDebugLevelOnly) {
  StderrCapture at_info;
  LogDebug("hidden");
  EXPECT_EQ(at_info.Finish(), "");

  SetLogLevel(LogLevel::kDebug);
  StderrCapture at_debug;
  LogDebug("shown");
  std::vector<json> lines = ParseLines(at_debug.Finish());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "debug");
  EXPECT_EQ(lines[0]["msg"], "shown");
}

TEST_F(LogTest, ErrorLevelKeepsOnlyErrors) {
  SetLogLevel(LogLevel::kError);
  StderrCapture capture;
  LogInfo("a");
  LogWarn("b");
  LogError("c");
  std::vector<json> lines = ParseLines(capture.Finish());

  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "c");
}

TEST(ParseLogLevelTest, ParsesTheFourNamesAndNothingElse) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("info", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  EXPECT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);

  for (absl::string_view bad : {"", "INFO", "warning", "trace", "info "}) {
    level = LogLevel::kWarn;
    EXPECT_FALSE(ParseLogLevel(bad, &level)) << bad;
    EXPECT_EQ(level, LogLevel::kWarn) << bad;
  }
}

}  // namespace
}  // namespace wuye
