#include "shared/log.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wuye {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::string& Service() {
  static std::string* s = new std::string("wuye");
  return *s;
}

constexpr absl::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

}  // namespace

void SetLogService(absl::string_view service) { Service() = std::string(service); }
void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void AppendJsonEscaped(std::string* out, absl::string_view text) {
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out->append(hex);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

LogLine::LogLine(LogLevel level, absl::string_view msg)
    : enabled_(static_cast<int>(level) >= g_level.load(std::memory_order_relaxed)) {
  if (!enabled_) return;
  buf_.reserve(256);
  absl::StrAppend(&buf_, "{\"ts\":\"",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                  "\",\"level\":\"", kLevelNames[static_cast<int>(level)], "\",\"svc\":\"");
  AppendJsonEscaped(&buf_, Service());
  buf_.append("\",\"msg\":\"");
  AppendJsonEscaped(&buf_, msg);
  buf_.push_back('"');
}

LogLine::~LogLine() {
  if (!enabled_) return;
  buf_.append("}\n");
  // One write per line keeps lines whole when several threads log at once.
  ssize_t ignored = ::write(STDERR_FILENO, buf_.data(), buf_.size());
  (void)ignored;
}

void LogLine::Key(absl::string_view key) {
  buf_.append(",\"");
  AppendJsonEscaped(&buf_, key);
  buf_.append("\":");
}

LogLine& LogLine::Str(absl::string_view key, absl::string_view value) {
  if (!enabled_) return *this;
  Key(key);
  buf_.push_back('"');
  AppendJsonEscaped(&buf_, value);
  buf_.push_back('"');
  return *this;
}

LogLine& LogLine::Int(absl::string_view key, int64_t value) {
  if (enabled_) {
    Key(key);
    absl::StrAppend(&buf_, value);
  }
  return *this;
}

LogLine& LogLine::Num(absl::string_view key, double value) {
  if (enabled_) {
    Key(key);
    if (std::isfinite(value)) {
      absl::StrAppend(&buf_, value);
    } else {
      buf_.append("null");  // JSON has no NaN or infinity
    }
  }
  return *this;
}

LogLine& LogLine::Bool(absl::string_view key, bool value) {
  if (enabled_) {
    Key(key);
    buf_.append(value ? "true" : "false");
  }
  return *this;
}

}  // namespace wuye
