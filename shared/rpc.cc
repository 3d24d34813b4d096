#include "shared/rpc.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace wuye {
namespace {

absl::string_view Metadata(grpc::ServerContext* ctx, absl::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

bool SafeTraceId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

// The trace id of a W3C `traceparent` header, "00-<32 hex trace id>-<16 hex span>-<2 hex>";
// empty when the header is absent or malformed (the W3C rule: then start a new trace).
absl::string_view TraceIdOfTraceparent(absl::string_view header) {
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return {};
  absl::string_view id = header.substr(3, 32);
  bool all_zero = true;
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_isupper(c)) return {};
    all_zero = all_zero && c == '0';
  }
  return all_zero ? absl::string_view() : id;
}

// A new trace id that is also a valid W3C trace id: the request's UUIDv7 without dashes.
std::string NewTraceId(absl::Time now) {
  std::string id = NewId(now);
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  return id;
}

}  // namespace

absl::Status RequestContext::RequireRole(std::initializer_list<std::string_view> roles) const {
  if (caller.HasAnyRole(roles)) return absl::OkStatus();
  std::string names;
  for (std::string_view role : roles) {
    if (!names.empty()) names += ", ";
    names.append(role.data(), role.size());
  }
  return absl::PermissionDeniedError(absl::StrCat(method, ": needs one of the roles ", names));
}

absl::Status RequestContext::RequireStaff() const {
  using namespace roles;  // NOLINT(google-build-using-namespace)
  if (caller.HasAnyRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent, kTechnician,
                         kCleaner, kGardener, kSecurityGuard, kCareWorker, kNurse, kClinic,
                         kFinanceClerk, kQualityInspector, kService})) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(method, ": needs a role of the group's staff"));
}

absl::Status RequestContext::RequireEstate(const std::string& estate_id) const {
  if (caller.CanSeeEstate(estate_id)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("estate ", estate_id, ": not among the estates of the caller's token"));
}

absl::Status RequestContext::StillWanted() const {
  if (server_context == nullptr) return absl::OkStatus();
  if (server_context->deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the call's deadline passed before its work was done");
  }
  if (absl::Now() - received >= kAskCancelledAfter && server_context->IsCancelled()) {
    return absl::CancelledError("the call was cancelled");
  }
  return absl::OkStatus();
}

absl::Status RequestContext::RequireGroup() const {
  if (!caller.group_id.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError("the caller's token names no property group");
}

absl::Status RpcRunner::Begin(grpc::ServerContext* ctx, absl::string_view method,
                              absl::string_view request_id, RequestContext* rc) const {
  rc->server_context = ctx;
  rc->method = absl::StrCat(service_, ".", method);
  rc->request_id = std::string(request_id);
  rc->now = clock_.Now();
  // W3C trace context first, then our own header; else this call starts a trace.
  absl::string_view trace = TraceIdOfTraceparent(Metadata(ctx, "traceparent"));
  if (trace.empty()) trace = Metadata(ctx, "x-trace-id");
  rc->trace_id = SafeTraceId(trace) ? std::string(trace) : NewTraceId(rc->now);
  absl::string_view auth = Metadata(ctx, "authorization");
  constexpr absl::string_view kBearer = "Bearer ";
  if (auth.empty()) return absl::UnauthenticatedError("authorization: bearer token required");
  if (!absl::StartsWithIgnoreCase(auth, kBearer)) {
    return absl::UnauthenticatedError("authorization: must be 'Bearer <token>'");
  }
  absl::string_view token = auth.substr(kBearer.size());
  auto caller = verifier_.Verify(std::string_view(token.data(), token.size()), rc->now);
  if (!caller.ok()) return caller.status();
  rc->caller = std::move(*caller);
  return absl::OkStatus();
}

grpc::Status RpcRunner::Finish(grpc::ServerContext* ctx, const RequestContext& rc,
                               const absl::Status& status, absl::Time start) const {
  absl::Duration took = absl::Now() - start;
  ctx->AddTrailingMetadata("x-trace-id", rc.trace_id);
  Metrics::Global().RecordRpc(rc.method, status.code(), took);
  bool server_fault = status.code() == absl::StatusCode::kInternal ||
                      status.code() == absl::StatusCode::kUnknown ||
                      status.code() == absl::StatusCode::kDataLoss;
  LogLine line(server_fault ? LogLevel::kError : LogLevel::kInfo, "rpc");
  line.Str("method", rc.method)
      .Str("code", absl::StatusCodeToString(status.code()))
      .Num("ms", absl::ToDoubleMilliseconds(took))
      .Str("trace_id", rc.trace_id);
  if (!rc.request_id.empty()) line.Str("request_id", rc.request_id);
  if (!rc.caller.group_id.empty()) line.Str("group", rc.caller.group_id);
  if (!rc.caller.subject.empty()) line.Str("sub", rc.caller.subject);
  // Error texts are written by our code from field names and ids, never personal values.
  if (!status.ok()) line.Str("error", status.message());
  return ToGrpcStatus(status);
}

}  // namespace wuye
