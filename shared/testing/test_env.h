// Test support. Tests run against the real PostgreSQL and Redis that `make test` starts
// (WUYE_PG_URL, WUYE_REDIS_ADDR); each test gets a database of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/auth.h"
#include "shared/db.h"
#include "shared/migrate.h"

namespace wuye::testing {

// The server's admin URL (WUYE_PG_URL). Aborts the test binary with a clear message when
// the variable is missing: tests never silently skip the database.
std::string PgAdminUrl();
std::string RedisAddr();

// A fresh, uniquely named database, dropped when the object goes.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Opens a pool on it with the platform's and `migrations` applied.
  std::unique_ptr<Db> Open(const MigrationSet& migrations, int pool_size = 4) const;

 private:
  std::string name_;
  std::string url_;
};

// The HS256 secret test servers are configured with.
inline constexpr char kTestSecret[] = "wuye-test-secret-0123456789-abcdefghijklmnop";
// Its lifetime checks are off: see test_env.cc.
AuthConfig TestAuthConfig();
// A valid token for `group` naming `estates` ({"*"} for all) with `roles`.
std::string TestToken(const std::string& group, const std::vector<std::string>& estates,
                      const std::vector<std::string>& roles, const std::string& subject = "tester");

}  // namespace wuye::testing

#include <grpcpp/channel.h>

namespace wuye::testing {
// The grpc.health.v1 status of `service` ("" = the whole server) as the wire number:
// 1 SERVING, 2 NOT_SERVING, 0 unknown, -1 when the call failed.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service = "");
// A free TCP port on the loopback interface.
int FreePort();
// `n` free loopback ports, all different: each is held while the next is asked for (the
// kernel may hand a just-closed port out again at once).
std::vector<int> DistinctFreePorts(int n);

// A PostgreSQL and a Redis of the test's own (scripts/servers.sh with a private state dir
// and free ports), which the test may stop and start, and a standby of that PostgreSQL
// ("up standby", "kill pg", "promote standby"). Nothing is started until asked.
class PrivateServers {
 public:
  PrivateServers();
  ~PrivateServers();  // stops everything (`down`) and removes the state dir
  // Runs `scripts/servers.sh <args>` for this pair, e.g. "up redis"; returns its exit code.
  int Run(const std::string& args);
  std::string PgUrl(const std::string& database) const;
  // Both PostgreSQL servers, the primary first, in libpq's multi-host form
  // (postgresql://wuye@127.0.0.1:P1,127.0.0.1:P2/<database>).
  std::string FailoverUrl(const std::string& database) const;
  std::string RedisAddr() const;
  int pg_port() const { return pg_port_; }
  int standby_port() const { return standby_port_; }
  int redis_port() const { return redis_port_; }
  // Redis under Sentinel ("up redis-replica", "up sentinels"; "kill redis"): the replica's
  // address, and the three sentinels' (free ports of their own).
  std::string RedisReplicaAddr() const;
  std::vector<std::string> Sentinels() const;
  // Addresses (space-separated) both servers also listen on, from the next "up" on
  // (scripts/servers.sh WUYE_LISTEN_EXTRA), e.g. a network namespace's way out.
  void ListenAlsoOn(std::string addresses) { listen_extra_ = std::move(addresses); }

 private:
  std::string state_;
  int pg_port_, redis_port_, standby_port_;
  int redis_replica_port_, sentinel_port_;  // the sentinels: sentinel_port_ and the next two
  std::string listen_extra_;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);
}  // namespace wuye::testing
