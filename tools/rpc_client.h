// What the load tools (wuye-chaos, wuye-scale) share when they call the suite: tokens minted
// with the services' HS256 secret, calls retried with the same request while the failure is
// transient, bounded polling for an effect that travels over the bus, and the replicas of a
// service as one address list.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wuye::tools {

// Prints "<tool>: error: <what>" and exits with 2.
[[noreturn]] void Die(absl::string_view tool, absl::string_view what);

// The HS256 secret from `path`, or WUYE_JWT_SECRET; dies when neither gives one.
std::string ReadJwtSecret(absl::string_view tool, const std::string& path);

// A token of `group` (empty: the platform) for every estate, with one role, valid 6 hours.
std::string Mint(const std::string& secret, const std::string& group, const std::string& subject,
                 std::string_view role);

// A failure worth retrying with the same request: the service or its database restarting.
bool Transient(grpc::StatusCode code);

// One call, retried with the same request while the failure is transient, up to `budget`;
// each attempt has a 10 s deadline.
template <class Fn>
grpc::Status Call(const std::string& token, Fn&& fn, absl::Duration budget) {
  const absl::Time give_up = absl::Now() + budget;
  absl::Duration backoff = absl::Milliseconds(50);
  for (;;) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = fn(&ctx);
    if (st.ok() || !Transient(st.error_code()) || absl::Now() + backoff > give_up) return st;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

// Polls `ready` (which makes its own calls) until it is true or `budget` ends.
template <class Fn>
bool Await(Fn&& ready, absl::Duration budget) {
  const absl::Time give_up = absl::Now() + budget;
  absl::Duration wait = absl::Milliseconds(20);
  while (!ready()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(wait);
    wait = std::min(wait * 2, absl::Milliseconds(500));
  }
  return true;
}

// One channel per address of "host:port[,host:port…]" (a service's replicas).
std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& addresses);

// The stubs of a service's replicas; Pick spreads calls over the first `use` of them.
template <class Service>
class Replicas {
 public:
  explicit Replicas(const std::string& addresses) {
    for (const auto& channel : Channels(addresses)) stubs_.push_back(Service::NewStub(channel));
  }
  typename Service::Stub* Pick(size_t i, size_t use = SIZE_MAX) const {
    size_t n = std::min(use, stubs_.size());
    return stubs_[i % (n == 0 ? 1 : n)].get();
  }
  size_t size() const { return stubs_.size(); }
  bool empty() const { return stubs_.empty(); }

 private:
  std::vector<std::unique_ptr<typename Service::Stub>> stubs_;
};

}  // namespace wuye::tools
