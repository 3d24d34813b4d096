// The one place where errors cross the edge: absl::Status inside the code, grpc::Status on
// the wire, with google.rpc details (BadRequest field violations, ErrorInfo reasons).
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wuye {

// INVALID_ARGUMENT naming the field and the rule it broke: "unit.building_area_m2: must be
// > 0". The field travels as a google.rpc.BadRequest violation too.
absl::Status FieldError(absl::string_view field, absl::string_view rule);

// Adds a machine-readable reason (google.rpc.ErrorInfo, domain "wuye") to a status.
absl::Status WithReason(absl::Status status, absl::string_view reason);

// The field named by a FieldError, or "" if the status names none.
std::string ErrorField(const absl::Status& status);
// The reason attached by WithReason, or "".
std::string ErrorReason(const absl::Status& status);

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace wuye

// Evaluates an absl::Status expression and returns it from the caller if not OK.
#define WUYE_RETURN_IF_ERROR(expr)                        \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

#define WUYE_CONCAT_INNER(a, b) a##b
#define WUYE_CONCAT(a, b) WUYE_CONCAT_INNER(a, b)
// `WUYE_ASSIGN_OR_RETURN(auto x, StatusOrExpr());`
#define WUYE_ASSIGN_OR_RETURN(lhs, expr) \
  WUYE_ASSIGN_OR_RETURN_IMPL(WUYE_CONCAT(_statusor_, __LINE__), lhs, expr)
#define WUYE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()
