#include "shared/status.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace wuye {
namespace {

TEST(FieldErrorTest, IsInvalidArgumentNamingTheFieldAndTheRule) {
  absl::Status status = FieldError("unit.building_area_m2", "must be > 0");

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unit.building_area_m2: must be > 0");
  EXPECT_EQ(ErrorField(status), "unit.building_area_m2");
  EXPECT_EQ(ErrorReason(status), "");
}

TEST(FieldErrorTest, PlainStatusesNameNoFieldAndNoReason) {
  absl::Status status = absl::NotFoundError("unit not found");

  EXPECT_EQ(ErrorField(status), "");
  EXPECT_EQ(ErrorReason(status), "");
  EXPECT_EQ(ErrorField(absl::OkStatus()), "");
}

TEST(WithReasonTest, AttachesAReasonAndKeepsCodeMessageAndField) {
  absl::Status status = WithReason(FieldError("request_id", "reused"), "REQUEST_ID_REUSED");

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request_id: reused");
  EXPECT_EQ(ErrorField(status), "request_id");
  EXPECT_EQ(ErrorReason(status), "REQUEST_ID_REUSED");
}

TEST(WithReasonTest, WorksOnStatusesWithoutAField) {
  absl::Status status = WithReason(absl::FailedPreconditionError("unit is let"), "UNIT_LET");

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(status), "UNIT_LET");
  EXPECT_EQ(ErrorField(status), "");
}

TEST(GrpcStatusTest, RoundTripKeepsCodeMessageFieldAndReason) {
  absl::Status original = WithReason(FieldError("estate.name", "required"), "MISSING");

  absl::Status back = FromGrpcStatus(ToGrpcStatus(original));

  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(back.message(), "estate.name: required");
  EXPECT_EQ(ErrorField(back), "estate.name");
  EXPECT_EQ(ErrorReason(back), "MISSING");
}

TEST(GrpcStatusTest, CodeNumbersAreTheCanonicalOnes) {
  grpc::Status wire = ToGrpcStatus(absl::NotFoundError("estate not found"));

  EXPECT_EQ(wire.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(wire.error_message(), "estate not found");
  // No payloads, no details.
  EXPECT_TRUE(wire.error_details().empty());
  EXPECT_EQ(FromGrpcStatus(wire), absl::NotFoundError("estate not found"));
}

TEST(GrpcStatusTest, ErrorDetailsAreAGoogleRpcStatusWithABadRequest) {
  grpc::Status wire = ToGrpcStatus(WithReason(FieldError("page_size", "too big"), "TOO_BIG"));

  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(wire.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rich.message(), "page_size: too big");

  google::rpc::BadRequest bad;
  google::rpc::ErrorInfo info;
  bool found_bad = false;
  bool found_info = false;
  for (const auto& any : rich.details()) {
    if (any.UnpackTo(&bad)) found_bad = true;
    if (any.UnpackTo(&info)) found_info = true;
  }
  ASSERT_TRUE(found_bad);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "page_size");
  EXPECT_EQ(bad.field_violations(0).description(), "too big");
  ASSERT_TRUE(found_info);
  EXPECT_EQ(info.reason(), "TOO_BIG");
  EXPECT_EQ(info.domain(), "wuye");
}

TEST(GrpcStatusTest, OkMapsToOkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, UnreadableDetailsAreIgnored) {
  grpc::Status wire(grpc::StatusCode::INTERNAL, "boom", "\xff\xff not a proto");

  absl::Status back = FromGrpcStatus(wire);

  EXPECT_EQ(back.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(back.message(), "boom");
  EXPECT_EQ(ErrorField(back), "");
}

absl::Status Fails() { return absl::AbortedError("retry"); }
absl::StatusOr<int> Seven() { return 7; }
absl::StatusOr<int> Missing() { return absl::NotFoundError("missing"); }

absl::Status AddSeven(int* out) {
  WUYE_ASSIGN_OR_RETURN(int seven, Seven());
  *out += seven;
  WUYE_RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

absl::Status UseMissing(int* out) {
  WUYE_ASSIGN_OR_RETURN(*out, Missing());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnTheFirstErrorAndPassValuesThrough) {
  int value = 1;
  EXPECT_TRUE(AddSeven(&value).ok());
  EXPECT_EQ(value, 8);

  EXPECT_EQ(UseMissing(&value).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(value, 8);

  auto returns_error = []() -> absl::Status {
    WUYE_RETURN_IF_ERROR(Fails());
    return absl::OkStatus();
  };
  EXPECT_EQ(returns_error().code(), absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace wuye
