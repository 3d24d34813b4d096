// The edge of every handler: authenticate the caller, give the body a RequestContext,
// turn whatever comes back (status or exception) into a grpc::Status, and log and count
// the call. Every handler of every service is one RpcRunner::Run call.
#pragma once

#include <grpcpp/server_context.h>

#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/idempotency.h"
#include "shared/status.h"

namespace wuye {

struct RequestContext {
  Caller caller;
  std::string method;      // "directory.CreateUnit"
  std::string trace_id;    // from x-trace-id, or new
  std::string request_id;  // of mutating calls
  absl::Time now;          // read once per call
  absl::Time received = absl::InfinitePast();  // when the runner took the call (real time)
  // The call's gRPC context (null in tests that build a RequestContext by hand).
  grpc::ServerContext* server_context = nullptr;

  // PERMISSION_DENIED unless the caller holds one of `roles`.
  absl::Status RequireRole(std::initializer_list<std::string_view> roles) const;
  // PERMISSION_DENIED unless the caller holds a role of the suite's staff (or `service`): the
  // reader list of reference data that every member of staff may see.
  absl::Status RequireStaff() const;
  // PERMISSION_DENIED unless the caller's token names the estate (or all of them).
  absl::Status RequireEstate(const std::string& estate_id) const;
  // PERMISSION_DENIED unless the caller belongs to a group (platform tokens don't).
  absl::Status RequireGroup() const;
  // CANCELLED when the caller has cancelled the call (or gone), DEADLINE_EXCEEDED when its
  // deadline has passed: work for it would be thrown away. Safe from any thread while the
  // call lasts (group commit's writer asks it for every waiting caller). The deadline is
  // always checked; whether the caller cancelled only once the call is kAskCancelledAfter
  // old: on the sync server that question polls gRPC's completion queue, which costs more
  // than the work of a call just received (and its write is replayable by request_id).
  absl::Status StillWanted() const;
  static constexpr absl::Duration kAskCancelledAfter = absl::Milliseconds(20);
  // The idempotency key of this call.
  IdempotencyKey Key() const { return {caller.group_id, request_id, method, &caller}; }
};

class RpcRunner {
 public:
  RpcRunner(std::string service, const TokenVerifier& verifier, const Clock& clock)
      : service_(std::move(service)), verifier_(verifier), clock_(clock) {}

  // `body` is absl::Status(RequestContext&). `request_id` is "" for reads.
  template <class Body>
  grpc::Status Run(grpc::ServerContext* ctx, absl::string_view method, absl::string_view request_id,
                   Body&& body) const {
    RequestContext rc;
    absl::Time start = absl::Now();
    rc.received = start;
    absl::Status status = Begin(ctx, method, request_id, &rc);
    // A call that waited for a thread until its deadline passed is not worked on.
    if (status.ok()) status = rc.StillWanted();
    if (status.ok()) {
      try {
        status = body(rc);
      } catch (const std::exception& e) {
        status = Db::FromException(e);
      }
    }
    return Finish(ctx, rc, status, start);
  }

  const std::string& service() const { return service_; }

 private:
  absl::Status Begin(grpc::ServerContext* ctx, absl::string_view method,
                     absl::string_view request_id, RequestContext* rc) const;
  grpc::Status Finish(grpc::ServerContext* ctx, const RequestContext& rc,
                      const absl::Status& status, absl::Time start) const;

  std::string service_;
  const TokenVerifier& verifier_;
  const Clock& clock_;
};

}  // namespace wuye
