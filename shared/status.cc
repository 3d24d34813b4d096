#include "shared/status.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace wuye {
namespace {

constexpr absl::string_view kTypePrefix = "type.googleapis.com/";

std::string TypeUrl(const google::protobuf::Message& m) {
  return absl::StrCat(kTypePrefix, m.GetDescriptor()->full_name());
}

template <class Detail>
bool ReadPayload(const absl::Status& status, Detail* out) {
  auto payload = status.GetPayload(TypeUrl(*out));
  return payload.has_value() && out->ParseFromString(std::string(*payload));
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view rule) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field(std::string(field));
  v->set_description(std::string(rule));
  status.SetPayload(TypeUrl(bad), absl::Cord(bad.SerializeAsString()));
  return status;
}

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain("wuye");
  status.SetPayload(TypeUrl(info), absl::Cord(info.SerializeAsString()));
  return status;
}

std::string ErrorField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  if (!ReadPayload(status, &bad) || bad.field_violations().empty()) return "";
  return bad.field_violations(0).field();
}

std::string ErrorReason(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return ReadPayload(status, &info) ? info.reason() : "";
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(std::string(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    auto* any = rich.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(value));
  });
  // absl and gRPC share the canonical code numbers.
  auto code = static_cast<grpc::StatusCode>(status.code());
  if (rich.details().empty()) return grpc::Status(code, rich.message());
  return grpc::Status(code, rich.message(), rich.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rich;
  if (!status.error_details().empty() && rich.ParseFromString(status.error_details())) {
    for (const auto& any : rich.details()) {
      out.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return out;
}

}  // namespace wuye
