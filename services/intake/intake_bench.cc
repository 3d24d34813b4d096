// intake_bench: CreateTicket against one running wuye-intake (the lead compares it with
// pgbench's single-row INSERT on the same PostgreSQL; scripts/bench.sh gives that figure).
//
// The figures, each bounded in time:
//   1. closed loop: --threads client threads, each with its own channel and one call in
//      flight, for --closed_duration: calls per second and latency; with --server_pid, the
//      server's CPU time per call (/proc/<pid>/stat utime + stime over the loop);
//   2. the empty call (with --server_pid): the standard health Check, the same clients for
//      the same time, and the server's CPU per Check: CreateTicket's CPU is compared with it;
//   3. open loop: calls started on a fixed schedule of --rate per second for
//      --open_duration, whatever the answers do (latency counts from the scheduled start,
//      so a stalled server cannot hide its queue): p50 / p99 and how many answered; with
//      --busy, once more with a CPU-bound process pinned to the last CPU (shared/bench_support.h);
//   4. with --overload: the open loop at half the closed loop's capacity, then at twice it:
//      the accepted calls' p99 at 2× against their p99 at half load, how many were refused
//      RESOURCE_EXHAUSTED and how fast (p99 of the refusals); any other error is a problem.
//
// --pgbench_script=PATH instead writes the statement one CreateTicket makes (a batch of one:
// BatchedRunOnce's claim and outbox insert around IntakeStore's CTEs, composed by the same
// code with the parameters of a sample call built as the handler builds them) as a pgbench
// script, fresh ids in every transaction (shared/bench_support.h says how to run it), and
// exits; --pg_url names a database migrated like intake's, for the byte escapes.
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
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
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
#include <fstream>
#include <map>
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
#include "services/intake/intake_store.h"
#include "services/intake/ticket.h"
#include "services/intake/ticket_flow.h"
#include "shared/auth.h"
#include "shared/batched_run_once.h"
#include "shared/bench_support.h"
#include "shared/db.h"
#include "shared/ids.h"
#include "shared/idempotency.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
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
ABSL_FLAG(int, server_pid, 0, "the server's pid: its CPU per call, and the empty call's (0: none)");
ABSL_FLAG(bool, busy, false, "open loop once more with a CPU hog pinned to the last CPU");
ABSL_FLAG(bool, overload, false, "open loop at half and at twice the closed loop's capacity");
ABSL_FLAG(std::string, pgbench_script, "",
          "write one CreateTicket's statement as a pgbench script to this file, and exit");
ABSL_FLAG(std::string, pg_url, "", "--pgbench_script: a database migrated like intake's");

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
  long refused = 0;  // of failed: RESOURCE_EXHAUSTED
  double seconds = 0;
  double server_cpu_s = -1;  // the server's CPU time over the run (--server_pid)
  std::vector<double> ms;          // latencies of successful calls
  std::vector<double> refused_ms;  // latencies of the refusals
  std::map<int, long> errors;      // failed calls by status code
  std::string first_error;         // the first failure other than a refusal

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
  // Records a failed call.
  void Fail(const grpc::Status& st, double latency_ms) {
    ++failed;
    ++errors[st.error_code()];
    if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused;
      refused_ms.push_back(latency_ms);
    } else if (first_error.empty()) {
      first_error = absl::StrCat(st.error_code(), ": ", st.error_message());
    }
  }
  long others() const { return failed - refused; }
  void Merge(Result& r) {
    ok += r.ok;
    failed += r.failed;
    refused += r.refused;
    ms.insert(ms.end(), r.ms.begin(), r.ms.end());
    refused_ms.insert(refused_ms.end(), r.refused_ms.begin(), r.refused_ms.end());
    for (auto [code, n] : r.errors) errors[code] += n;
    if (first_error.empty()) first_error = r.first_error;
  }
};

double CpuNow(int pid) { return pid > 0 ? wuye::bench::ProcessCpuSeconds(pid) : -1; }

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
        } else {
          me.Fail(st, Ms(Clock::now() - t0));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  Result all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) all.Merge(r);
  return all;
}

// ---- the empty call: the standard health Check, through a generic stub ----------------

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

Result HealthLoop(const std::string& target, int threads, absl::Duration length) {
  std::vector<Result> per(threads);
  std::vector<std::thread> workers;
  Clock::time_point start = Clock::now();
  Clock::time_point stop = start + absl::ToChronoNanoseconds(length);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      grpc::GenericStub stub(NewChannel(target));
      grpc::CompletionQueue cq;
      grpc::Slice empty(std::string{});
      const grpc::ByteBuffer request(&empty, 1);
      Result& me = per[i];
      while (Clock::now() < stop) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        grpc::ByteBuffer resp;
        grpc::Status st;
        Clock::time_point t0 = Clock::now();
        auto call = stub.PrepareUnaryCall(&ctx, kHealthCheck, request, &cq);
        call->StartCall();
        call->Finish(&resp, &st, reinterpret_cast<void*>(1));
        void* tag;
        bool ok;
        if (!cq.Next(&tag, &ok)) break;
        if (st.ok()) {
          ++me.ok;
          me.ms.push_back(Ms(Clock::now() - t0));
        } else {
          me.Fail(st, Ms(Clock::now() - t0));
        }
      }
      cq.Shutdown();
      void* tag;
      bool ok;
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  for (auto& w : workers) w.join();
  Result all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) all.Merge(r);
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
                int channels, long first_seq) {
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
      } else {
        r.Fail(p->status, Ms(Clock::now() - p->scheduled));
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
    p->reader = stubs[i % channels]->AsyncCreateTicket(&p->ctx, Request(s, first_seq + i), &cq);
    p->reader->Finish(&p->resp, &p->status, p);
  }
  cq.Shutdown();  // returns once every call started has finished (deadline-bounded)
  receiver.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// ---- the pgbench script of one CreateTicket --------------------------------------------

// Builds the sample call's rows, events and answer as IntakeServiceImpl::CreateTicket does
// (validation, the caller's number hashed, TicketFlow::Create), composes the statement as
// BatchedRunOnce does for a batch of one, and writes it with the call's parameters.
void WritePgbenchScript(const Setup& s, const std::string& group, const std::string& pg_url,
                        const std::string& path) {
  namespace intake = ::wuye::intake;
  wuye::DbOptions options;
  options.url = pg_url;
  options.pool_size = 1;
  auto db = wuye::Db::Open(options);
  if (!db.ok()) Fatal(absl::StrCat("--pg_url: ", db.status().ToString()));
  intake::IntakeStore store(**db);
  wuye::Outbox outbox(**db, "intake");
  intake::TicketFlow flow(store, outbox);

  const absl::Time now = absl::Now();
  v1::CreateTicketRequest req = Request(s, 0);
  v1::Ticket t = req.ticket();
  absl::Status prepared = intake::PrepareTicket(t, req.answer(), now, "ticket");
  if (!prepared.ok()) Fatal(absl::StrCat("the sample ticket: ", prepared.ToString()));
  auto digits = wuye::NormalizeCallerPhone(t.caller_phone(), "ticket.caller_phone");
  if (!digits.ok()) Fatal(digits.status().ToString());
  std::string key(32, 'k');
  std::string caller_hash = wuye::HashPhone(key, *digits);
  t.clear_caller_phone();
  wuye::Caller caller;
  caller.subject = "bench-agent";
  caller.group_id = group;
  caller.roles = {"agent"};
  intake::ChangeContext change;
  change.actor.set_subject(caller.subject);
  change.actor.add_roles("agent");
  change.now = now;
  change.reason = "received";
  change.trace_id = "0af7651916cd43dd8448eb211c80319c";
  t.set_id(wuye::NewId(now));
  t.set_group_id(group);
  t.set_owner_id(caller.subject);
  intake::TicketCreation creation = flow.Create(t, caller_hash, req.answer(), change);
  v1::Ticket answer = creation.rows.ticket;
  answer.clear_caller_phone();
  answer.set_overdue(false);

  wuye::OnceCall call;
  call.key = {group, req.request_id(), "intake.CreateTicket", &caller};
  call.request_hash = wuye::RequestHash(req);
  call.answer = answer.SerializeAsString();
  call.events = creation.events;

  std::vector<wuye::bench::Fresh> fresh = {
      {creation.rows.ticket.id(), wuye::bench::FreshUuid(0)},
      {req.request_id(), wuye::bench::FreshText("bench-pgbench-")}};
  for (size_t i = 0; i < call.events.size(); ++i) {
    fresh.push_back({call.events[i].event_id(), wuye::bench::FreshUuid(static_cast<int>(i) + 1)});
  }
  std::string statement;
  try {
    pqxx::connection conn(pg_url);
    pqxx::nontransaction tx(conn);
    const intake::NewTicket* rows = &creation.rows;
    std::vector<std::string> values = intake::IntakeStore::CreateTicketsParams(tx, {&rows, 1});
    wuye::OnceCall* calls = &call;
    for (std::string& v : wuye::OnceParams(tx, {&calls, 1})) values.push_back(std::move(v));
    std::vector<std::optional<std::string>> given(values.begin(), values.end());
    const std::string sql = wuye::ComposeOnceStatement(intake::IntakeStore::CreateTicketsSql());
    statement =
        wuye::bench::PgbenchStatement(sql, given, wuye::bench::ParameterTypes(tx, sql), fresh);
  } catch (const std::exception& e) {
    Fatal(absl::StrCat("--pg_url: ", e.what()));
  }
  std::ofstream out(path);
  out << "-- One CreateTicket's statement (a batch of one), written by intake_bench "
         "--pgbench_script.\n"
         "-- Run: pgbench -n -M prepared -D run=<a number new for each run> -D seq=0 -f "
         "THIS_FILE <intake's database>\n"
      << wuye::bench::kCounterLine << statement;
  if (!out) Fatal(absl::StrCat("cannot write ", path));
  std::fprintf(stderr, "intake_bench: wrote %s (%zu bytes of SQL)\n", path.c_str(),
               statement.size());
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

  if (const std::string path = absl::GetFlag(FLAGS_pgbench_script); !path.empty()) {
    if (absl::GetFlag(FLAGS_group_id).empty()) Fatal("--pgbench_script needs --group_id");
    if (absl::GetFlag(FLAGS_pg_url).empty()) Fatal("--pgbench_script needs --pg_url");
    WritePgbenchScript(s, absl::GetFlag(FLAGS_group_id), absl::GetFlag(FLAGS_pg_url), path);
    return 0;
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

  const int pid = absl::GetFlag(FLAGS_server_pid);
  const absl::Duration closed_length = absl::GetFlag(FLAGS_closed_duration);
  const absl::Duration open_length = absl::GetFlag(FLAGS_open_duration);
  std::fprintf(stderr, "intake_bench: closed loop, %d threads\n", threads);
  double cpu0 = CpuNow(pid);
  Result closed = ClosedLoop(s, target, threads, closed_length);
  double cpu1 = CpuNow(pid);
  if (cpu0 >= 0 && cpu1 >= 0) closed.server_cpu_s = cpu1 - cpu0;
  Result health;
  if (pid > 0) {
    std::fprintf(stderr, "intake_bench: health Check (the empty call), %d threads\n", threads);
    health = HealthLoop(target, threads, closed_length);
    double cpu2 = CpuNow(pid);
    if (cpu2 >= 0 && cpu1 >= 0) health.server_cpu_s = cpu2 - cpu1;
  }
  long seq = 1000000000L;
  std::fprintf(stderr, "intake_bench: open loop at %.0f calls/s\n", rate);
  Result open = OpenLoop(s, target, rate, open_length, channels, seq);
  seq += 1000000000L;
  Result busy;
  int hog_cpu = -1;
  if (absl::GetFlag(FLAGS_busy)) {
    wuye::bench::CpuHog hog(wuye::bench::LastCpu());
    if (!hog.running()) Fatal("cannot start the CPU hog");
    hog_cpu = hog.cpu();
    absl::SleepFor(absl::Milliseconds(200));  // the hog on its CPU before the first call
    std::fprintf(stderr, "intake_bench: open loop at %.0f calls/s, a CPU hog on CPU %d\n", rate,
                 hog_cpu);
    busy = OpenLoop(s, target, rate, open_length, channels, seq);
    seq += 1000000000L;
  }
  double cps = closed.seconds > 0 ? closed.ok / closed.seconds : 0;
  Result half, twice;
  const bool overload = absl::GetFlag(FLAGS_overload) && cps > 0;
  if (overload) {
    std::fprintf(stderr, "intake_bench: open loop at half the capacity, %.0f calls/s\n", cps / 2);
    half = OpenLoop(s, target, cps / 2, open_length, channels, seq);
    seq += 1000000000L;
    std::fprintf(stderr, "intake_bench: open loop at twice the capacity, %.0f calls/s\n", cps * 2);
    twice = OpenLoop(s, target, cps * 2, open_length, channels, seq);
  }

  nlohmann::json out;
  out["target"] = target;
  out["closed_loop"] = closed.Json();
  out["closed_loop"]["threads"] = threads;
  out["open_loop"] = open.Json();
  out["open_loop"]["offered_per_s"] = rate;
  double pg = absl::GetFlag(FLAGS_pgbench_tps);
  out["create_ticket_per_s"] = cps;
  out["create_ticket_p50_ms_at_offered"] = open.Percentile(0.5);
  out["create_ticket_p99_ms_at_offered"] = open.Percentile(0.99);
  if (pg > 0) {
    out["pgbench_tps"] = pg;
    out["ratio_to_pgbench"] = cps / pg;
  }
  std::vector<std::string> problems;
  if (closed.failed > 0) problems.push_back(absl::StrCat("closed loop: ", closed.failed, " failed, first: ", closed.first_error));
  // A refusal (RESOURCE_EXHAUSTED) is the server's backpressure answering a rate above its
  // capacity, counted and shown; any other failure is a problem.
  if (open.others() > 0) problems.push_back(absl::StrCat("open loop: ", open.others(), " failed, first: ", open.first_error));
  out["open_loop"]["refused"] = open.refused;
  if (pid > 0 && closed.server_cpu_s >= 0 && closed.ok > 0 && health.ok > 0 &&
      health.server_cpu_s >= 0) {
    const double per_call = 1e6 * closed.server_cpu_s / closed.ok;
    const double per_empty = 1e6 * health.server_cpu_s / health.ok;
    out["server_cpu"] = {{"create_ticket_us_per_call", per_call},
                         {"empty_call_us_per_call", per_empty},
                         {"ratio", per_empty > 0 ? per_call / per_empty : NAN},
                         {"goal_ratio_at_most", 3.0},
                         {"empty_calls_per_s", health.ok / health.seconds},
                         {"create_ticket_cpu_s", closed.server_cpu_s},
                         {"empty_call_cpu_s", health.server_cpu_s}};
    if (health.failed > 0) problems.push_back(absl::StrCat("health Check: ", health.failed, " failed, first: ", health.first_error));
  } else if (pid > 0) {
    problems.push_back("the server's CPU time could not be measured");
  }
  if (absl::GetFlag(FLAGS_busy)) {
    out["open_loop_busy"] = busy.Json();
    out["open_loop_busy"]["offered_per_s"] = rate;
    out["open_loop_busy"]["hog_cpu"] = hog_cpu;
    out["open_loop_busy"]["refused"] = busy.refused;
    if (busy.others() > 0) problems.push_back(absl::StrCat("open loop, busy: ", busy.others(), " failed, first: ", busy.first_error));
  }
  if (overload) {
    auto refusals = [](Result& r) {
      return nlohmann::json{{"refused", r.refused},
                            {"refused_p99_ms", wuye::bench::Percentile(r.refused_ms, 0.99)},
                            {"other_errors", r.others()}};
    };
    nlohmann::json o;
    o["half"] = half.Json();
    o["half"]["offered_per_s"] = cps / 2;
    o["half"].update(refusals(half));
    o["twice"] = twice.Json();
    o["twice"]["offered_per_s"] = cps * 2;
    o["twice"].update(refusals(twice));
    const double p99_half = half.Percentile(0.99), p99_twice = twice.Percentile(0.99);
    o["accepted_p99_ratio"] = p99_half > 0 ? p99_twice / p99_half : NAN;
    o["goal_ratio_at_most"] = 3.0;
    out["overload"] = o;
    for (Result* r : {&half, &twice}) {
      if (r->others() > 0) {
        problems.push_back(absl::StrCat("overload: ", r->others(), " calls failed otherwise than RESOURCE_EXHAUSTED, first: ", r->first_error));
      }
    }
  }
  out["problems"] = problems;
  for (const auto& p : problems) std::fprintf(stderr, "intake_bench: PROBLEM: %s\n", p.c_str());
  std::printf("%s\n", out.dump(2).c_str());
  return problems.empty() ? 0 : 1;
}
