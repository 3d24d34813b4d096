// intake_bench: CreateTicket against one running wuye-intake (the lead compares it with
// pgbench's single-row INSERT on the same PostgreSQL; scripts/bench.sh gives that figure).
//
// Two figures, each bounded in time:
//   1. closed loop: --threads client threads, each with its own channel and one call in
//      flight, for --closed_duration: calls per second and latency;
//   2. open loop: calls started on a fixed schedule of --rate per second for
//      --open_duration, whatever the answers do (latency counts from the scheduled start,
//      so a stalled server cannot hide its queue): p50 / p99 and how many answered.
// Every call is a full CreateTicket: a hotline repair with a caller number (validation,
// phone hash, idempotency row, ticket, history, two outbox events), each with its own
// request_id.
//
// The token comes from WUYE_BENCH_TOKEN (an agent's token naming --estate_id or "*"), or is
// minted from --jwt_secret / WUYE_JWT_SECRET (the server's HS256 secret) for a fresh group.
// Prints one JSON object on stdout. Exit code: 0 when every call succeeded, 1 when some
// failed, 2 when the benchmark could not run.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/ids.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50052", "host:port of the running intake server");
ABSL_FLAG(std::string, jwt_secret, "", "the server's HS256 secret (or WUYE_JWT_SECRET)");
ABSL_FLAG(std::string, estate_id, "",
          "estate of the tickets, one intake knows (default: a fresh id, which it refuses)");
ABSL_FLAG(std::string, group_id, "", "group of the minted token (default: a fresh id)");
ABSL_FLAG(int, threads, 8, "closed loop: client threads, one call in flight each");
ABSL_FLAG(absl::Duration, closed_duration, absl::Seconds(5), "closed loop: how long");
ABSL_FLAG(double, rate, 1000, "open loop: offered calls per second");
ABSL_FLAG(absl::Duration, open_duration, absl::Seconds(5), "open loop: how long calls start");
ABSL_FLAG(int, channels, 8, "open loop: channels (TCP connections) the calls spread over");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "deadline of each call");
ABSL_FLAG(double, pgbench_tps, 0, "baseline: pgbench single-row INSERT tps (0: none)");

namespace {

namespace v1 = ::wuye::intake::v1;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "intake_bench: %s\n", what.c_str());
  std::exit(2);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

struct Setup {
  std::string token, estate, run;
  absl::Duration deadline;
};

v1::CreateTicketRequest Request(const Setup& s, long seq) {
  v1::CreateTicketRequest req;
  req.set_request_id(absl::StrCat("bench-", s.run, "-", seq));
  auto* t = req.mutable_ticket();
  t->set_estate_id(s.estate);
  t->mutable_location()->set_unit_id(wuye::NewId(absl::Now()));
  t->set_channel(wuye::common::v1::CHANNEL_HOTLINE);
  t->set_kind(wuye::common::v1::TICKET_KIND_REPAIR_UNIT);
  t->set_summary("Bathroom tap drips");
  t->set_category(wuye::common::v1::WORK_CATEGORY_PLUMBING);
  t->set_priority(wuye::common::v1::PRIORITY_SMALL);
  t->set_caller_phone(absl::StrCat("138", 10000000 + seq % 90000000));
  return req;
}

void Prepare(grpc::ClientContext& ctx, const Setup& s) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", s.token));
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(s.deadline));
}

struct Result {
  long ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> ms;  // latencies of successful calls
  std::string first_error;

  double Percentile(double q) {
    if (ms.empty()) return NAN;
    std::sort(ms.begin(), ms.end());
    size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(q * ms.size())), 1, ms.size());
    return ms[rank - 1];
  }
  nlohmann::json Json() {
    return {{"ok_calls", ok},
            {"failed_calls", failed},
            {"seconds", seconds},
            {"calls_per_s", seconds > 0 ? ok / seconds : 0},
            {"p50_ms", Percentile(0.5)},
            {"p90_ms", Percentile(0.9)},
            {"p99_ms", Percentile(0.99)},
            {"max_ms", ms.empty() ? NAN : ms.back()},
            {"first_error", first_error}};
  }
};

Result ClosedLoop(const Setup& s, const std::string& target, int threads, absl::Duration length) {
  std::atomic<long> seq{0};
  std::vector<Result> per(threads);
  std::vector<std::thread> workers;
  Clock::time_point start = Clock::now();
  Clock::time_point stop = start + absl::ToChronoNanoseconds(length);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      auto stub = v1::IntakeService::NewStub(NewChannel(target));
      Result& me = per[i];
      while (Clock::now() < stop) {
        v1::CreateTicketRequest req = Request(s, seq++);
        grpc::ClientContext ctx;
        Prepare(ctx, s);
        v1::Ticket resp;
        Clock::time_point t0 = Clock::now();
        grpc::Status st = stub->CreateTicket(&ctx, req, &resp);
        if (st.ok()) {
          ++me.ok;
          me.ms.push_back(Ms(Clock::now() - t0));
        } else if (me.failed++ == 0) {
          me.first_error = absl::StrCat(st.error_code(), ": ", st.error_message());
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  Result all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) {
    all.ok += r.ok;
    all.failed += r.failed;
    all.ms.insert(all.ms.end(), r.ms.begin(), r.ms.end());
    if (all.first_error.empty()) all.first_error = r.first_error;
  }
  return all;
}

// One asynchronous call of the open loop.
struct Pending {
  grpc::ClientContext ctx;
  v1::Ticket resp;
  grpc::Status status;
  Clock::time_point scheduled;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::Ticket>> reader;
};

Result OpenLoop(const Setup& s, const std::string& target, double rate, absl::Duration length,
                int channels) {
  std::vector<std::unique_ptr<v1::IntakeService::Stub>> stubs;
  for (int i = 0; i < channels; ++i)
    stubs.push_back(v1::IntakeService::NewStub(NewChannel(target)));
  grpc::CompletionQueue cq;
  Result r;
  const long total = static_cast<long>(rate * absl::ToDoubleSeconds(length));
  std::thread receiver([&] {
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
      std::unique_ptr<Pending> p(static_cast<Pending*>(tag));
      if (p->status.ok()) {
        ++r.ok;
        r.ms.push_back(Ms(Clock::now() - p->scheduled));
      } else if (r.failed++ == 0) {
        r.first_error = absl::StrCat(p->status.error_code(), ": ", p->status.error_message());
      }
    }
  });
  const Clock::time_point start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  for (long i = 0; i < total; ++i) {
    Clock::time_point at = start + std::chrono::duration_cast<Clock::duration>(interval * i);
    std::this_thread::sleep_until(at);
    auto* p = new Pending;
    p->scheduled = at;
    Prepare(p->ctx, s);
    p->reader = stubs[i % channels]->AsyncCreateTicket(&p->ctx, Request(s, 1000000000L + i), &cq);
    p->reader->Finish(&p->resp, &p->status, p);
  }
  cq.Shutdown();  // returns once every call started has finished (deadline-bounded)
  receiver.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("CreateTicket load generator for a running wuye-intake.");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const std::string target = absl::GetFlag(FLAGS_target);
  const int threads = absl::GetFlag(FLAGS_threads);
  const double rate = absl::GetFlag(FLAGS_rate);
  const int channels = absl::GetFlag(FLAGS_channels);
  if (threads < 1 || threads > 256) Fatal("--threads must be 1..256");
  if (channels < 1 || channels > 256) Fatal("--channels must be 1..256");
  if (rate <= 0 || rate > 100000) Fatal("--rate must be in (0, 100000]");
  if (absl::GetFlag(FLAGS_closed_duration) > absl::Minutes(5) ||
      absl::GetFlag(FLAGS_open_duration) > absl::Minutes(5)) {
    Fatal("durations are at most 5 minutes");
  }

  Setup s;
  s.run = absl::StrCat(absl::ToUnixMillis(absl::Now()), "-", getpid());
  s.deadline = absl::GetFlag(FLAGS_deadline);
  s.estate = absl::GetFlag(FLAGS_estate_id);
  if (s.estate.empty()) s.estate = wuye::NewId(absl::Now());
  if (const char* token = std::getenv("WUYE_BENCH_TOKEN"); token != nullptr && *token != '\0') {
    s.token = token;
  } else {
    std::string secret = absl::GetFlag(FLAGS_jwt_secret);
    if (secret.empty()) {
      if (const char* env = std::getenv("WUYE_JWT_SECRET")) secret = env;
    }
    if (secret.size() < 32) Fatal("set WUYE_BENCH_TOKEN, or --jwt_secret / WUYE_JWT_SECRET");
    wuye::TokenClaims c;
    c.subject = "bench-agent";
    c.group_id = absl::GetFlag(FLAGS_group_id);
    if (c.group_id.empty()) c.group_id = wuye::NewId(absl::Now());
    c.estate_ids = {"*"};
    c.roles = {"agent"};
    c.issued_at = absl::Now();
    c.expires_at = c.issued_at + absl::Hours(1);
    auto minted = wuye::MintHs256(c, secret);
    if (!minted.ok()) Fatal(absl::StrCat("cannot mint a token: ", minted.status().ToString()));
    s.token = *minted;
  }

  // One call first: the server is there and the token works.
  {
    auto stub = v1::IntakeService::NewStub(NewChannel(target));
    grpc::ClientContext ctx;
    Prepare(ctx, s);
    v1::Ticket resp;
    grpc::Status st = stub->CreateTicket(&ctx, Request(s, -1), &resp);
    if (!st.ok()) Fatal(absl::StrCat("first CreateTicket failed: ", st.error_message()));
  }

  std::fprintf(stderr, "intake_bench: closed loop, %d threads\n", threads);
  Result closed = ClosedLoop(s, target, threads, absl::GetFlag(FLAGS_closed_duration));
  std::fprintf(stderr, "intake_bench: open loop at %.0f calls/s\n", rate);
  Result open = OpenLoop(s, target, rate, absl::GetFlag(FLAGS_open_duration), channels);

  nlohmann::json out;
  out["target"] = target;
  out["closed_loop"] = closed.Json();
  out["closed_loop"]["threads"] = threads;
  out["open_loop"] = open.Json();
  out["open_loop"]["offered_per_s"] = rate;
  double pg = absl::GetFlag(FLAGS_pgbench_tps);
  double cps = closed.seconds > 0 ? closed.ok / closed.seconds : 0;
  out["create_ticket_per_s"] = cps;
  out["create_ticket_p50_ms_at_offered"] = open.Percentile(0.5);
  out["create_ticket_p99_ms_at_offered"] = open.Percentile(0.99);
  if (pg > 0) {
    out["pgbench_tps"] = pg;
    out["ratio_to_pgbench"] = cps / pg;
  }
  std::printf("%s\n", out.dump(2).c_str());
  return closed.failed + open.failed == 0 ? 0 : 1;
}
