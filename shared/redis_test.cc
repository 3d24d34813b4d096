// RedisConnection under Sentinel: the primary asked of the sentinels at every connect, a
// sentinel that is down or knows nothing passed over, a named "primary" that is a replica
// refused, and a connection to a demoted primary (READONLY) left for the new one. Real
// redis-servers of the test's own (scripts/servers.sh); sentinels either real
// (redis-sentinel) or a stand-in answering SENTINEL get-master-addr-by-name as the test says.
#include "shared/redis.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

using ::wuye::testing::FreePort;
using ::wuye::testing::PrivateServers;
using ::wuye::testing::WaitFor;

// A stand-in sentinel on a free loopback port: every connection gets one reply to its first
// command, the address set with Name() (nil when none), and is closed.
class FakeSentinel {
 public:
  FakeSentinel() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(listen(fd_, 16), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeSentinel() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

  std::string addr() const { return absl::StrCat("127.0.0.1:", port_); }
  void Name(const std::string& host_port) {
    std::lock_guard lock(mu_);
    named_ = host_port;
  }
  int asked() const { return asked_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      char buf[512];
      pollfd c{conn, POLLIN, 0};
      if (poll(&c, 1, 1000) > 0 && read(conn, buf, sizeof buf) > 0) {
        ++asked_;
        std::string named;
        {
          std::lock_guard lock(mu_);
          named = named_;
        }
        std::string reply = "*-1\r\n";
        if (size_t colon = named.rfind(':'); colon != std::string::npos) {
          std::string host = named.substr(0, colon), port = named.substr(colon + 1);
          reply = absl::StrCat("*2\r\n$", host.size(), "\r\n", host, "\r\n$", port.size(), "\r\n",
                               port, "\r\n");
        }
        (void)!write(conn, reply.data(), reply.size());
      }
      close(conn);
    }
  }

  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> asked_{0};
  std::mutex mu_;
  std::string named_;
  std::thread thread_;
};

RedisOptions Through(const std::vector<std::string>& sentinels) {
  RedisOptions o;
  o.sentinels = sentinels;
  o.master = "wuye";
  o.connect_timeout = absl::Milliseconds(300);
  return o;
}

TEST(RedisSentinelTest, ASentinelDownOrWithoutAnAnswerIsPassedOverAndTheNextAsked) {
  PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  FakeSentinel knows_nothing, knows;
  knows.Name(servers.RedisAddr());
  const std::string down = absl::StrCat("127.0.0.1:", FreePort());  // nothing listens there
  RedisConnection conn(Through({down, knows_nothing.addr(), knows.addr()}));
  auto reply = conn.Command({"SET", "k", "v"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->is_error()) << reply->str;
  EXPECT_EQ(conn.server(), servers.RedisAddr());
  EXPECT_EQ(knows_nothing.asked(), 1);
  EXPECT_EQ(knows.asked(), 1);
  EXPECT_EQ(conn.connects(), 1u);
  // Connected: the sentinels are not asked again for every command.
  ASSERT_TRUE(conn.Command({"GET", "k"}).ok());
  EXPECT_EQ(knows.asked(), 1);
}

TEST(RedisSentinelTest, NoSentinelNamingAPrimaryIsUnavailable) {
  FakeSentinel knows_nothing;
  RedisConnection conn(Through({absl::StrCat("127.0.0.1:", FreePort()), knows_nothing.addr()}));
  auto reply = conn.Command({"PING"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(reply.status().message(), "no sentinel")) << reply.status();
  RedisConnection malformed(Through({"no-port-here"}));
  EXPECT_EQ(malformed.Command({"PING"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RedisSentinelTest, ANamedPrimaryThatSaysItIsAReplicaIsRefusedAndAskedAboutAgain) {
  PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  FakeSentinel lagging;  // its view lags a failover: it names the replica
  lagging.Name(servers.RedisReplicaAddr());
  RedisConnection conn(Through({lagging.addr()}));
  auto reply = conn.Command({"XADD", "s", "*", "f", "v"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(reply.status().message(), "not the primary")) << reply.status();
  EXPECT_FALSE(conn.connected());
  // The sentinel catches up: the next command asks again and reaches the primary.
  lagging.Name(servers.RedisAddr());
  reply = conn.Command({"XADD", "s", "*", "f", "v"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->is_error()) << reply->str;
  EXPECT_EQ(conn.server(), servers.RedisAddr());
  EXPECT_EQ(lagging.asked(), 2);
}

TEST(RedisSentinelTest, AReadonlyReplyDropsTheConnectionAndTheNextCommandFindsTheNewPrimary) {
  PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  FakeSentinel sentinel;
  sentinel.Name(servers.RedisAddr());
  RedisConnection conn(Through({sentinel.addr()}));
  ASSERT_TRUE(conn.Command({"XADD", "s", "*", "n", "1"}).ok());
  ASSERT_EQ(conn.server(), servers.RedisAddr());
  // The replica may still be syncing: the entry must reach it before it is promoted.
  ASSERT_TRUE(WaitFor([&] {
    auto synced = conn.Command({"WAIT", "1", "1000"});
    return synced.ok() && synced->integer == 1;
  }, absl::Seconds(30))) << "the replica never acknowledged the first entry";

  // A failover that leaves the old primary running, as a replica of the new one, with this
  // connection still open to it (as when a sentinel's CLIENT KILL has not reached it yet).
  RedisOptions to_old, to_new;
  to_old.addr = servers.RedisAddr();
  to_new.addr = servers.RedisReplicaAddr();
  RedisConnection old_primary(to_old), new_primary(to_new);
  ASSERT_TRUE(new_primary.Command({"REPLICAOF", "NO", "ONE"}).ok());
  const std::string new_port = servers.RedisReplicaAddr().substr(10);
  ASSERT_TRUE(old_primary.Command({"REPLICAOF", "127.0.0.1", new_port}).ok());
  sentinel.Name(servers.RedisReplicaAddr());

  // One pipeline: every reply is read, then the connection is left.
  auto replies = conn.Pipeline({{"XADD", "s", "*", "n", "2"}, {"PING"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 2u);
  EXPECT_TRUE((*replies)[0].is_error() && absl::StartsWith((*replies)[0].str, "READONLY"))
      << (*replies)[0].str;
  EXPECT_FALSE(conn.connected());

  auto added = conn.Command({"XADD", "s", "*", "n", "2"});
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_FALSE(added->is_error()) << added->str;
  EXPECT_EQ(conn.server(), servers.RedisReplicaAddr());
  EXPECT_EQ(conn.connects(), 2u);
  auto len = conn.Command({"XLEN", "s"});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 2) << "the entry of before the failover was replicated";
}

TEST(RedisSentinelTest, RealSentinelsPromoteTheReplicaOfAKilledPrimaryAndTheClientFollows) {
  PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  ASSERT_EQ(servers.Run("up sentinels"), 0);
  std::vector<std::string> sentinels = servers.Sentinels();
  sentinels.insert(sentinels.begin(), absl::StrCat("127.0.0.1:", FreePort()));  // one down
  RedisConnection conn(Through(sentinels));
  auto first = conn.Command({"XADD", "s", "*", "n", "1"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(conn.server(), servers.RedisAddr());
  auto synced = conn.Command({"WAIT", "1", "5000"});
  ASSERT_TRUE(synced.ok());
  ASSERT_EQ(synced->integer, 1);

  ASSERT_EQ(servers.Run("kill redis"), 0);
  // Until the sentinels agree (down-after 1 s, then the election) every attempt fails
  // UNAVAILABLE; then the replica is the primary and has the entry.
  absl::Status last;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = conn.Command({"XADD", "s", "*", "n", "2"});
        last = r.status();
        if (r.ok() && r->is_error()) last = absl::InternalError(r->str);
        EXPECT_TRUE(last.ok() || last.code() == absl::StatusCode::kUnavailable) << last;
        return last.ok();
      },
      absl::Seconds(30)))
      << last;
  EXPECT_EQ(conn.server(), servers.RedisReplicaAddr());
  auto len = conn.Command({"XLEN", "s"});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 2);

  // The killed node comes back as a replica of the new primary.
  ASSERT_EQ(servers.Run("up redis"), 0);
  RedisOptions direct;
  direct.addr = servers.RedisAddr();
  RedisConnection old_primary(direct);
  auto role = old_primary.Command({"ROLE"});
  ASSERT_TRUE(role.ok());
  ASSERT_FALSE(role->elements.empty());
  EXPECT_EQ(role->elements[0].str, "slave");
}

// A real redis-sentinel of the test's own that requires a password (`requirepass`).
class SentinelWithPassword {
 public:
  SentinelWithPassword(const std::string& primary, const std::string& password) {
    char dir_template[] = "/tmp/wuye-sentinel-XXXXXX";
    dir_ = mkdtemp(dir_template);
    port_ = FreePort();
    const size_t colon = primary.rfind(':');
    std::ofstream(dir_ + "/sentinel.conf")
        << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nrequirepass " << password
        << "\nsentinel monitor wuye " << primary.substr(0, colon) << " "
        << primary.substr(colon + 1) << " 1\n";
    const std::string start =
        absl::StrCat("redis-sentinel ", dir_, "/sentinel.conf --daemonize yes --pidfile ", dir_,
                     "/sentinel.pid --logfile ", dir_, "/sentinel.log");
    EXPECT_EQ(std::system(start.c_str()), 0);
  }
  ~SentinelWithPassword() {
    (void)std::system(absl::StrCat("kill $(cat ", dir_, "/sentinel.pid) 2>/dev/null; rm -rf ", dir_)
                          .c_str());
  }
  std::string addr() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  std::string dir_;
  int port_ = 0;
};

// Issue #26: sentinels that require a password are asked with AUTH first; without the right
// one they name nothing, and the password is never logged.
TEST(RedisSentinelTest, SentinelsThatRequireAPasswordAreAskedWithAuth) {
  PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  SentinelWithPassword sentinel(servers.RedisAddr(), "sentinel-secret-1");
  RedisOptions options = Through({sentinel.addr()});
  options.sentinel_password = "sentinel-secret-1";
  RedisConnection conn(options);
  ASSERT_TRUE(WaitFor([&] { return conn.Command({"PING"}).ok(); }, absl::Seconds(20)));
  EXPECT_EQ(conn.server(), servers.RedisAddr());

  RedisOptions wrong = Through({sentinel.addr()});
  wrong.sentinel_password = "not-the-password";
  RedisConnection refused(wrong);
  auto reply = refused.Command({"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  EXPECT_FALSE(absl::StrContains(reply.status().message(), "not-the-password"));
  RedisConnection without(Through({sentinel.addr()}));
  EXPECT_FALSE(without.Command({"PING"}).ok());
}

}  // namespace
}  // namespace wuye
