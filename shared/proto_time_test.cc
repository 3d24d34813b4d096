#include "shared/proto_time.h"

#include <gtest/gtest.h>

#include <optional>

namespace wuye {
namespace {

// The shape of a list request with a window (ListShiftsRequest, ListAttendancesRequest, ...).
struct Request {
  std::optional<google::protobuf::Timestamp> start, end;
  bool has_window_start() const { return start.has_value(); }
  bool has_window_end() const { return end.has_value(); }
  const google::protobuf::Timestamp& window_start() const { return *start; }
  const google::protobuf::Timestamp& window_end() const { return *end; }
  google::protobuf::Timestamp* mutable_window_start() { return &start.emplace(); }
  google::protobuf::Timestamp* mutable_window_end() { return &end.emplace(); }
};

TEST(WindowOf, BothEndsRequiredInOrderAndAtMostTheMaximumApart) {
  const absl::Time t = absl::FromUnixSeconds(1'780'000'000);
  const absl::Duration max = absl::Hours(24 * 31);
  Request req;
  EXPECT_EQ(ErrorField(WindowOf(req, max).status()), "window_start");
  *req.mutable_window_start() = ToProtoTime(t);
  EXPECT_EQ(ErrorField(WindowOf(req, max).status()), "window_end");
  *req.mutable_window_end() = ToProtoTime(t);
  EXPECT_EQ(ErrorField(WindowOf(req, max).status()), "window_end");  // empty
  *req.mutable_window_end() = ToProtoTime(t + max + absl::Seconds(1));
  absl::Status wide = WindowOf(req, max).status();
  EXPECT_EQ(ErrorField(wide), "window_end");
  EXPECT_NE(wide.message().find("at most 31 days"), absl::string_view::npos) << wide.message();
  *req.mutable_window_end() = ToProtoTime(t + max);
  absl::StatusOr<TimeWindow> w = WindowOf(req, max);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->start, t);
  EXPECT_EQ(w->end, t + max);
}

}  // namespace
}  // namespace wuye
