#include "shared/testing/test_env.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shared/ids.h"
#include "shared/service_main.h"

namespace wuye::testing {
namespace {

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr,
                 "%s is not set: run the tests through `make test`, or start the local "
                 "servers (`make up`) and `eval \"$(scripts/servers.sh env)\"`\n",
                 name);
    std::abort();
  }
  return value;
}

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

}  // namespace

std::string PgAdminUrl() { return RequiredEnv("WUYE_PG_URL"); }
std::string RedisAddr() { return RequiredEnv("WUYE_REDIS_ADDR"); }

TestDatabase::TestDatabase() {
  std::string id = NewId(absl::Now());
  name_ = "t_";
  for (char c : id) {
    if (c != '-') name_.push_back(c);
  }
  Exec(PgAdminUrl(), absl::StrCat("CREATE DATABASE ", name_));
  url_ = WithDatabase(PgAdminUrl(), name_);
}

TestDatabase::~TestDatabase() {
  try {
    Exec(PgAdminUrl(), absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dropping %s: %s\n", name_.c_str(), e.what());
  }
}

std::unique_ptr<Db> TestDatabase::Open(const MigrationSet& migrations, int pool_size) const {
  DbOptions options;
  options.url = url_;
  options.pool_size = pool_size;
  auto db = OpenServiceDatabase(options, migrations, absl::Seconds(10));
  if (!db.ok()) {
    std::fprintf(stderr, "opening %s: %s\n", name_.c_str(), db.status().ToString().c_str());
    std::abort();
  }
  return std::move(*db);
}

AuthConfig TestAuthConfig() {
  AuthConfig config;
  config.hs256_secret = kTestSecret;
  // Service tests move a FakeClock weeks away from the time TestToken minted its tokens;
  // auth_test and the process-level tests hold tokens to the 12 h bound.
  config.max_lifetime = absl::InfiniteDuration();
  return config;
}

std::string TestToken(const std::string& group, const std::vector<std::string>& estates,
                      const std::vector<std::string>& roles, const std::string& subject) {
  TokenClaims claims;
  claims.subject = subject;
  claims.group_id = group;
  claims.estate_ids = estates;
  claims.roles = roles;
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + absl::Hours(1);
  auto token = MintHs256(claims, kTestSecret);
  if (!token.ok()) std::abort();
  return *token;
}

}  // namespace wuye::testing

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <utility>

namespace wuye::testing {

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  // HealthCheckRequest{service = 1} and HealthCheckResponse{status = 1} by hand: Debian ships
  // no generated health stubs, and the messages are one field each.
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer send(&slice, 1), recv;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &send, &recv,
                 [&](grpc::Status s) {
                   std::lock_guard lock(mu);
                   status = s;
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!recv.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.size() >= 2 && bytes[0] == 0x08) return bytes[1];
  return 0;  // status field absent: UNKNOWN
}

namespace {

// Where test ports are drawn from: below the kernel's ephemeral range, which outgoing
// connections use, and below the fixed ports of the chaos and scale suites (20000–28000,
// scripts/chaos.sh and scale.sh), which `make test` runs beside the tests. Not the kernel's
// own choice for port 0: on some kernels (Linux 6.18 here) that is the same port nearly every
// time, so tests running side by side were all handed it.
std::pair<int, int> TestPortRange() {
  int low = 32768, high = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &low, &high) != 2) low = 32768;
    std::fclose(f);
  }
  if (low >= 20000 || high < 10000) return {10000, 19999};
  if (high < 64000) return {high + 1, 65000};  // an odd range: above it
  return {10000, 19999};                       // and if there is no room above, below it
}

// Who a port is for. The range is split: a port is probed free and then handed on, so a
// process of another test may take it in between. Services retry a port they cannot bind;
// a test's own PostgreSQL and Redis (PrivateServers) cannot, so they draw from a part of the
// range no service port comes from (a directory of another test once took a test's Redis
// port in that window).
enum class PortFor { kServiceOrTest, kPrivateServer };

// A loopback socket bound to a free port drawn at random, and that port.
std::pair<int, int> BoundSocket(PortFor use = PortFor::kServiceOrTest) {
  static const std::pair<int, int> range = TestPortRange();
  static const int split = range.first + (range.second - range.first) / 4;
  thread_local std::mt19937 gen{std::random_device{}()};
  std::uniform_int_distribution<int> pick(use == PortFor::kPrivateServer ? range.first : split + 1,
                                          use == PortFor::kPrivateServer ? split : range.second);
  for (int attempt = 0;; ++attempt) {
    // Close-on-exec: a process forked meanwhile (a server started by a script) must not
    // inherit it and so hold the port.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::fprintf(stderr, "no socket for a free port: %s\n", std::strerror(errno));
      return {-1, pick(gen)};
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int port = pick(gen);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || attempt == 1000)
      return {fd, port};
    close(fd);
  }
}

}  // namespace

int FreePort() {
  auto [fd, port] = BoundSocket();
  if (fd >= 0) close(fd);
  return port;
}

namespace {

int FreeServerPort() {
  auto [fd, port] = BoundSocket(PortFor::kPrivateServer);
  if (fd >= 0) close(fd);
  return port;
}

}  // namespace

std::vector<int> DistinctFreePorts(int n) {
  std::vector<std::pair<int, int>> held;
  for (int i = 0; i < n; ++i) held.push_back(BoundSocket());
  std::vector<int> ports;
  for (auto [fd, port] : held) {
    if (fd >= 0) close(fd);
    ports.push_back(port);
  }
  return ports;
}

namespace {

// The first of `n` consecutive free loopback ports, for a private server.
int FreePorts(int n) {
  for (;;) {
    const int first = FreeServerPort();
    if (first + n - 1 > 65535) continue;
    bool free = true;
    for (int port = first + 1; port < first + n && free; ++port) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(fd);
    }
    if (free) return first;
  }
}

}  // namespace

PrivateServers::PrivateServers() {
  // Every port different (the kernel may hand out a just-closed one again): PostgreSQL, its
  // standby, Redis, its replica, and three sentinels in a row.
  std::set<int> taken;
  auto fresh = [&](int n) {
    for (;;) {
      int first = n == 1 ? FreeServerPort() : FreePorts(n);
      bool clash = false;
      for (int p = first; p < first + n; ++p) clash |= taken.contains(p);
      if (clash) continue;
      for (int p = first; p < first + n; ++p) taken.insert(p);
      return first;
    }
  };
  pg_port_ = fresh(1);
  redis_port_ = fresh(1);
  standby_port_ = fresh(1);
  redis_replica_port_ = fresh(1);
  sentinel_port_ = fresh(3);
  state_ = (std::filesystem::temp_directory_path() / ("wuye-srv-" + NewId(absl::Now()).substr(24)))
               .string();
}

PrivateServers::~PrivateServers() {
  Run("down");
  std::filesystem::remove_all(state_);
}

int PrivateServers::Run(const std::string& args) {
  std::string cmd =
      absl::StrCat("WUYE_STATE_DIR=", state_, " WUYE_PG_PORT=", pg_port_,
                   " WUYE_REDIS_PORT=", redis_port_, " WUYE_PG_STANDBY_PORT=", standby_port_, " ");
  absl::StrAppend(&cmd, "WUYE_REDIS_REPLICA_PORT=", redis_replica_port_,
                  " WUYE_SENTINEL_PORT=", sentinel_port_, " ");
  if (!listen_extra_.empty()) absl::StrAppend(&cmd, "WUYE_LISTEN_EXTRA='", listen_extra_, "' ");
  absl::StrAppend(&cmd, WUYE_SOURCE_DIR, "/scripts/servers.sh ", args, " >&2");
  return std::system(cmd.c_str());
}

std::string PrivateServers::PgUrl(const std::string& database) const {
  return absl::StrCat("postgresql://wuye@127.0.0.1:", pg_port_, "/", database);
}

std::string PrivateServers::FailoverUrl(const std::string& database) const {
  return absl::StrCat("postgresql://wuye@127.0.0.1:", pg_port_, ",127.0.0.1:", standby_port_, "/",
                      database);
}

std::string PrivateServers::RedisAddr() const { return absl::StrCat("127.0.0.1:", redis_port_); }

std::string PrivateServers::RedisReplicaAddr() const {
  return absl::StrCat("127.0.0.1:", redis_replica_port_);
}

std::vector<std::string> PrivateServers::Sentinels() const {
  return {absl::StrCat("127.0.0.1:", sentinel_port_),
          absl::StrCat("127.0.0.1:", sentinel_port_ + 1),
          absl::StrCat("127.0.0.1:", sentinel_port_ + 2)};
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

}  // namespace wuye::testing
