// Conversions between absl::Time and google.protobuf.Timestamp.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "shared/status.h"

namespace wuye {

inline google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

inline absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// PostgreSQL timestamptz text (in UTC sessions: "2026-11-24 07:30:00.123+00") ⇄ absl::Time.
bool ParsePgTime(absl::string_view text, absl::Time* out);
std::string FormatPgTime(absl::Time t);

// The [window_start, window_end) of a list request (one with `window_start` and
// `window_end` Timestamps): both required, the end after the start, at most `max` apart;
// each refusal is INVALID_ARGUMENT naming its field.
struct TimeWindow {
  absl::Time start, end;
};
template <class Request>
absl::StatusOr<TimeWindow> WindowOf(const Request& req, absl::Duration max) {
  if (!req.has_window_start()) return FieldError("window_start", "required");
  if (!req.has_window_end()) return FieldError("window_end", "required");
  TimeWindow w{FromProtoTime(req.window_start()), FromProtoTime(req.window_end())};
  if (w.end <= w.start) return FieldError("window_end", "must be after window_start");
  if (w.end - w.start > max) {
    const int64_t days = max / absl::Hours(24);
    return FieldError("window_end",
                      absl::StrCat("at most ",
                                   days * absl::Hours(24) == max ? absl::StrCat(days, " days")
                                                                 : absl::FormatDuration(max),
                                   " after window_start"));
  }
  return w;
}

}  // namespace wuye
