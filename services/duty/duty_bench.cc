// duty_bench: an event that needs a person → its task on a screen. A running wuye-duty
// (--target) reads intake's stream on the Redis of WUYE_REDIS_ADDR; this bench publishes
// "intake.complaint.major" events there at --rate per second through a real outbox and
// relay (an intake stand-in on a database of its own on WUYE_PG_URL's server), while a
// team lead's WatchTasks stream on the estate waits for the tasks. Open loop: each event
// is scheduled at a fixed time whatever the server does, and its latency runs from that
// time to the first TaskUpdate about its ticket.
//
//   duty_bench --target 127.0.0.1:50057          secret: --jwt_secret or WUYE_JWT_SECRET
//
// Prints one JSON object on stdout. Exit 0 when every event's task was seen, 1 otherwise,
// 2 when the set-up failed.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/bus.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/testing/test_env.h"
#include "wuye/duty/v1/duty.grpc.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

ABSL_FLAG(std::string, target, "", "host:port of the running duty server (required)");
ABSL_FLAG(std::string, jwt_secret, "", "the server's HS256 secret (or WUYE_JWT_SECRET)");
ABSL_FLAG(double, rate, 200, "events per second");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "how long the load runs");
ABSL_FLAG(absl::Duration, settle, absl::Seconds(30), "how long to wait for the last tasks");

namespace {

namespace pb = ::wuye::duty::v1;
namespace ev = ::wuye::events::v1;

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

std::string Figures(std::vector<absl::Duration> v) {
  if (v.empty()) return "{\"n\": 0}";
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return Ms(v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]);
  };
  return absl::StrCat("{\"n\": ", v.size(), ", \"p50_ms\": ", at(0.50), ", \"p90_ms\": ", at(0.90),
                      ", \"p99_ms\": ", at(0.99), ", \"max_ms\": ", Ms(v.back()), "}");
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "duty_bench: %s\n", what.c_str());
  return 2;
}

// What the watcher has seen: the first update about each ticket, when it arrived.
struct Seen {
  std::mutex mu;
  std::map<std::string, absl::Time> first;  // ticket id → arrival
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  std::string secret = absl::GetFlag(FLAGS_jwt_secret);
  if (secret.empty() && std::getenv("WUYE_JWT_SECRET") != nullptr) {
    secret = std::getenv("WUYE_JWT_SECRET");
  }
  if (target.empty() || secret.empty()) return Fail("--target and the JWT secret are required");

  const std::string group = wuye::NewId(absl::Now());
  const std::string estate = wuye::NewId(absl::Now());
  wuye::TokenClaims claims;
  claims.subject = wuye::NewId(absl::Now());
  claims.group_id = group;
  claims.estate_ids = {estate};
  claims.roles = {"team_lead"};  // sees every task of the estate
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(1);
  absl::StatusOr<std::string> token = wuye::MintHs256(claims, secret);
  if (!token.ok()) return Fail(std::string(token.status().message()));

  // The watcher: one stream for the whole run.
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = pb::DutyService::NewStub(channel);
  grpc::ClientContext watch_ctx;
  watch_ctx.AddMetadata("authorization", "Bearer " + *token);
  pb::WatchTasksRequest watch;
  watch.set_estate_id(estate);
  Seen seen;
  auto reader = stub->WatchTasks(&watch_ctx, watch);
  std::thread watcher([&] {
    pb::TaskUpdate u;
    while (reader->Read(&u)) {
      absl::Time at = absl::Now();
      absl::string_view ref = u.task().subject_ref();
      if (u.initial() || !absl::ConsumePrefix(&ref, "ticket/")) continue;
      std::lock_guard<std::mutex> lock(seen.mu);
      seen.first.emplace(std::string(ref), at);
    }
  });

  // The intake stand-in: its outbox and relay onto intake's stream.
  static const wuye::MigrationSet kNone{"bench_intake", {}};
  wuye::testing::TestDatabase intake_db;
  std::unique_ptr<wuye::Db> intake = intake_db.Open(kNone, 8);
  wuye::RedisOptions redis;
  redis.addr = wuye::testing::RedisAddr();
  wuye::RelayOptions relay_options;
  relay_options.stream = wuye::StreamOf("intake");
  wuye::DbOptions relay_db;
  relay_db.url = intake_db.url();
  wuye::OutboxRelay relay(relay_db, redis, relay_options);
  relay.Start();
  wuye::Outbox outbox(*intake, "intake");
  auto publish = [&](const std::string& ticket) {
    ev::MajorComplaint p;
    p.set_ticket_id(ticket);
    p.set_estate_id(estate);
    return intake->Transact([&](pqxx::work& tx) {
      outbox.Append(tx, {"intake.complaint.major", group, estate, ticket, 1, &p}, absl::Now(),
                    "duty-bench");
      return absl::OkStatus();
    });
  };
  auto seen_ticket = [&](const std::string& ticket) {
    std::lock_guard<std::mutex> lock(seen.mu);
    return seen.first.count(ticket) > 0;
  };

  // Warm-up: one event through the whole path, so the stream and the consumer are live.
  const std::string warm = wuye::NewId(absl::Now());
  if (!publish(warm).ok() ||
      !wuye::testing::WaitFor([&] { return seen_ticket(warm); }, absl::GetFlag(FLAGS_settle))) {
    watch_ctx.TryCancel();
    watcher.join();
    relay.Stop();
    return Fail("the warm-up event's task never reached WatchTasks (is duty reading this Redis?)");
  }

  const double rate = absl::GetFlag(FLAGS_rate);
  const int total = static_cast<int>(rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)));
  const absl::Duration gap = absl::Seconds(1) / rate;
  std::mutex mu;
  std::map<std::string, absl::Time> scheduled;
  std::atomic<int> failed{0};
  const absl::Time begin = absl::Now() + absl::Milliseconds(100);
  std::vector<std::thread> senders;
  const int kSenders = 4;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < total; i += kSenders) {
        absl::Time at = begin + gap * i;
        absl::SleepFor(at - absl::Now());
        std::string ticket = wuye::NewId(absl::Now());
        {
          std::lock_guard<std::mutex> lock(mu);
          scheduled[ticket] = at;
        }
        if (!publish(ticket).ok()) ++failed;
      }
    });
  }
  for (std::thread& s : senders) s.join();
  auto all_seen = [&] {
    std::lock_guard<std::mutex> lock(seen.mu);
    return static_cast<int>(seen.first.size()) - 1 >= total - failed.load();
  };
  wuye::testing::WaitFor(all_seen, absl::GetFlag(FLAGS_settle));
  watch_ctx.TryCancel();
  watcher.join();
  relay.Stop();

  std::vector<absl::Duration> latency;
  {
    std::lock_guard<std::mutex> lock(seen.mu);
    for (const auto& [ticket, at] : scheduled) {
      auto it = seen.first.find(ticket);
      if (it != seen.first.end()) latency.push_back(it->second - at);
    }
  }
  std::printf(
      "{\"bench\": \"duty\", \"rate_per_s\": %g, \"sent\": %d, \"send_failed\": %d, "
      "\"seen\": %zu,\n \"event_to_watch_tasks\": %s}\n",
      rate, total, failed.load(), latency.size(), Figures(latency).c_str());
  return latency.size() == static_cast<size_t>(total) ? 0 : 1;
}
