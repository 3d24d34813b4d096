// Structured logs: one JSON object per line on stderr.
//
//   wuye::LogInfo("rpc.done").Str("method", m).Int("ms", 12);
//
// The line is written when the temporary ends. Keys and messages are fixed words chosen by
// the code; values are ids, codes and figures. Personal data (names, phones, ID numbers,
// health fields) is never passed here.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wuye {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Process-wide settings, set once at start.
void SetLogService(absl::string_view service);
void SetLogLevel(LogLevel level);
// Parses "debug", "info", "warn", "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view msg);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(absl::string_view key, absl::string_view value);
  LogLine& Int(absl::string_view key, int64_t value);
  LogLine& Num(absl::string_view key, double value);
  LogLine& Bool(absl::string_view key, bool value);

 private:
  void Key(absl::string_view key);
  bool enabled_;
  std::string buf_;
};

inline LogLine LogDebug(absl::string_view msg) { return LogLine(LogLevel::kDebug, msg); }
inline LogLine LogInfo(absl::string_view msg) { return LogLine(LogLevel::kInfo, msg); }
inline LogLine LogWarn(absl::string_view msg) { return LogLine(LogLevel::kWarn, msg); }
inline LogLine LogError(absl::string_view msg) { return LogLine(LogLevel::kError, msg); }

// Appends `text` to `out` as the inside of a JSON string.
void AppendJsonEscaped(std::string* out, absl::string_view text);

}  // namespace wuye
