// Calling a service's gRPC stub as a caller with a bearer token, the way every service test
// does. A test fixture derives from StubCaller<Stub> to get `stub_` and `Call`:
//
//   class BillingServiceTest : public ::testing::Test,
//                              protected ::wuye::testing::StubCaller<v1::BillingService::Stub> {
//     ...  stub_ = v1::BillingService::NewStub(channel);
//   };
//   grpc::Status st = Call(&Stub::GetBill, clerk_token, request, &bill);
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wuye::testing {

// One unary call on `stub` with `token` as the bearer token ("" = no authorization header).
template <class Stub, class Req, class Resp>
grpc::Status CallWithToken(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                           const std::string& token, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  return (stub.*method)(&ctx, req, resp);
}

// The same, with a deadline: for services run as processes, which a test may kill or cut
// off.
template <class Stub, class Req, class Resp>
grpc::Status CallWithDeadline(Stub& stub,
                              grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                              const std::string& token, const Req& req, Resp* resp,
                              absl::Duration deadline) {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  return (stub.*method)(&ctx, req, resp);
}

// The same request (the same request_id) again, every 250 ms for up to `settle`, while
// `again` says so of the answer: e.g. NOT_FOUND while a service has not yet learnt from the
// bus of what the request names. A refusal changes nothing, so the retry is the first call.
template <class Stub, class Req, class Resp>
grpc::Status CallUntilSettled(Stub& stub,
                              grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                              const std::string& token, const Req& req, Resp* resp,
                              absl::Duration settle, absl::Duration per_call,
                              const std::function<bool(const grpc::Status&)>& again) {
  const absl::Time give_up = absl::Now() + settle;
  for (;;) {
    grpc::Status st = CallWithDeadline(stub, method, token, req, resp, per_call);
    if (!again(st) || absl::Now() > give_up) return st;
    absl::SleepFor(absl::Milliseconds(250));
  }
}

// A fixture's stub and its Call(&Stub::Method, token, request, &response).
template <class Stub>
class StubCaller {
 protected:
  template <class Req, class Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const std::string& token, const Req& req, Resp* resp) {
    return CallWithToken(*stub_, method, token, req, resp);
  }

  std::unique_ptr<Stub> stub_;
};

}  // namespace wuye::testing
