#include "shared/proto_time.h"

#include <string>

namespace wuye {

bool ParsePgTime(absl::string_view text, absl::Time* out) {
  std::string err;
  // PostgreSQL prints "+00" for UTC; absl's %Ez wants "+00:00".
  std::string s(text);
  if (s.size() >= 3 && (s[s.size() - 3] == '+' || s[s.size() - 3] == '-')) s += ":00";
  return absl::ParseTime("%Y-%m-%d %H:%M:%E*S%Ez", s, out, &err);
}

std::string FormatPgTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

}  // namespace wuye
