// directory_bench: the load generator of `make bench` (scripts/bench.sh starts the servers,
// runs pgbench for the baseline, starts a directory server and then this program).
//
// Against one running wuye-directory it measures, in this order:
//   1. the server's resident memory once it is SERVING and idle (/proc/<pid>/status),
//   2. the rate of "empty" gRPC calls: the standard grpc.health.v1.Health/Check through a
//      generic stub (the request is an empty HealthCheckRequest, zero bytes),
//   3. the rate and latency of CreateUnit, every call with its own request_id,
//   4. ImportUnits of N units in one call into a fresh estate, its replay with the same
//      request_id, and a re-import of the same units under a new request_id,
// and prints one table (figure / value / baseline / ratio) with the pgbench figures given
// as flags as the baseline, and writes the same as JSON.
//
// Rates use --threads client threads, each with its own channel (own TCP connection) and
// its own completion queue, one call in flight per thread, for --duration. Every call's
// latency is recorded. Setup data (group, estates, building) goes through the API with
// tokens minted from WUYE_JWT_SECRET, which must be the server's secret.
//
// Exit code: 0 when every figure was measured without a single failed call, 1 when some
// call failed or an answer was not what the API promises (the table says which), 2 when
// the benchmark could not run at all.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
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
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "wuye/directory/v1/directory.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "host:port of the running directory server (required)");
ABSL_FLAG(int, server_pid, 0, "pid of the directory server, for its memory (0: skip)");
ABSL_FLAG(int, threads, 4, "client threads (one call in flight each) for the rate figures");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long each rate figure runs");
ABSL_FLAG(int, import_buildings, 50, "buildings of the ImportUnits figure");
ABSL_FLAG(int, import_units_per_building, 2000, "units per building of the ImportUnits figure");
ABSL_FLAG(absl::Duration, import_deadline, absl::Seconds(120), "deadline of one ImportUnits call");
ABSL_FLAG(absl::Duration, ready_timeout, absl::Seconds(60),
          "how long to wait for the server's health to say SERVING");
ABSL_FLAG(double, pgbench_tps, 0, "baseline: pgbench single-row INSERT tps (0: not measured)");
ABSL_FLAG(double, pgbench_latency_ms, 0, "baseline: pgbench average latency in ms");
ABSL_FLAG(int, pgbench_clients, 0, "baseline: pgbench client count");
ABSL_FLAG(std::string, json_out, "", "write the results as JSON to this file");

namespace {

namespace v1 = ::wuye::directory::v1;
using Clock = std::chrono::steady_clock;

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "directory_bench: %s\n", what.c_str());
  std::exit(2);
}

std::string StatusText(const grpc::Status& st) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(st.error_code())),
                      ": ", st.error_message());
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- connection ---------------------------------------------------------------------

// A channel of its own: a local subchannel pool keeps channels with equal arguments from
// sharing one TCP connection.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void Authorize(grpc::ClientContext& ctx, const std::string& token, absl::Duration deadline) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
}

// Starts an async unary call and waits for it on `cq` (which serves only this thread).
template <class Resp>
grpc::Status Await(grpc::CompletionQueue& cq, grpc::ClientAsyncResponseReader<Resp>& call,
                   Resp* resp) {
  grpc::Status status;
  call.StartCall();
  call.Finish(resp, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok)) return grpc::Status(grpc::StatusCode::INTERNAL, "completion queue shut");
  return status;
}

grpc::ByteBuffer EmptyMessage() {
  grpc::Slice slice(std::string{});
  return grpc::ByteBuffer(&slice, 1);
}

std::string Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// HealthCheckResponse{status: SERVING} is field 1 varint 1.
constexpr char kServing[] = "\x08\x01";

// One health Check with its own channel; true when SERVING.
bool HealthServing(const std::string& target, std::string* why) {
  auto channel = NewChannel(target);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::ByteBuffer resp;
  auto call = stub.PrepareUnaryCall(&ctx, kHealthCheck, EmptyMessage(), &cq);
  grpc::Status st = Await(cq, *call, &resp);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  if (!st.ok()) {
    *why = StatusText(st);
    return false;
  }
  if (Bytes(resp) != std::string(kServing, 2)) {
    *why = "health says not SERVING";
    return false;
  }
  return true;
}

// ---- the server process ---------------------------------------------------------------

// The first three fields of /proc/loadavg: other work on the host skews every figure.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

bool ProcessAlive(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.empty()) return false;
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

// A "VmXxx:   1234 kB" line of /proc/<pid>/status, in KiB; -1 when unknown.
long ProcStatusKb(int pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0)
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

void WaitServing(const std::string& target, int pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string why;
  while (true) {
    if (pid > 0 && !ProcessAlive(pid)) Fatal(absl::StrCat("the server (pid ", pid, ") exited"));
    if (HealthServing(target, &why)) return;
    if (absl::Now() >= deadline) {
      Fatal(absl::StrCat("server at ", target, " not SERVING after ", absl::FormatDuration(timeout),
                         " (last: ", why, ")"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// ---- rates ----------------------------------------------------------------------------

struct ErrorTally {
  long count = 0;
  std::string first;  // the first message of this code
};

struct RateResult {
  long ok = 0;
  long failed = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // of successful calls, sorted
  std::map<int, ErrorTally> errors;  // by grpc status code

  double per_second() const { return seconds > 0 ? ok / seconds : 0; }
  double Percentile(double q) const {
    if (latencies_ms.empty()) return NAN;
    size_t rank = static_cast<size_t>(std::ceil(q * latencies_ms.size()));
    rank = std::clamp<size_t>(rank, 1, latencies_ms.size());
    return latencies_ms[rank - 1];
  }
  std::string ErrorText() const {
    std::string out;
    for (const auto& [code, e] : errors) {
      absl::StrAppend(&out, out.empty() ? "" : "; ", e.count, "x ",
                      absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), ": ", e.first);
    }
    return out;
  }
};

// One call of a rate figure: sequence number in → status out.
using CallFn = std::function<grpc::Status(long seq)>;
// Builds the call function of client thread `i` (its channel, stub and queue).
using CallFactory = std::function<CallFn(int i)>;

RateResult RunRate(int threads, absl::Duration duration, const CallFactory& factory) {
  struct PerThread {
    std::vector<double> lat;
    long failed = 0;
    std::map<int, ErrorTally> errors;
    Clock::time_point done;
  };
  std::vector<PerThread> per(threads);
  std::vector<CallFn> calls;
  for (int i = 0; i < threads; ++i) calls.push_back(factory(i));
  // One call per thread before the clock starts: connects the channels.
  for (int i = 0; i < threads; ++i) {
    grpc::Status st = calls[i](-1 - i);
    if (!st.ok()) {
      auto& e = per[i].errors[st.error_code()];
      if (e.count++ == 0) e.first = absl::StrCat("(warm-up) ", st.error_message());
      ++per[i].failed;
    }
  }
  std::atomic<bool> go{false};
  Clock::time_point start, stop;
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      PerThread& me = per[i];
      me.lat.reserve(1 << 16);
      for (long seq = 0;; ++seq) {
        Clock::time_point t0 = Clock::now();
        if (t0 >= stop) break;
        grpc::Status st = calls[i](seq);
        Clock::time_point t1 = Clock::now();
        if (st.ok()) {
          me.lat.push_back(Ms(t1 - t0));
        } else {
          ++me.failed;
          auto& e = me.errors[st.error_code()];
          if (e.count++ == 0) e.first = st.error_message();
        }
      }
      me.done = Clock::now();
    });
  }
  start = Clock::now();
  stop = start + absl::ToChronoNanoseconds(duration);
  go.store(true, std::memory_order_release);
  for (auto& w : workers) w.join();
  RateResult r;
  Clock::time_point last = start;
  for (auto& p : per) {
    last = std::max(last, p.done);
    r.ok += static_cast<long>(p.lat.size());
    r.failed += p.failed;
    r.latencies_ms.insert(r.latencies_ms.end(), p.lat.begin(), p.lat.end());
    for (auto& [code, e] : p.errors) {
      auto& total = r.errors[code];
      if (total.count == 0) total.first = e.first;
      total.count += e.count;
    }
  }
  r.seconds = Seconds(last - start);
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

// ---- the table ------------------------------------------------------------------------

struct Row {
  std::string figure;
  std::optional<double> value;
  std::string unit;
  std::string text;  // shown instead of value when set (e.g. "1.2 / 4.5", "FAILED ...")
  std::optional<double> baseline;
  std::string baseline_text;  // e.g. "12345 tps pgbench INSERT"
  std::string note;

  Row& Base(std::optional<double> v, std::string what) {
    baseline = v;
    baseline_text = std::move(what);
    return *this;
  }
  Row& Note(std::string n) {
    note = std::move(n);
    return *this;
  }
};

std::string Fmt(double v) {
  if (std::isnan(v)) return "-";
  double a = std::fabs(v);
  if (a >= 1000) return absl::StrFormat("%.0f", v);
  if (a >= 100) return absl::StrFormat("%.1f", v);
  if (a >= 10) return absl::StrFormat("%.2f", v);
  return absl::StrFormat("%.3f", v);
}

class Report {
 public:
  Row& Value(std::string figure, double value, std::string unit) {
    Row& r = rows_.emplace_back();
    r.figure = std::move(figure);
    r.value = value;
    r.unit = std::move(unit);
    return r;
  }
  Row& Text(std::string figure, std::string text, std::string unit) {
    Row& r = rows_.emplace_back();
    r.figure = std::move(figure);
    r.text = std::move(text);
    r.unit = std::move(unit);
    return r;
  }
  void Problem(std::string what) { problems_.push_back(std::move(what)); }
  bool clean() const { return problems_.empty(); }

  void Print(const std::string& title) const {
    std::printf("\n%s\n", title.c_str());
    std::printf("\n%-34s %-22s %-34s %s\n", "figure", "value", "baseline (what)", "ratio");
    std::printf("%s\n", std::string(100, '-').c_str());
    for (const Row& r : rows_) {
      std::string value = !r.text.empty() ? r.text : r.value ? Fmt(*r.value) : "-";
      if (!r.unit.empty()) absl::StrAppend(&value, " ", r.unit);
      std::string base = r.baseline_text.empty() ? "-" : r.baseline_text;
      std::string ratio = "-";
      if (r.value && r.baseline && *r.baseline > 0) {
        ratio = absl::StrFormat("%.3g", *r.value / *r.baseline);
      }
      std::printf("%-34s %-22s %-34s %s\n", r.figure.c_str(), value.c_str(), base.c_str(),
                  ratio.c_str());
      if (!r.note.empty()) std::printf("%-34s %s\n", "", r.note.c_str());
    }
    if (!problems_.empty()) {
      std::printf("\nPROBLEMS:\n");
      for (const auto& p : problems_) std::printf("  - %s\n", p.c_str());
    }
    std::fflush(stdout);
  }

  nlohmann::json Json() const {
    nlohmann::json rows = nlohmann::json::array();
    for (const Row& r : rows_) {
      nlohmann::json j{{"figure", r.figure}, {"unit", r.unit}};
      j["value"] = r.value ? nlohmann::json(*r.value) : nlohmann::json(nullptr);
      if (!r.text.empty()) j["text"] = r.text;
      j["baseline"] = r.baseline ? nlohmann::json(*r.baseline) : nlohmann::json(nullptr);
      j["baseline_what"] = r.baseline_text;
      j["ratio"] = (r.value && r.baseline && *r.baseline > 0)
                       ? nlohmann::json(*r.value / *r.baseline)
                       : nlohmann::json(nullptr);
      if (!r.note.empty()) j["note"] = r.note;
      rows.push_back(std::move(j));
    }
    return {{"figures", rows}, {"problems", problems_}};
  }

 private:
  std::vector<Row> rows_;
  std::vector<std::string> problems_;
};

nlohmann::json RateJson(const RateResult& r) {
  return {{"ok_calls", r.ok},
          {"failed_calls", r.failed},
          {"seconds", r.seconds},
          {"calls_per_s", r.per_second()},
          {"p50_ms", r.Percentile(0.50)},
          {"p90_ms", r.Percentile(0.90)},
          {"p99_ms", r.Percentile(0.99)},
          {"max_ms", r.latencies_ms.empty() ? NAN : r.latencies_ms.back()},
          {"errors", r.ErrorText()}};
}

// ---- the benchmark --------------------------------------------------------------------

std::string MustMint(const wuye::TokenClaims& claims, const std::string& secret) {
  auto token = wuye::MintHs256(claims, secret);
  if (!token.ok()) Fatal(absl::StrCat("cannot mint a token: ", token.status().ToString()));
  return *token;
}

wuye::TokenClaims Claims(std::string sub, std::string group, std::vector<std::string> estates,
                         std::vector<std::string> roles) {
  wuye::TokenClaims c;
  c.subject = std::move(sub);
  c.group_id = std::move(group);
  c.estate_ids = std::move(estates);
  c.roles = std::move(roles);
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(1);
  return c;
}

// Setup calls must work; a failure ends the run.
template <class Req, class Resp, class Method>
Resp MustCall(const char* what, v1::DirectoryService::Stub& stub, Method method,
              const std::string& token, const Req& req) {
  grpc::ClientContext ctx;
  Authorize(ctx, token, absl::Seconds(30));
  Resp resp;
  grpc::Status st = (stub.*method)(&ctx, req, &resp);
  if (!st.ok()) Fatal(absl::StrCat("setup: ", what, " failed: ", StatusText(st)));
  return resp;
}

struct Timed {
  grpc::Status status;
  v1::ImportUnitsResponse resp;
  double seconds = 0;
};

Timed TimedImport(v1::DirectoryService::Stub& stub, const std::string& token,
                  const v1::ImportUnitsRequest& req, absl::Duration deadline) {
  grpc::ClientContext ctx;
  Authorize(ctx, token, deadline);
  Timed t;
  Clock::time_point t0 = Clock::now();
  t.status = stub.ImportUnits(&ctx, req, &t.resp);
  t.seconds = Seconds(Clock::now() - t0);
  return t;
}

std::string ImportText(const v1::ImportUnitsResponse& r) {
  return absl::StrCat("created=", r.created(), " unchanged=", r.unchanged(),
                      " buildings_created=", r.buildings_created());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator of `make bench`; run it through scripts/bench.sh. Needs WUYE_JWT_SECRET.");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);

  const std::string target = absl::GetFlag(FLAGS_target);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int threads = absl::GetFlag(FLAGS_threads);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int n_buildings = absl::GetFlag(FLAGS_import_buildings);
  const int per_building = absl::GetFlag(FLAGS_import_units_per_building);
  const double pg_tps = absl::GetFlag(FLAGS_pgbench_tps);
  const double pg_lat = absl::GetFlag(FLAGS_pgbench_latency_ms);
  const int pg_clients = absl::GetFlag(FLAGS_pgbench_clients);
  if (target.empty()) Fatal("--target is required");
  if (threads < 1 || threads > 256) Fatal("--threads must be 1..256");
  if (duration <= absl::ZeroDuration()) Fatal("--duration must be > 0");
  if (n_buildings < 1 || per_building < 1) Fatal("--import_* must be >= 1");
  const char* secret_env = std::getenv("WUYE_JWT_SECRET");
  if (secret_env == nullptr || std::string(secret_env).size() < 32) {
    Fatal("WUYE_JWT_SECRET must hold the server's HS256 secret (>= 32 bytes)");
  }
  const std::string secret = secret_env;
  // Distinguishes this run's request ids and names.
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()), "-", getpid());

  Report report;
  nlohmann::json detail;
  const std::string load_start = LoadAverage();
  detail["loadavg_start"] = load_start;
  const std::string pg_what =
      pg_tps > 0 ? absl::StrCat(Fmt(pg_tps), " tps pgbench INSERT") : std::string();
  std::optional<double> pg_base;
  if (pg_tps > 0) pg_base = pg_tps;

  if (pg_tps > 0) {
    report.Value(absl::StrCat("pgbench INSERT (", pg_clients, " clients)"), pg_tps, "tps");
    if (pg_lat > 0) {
      report.Value("pgbench latency average", pg_lat, "ms");
    }
  } else {
    report.Problem("no pgbench baseline given (--pgbench_tps)");
  }

  // ---- ready, idle memory ----
  std::fprintf(stderr, "directory_bench: waiting for %s to be SERVING\n", target.c_str());
  WaitServing(target, pid, absl::GetFlag(FLAGS_ready_timeout));
  if (pid > 0) {
    absl::SleepFor(absl::Seconds(1));  // let start-up settle
    long rss = ProcStatusKb(pid, "VmRSS");
    detail["idle_rss_kib"] = rss;
    if (rss >= 0) {
      report.Value("directory idle RSS", rss / 1024.0, "MiB");
    } else {
      report.Problem(absl::StrCat("cannot read /proc/", pid, "/status"));
    }
  }

  // ---- 1. empty gRPC call: health Check ----
  std::fprintf(stderr, "directory_bench: health Check, %d threads, %s\n", threads,
               absl::FormatDuration(duration).c_str());
  RateResult health = RunRate(threads, duration, [&](int) -> CallFn {
    struct State {
      std::shared_ptr<grpc::Channel> channel;
      std::unique_ptr<grpc::GenericStub> stub;
      grpc::CompletionQueue cq;
      grpc::ByteBuffer request = EmptyMessage();
    };
    auto s = std::make_shared<State>();
    s->channel = NewChannel(target);
    s->stub = std::make_unique<grpc::GenericStub>(s->channel);
    return [s](long) -> grpc::Status {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::ByteBuffer resp;
      auto call = s->stub->PrepareUnaryCall(&ctx, kHealthCheck, s->request, &s->cq);
      grpc::Status st = Await(s->cq, *call, &resp);
      if (st.ok() && Bytes(resp) != std::string(kServing, 2)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "health answered, but not SERVING");
      }
      return st;
    };
  });
  detail["health"] = RateJson(health);
  report.Value(absl::StrCat("gRPC empty call (health, ", threads, " thr)"), health.per_second(),
               "/s");
  report.Text("gRPC empty call p50 / p99",
              absl::StrCat(Fmt(health.Percentile(0.5)), " / ", Fmt(health.Percentile(0.99))), "ms");
  if (health.failed > 0) {
    report.Problem(
        absl::StrCat("health Check: ", health.failed, " failed calls: ", health.ErrorText()));
  }

  // ---- setup through the API ----
  auto channel = NewChannel(target);
  auto stub = v1::DirectoryService::NewStub(channel);
  const std::string platform_token =
      MustMint(Claims("bench-platform", "", {}, {"platform_admin"}), secret);
  v1::CreateGroupRequest cg;
  cg.set_request_id(absl::StrCat("bench-", run, "-group"));
  cg.mutable_group()->set_name(absl::StrCat("Bench group ", run));
  v1::Group group = MustCall<v1::CreateGroupRequest, v1::Group>(
      "CreateGroup", *stub, &v1::DirectoryService::Stub::CreateGroup, platform_token, cg);
  const std::string admin_token =
      MustMint(Claims("bench-admin", group.id(), {"*"}, {"group_admin"}), secret);

  auto make_estate = [&](const std::string& name, const std::string& rid) {
    v1::CreateEstateRequest ce;
    ce.set_request_id(rid);
    ce.mutable_estate()->set_name(name);
    ce.mutable_estate()->set_management_fee_fen_per_m2(150);
    ce.mutable_estate()->set_household_count(2000);
    return MustCall<v1::CreateEstateRequest, v1::Estate>(
        "CreateEstate", *stub, &v1::DirectoryService::Stub::CreateEstate, admin_token, ce);
  };
  v1::Estate load_estate =
      make_estate("Bench estate (CreateUnit)", absl::StrCat("bench-", run, "-estate-1"));
  v1::CreateBuildingRequest cb;
  cb.set_request_id(absl::StrCat("bench-", run, "-building"));
  cb.mutable_building()->set_estate_id(load_estate.id());
  cb.mutable_building()->set_name("Load tower");
  cb.mutable_building()->set_floors(30);
  v1::Building building = MustCall<v1::CreateBuildingRequest, v1::Building>(
      "CreateBuilding", *stub, &v1::DirectoryService::Stub::CreateBuilding, admin_token, cb);

  // ---- 2. CreateUnit ----
  std::fprintf(stderr, "directory_bench: CreateUnit, %d threads, %s\n", threads,
               absl::FormatDuration(duration).c_str());
  RateResult create = RunRate(threads, duration, [&](int i) -> CallFn {
    struct State {
      std::shared_ptr<grpc::Channel> channel;
      std::unique_ptr<v1::DirectoryService::Stub> stub;
      grpc::CompletionQueue cq;
      v1::CreateUnitRequest req;
    };
    auto s = std::make_shared<State>();
    s->channel = NewChannel(target);
    s->stub = v1::DirectoryService::NewStub(s->channel);
    s->req.mutable_unit()->set_building_id(building.id());
    s->req.mutable_unit()->set_building_area_m2("89.5");
    const std::string prefix = absl::StrCat("bench-", run, "-cu-", i, "-");
    const std::string number_prefix = absl::StrCat("T", i, "-");
    return [s, prefix, number_prefix, token = admin_token](long seq) -> grpc::Status {
      // seq < 0 is the warm-up call; it gets its own id and number like any other.
      std::string n = seq < 0 ? absl::StrCat("w", -seq) : absl::StrCat(seq);
      s->req.set_request_id(prefix + n);
      s->req.mutable_unit()->set_number(number_prefix + n);
      s->req.mutable_unit()->set_floor(static_cast<int32_t>((seq < 0 ? 0 : seq) % 30) + 1);
      grpc::ClientContext ctx;
      Authorize(ctx, token, absl::Seconds(10));
      v1::Unit resp;
      auto call = s->stub->PrepareAsyncCreateUnit(&ctx, s->req, &s->cq);
      grpc::Status st = Await(s->cq, *call, &resp);
      if (st.ok() && resp.id().empty()) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "CreateUnit answered OK without an id");
      }
      return st;
    };
  });
  detail["create_unit"] = RateJson(create);
  report.Value(absl::StrCat("CreateUnit (", threads, " thr)"), create.per_second(), "/s")
      .Base(pg_base, pg_what);
  report.Value("CreateUnit vs empty call", create.per_second(), "/s")
      .Base(health.per_second(), absl::StrCat(Fmt(health.per_second()), " /s gRPC health Check"));
  report
      .Text("CreateUnit p50 / p99",
            absl::StrCat(Fmt(create.Percentile(0.5)), " / ", Fmt(create.Percentile(0.99))), "ms")
      .Base(std::nullopt, pg_lat > 0 ? absl::StrCat(Fmt(pg_lat), " ms pgbench avg latency") : "");
  if (create.failed > 0) {
    report.Problem(
        absl::StrCat("CreateUnit: ", create.failed, " failed calls: ", create.ErrorText()));
  }

  // ---- 3. ImportUnits ----
  const int total = n_buildings * per_building;
  v1::Estate import_estate =
      make_estate("Bench estate (ImportUnits)", absl::StrCat("bench-", run, "-estate-2"));
  v1::ImportUnitsRequest imp;
  imp.set_request_id(absl::StrCat("bench-", run, "-import-1"));
  imp.set_estate_id(import_estate.id());
  imp.mutable_units()->Reserve(total);
  for (int b = 0; b < n_buildings; ++b) {
    std::string bname = absl::StrFormat("Tower %02d", b + 1);
    for (int u = 0; u < per_building; ++u) {
      v1::ImportedUnit* unit = imp.add_units();
      unit->set_building_name(bname);
      int floor = u / 100 + 1;
      unit->set_number(absl::StrFormat("%d-%04d", floor, u % 100 + 1));
      unit->set_floor(floor);
      int centi = 6000 + (u * 37) % 9000;  // 60.00 .. 149.99 m²
      unit->set_building_area_m2(absl::StrFormat("%d.%02d", centi / 100, centi % 100));
      unit->set_type(v1::UNIT_TYPE_APARTMENT);
      unit->set_occupancy(u % 3 == 0 ? v1::OCCUPANCY_RENTED : v1::OCCUPANCY_SELF_OCCUPIED);
      unit->set_handed_over(true);
    }
  }
  const double request_mib = imp.ByteSizeLong() / (1024.0 * 1024.0);
  const absl::Duration import_deadline = absl::GetFlag(FLAGS_import_deadline);
  const std::string import_label =
      total % 1000 == 0 ? absl::StrCat(total / 1000, "k") : absl::StrCat(total);
  nlohmann::json import_json{
      {"units", total}, {"buildings", n_buildings}, {"request_mib", request_mib}};

  auto import_row = [&](const std::string& figure, const Timed& t, const std::string& expect,
                        const char* key) {
    nlohmann::json j{{"seconds", t.seconds}, {"ok", t.status.ok()}};
    if (t.status.ok()) {
      j["response"] = ImportText(t.resp);
      report.Value(figure, t.seconds, "s").Note(ImportText(t.resp));
      if (ImportText(t.resp) != expect) {
        report.Problem(
            absl::StrCat(figure, ": answered ", ImportText(t.resp), ", expected ", expect));
      }
    } else {
      j["error"] = StatusText(t.status);
      report.Text(figure, absl::StrFormat("FAILED after %.2f s", t.seconds), "")
          .Note(StatusText(t.status));
      report.Problem(absl::StrCat(figure, ": ", StatusText(t.status)));
    }
    import_json[key] = j;
  };

  std::fprintf(stderr, "directory_bench: ImportUnits of %d units (%.1f MiB) in one call\n", total,
               request_mib);
  Timed first = TimedImport(*stub, admin_token, imp, import_deadline);
  const std::string expect_first =
      absl::StrCat("created=", total, " unchanged=0 buildings_created=", n_buildings);
  import_row(absl::StrCat("ImportUnits ", import_label, " (first)"), first, expect_first, "first");
  if (first.status.ok()) {
    report
        .Value(absl::StrCat("ImportUnits ", import_label, " rate"), total / first.seconds,
               "units/s")
        .Base(pg_base, pg_what);
    import_json["first"]["units_per_s"] = total / first.seconds;
  }

  std::fprintf(stderr, "directory_bench: ImportUnits replay (same request_id)\n");
  Timed replay = TimedImport(*stub, admin_token, imp, import_deadline);
  // A replay answers what the first call answered.
  import_row("ImportUnits replay (same id)", replay,
             first.status.ok() ? ImportText(first.resp) : expect_first, "replay");

  std::fprintf(stderr, "directory_bench: ImportUnits re-import (new request_id, all unchanged)\n");
  imp.set_request_id(absl::StrCat("bench-", run, "-import-2"));
  Timed again = TimedImport(*stub, admin_token, imp, import_deadline);
  import_row("ImportUnits re-import (new id)", again,
             absl::StrCat("created=0 unchanged=", total, " buildings_created=0"), "reimport");
  if (again.status.ok()) {
    report.Value("ImportUnits re-import rate", total / again.seconds, "units/s")
        .Base(pg_base, pg_what);
  }
  detail["import_units"] = import_json;

  // ---- memory after the load ----
  if (pid > 0) {
    long rss = ProcStatusKb(pid, "VmRSS"), hwm = ProcStatusKb(pid, "VmHWM");
    detail["after_rss_kib"] = rss;
    detail["peak_rss_kib"] = hwm;
    if (rss >= 0) report.Value("directory RSS after bench", rss / 1024.0, "MiB");
    if (hwm >= 0) report.Value("directory peak RSS (VmHWM)", hwm / 1024.0, "MiB");
    if (!ProcessAlive(pid)) report.Problem("the directory server is no longer running");
  }

  const std::string load_end = LoadAverage();
  detail["loadavg_end"] = load_end;
  report.Print(absl::StrFormat(
      "wuye directory bench, %s UTC: %u CPUs shared by PostgreSQL, the server and the clients; "
      "%d client threads, %s per rate figure\nload average before %s, after %s",
      absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone()),
      std::thread::hardware_concurrency(), threads, absl::FormatDuration(duration), load_start,
      load_end));

  const std::string json_out = absl::GetFlag(FLAGS_json_out);
  if (!json_out.empty()) {
    nlohmann::json j = report.Json();
    j["time"] = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
    j["target"] = target;
    j["threads"] = threads;
    j["duration_s"] = absl::ToDoubleSeconds(duration);
    j["cpus"] = std::thread::hardware_concurrency();
    j["pgbench"] = {{"tps", pg_tps}, {"latency_ms", pg_lat}, {"clients", pg_clients}};
    j["detail"] = detail;
    std::ofstream out(json_out);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "directory_bench: cannot write %s\n", json_out.c_str());
      return 2;
    }
    std::printf("\nresults: %s\n", json_out.c_str());
  }
  return report.clean() ? 0 : 1;
}
