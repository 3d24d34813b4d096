// Partitions and stalls (issue #26 §4): a service cut off from PostgreSQL and Redis, or from
// Redis alone, for longer than every timeout, and each server frozen (SIGSTOP) instead of
// killed. Calls meanwhile fail with UNAVAILABLE (not DEADLINE_EXCEEDED, and never hang) or,
// when only Redis is gone, go on (the outbox holds the events); health says NOT_SERVING
// while PostgreSQL is gone; afterwards everything resumes without a restart, and nothing
// acknowledged is lost or applied twice. Each case prints its figures (FIGURE lines).
//
// The cuts need root: the test makes a network namespace `wuye-p<pid>` with a veth pair,
// the host's end holding 198.18.S.1 (or 198.19.S.1) (the test's side), .3 (PostgreSQL's) and .4 (Redis's) of
// a /29, the namespace's end .2. A private PostgreSQL and Redis (scripts/servers.sh) also
// listen on .3 and .4; intake runs inside the namespace (`ip netns exec`), listening on
// 0.0.0.0, reaching them there, and the test reaches it at .2. A cut replaces the
// namespace's neighbour entry of a server's address with a MAC nobody has: the packets
// leave and vanish (a blackhole: no refusal, no "unreachable", for the connections open and
// for new ones alike). Setting the host's end down is no blackhole: a connect then fails
// at once with EHOSTUNREACH. The frozen-server cases need no namespace and run as anyone.
//
// The service's timeouts are its defaults (statement 5 s, acquire 2 s, ping 2 s, health
// after 5 s, Redis commands 2 s) except the PostgreSQL keepalives, shortened with
// --pg_keepalives_idle=5s as a deployment that wants a cut noticed sooner would (the
// relay's session then counts as dead after 35 s).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/ids.h"
#include "shared/redis.h"
#include "shared/testing/events.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

namespace wuye {
namespace {

namespace cpb = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
namespace ipb = ::wuye::intake::v1;

using ::wuye::testing::PrivateServers;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::ServiceProcessOptions;

// Longer than every timeout of the service but the relay session's keepalives (35 s).
constexpr absl::Duration kCut = absl::Seconds(20);
// Each call's own deadline: a call still running then has hung.
constexpr int kCallSeconds = 15;
constexpr absl::Duration kSettle = absl::Seconds(90);
constexpr char kRedisPassword[] = "partition-test-redis-password";

int Sh(const std::string& command) {
  int rc = std::system(absl::StrCat(command, " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// ---- the network namespace -----------------------------------------------------------------

class NetNs {
 public:
  NetNs() {
    std::random_device rd;
    // RFC 2544's benchmarking range: never a real network's, so no route of the host's is
    // shadowed.
    subnet_ = absl::StrCat("198.", 18 + rd() % 2, ".", rd() % 256, ".");
    name_ = absl::StrCat("wuye-p", getpid());
    host_if_ = absl::StrCat("wuh", getpid());
    ns_if_ = absl::StrCat("wun", getpid());
  }
  ~NetNs() {
    if (!made_) return;
    Sh("ip netns del " + name_);
    Sh("ip link del " + host_if_);  // gone with the namespace's end already, normally
  }
  // False when namespaces cannot be made here (not root, no CAP_NET_ADMIN).
  bool Make() {
    if (Sh("ip netns add " + name_) != 0) return false;
    made_ = true;
    const std::string in = "ip netns exec " + name_ + " ";
    for (const std::string& cmd : {
             absl::StrCat("ip link add ", host_if_, " type veth peer name ", ns_if_),
             absl::StrCat("ip link set ", ns_if_, " netns ", name_),
             absl::StrCat("ip addr add ", Addr(1), "/29 dev ", host_if_),
             absl::StrCat("ip addr add ", Addr(3), "/29 dev ", host_if_),
             absl::StrCat("ip addr add ", Addr(4), "/29 dev ", host_if_),
             absl::StrCat("ip link set ", host_if_, " up"),
             absl::StrCat(in, "ip addr add ", Addr(2), "/29 dev ", ns_if_),
             absl::StrCat(in, "ip link set ", ns_if_, " up"),
             absl::StrCat(in, "ip link set lo up"),
         }) {
      if (Sh(cmd) != 0) {
        ADD_FAILURE() << "failed: " << cmd;
        return false;
      }
    }
    return true;
  }
  std::string Addr(int host) const { return absl::StrCat(subnet_, host); }
  std::vector<std::string> Prefix() const { return {"ip", "netns", "exec", name_}; }
  // From the namespace, packets to `addr` vanish: its neighbour entry names a MAC that no
  // interface has, so the host's end drops every frame (not for it).
  void Cut(const std::string& addr) {
    EXPECT_EQ(Sh(absl::StrCat("ip netns exec ", name_, " ip neigh replace ", addr,
                              " lladdr 02:00:00:00:00:01 dev ", ns_if_, " nud permanent")),
              0);
  }
  void Mend(const std::string& addr) {
    EXPECT_EQ(Sh(absl::StrCat("ip netns exec ", name_, " ip neigh del ", addr, " dev ", ns_if_)),
              0);
  }
  // Whether a TCP connect from the namespace to addr:port neither succeeds nor is refused
  // within 2 s (packets vanish).
  bool Blackholed(const std::string& addr, int port) {
    return Sh(absl::StrCat("ip netns exec ", name_, " timeout 2 bash -c 'exec 3<>/dev/tcp/", addr,
                           "/", port, "'")) == 124;
  }

 private:
  std::string subnet_, name_, host_if_, ns_if_;
  bool made_ = false;
};

// ---- the rig: private servers and intake -------------------------------------------------

struct CallResult {
  grpc::StatusCode code;
  absl::Duration took;
  std::string ticket_id;
};

class Rig {
 public:
  // `ns` null: no namespace (intake on 127.0.0.1 like the servers). `args`: intake's flags
  // beyond the shortened keepalives.
  explicit Rig(NetNs* ns, std::vector<std::string> args = {}) : ns_(ns), args_(std::move(args)) {}

  bool Start() {
    std::string binary;
    for (const auto& [name, path] : testing::BuiltServices()) {
      if (name == "intake") binary = path;
    }
    if (binary.empty()) {
      ADD_FAILURE() << "wuye-intake is not built";
      return false;
    }
    if (ns_ != nullptr) servers_.ListenAlsoOn(absl::StrCat(ns_->Addr(3), " ", ns_->Addr(4)));
    if (servers_.Run("up") != 0) {
      ADD_FAILURE() << "the private servers did not start";
      return false;
    }
    try {
      pqxx::connection admin(servers_.PgUrl("postgres"));
      pqxx::nontransaction(admin).exec("CREATE DATABASE wuye_intake");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return false;
    }
    // A Redis reached from off the host needs a password (shared/config.cc): one of the
    // test's, set on the running server.
    RedisOptions ro;
    ro.addr = servers_.RedisAddr();
    redis_ = std::make_unique<RedisConnection>(ro);
    auto set = redis_->Command({"CONFIG", "SET", "requirepass", kRedisPassword});
    if (!set.ok() || set->is_error()) {
      ADD_FAILURE() << "CONFIG SET requirepass failed";
      return false;
    }
    ro.password = kRedisPassword;
    redis_ = std::make_unique<RedisConnection>(ro);
    pg_host_ = ns_ ? ns_->Addr(3) : "127.0.0.1";
    redis_host_ = ns_ ? ns_->Addr(4) : "127.0.0.1";
    ServiceProcessOptions o;
    o.name = "intake";
    o.binary = binary;
    o.pg_url =
        absl::StrCat("postgresql://wuye@", pg_host_, ":", servers_.pg_port(), "/wuye_intake");
    o.redis_addr = absl::StrCat(redis_host_, ":", servers_.redis_port());
    o.env = testing::ServiceTestEnv("intake");
    o.env["WUYE_REDIS_PASSWORD"] = kRedisPassword;
    o.args = {"--pg_keepalives_idle=5s"};
    o.args.insert(o.args.end(), args_.begin(), args_.end());
    if (ns_ != nullptr) {
      o.command_prefix = ns_->Prefix();
      o.listen_host = "0.0.0.0";
      o.connect_host = ns_->Addr(2);
    }
    options_ = o;
    proc_ = std::make_unique<ServiceProcess>(o);
    if (!proc_->Start()) return false;
    stub_ = ipb::IntakeService::NewStub(proc_->channel());
    estate_ = Publish();
    if (!Known(estate_)) {
      ADD_FAILURE() << "intake never learnt of the first estate; log " << proc_->log_path();
      return false;
    }
    return true;
  }

  // A second intake on the same database and Redis; Create(..., replica()) calls it.
  bool StartReplica() {
    ServiceProcessOptions o = options_;
    o.name = "intake-2";
    replica_ = std::make_unique<ServiceProcess>(o);
    if (!replica_->Start()) return false;
    replica_stub_ = ipb::IntakeService::NewStub(replica_->channel());
    return true;
  }
  ServiceProcess& first() { return *proc_; }
  ServiceProcess& replica() { return *replica_; }

  // A new estate of the group on the directory's stream, as the directory would publish it.
  std::string Publish() {
    std::string estate = NewId(absl::Now());
    ev::EstateChanged e;
    e.set_estate_id(estate);
    e.set_name("Partition Gardens");
    e.set_time_zone("Asia/Shanghai");
    e.set_household_count(10);
    e.set_desk_24h(true);
    ev::Event env = testing::TestEvent("directory.estate.created", group_, e);
    env.set_producer("directory");
    env.set_subject(estate);
    env.set_subject_version(1);
    env.set_estate_id(estate);
    auto reply = redis_->Command({"XADD", "wuye.directory.events", "*", "type", env.type(), "env",
                                  env.SerializeAsString()});
    EXPECT_TRUE(reply.ok() && !reply->is_error()) << "XADD failed";
    return estate;
  }

  CallResult Create(const std::string& request_id, const std::string& estate = "",
                    const ServiceProcess* through = nullptr) {
    ipb::CreateTicketRequest req;
    req.set_request_id(request_id);
    req.mutable_ticket()->set_estate_id(estate.empty() ? estate_ : estate);
    req.mutable_ticket()->set_channel(cpb::CHANNEL_WALK_IN);
    req.mutable_ticket()->set_kind(cpb::TICKET_KIND_COMPLAINT);
    req.mutable_ticket()->set_summary("Corridor light out");
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kCallSeconds));
    ipb::Ticket out;
    absl::Time start = absl::Now();
    auto& stub = through != nullptr && through == replica_.get() ? replica_stub_ : stub_;
    grpc::Status st = stub->CreateTicket(&ctx, req, &out);
    return {st.error_code(), absl::Now() - start, out.id()};
  }

  // Whether intake has applied the estate's event (a ticket there is no longer NOT_FOUND).
  bool Known(const std::string& estate, absl::Duration within = kSettle) {
    absl::Time give_up = absl::Now() + within;
    for (;;) {
      CallResult r = Create(absl::StrCat("known-", estate), estate);
      if (r.code == grpc::StatusCode::OK) return true;
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  // The subjects of the entries on intake's stream, with how often each event id is there.
  std::set<std::string> Subjects(int* duplicates) {
    std::set<std::string> subjects, ids;
    *duplicates = 0;
    auto reply = redis_->Command({"XRANGE", "wuye.intake.events", "-", "+"});
    if (!reply.ok()) return subjects;
    for (const RedisReply& entry : reply->elements) {
      if (entry.elements.size() < 2) continue;
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str != "env") continue;
        ev::Event e;
        if (!e.ParseFromString(fields[i + 1].str)) continue;
        subjects.insert(e.subject());
        if (!ids.insert(e.event_id()).second) ++*duplicates;
      }
    }
    return subjects;
  }

  // Tickets in intake's database (through the server's loopback, never cut).
  int64_t Tickets() {
    pqxx::connection conn(servers_.PgUrl("wuye_intake"));
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM tickets")[0].as<int64_t>();
  }

  int Health() { return testing::HealthStatus(proc_->channel()); }

  // Every process of the private PostgreSQL: its postmaster and the postmaster's children.
  std::vector<pid_t> PgProcesses() {
    pid_t backend = 0;
    {
      pqxx::connection conn(servers_.PgUrl("postgres"));
      backend = pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<int>();
    }
    pid_t postmaster = ParentOf(backend);
    std::vector<pid_t> out = {postmaster};
    if (DIR* d = opendir("/proc")) {
      while (dirent* e = readdir(d)) {
        pid_t pid = std::atoi(e->d_name);
        if (pid > 0 && pid != backend && ParentOf(pid) == postmaster) out.push_back(pid);
      }
      closedir(d);
    }
    return out;
  }
  pid_t RedisProcess() {
    auto reply = redis_->Command({"INFO", "server"});
    if (!reply.ok()) return 0;
    for (absl::string_view line : absl::StrSplit(reply->str, "\r\n")) {
      if (absl::ConsumePrefix(&line, "process_id:")) return std::atoi(std::string(line).c_str());
    }
    return 0;
  }

  const std::string& pg_host() const { return pg_host_; }
  const std::string& redis_host() const { return redis_host_; }
  int pg_port() const { return servers_.pg_port(); }
  int redis_port() const { return servers_.redis_port(); }
  const std::string& log() const { return proc_->log_path(); }

 private:
  static pid_t ParentOf(pid_t pid) {
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    return ppid;
  }

  NetNs* ns_;
  std::vector<std::string> args_;
  PrivateServers servers_;
  ServiceProcessOptions options_;
  std::unique_ptr<ServiceProcess> proc_, replica_;
  std::unique_ptr<ipb::IntakeService::Stub> stub_, replica_stub_;
  std::unique_ptr<RedisConnection> redis_;
  std::string group_ = NewId(absl::Now());
  std::string token_ = testing::TestToken(group_, {"*"}, {"agent"}, "partition-agent");
  std::string estate_;
  std::string pg_host_, redis_host_;
};

// ---- one outage ----------------------------------------------------------------------------

struct Outage {
  std::string label;  // "pg+redis", "redis", "pg-sigstop", "redis-sigstop"
  bool writes_fail;   // PostgreSQL is gone: calls fail; else they go on
  bool publish_during = true;  // the test can reach Redis during the outage
  std::function<void()> begin, end;
};

// Runs `outage` for kCut with calls going on, then checks that everything resumes.
void RunOutage(Rig& rig, const Outage& outage) {
  static int serial = 0;
  const std::string tag = absl::StrCat(outage.label, "-", ++serial, "-", getpid());
  std::vector<std::string> acknowledged;  // request ids answered OK
  std::map<std::string, std::string> tickets;  // request id → ticket id
  for (int i = 0; i < 3; ++i) {
    std::string rid = absl::StrCat(tag, "-before-", i);
    CallResult r = rig.Create(rid);
    ASSERT_EQ(r.code, grpc::StatusCode::OK) << "before the outage";
    tickets[rid] = r.ticket_id;
  }
  const int64_t tickets_before = rig.Tickets();

  outage.begin();
  const absl::Time began = absl::Now();
  std::string estate_during;
  std::vector<std::string> failed;
  std::vector<absl::Duration> fail_times;
  std::map<grpc::StatusCode, int> codes;
  bool saw_not_serving = false;
  int calls = 0;
  while (absl::Now() - began < kCut) {
    std::string rid = absl::StrCat(tag, "-during-", calls++);
    CallResult r = rig.Create(rid);
    ++codes[r.code];
    if (r.code == grpc::StatusCode::OK) {
      tickets[rid] = r.ticket_id;
    } else {
      failed.push_back(rid);
      fail_times.push_back(r.took);
    }
    if (rig.Health() == 2) saw_not_serving = true;
    if (outage.publish_during && estate_during.empty()) estate_during = rig.Publish();
    absl::SleepFor(absl::Milliseconds(300));
  }
  outage.end();
  const absl::Time ended = absl::Now();

  // The first call that succeeds again.
  absl::Duration recovery;
  for (int i = 0;; ++i) {
    std::string rid = absl::StrCat(tag, "-after-", i);
    CallResult r = rig.Create(rid);
    if (r.code == grpc::StatusCode::OK) {
      recovery = absl::Now() - ended;
      tickets[rid] = r.ticket_id;
      break;
    }
    ASSERT_LT(absl::Now() - ended, kSettle) << "calls never succeed again; log " << rig.log();
    absl::SleepFor(absl::Milliseconds(100));
  }
  // The calls that failed, retried with their request ids: each applied once.
  for (const std::string& rid : failed) {
    CallResult r = rig.Create(rid);
    ASSERT_EQ(r.code, grpc::StatusCode::OK) << rid;
    tickets[rid] = r.ticket_id;
  }
  // Events: every ticket's on intake's stream (relayed), and the estate published during
  // the outage applied by intake's consumer.
  int duplicates = 0;
  bool relayed = testing::WaitFor(
      [&] {
        std::set<std::string> subjects = rig.Subjects(&duplicates);
        for (const auto& [rid, id] : tickets) {
          if (!subjects.count(id)) return false;
        }
        return true;
      },
      kSettle);
  const absl::Duration relay_time = absl::Now() - ended;
  EXPECT_TRUE(relayed) << "some acknowledged ticket's event never reached the stream";
  absl::Duration consumer_time;
  if (!estate_during.empty()) {
    EXPECT_TRUE(rig.Known(estate_during)) << "the estate published during the outage";
    consumer_time = absl::Now() - ended;
  }
  EXPECT_TRUE(testing::WaitFor([&] { return rig.Health() == 1; }, kSettle));

  // Nothing twice: one ticket per request id (the retries answered from the first).
  std::set<std::string> distinct;
  for (const auto& [rid, id] : tickets) distinct.insert(id);
  EXPECT_EQ(distinct.size(), tickets.size());
  EXPECT_EQ(rig.Tickets(), tickets_before + static_cast<int64_t>(tickets.size()) - 3 +
                               (estate_during.empty() ? 0 : 1))
      << "tickets in the database";

  if (outage.writes_fail) {
    EXPECT_FALSE(failed.empty()) << "no call failed while PostgreSQL was gone";
    for (const auto& [code, n] : codes) {
      EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::OK)
          << n << " calls ended with code " << code << " (hung or wrong); log " << rig.log();
    }
    EXPECT_TRUE(saw_not_serving) << "health never said NOT_SERVING";
  } else {
    EXPECT_TRUE(failed.empty()) << failed.size() << " calls failed while only Redis was gone";
  }

  std::sort(fail_times.begin(), fail_times.end());
  int64_t p50 = fail_times.empty() ? 0 : absl::ToInt64Milliseconds(fail_times[fail_times.size() / 2]);
  int64_t worst = fail_times.empty() ? 0 : absl::ToInt64Milliseconds(fail_times.back());
  std::cout << "FIGURE partition " << outage.label << " cut_s=" << absl::ToInt64Seconds(kCut)
            << " calls=" << calls << " failed=" << failed.size() << " fail_ms_p50=" << p50
            << " fail_ms_max=" << worst << " recovery_ms=" << absl::ToInt64Milliseconds(recovery)
            << " relay_ms=" << absl::ToInt64Milliseconds(relay_time)
            << " consumer_ms=" << absl::ToInt64Milliseconds(consumer_time)
            << " stream_duplicates=" << duplicates << std::endl;
}

bool NetNsPossible(NetNs& ns, std::string* why) {
  if (geteuid() != 0) {
    *why = "needs root (a network namespace)";
    return false;
  }
  if (!ns.Make()) {
    *why = "ip netns add failed (no CAP_NET_ADMIN here?)";
    return false;
  }
  return true;
}

// ---- the cases -----------------------------------------------------------------------------

TEST(PartitionTest, CutFromPostgresAndRedisFailsFastAndResumes) {
  NetNs ns;
  std::string why;
  if (!NetNsPossible(ns, &why)) GTEST_SKIP() << why;
  Rig rig(&ns);
  ASSERT_TRUE(rig.Start());
  Outage o{"pg+redis", /*writes_fail=*/true, /*publish_during=*/true,
           [&] {
             ns.Cut(rig.pg_host());
             ns.Cut(rig.redis_host());
             // What the service sees: packets vanish, for a new connection too.
             EXPECT_TRUE(ns.Blackholed(rig.pg_host(), rig.pg_port()));
           },
           [&] {
             ns.Mend(rig.pg_host());
             ns.Mend(rig.redis_host());
           }};
  RunOutage(rig, o);
}

TEST(PartitionTest, CutFromRedisOnlyWritesGoOnAndTheBusCatchesUp) {
  NetNs ns;
  std::string why;
  if (!NetNsPossible(ns, &why)) GTEST_SKIP() << why;
  Rig rig(&ns);
  ASSERT_TRUE(rig.Start());
  Outage o{"redis", /*writes_fail=*/false, /*publish_during=*/true,
           [&] {
             ns.Cut(rig.redis_host());
             EXPECT_TRUE(ns.Blackholed(rig.redis_host(), rig.redis_port()));
           },
           [&] { ns.Mend(rig.redis_host()); }};
  RunOutage(rig, o);
}

TEST(PartitionTest, FrozenPostgresFailsFastAndResumes) {
  Rig rig(nullptr);
  ASSERT_TRUE(rig.Start());
  std::vector<pid_t> pids = rig.PgProcesses();
  ASSERT_GE(pids.size(), 2u);
  Outage o{"pg-sigstop", /*writes_fail=*/true, /*publish_during=*/true,
           [&] {
             for (pid_t pid : pids) kill(pid, SIGSTOP);
           },
           [&] {
             for (pid_t pid : pids) kill(pid, SIGCONT);
           }};
  RunOutage(rig, o);
  for (pid_t pid : pids) kill(pid, SIGCONT);  // whatever happened above
}

TEST(PartitionTest, FrozenRedisWritesGoOnAndTheBusCatchesUp) {
  Rig rig(nullptr);
  ASSERT_TRUE(rig.Start());
  pid_t redis = rig.RedisProcess();
  ASSERT_GT(redis, 0);
  // The test's own Redis connection would hang on the frozen server too: it publishes
  // nothing meanwhile.
  Outage o{"redis-sigstop", /*writes_fail=*/false, /*publish_during=*/false,
           [&] { kill(redis, SIGSTOP); }, [&] { kill(redis, SIGCONT); }};
  RunOutage(rig, o);
  kill(redis, SIGCONT);
}

// A frozen replica (SIGSTOP here; a debugger, a paused container, a stalled VM alike) is not
// a dead one: its kernel still answers the keepalives of its PostgreSQL session, so the relay
// leader's lock would stay with it for as long as it is frozen, and no event of the service
// would reach the bus. Its lease (--bus_relay_lease, PostgreSQL's idle_session_timeout on
// that session) ends the session, and the other replica leads in its place.
TEST(PartitionTest, AFrozenRelayLeaderHandsOverAfterItsLease) {
  // The least lease these settings take: a 5 s back-off, a 1 s connect and three Redis
  // commands of 2 s, and 2 s (shared/config.cc).
  constexpr absl::Duration kLease = absl::Seconds(14);
  Rig rig(nullptr, {absl::StrCat("--bus_relay_lease=", absl::FormatDuration(kLease))});
  ASSERT_TRUE(rig.Start());
  auto logged = [](const ServiceProcess& p, absl::string_view words) {
    std::ifstream in(p.log_path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return absl::StrContains(text, words);
  };
  // The first replica, alone, takes the lock; then the second starts.
  ASSERT_TRUE(testing::WaitFor([&] { return logged(rig.first(), "\"relay.leader\""); },
                               absl::Seconds(30)));
  ASSERT_TRUE(rig.StartReplica());
  EXPECT_FALSE(logged(rig.replica(), "\"relay.leader\""));

  rig.first().Kill(SIGSTOP);
  const absl::Time frozen = absl::Now();
  std::set<std::string> made;
  for (int i = 0; i < 5; ++i) {
    CallResult r = rig.Create(absl::StrCat("frozen-leader-", i), "", &rig.replica());
    ASSERT_EQ(r.code, grpc::StatusCode::OK) << "through the replica that is not frozen";
    made.insert(r.ticket_id);
  }
  auto on_stream = [&] {
    int duplicates = 0;
    std::set<std::string> subjects = rig.Subjects(&duplicates);
    return std::includes(subjects.begin(), subjects.end(), made.begin(), made.end());
  };
  const bool handed_over = testing::WaitFor(on_stream, kLease + kSettle);
  const absl::Duration handover = absl::Now() - frozen;
  rig.first().Kill(SIGCONT);
  ASSERT_TRUE(handed_over) << "the frozen leader kept the lock; logs " << rig.first().log_path()
                           << " and " << rig.replica().log_path();
  EXPECT_TRUE(logged(rig.replica(), "\"relay.leader\""));
  // Not before the lease ran out: until then the frozen one still led.
  EXPECT_GE(handover, kLease - absl::Seconds(1));

  // Thawed, the old leader finds its session ended and follows; calls through it work, and
  // their events reach the bus through the new leader, each once.
  ASSERT_TRUE(testing::WaitFor([&] { return logged(rig.first(), "relay.leader_lost"); },
                               absl::Seconds(30)));
  CallResult r = rig.Create("thawed-leader", "", &rig.first());
  ASSERT_EQ(r.code, grpc::StatusCode::OK);
  made.insert(r.ticket_id);
  ASSERT_TRUE(testing::WaitFor(on_stream, kSettle));
  int duplicates = -1;
  rig.Subjects(&duplicates);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(rig.Tickets(), 7);  // the first estate's check, five and one
  std::cout << "FIGURE partition relay-leader-sigstop lease_s=" << absl::ToInt64Seconds(kLease)
            << " handover_s=" << absl::ToDoubleSeconds(handover) << std::endl;
}

}  // namespace
}  // namespace wuye
