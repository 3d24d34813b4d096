// The database clients through a PostgreSQL failover (issue #26 §2): a private primary with
// a synchronous standby (scripts/servers.sh `up standby`), reached through libpq's
// multi-host URL with the standby named FIRST, so that a client which connects to the
// first host that answers ends up on the standby. The pool (with the platform's
// migrations), its health ping, the outbox relay and the LISTEN connection all work on
// the primary; then the primary is SIGKILLed and the standby promoted, and each finds the
// new primary by itself, on the same objects.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shared/bus.h"
#include "shared/db.h"
#include "shared/pg_listener.h"
#include "shared/service_main.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

constexpr char kChannel[] = "wuye_failover_test";

absl::Status InsertOutboxRow(Db& db) {
  return db.Transact([](pqxx::work& tx) {
    tx.exec(
        "INSERT INTO wuye_outbox (event_id, type, envelope) "
        "VALUES (gen_random_uuid(), 'test.failover', '\\x00'::bytea)");
    return absl::OkStatus();
  });
}

absl::Status Notify(Db& db, const std::string& payload) {
  return db.Transact([&](pqxx::work& tx) {
    tx.exec_params("SELECT pg_notify($1, $2)", kChannel, payload);
    return absl::OkStatus();
  });
}

// Runs `step` until it is OK (the failover takes a moment); its last status.
absl::Status Eventually(const std::function<absl::Status()>& step) {
  absl::Status st;
  testing::WaitFor(
      [&] {
        st = step();
        return st.ok();
      },
      absl::Seconds(30));
  return st;
}

TEST(FailoverTest, PoolPingRelayAndListenerFindThePromotedStandbyByThemselves) {
  testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up"), 0);
  ASSERT_EQ(servers.Run("up standby"), 0);
  {
    pqxx::connection admin(servers.PgUrl("postgres"));
    pqxx::nontransaction(admin).exec("CREATE DATABASE failover");
  }
  // A synchronous standby has the commit on disk, not yet replayed: until it is, a
  // connection to it that names the new database is refused as "does not exist", which
  // libpq does not pass over to the next host. (A service's database is older than that.)
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        try {
          pqxx::connection standby(absl::StrCat("postgresql://wuye@127.0.0.1:",
                                                servers.standby_port(), "/postgres"));
          return !pqxx::nontransaction(standby)
                      .exec("SELECT 1 FROM pg_database WHERE datname = 'failover'")
                      .empty();
        } catch (const std::exception&) {
          return false;
        }
      },
      absl::Seconds(30)));
  // The standby first: only target_session_attrs=read-write (ConnectionUrl adds it for
  // several hosts) keeps a client off it.
  const std::string url = absl::StrCat("postgresql://wuye@127.0.0.1:", servers.standby_port(),
                                       ",127.0.0.1:", servers.pg_port(), "/failover");
  EXPECT_EQ(WithDatabase(url, "other"),
            absl::StrCat("postgresql://wuye@127.0.0.1:", servers.standby_port(), ",127.0.0.1:",
                         servers.pg_port(), "/other"));

  static const MigrationSet kNone{"failover_test", {}};
  DbOptions options;
  options.url = url;
  options.pool_size = 2;
  auto opened = OpenServiceDatabase(options, kNone, absl::Seconds(10));
  ASSERT_TRUE(opened.ok()) << opened.status();  // the migrations ran on the primary
  Db& db = **opened;

  std::mutex mu;
  std::vector<std::string> heard;
  std::atomic<int> reconnects{0};
  PgListener listener(
      {.url = url, .channel = kChannel, .retry = absl::Milliseconds(100)},
      [&](const std::string& payload) {
        std::lock_guard lock(mu);
        heard.push_back(payload);
      },
      [&] { ++reconnects; });
  listener.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return listener.listening(); }, absl::Seconds(10)))
      << "the listener is not listening (on the standby?)";
  auto heard_it = [&](const std::string& payload) {
    return testing::WaitFor(
        [&] {
          std::lock_guard lock(mu);
          return std::find(heard.begin(), heard.end(), payload) != heard.end();
        },
        absl::Seconds(10));
  };

  RelayOptions relay_options;
  relay_options.stream = "wuye.failover_test.events";
  OutboxRelay relay(options, RedisOptions{.addr = servers.RedisAddr()}, relay_options);

  // Before: everything on the primary.
  ASSERT_TRUE(db.Ping().ok());
  ASSERT_TRUE(Notify(db, "before").ok());
  EXPECT_TRUE(heard_it("before"));
  ASSERT_TRUE(InsertOutboxRow(db).ok());
  auto sent = relay.RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 1);

  // The primary dies; the standby is promoted.
  ASSERT_EQ(servers.Run("kill pg"), 0);
  EXPECT_FALSE(db.Ping().ok());
  EXPECT_FALSE(InsertOutboxRow(db).ok());  // nothing takes writes: refused, not hung
  ASSERT_EQ(servers.Run("promote standby"), 0);

  // After: the same objects, on the new primary.
  EXPECT_TRUE(Eventually([&] { return db.Ping(); }).ok());
  EXPECT_TRUE(Eventually([&] { return InsertOutboxRow(db); }).ok());
  absl::StatusOr<int> relayed;
  EXPECT_TRUE(Eventually([&] {
                relayed = relay.RelayOnce();
                return relayed.ok() && *relayed > 0 ? absl::OkStatus()
                                                    : absl::UnavailableError("not yet");
              }).ok())
      << relayed.status();
  EXPECT_TRUE(testing::WaitFor([&] { return listener.listening() && reconnects.load() >= 2; },
                               absl::Seconds(10)));
  ASSERT_TRUE(Notify(db, "after").ok());
  EXPECT_TRUE(heard_it("after")) << "the listener did not hear the new primary";
  listener.Stop();

  pqxx::connection check(
      absl::StrCat("postgresql://wuye@127.0.0.1:", servers.standby_port(), "/failover"));
  pqxx::nontransaction tx(check);
  EXPECT_FALSE(tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>());
  // The row relayed before the failover was committed synchronously: it is here, sent.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NOT NULL")[0].as<int>(),
            2);
}

}  // namespace
}  // namespace wuye
