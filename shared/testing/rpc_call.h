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

#include <memory>
#include <string>

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
