// gateway_bench: the gateway part of `make bench` (scripts/bench.sh starts a wuye-directory
// and a wuye-gateway in front of it, then this program).
//
// One read, DirectoryService.GetUnit of one unit (a token check, a PostgreSQL transaction,
// a 13-field answer), called three ways in the same run, by the same number of closed-loop
// client threads (--threads, one call in flight each) for the same time:
//   direct          gRPC to the directory: each thread its own channel (TCP connection)
//                   and completion queue;
//   connect_json    POST /wuye.directory.v1.DirectoryService/GetUnit through the gateway,
//                   Content-Type application/json (Connect unary), HTTP/1.1 keep-alive:
//                   each thread one libcurl easy handle, reused, so one connection;
//   connect_proto   the same with application/proto bodies.
// So that a drift of the machine (a build next door) hurts all three alike, --duration is
// cut into --rounds slices, run in turn (direct, json, proto, direct, …), and each way's
// figures are those of its slices together. Every answer is checked (the unit's id comes
// back); a failed call is counted, never timed.
//
// The issue's goal (#23): the gateway's JSON call rate ≥ 0.7 of the direct one, its p99 ≤ 2×
// the direct p99. Prints one JSON object on stdout (scripts/bench_table.py makes the table's
// rows of it) and a summary on stderr. Exit 0 when every call succeeded (goal met or not:
// the table says), 1 when some call failed, 2 when the set-up failed.
//
//   gateway_bench --target 127.0.0.1:50052 --gateway 127.0.0.1:50080
//                 (secret: --jwt_secret or WUYE_JWT_SECRET, the directory's)
#include <curl/curl.h>
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
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "wuye/directory/v1/directory.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "host:port of the running directory server (required)");
ABSL_FLAG(std::string, gateway, "", "host:port of the running gateway, in front of --target (required)");
ABSL_FLAG(int, gateway_pid, 0, "pid of the gateway, for its CPU time per call and memory (0: skip)");
ABSL_FLAG(int, target_pid, 0, "pid of the directory, for its CPU time per call (0: skip)");
ABSL_FLAG(std::string, jwt_secret, "", "the directory's HS256 secret (or WUYE_JWT_SECRET)");
ABSL_FLAG(int, threads, 4, "closed-loop client threads, one call in flight each, for every way");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long each way is measured in all");
ABSL_FLAG(int, rounds, 2, "slices each way's time is cut into, run in turn with the others'");
ABSL_FLAG(absl::Duration, ready_timeout, absl::Seconds(60),
          "how long to wait for the directory and the gateway to answer");

namespace {

namespace v1 = ::wuye::directory::v1;
using Clock = std::chrono::steady_clock;

constexpr char kPath[] = "/wuye.directory.v1.DirectoryService/GetUnit";

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "gateway_bench: %s\n", what.c_str());
  std::exit(2);
}

std::string StatusText(const grpc::Status& st) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(st.error_code())),
                      ": ", st.error_message());
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

long RssKib(int pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

// CPU time the process has used so far (user + system), in seconds; -1 when unknown.
double CpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13: state … cmajflt
  double utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A channel of its own (a local subchannel pool: its own TCP connection).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// ---- one call of each way: empty string when it succeeded, else what went wrong ----------

using CallFn = std::function<std::string()>;

class DirectCaller {
 public:
  DirectCaller(const std::string& target, std::string bearer, const std::string& unit_id)
      : channel_(NewChannel(target)), stub_(v1::DirectoryService::NewStub(channel_)),
        bearer_(std::move(bearer)) {
    req_.set_id(unit_id);
  }
  ~DirectCaller() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  std::string Call() {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer_);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::Unit unit;
    grpc::Status st;
    auto call = stub_->PrepareAsyncGetUnit(&ctx, req_, &cq_);
    call->StartCall();
    call->Finish(&unit, &st, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    if (!cq_.Next(&tag, &ok)) return "completion queue shut";
    if (!st.ok()) return StatusText(st);
    if (unit.id() != req_.id()) return "OK, but not the unit asked for";
    return "";
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::DirectoryService::Stub> stub_;
  grpc::CompletionQueue cq_;
  std::string bearer_;
  v1::GetUnitRequest req_;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One libcurl easy handle, reused: HTTP/1.1 keep-alive, one connection for all its calls.
class ConnectCaller {
 public:
  ConnectCaller(const std::string& gateway, const std::string& bearer, const std::string& unit_id,
                bool json)
      : curl_(curl_easy_init()), json_(json), unit_id_(unit_id) {
    if (curl_ == nullptr) Fatal("curl_easy_init failed");
    url_ = absl::StrCat("http://", gateway, kPath);
    if (json) {
      body_ = absl::StrCat(R"({"id":")", unit_id, R"("})");
      want_ = absl::StrCat(R"("id":")", unit_id, R"(")");
    } else {
      v1::GetUnitRequest req;
      req.set_id(unit_id);
      body_ = req.SerializeAsString();
    }
    headers_ = curl_slist_append(headers_, json ? "Content-Type: application/json"
                                                : "Content-Type: application/proto");
    headers_ = curl_slist_append(headers_, absl::StrCat("Authorization: ", bearer).c_str());
    headers_ = curl_slist_append(headers_, "Connect-Protocol-Version: 1");
    headers_ = curl_slist_append(headers_, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer_);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
  }
  ~ConnectCaller() {
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }

  std::string Call() {
    answer_.clear();
    CURLcode rc = curl_easy_perform(curl_);
    long opened = 0;  // by this transfer: 0 when it went over the kept-alive connection
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &opened);
    connects_ += opened;
    if (rc != CURLE_OK) return absl::StrCat("curl: ", curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) return absl::StrCat("HTTP ", status, ": ", answer_.substr(0, 200));
    if (json_) {
      if (!absl::StrContains(answer_, want_)) return "HTTP 200, but not the unit asked for";
    } else {
      v1::Unit unit;
      if (!unit.ParseFromString(answer_) || unit.id() != unit_id_) {
        return "HTTP 200, but not the unit asked for";
      }
    }
    return "";
  }

  // Connections libcurl opened so far (1 when keep-alive held).
  long connects() const { return connects_; }

 private:
  CURL* curl_;
  bool json_;
  std::string unit_id_, url_, body_, want_, answer_;
  curl_slist* headers_ = nullptr;
  long connects_ = 0;
};

// ---- rates --------------------------------------------------------------------------

struct Tally {
  long failed = 0;
  double seconds = 0;
  double gateway_cpu_s = 0, directory_cpu_s = 0;  // while this way ran
  std::vector<double> ms;  // latencies of the calls that succeeded
  std::map<std::string, long> errors;

  double rate() const { return seconds > 0 ? ms.size() / seconds : 0; }
  double At(double q) const {  // ms must be sorted
    if (ms.empty()) return NAN;
    size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(q * ms.size())), 1, ms.size());
    return ms[rank - 1];
  }
  nlohmann::json Json() const {
    nlohmann::json errs = nlohmann::json::object();
    for (const auto& [what, n] : errors) errs[what] = n;
    return {{"ok_calls", ms.size()}, {"failed_calls", failed}, {"seconds", seconds},
            {"calls_per_s", rate()}, {"p50_ms", At(0.50)},     {"p90_ms", At(0.90)},
            {"p99_ms", At(0.99)},    {"max_ms", ms.empty() ? NAN : ms.back()},
            {"errors", errs},
            {"gateway_cpu_us_per_call", ms.empty() ? NAN : 1e6 * gateway_cpu_s / ms.size()},
            {"directory_cpu_us_per_call", ms.empty() ? NAN : 1e6 * directory_cpu_s / ms.size()}};
  }
};

// `calls` (one per thread) in a closed loop for `slice`; adds to `tally`.
void Run(std::vector<CallFn>& calls, absl::Duration slice, Tally& tally) {
  struct PerThread {
    std::vector<double> ms;
    std::map<std::string, long> errors;
    long failed = 0;
  };
  std::vector<PerThread> per(calls.size());
  std::atomic<bool> go{false};
  Clock::time_point start, stop;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < calls.size(); ++i) {
    threads.emplace_back([&, i] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      PerThread& me = per[i];
      me.ms.reserve(1 << 15);
      for (;;) {
        Clock::time_point t0 = Clock::now();
        if (t0 >= stop) break;
        std::string error = calls[i]();
        Clock::time_point t1 = Clock::now();
        if (error.empty()) {
          me.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          ++me.failed;
          ++me.errors[error.substr(0, 120)];
        }
      }
    });
  }
  start = Clock::now();
  stop = start + absl::ToChronoNanoseconds(slice);
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  // Closed loop: the slice ends when the last call started before `stop` has ended.
  tally.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& p : per) {
    tally.ms.insert(tally.ms.end(), p.ms.begin(), p.ms.end());
    tally.failed += p.failed;
    for (const auto& [what, n] : p.errors) tally.errors[what] += n;
  }
}

// ---- set-up ---------------------------------------------------------------------------

std::string MustMint(std::string subject, std::string group, std::vector<std::string> roles,
                     const std::string& secret) {
  wuye::TokenClaims c;
  c.subject = std::move(subject);
  c.group_id = std::move(group);
  if (!c.group_id.empty()) c.estate_ids = {"*"};
  c.roles = std::move(roles);
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(2);
  auto token = wuye::MintHs256(c, secret);
  if (!token.ok()) Fatal(absl::StrCat("cannot mint a token: ", token.status().ToString()));
  return absl::StrCat("Bearer ", *token);
}

template <class Req, class Resp>
Resp MustCall(const char* what, const std::string& bearer, const Req& req,
              grpc::Status (v1::DirectoryService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              v1::DirectoryService::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", bearer);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Resp resp;
  grpc::Status st = (stub.*method)(&ctx, req, &resp);
  if (!st.ok()) Fatal(absl::StrCat("set-up: ", what, ": ", StatusText(st)));
  return resp;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string gateway = absl::GetFlag(FLAGS_gateway);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  std::string secret = absl::GetFlag(FLAGS_jwt_secret);
  if (secret.empty() && std::getenv("WUYE_JWT_SECRET") != nullptr) secret = std::getenv("WUYE_JWT_SECRET");
  if (target.empty() || gateway.empty()) Fatal("--target and --gateway are required");
  if (threads < 1 || threads > 256) Fatal("--threads must be 1..256");
  if (rounds < 1 || rounds > 100) Fatal("--rounds must be 1..100");
  if (duration <= absl::ZeroDuration()) Fatal("--duration must be > 0");
  if (secret.size() < 32) Fatal("the directory's HS256 secret (>= 32 bytes): --jwt_secret or WUYE_JWT_SECRET");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) Fatal("curl_global_init failed");
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()), "-", getpid());

  // ---- a unit to read, made through the directory's API ----
  auto channel = NewChannel(target);
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_ready_timeout)))) {
    Fatal(absl::StrCat("the directory at ", target, " does not answer"));
  }
  auto stub = v1::DirectoryService::NewStub(channel);
  const std::string platform = MustMint("bench-platform", "", {"platform_admin"}, secret);
  v1::CreateGroupRequest cg;
  cg.set_request_id(absl::StrCat("gwbench-", run, "-group"));
  cg.mutable_group()->set_name(absl::StrCat("Gateway bench ", run));
  const v1::Group group =
      MustCall("CreateGroup", platform, cg, &v1::DirectoryService::Stub::CreateGroup, *stub);
  const std::string admin = MustMint("bench-admin", group.id(), {"group_admin"}, secret);
  v1::CreateEstateRequest ce;
  ce.set_request_id(absl::StrCat("gwbench-", run, "-estate"));
  ce.mutable_estate()->set_name("Gateway bench estate");
  ce.mutable_estate()->set_management_fee_fen_per_m2(150);
  ce.mutable_estate()->set_household_count(100);
  const v1::Estate estate =
      MustCall("CreateEstate", admin, ce, &v1::DirectoryService::Stub::CreateEstate, *stub);
  v1::CreateBuildingRequest cb;
  cb.set_request_id(absl::StrCat("gwbench-", run, "-building"));
  cb.mutable_building()->set_estate_id(estate.id());
  cb.mutable_building()->set_name("Tower 1");
  cb.mutable_building()->set_floors(30);
  const v1::Building building =
      MustCall("CreateBuilding", admin, cb, &v1::DirectoryService::Stub::CreateBuilding, *stub);
  v1::CreateUnitRequest cu;
  cu.set_request_id(absl::StrCat("gwbench-", run, "-unit"));
  cu.mutable_unit()->set_building_id(building.id());
  cu.mutable_unit()->set_number("1202");
  cu.mutable_unit()->set_floor(12);
  cu.mutable_unit()->set_building_area_m2("89.5");
  cu.mutable_unit()->set_type(v1::UNIT_TYPE_APARTMENT);
  const v1::Unit unit = MustCall("CreateUnit", admin, cu, &v1::DirectoryService::Stub::CreateUnit, *stub);

  // ---- the callers, each connected and checked by one call before any clock runs ----
  struct Way {
    const char* name;
    std::vector<CallFn> calls;
    Tally tally;
  };
  std::vector<Way> ways(3);
  ways[0].name = "direct";
  ways[1].name = "connect_json";
  ways[2].name = "connect_proto";
  std::vector<std::shared_ptr<ConnectCaller>> http_callers;
  for (int i = 0; i < threads; ++i) {
    auto direct = std::make_shared<DirectCaller>(target, admin, unit.id());
    ways[0].calls.push_back([direct] { return direct->Call(); });
    for (int w = 1; w <= 2; ++w) {
      auto c = std::make_shared<ConnectCaller>(gateway, admin, unit.id(), w == 1);
      http_callers.push_back(c);
      ways[w].calls.push_back([c] { return c->Call(); });
    }
  }
  const absl::Time ready_by = absl::Now() + absl::GetFlag(FLAGS_ready_timeout);
  for (Way& way : ways) {
    for (CallFn& call : way.calls) {
      std::string error;
      // The gateway may still be starting: its first answers may be refusals to connect.
      while (!(error = call()).empty()) {
        if (absl::Now() > ready_by) Fatal(absl::StrCat(way.name, ": the warm-up call failed: ", error));
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
  }

  // ---- the load ----
  const std::string load_before = LoadAverage();
  const absl::Duration slice = duration / rounds;
  std::fprintf(stderr, "gateway_bench: GetUnit direct / Connect JSON / Connect proto, %d threads, %d rounds of %s each\n",
               threads, rounds, absl::FormatDuration(slice).c_str());
  const int gateway_pid = absl::GetFlag(FLAGS_gateway_pid), target_pid = absl::GetFlag(FLAGS_target_pid);
  for (int r = 0; r < rounds; ++r) {
    for (Way& way : ways) {
      const double gw0 = CpuSeconds(gateway_pid), dir0 = CpuSeconds(target_pid);
      Run(way.calls, slice, way.tally);
      if (gw0 >= 0) way.tally.gateway_cpu_s += CpuSeconds(gateway_pid) - gw0;
      if (dir0 >= 0) way.tally.directory_cpu_s += CpuSeconds(target_pid) - dir0;
    }
  }
  long connects = 0;
  for (auto& c : http_callers) connects += c->connects();
  const std::string load_after = LoadAverage();

  nlohmann::json out{{"rpc", "DirectoryService.GetUnit"},
                     {"threads", threads},
                     {"rounds", rounds},
                     {"duration_s", absl::ToDoubleSeconds(duration)},
                     {"cpus", std::thread::hardware_concurrency()},
                     {"loadavg_before", load_before},
                     {"loadavg_after", load_after},
                     {"http_connections", connects}};
  long failed = 0;
  for (Way& way : ways) {
    std::sort(way.tally.ms.begin(), way.tally.ms.end());
    out[way.name] = way.tally.Json();
    failed += way.tally.failed;
  }
  const Tally& direct = ways[0].tally;
  for (int w = 1; w <= 2; ++w) {
    const Tally& t = ways[w].tally;
    const double rate_ratio = direct.rate() > 0 ? t.rate() / direct.rate() : NAN;
    const double p99_ratio = t.At(0.99) / direct.At(0.99);
    out[ways[w].name]["rate_vs_direct"] = rate_ratio;
    out[ways[w].name]["p99_vs_direct"] = p99_ratio;
    out[ways[w].name]["goal_met"] = rate_ratio >= 0.7 && p99_ratio <= 2.0;
  }
  if (gateway_pid > 0) {
    out["gateway_rss_after_kib"] = RssKib(gateway_pid, "VmRSS");
    out["gateway_peak_rss_kib"] = RssKib(gateway_pid, "VmHWM");
  }
  for (const Way& way : ways) {
    const double n = static_cast<double>(std::max<size_t>(1, way.tally.ms.size()));
    std::fprintf(stderr,
                 "gateway_bench: %-13s %8.0f /s  p50 %.2f ms  p99 %.2f ms  CPU/call: gateway %.0f µs, "
                 "directory %.0f µs  (%ld failed)\n",
                 way.name, way.tally.rate(), way.tally.At(0.5), way.tally.At(0.99), 1e6 * way.tally.gateway_cpu_s / n,
                 1e6 * way.tally.directory_cpu_s / n, way.tally.failed);
  }
  if (connects != threads * 2) {
    std::fprintf(stderr, "gateway_bench: %ld HTTP connections for %d clients: keep-alive did not hold\n",
                 connects, threads * 2);
  }
  std::printf("%s\n", out.dump(2).c_str());
  curl_global_cleanup();
  return failed == 0 && connects == threads * 2 ? 0 : 1;
}
