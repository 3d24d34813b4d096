#include "shared/db.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "shared/field_mask.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

DbOptions PoolOf(int size) {
  DbOptions options;
  options.pool_size = size;
  return options;
}

class DbTest : public ::testing::Test {
 protected:
  // A pool on this test's database, with `options` as given except for the url.
  std::unique_ptr<Db> OpenDb(DbOptions options = {}) {
    options.url = database_.url();
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  void Exec(Db& db, const std::string& sql) {
    absl::Status st = db.Transact([&](pqxx::work& tx) {
      tx.exec(sql);
      return absl::OkStatus();
    });
    ASSERT_TRUE(st.ok()) << sql << ": " << st;
  }

  int64_t Count(Db& db, const std::string& table) {
    int64_t n = -1;
    absl::Status st = db.Transact([&](pqxx::work& tx) {
      n = tx.exec1(absl::StrCat("SELECT count(*) FROM ", table))[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n;
  }

  int BackendPid(Db& db) {
    int pid = 0;
    absl::Status st = db.Transact([&](pqxx::work& tx) {
      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return pid;
  }

  testing::TestDatabase database_;
};

TEST_F(DbTest, OpenRefusesAMissingUrlAndAnEmptyPool) {
  EXPECT_EQ(Db::Open(DbOptions{}).status().code(), absl::StatusCode::kInvalidArgument);

  DbOptions options;
  options.url = database_.url();
  options.pool_size = 0;
  EXPECT_EQ(Db::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DbTest, OpenReportsAnUnreachableServerAsUnavailable) {
  DbOptions options;
  options.url = "postgresql://wuye@127.0.0.1:1/nothing";
  options.connect_timeout = absl::Seconds(1);

  EXPECT_EQ(Db::Open(options).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(DbTest, TransactCommitsWhenTheBodyReturnsOk) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO items VALUES ('kept')");
    return absl::OkStatus();
  });

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Count(*db, "items"), 1);
}

TEST_F(DbTest, TransactRollsBackAndReturnsTheBodysError) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO items VALUES ('discarded')");
    return absl::FailedPreconditionError("changed my mind");
  });

  EXPECT_EQ(st, absl::FailedPreconditionError("changed my mind"));
  EXPECT_EQ(Count(*db, "items"), 0);
}

TEST_F(DbTest, TransactRollsBackWhenTheBodyThrows) {
  std::unique_ptr<Db> db = OpenDb(PoolOf(1));
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO items VALUES ('discarded')");
    tx.exec("SELECT * FROM no_such_table");
    return absl::OkStatus();
  });

  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  // The one connection is back in the pool and usable.
  EXPECT_EQ(Count(*db, "items"), 0);
}

// DISABLED: with the libpqxx 6.4 that Debian ships, pqxx::serialization_failure and
// pqxx::deadlock_detected derive from pqxx::failure, not pqxx::sql_error, so
// Db::FromException maps SQLSTATE 40001/40P01 to INTERNAL and Transact never retries them.
// Enable once FromException also recognises pqxx::transaction_rollback.
TEST_F(DbTest, TransientSerializationFailuresAreRetried) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");
  int attempts = 0;

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    tx.exec("INSERT INTO items VALUES ('once')");
    if (++attempts == 1) {
      tx.exec("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
    }
    return absl::OkStatus();
  });

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(Count(*db, "items"), 1);
}

// A write refused because the server is read-only (a standby, or a primary demoted by a
// failover) is the server's state, not the request's: UNAVAILABLE rather than INTERNAL, and
// the pool leaves that connection (and the server's others) to find a read-write one.
TEST_F(DbTest, AWriteOnAReadOnlyServerIsUnavailableAndRetriedOnAFreshConnection) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");
  std::set<int> backends;
  int attempts = 0;
  absl::Status st = db->Transact([&](pqxx::work& tx) {
    ++attempts;
    backends.insert(tx.exec1("SELECT pg_backend_pid()")[0].as<int>());
    // As a standby answers every write.
    tx.exec("DO $$ BEGIN RAISE EXCEPTION 'read-only' USING ERRCODE = '25006'; END $$");
    return absl::OkStatus();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_GT(attempts, 1);
  EXPECT_EQ(backends.size(), static_cast<size_t>(attempts));  // a fresh connection each time
  // Once the server takes writes again, so does the pool.
  EXPECT_TRUE(db->Transact([](pqxx::work& tx) {
                  tx.exec("INSERT INTO items VALUES ('after')");
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(Count(*db, "items"), 1);
}

// DISABLED for the same reason as TransientSerializationFailuresAreRetried.
TEST_F(DbTest, PersistentDeadlocksEndAsAbortedAfterAFewAttempts) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  int attempts = 0;

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    ++attempts;
    tx.exec("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$");
    return absl::OkStatus();
  });

  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_GT(attempts, 1);
  EXPECT_LE(attempts, 10);
}

TEST_F(DbTest, PreparedStatementsAreUsableInTransact) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY, n int NOT NULL)");
  // Registered after a connection is already idle in the pool, and before any other opens.
  db->Prepare("insert_item", "INSERT INTO items (name, n) VALUES ($1, $2)");
  db->Prepare("item_n", "SELECT n FROM items WHERE name = $1");

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec_prepared("insert_item", "a", 1);
    tx.exec_prepared("insert_item", "b", 2);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;

  int n = 0;
  st = db->Transact([&](pqxx::work& tx) {
    n = tx.exec_prepared1("item_n", "b")[0].as<int>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(n, 2);
}

TEST_F(DbTest, PreparedStatementsReachConnectionsOpenedLater) {
  std::unique_ptr<Db> db = OpenDb(PoolOf(3));
  ASSERT_NE(db, nullptr);
  db->Prepare("answer", "SELECT 42");
  // Three transactions at once force three connections, each opened after Prepare.
  absl::Notification all_in;
  std::atomic<int> inside{0};
  std::vector<absl::Status> results(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[i] = db->Transact([&](pqxx::work& tx) {
        if (++inside == 3) all_in.Notify();
        all_in.WaitForNotification();
        if (tx.exec_prepared1("answer")[0].as<int>() != 42) return absl::InternalError("!42");
        return absl::OkStatus();
      });
    });
  }
  for (auto& t : threads) t.join();

  for (const absl::Status& st : results) EXPECT_TRUE(st.ok()) << st;
}

TEST_F(DbTest, AcquireTimesOutWithUnavailableWhenThePoolIsBusy) {
  DbOptions options = PoolOf(1);
  options.acquire_timeout = absl::Milliseconds(200);
  std::unique_ptr<Db> db = OpenDb(options);
  ASSERT_NE(db, nullptr);
  absl::Notification holding;
  absl::Notification release;
  absl::Status holder_status;
  std::thread holder([&] {
    holder_status = db->Transact([&](pqxx::work& tx) {
      tx.exec("SELECT 1");
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    });
  });
  holding.WaitForNotification();

  bool ran = false;
  absl::Status st = db->Transact([&](pqxx::work&) {
    ran = true;
    return absl::OkStatus();
  });
  release.Notify();
  holder.join();

  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_FALSE(ran);
  EXPECT_TRUE(holder_status.ok()) << holder_status;
  // Once released, the connection serves the next caller.
  EXPECT_TRUE(db->Transact([](pqxx::work&) { return absl::OkStatus(); }).ok());
}

TEST_F(DbTest, UniqueViolationIsAlreadyExistsWithoutTheValueInTheMessage) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE people (phone text PRIMARY KEY)");
  const std::string phone = "13800138000";
  auto insert = [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO people VALUES ($1)", phone);
    return absl::OkStatus();
  };
  ASSERT_TRUE(db->Transact(insert).ok());

  absl::Status st = db->Transact(insert);

  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  EXPECT_FALSE(absl::StrContains(st.message(), phone)) << st;
  EXPECT_FALSE(absl::StrContains(st.ToString(), phone)) << st;
  EXPECT_EQ(Count(*db, "people"), 1);
}

TEST_F(DbTest, OtherServerErrorsDoNotQuoteTheServersText) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE people (age int CHECK (age >= 0))");

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO people VALUES ('secret-value-77'::int)");
    return absl::OkStatus();
  });

  EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << st;
  EXPECT_FALSE(absl::StrContains(st.ToString(), "secret-value-77")) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "22P02")) << st;  // the SQLSTATE only
}

TEST_F(DbTest, StatementTimeoutIsDeadlineExceededAndTheConnectionStaysUsable) {
  DbOptions options = PoolOf(1);
  options.statement_timeout = absl::Milliseconds(100);
  std::unique_ptr<Db> db = OpenDb(options);
  ASSERT_NE(db, nullptr);

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("SELECT pg_sleep(2)");
    return absl::OkStatus();
  });

  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
  st = db->Transact([](pqxx::work& tx) {
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(DbTest, ConnectionsUseUtcAndTheConfiguredStatementTimeout) {
  DbOptions options;
  options.statement_timeout = absl::Milliseconds(1500);
  std::unique_ptr<Db> db = OpenDb(options);
  ASSERT_NE(db, nullptr);
  std::string timeout, zone;

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    timeout = tx.exec1("SHOW statement_timeout")[0].as<std::string>();
    zone = tx.exec1("SHOW TimeZone")[0].as<std::string>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_EQ(timeout, "1500ms");
  EXPECT_EQ(zone, "UTC");
}

// Terminates every session on `database` from an admin connection and waits until they
// are gone; returns how many there were.
int TerminateBackends(const std::string& database) {
  pqxx::connection admin(testing::PgAdminUrl());
  pqxx::work tx(admin);
  pqxx::result r = tx.exec_params(
      "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
      "WHERE datname = $1 AND pid <> pg_backend_pid()",
      database);
  tx.commit();
  int terminated = 0;
  for (const auto& row : r) terminated += row[0].as<bool>() ? 1 : 0;
  return terminated;
}

TEST_F(DbTest, TransactReconnectsAfterTheServerKillsTheConnection) {
  std::unique_ptr<Db> db = OpenDb(PoolOf(1));
  ASSERT_NE(db, nullptr);
  Exec(*db, "CREATE TABLE items (name text PRIMARY KEY)");
  db->Prepare("insert_item", "INSERT INTO items VALUES ($1)");
  int old_pid = BackendPid(*db);
  // The pool's connection and the health ping's kept one.
  ASSERT_EQ(TerminateBackends(database_.name()), 2);

  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec_prepared("insert_item", "after-kill");
    return absl::OkStatus();
  });

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Count(*db, "items"), 1);
  EXPECT_NE(BackendPid(*db), old_pid);
}

// Issue 20, item 11: every session has TCP keepalives at both ends and an
// idle-in-transaction timeout, so that a vanished client's session (and its locks) ends in
// about a minute.
TEST_F(DbTest, SessionsHaveKeepalivesAndAnIdleInTransactionTimeout) {
  DbOptions options;
  options.keepalives_idle = absl::Seconds(20);
  options.idle_in_transaction_timeout = absl::Seconds(45);
  std::unique_ptr<Db> db = OpenDb(options);
  ASSERT_NE(db, nullptr);
  std::map<std::string, std::string> got;
  absl::Status st = db->Transact([&](pqxx::work& tx) {
    for (const auto& row :
         tx.exec("SELECT name, setting FROM pg_settings WHERE name IN ('tcp_keepalives_idle', "
                 "'tcp_keepalives_interval', 'tcp_keepalives_count', "
                 "'idle_in_transaction_session_timeout')")) {
      got[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(got["tcp_keepalives_idle"], "20");
  EXPECT_EQ(got["tcp_keepalives_interval"], "10");
  EXPECT_EQ(got["tcp_keepalives_count"], "3");
  EXPECT_EQ(got["idle_in_transaction_session_timeout"], "45000");
}

// The health ping's sessions on this test's database: their backend pids.
std::vector<int> PingSessions(const std::string& database) {
  pqxx::connection admin(testing::PgAdminUrl());
  pqxx::nontransaction tx(admin);
  std::vector<int> pids;
  for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND "
                                        "application_name = 'wuye-health'",
                                        database)) {
    pids.push_back(row[0].as<int>());
  }
  return pids;
}

TEST_F(DbTest, PingKeepsOneConnectionAndReplacesALostOne) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db->Ping().ok());
  std::vector<int> first = PingSessions(database_.name());
  ASSERT_EQ(first.size(), 1u) << "the ping does not keep its connection";
  ASSERT_TRUE(db->Ping().ok());
  EXPECT_EQ(PingSessions(database_.name()), first);

  // The server ends every session (as a restart does): the next ping reconnects.
  ASSERT_GE(TerminateBackends(database_.name()), 1);
  ASSERT_TRUE(
      testing::WaitFor([&] { return PingSessions(database_.name()).empty(); }, absl::Seconds(30)));
  absl::Status st = db->Ping();
  EXPECT_TRUE(st.ok()) << st;
  std::vector<int> second = PingSessions(database_.name());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second, first);
}

// A TCP proxy in front of the test server that can freeze: it then neither accepts, reads
// nor forwards, while the kernel still acknowledges what arrives, as for a server stopped
// with SIGSTOP (no TCP timeout fires, and the server's statement_timeout cannot).
class FreezingProxy {
 public:
  explicit FreezingProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FreezingProxy() {
    stop_ = true;
    thread_.join();
    for (auto [a, b] : pairs_) {
      close(a);
      close(b);
    }
    close(listen_fd_);
  }
  int port() const { return port_; }
  void Freeze() { frozen_ = true; }
  void Thaw() { frozen_ = false; }

 private:
  void Run() {
    char buf[65536];
    while (!stop_) {
      if (frozen_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
      for (auto [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      std::vector<std::pair<int, int>> alive;
      for (size_t i = 0; i + 1 < fds.size(); i += 2) {
        auto [a, b] = pairs_[i / 2];
        bool open = true;
        for (auto [from, to, revents] : {std::tuple{a, b, fds[i + 1].revents},
                                         std::tuple{b, a, fds[i + 2].revents}}) {
          if (!open || !(revents & (POLLIN | POLLHUP | POLLERR))) continue;
          ssize_t n = read(from, buf, sizeof buf);
          if (n <= 0 || write(to, buf, n) != n) open = false;
        }
        if (open) {
          alive.emplace_back(a, b);
        } else {
          close(a);
          close(b);
        }
      }
      pairs_ = std::move(alive);
      if (fds[0].revents & POLLIN) {
        int client = accept(listen_fd_, nullptr, nullptr);
        int server = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(upstream_port_);
        if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
          pairs_.emplace_back(client, server);
        } else {
          close(client);
          close(server);
        }
      }
    }
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> frozen_{false}, stop_{false};
  std::vector<std::pair<int, int>> pairs_;
  std::thread thread_;
};

// The URL `url` with its host:port replaced by 127.0.0.1:`port`; the old port in *old_port.
std::string ThroughPort(const std::string& url, int port, int* old_port) {
  size_t at = url.find('@') + 1;
  size_t slash = url.find('/', at);
  std::string hostport = url.substr(at, slash - at);
  *old_port = std::stoi(hostport.substr(hostport.rfind(':') + 1));
  return absl::StrCat(url.substr(0, at), "127.0.0.1:", port, url.substr(slash));
}

// Runs `call` in a thread and waits up to `limit`: a call that hangs past it is a failure
// (`unstick` is then run so that the thread can end).
absl::Status Bounded(const std::function<absl::Status()>& call, absl::Duration limit,
                     const std::function<void()>& unstick, absl::Duration* took) {
  absl::Time start = absl::Now();
  auto done = std::async(std::launch::async, call);
  if (done.wait_for(absl::ToChronoMilliseconds(limit)) != std::future_status::ready) {
    ADD_FAILURE() << "the call still hangs after " << limit;
    unstick();
  }
  absl::Status st = done.get();
  *took = absl::Now() - start;
  return st;
}

// Issue 26 §4: a frozen server (SIGSTOP: its kernel acknowledges, nothing answers) must not
// hang calls. The health ping gives up after ping_timeout; a statement waiting past
// statement_timeout + ping_timeout has its connection cut by the stall guard, and calls
// then fail fast with UNAVAILABLE; nothing half-done is committed, and everything resumes
// once the server answers again.
TEST_F(DbTest, AFrozenServerFailsCallsWithUnavailableAndTheyResumeByThemselves) {
  int pg_port = 0;
  std::string direct = database_.url();
  ThroughPort(direct, 0, &pg_port);
  FreezingProxy proxy(pg_port);
  DbOptions options;
  options.url = ThroughPort(direct, proxy.port(), &pg_port);
  options.statement_timeout = absl::Seconds(1);
  options.ping_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(options);  // not OpenDb: its own url
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Db> db = std::move(*opened);
  Exec(*db, "CREATE TABLE frozen (x int)");

  proxy.Freeze();
  absl::Duration took;
  absl::Status st = Bounded(
      [&] {
        return db->Transact([](pqxx::work& tx) {
          tx.exec("INSERT INTO frozen VALUES (1)");
          return absl::OkStatus();
        });
      },
      absl::Seconds(60), [&] { proxy.Thaw(); }, &took);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  std::cout << "a call on a frozen server failed after " << took << "\n";
  EXPECT_EQ(db->Ping().code(), absl::StatusCode::kUnavailable);
  // Unreachable now: the next call does not wait for anything.
  st = Bounded([&] { return db->Transact([](pqxx::work&) { return absl::OkStatus(); }); },
               absl::Seconds(60), [&] { proxy.Thaw(); }, &took);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  std::cout << "the next call failed after " << took << "\n";

  proxy.Thaw();
  ASSERT_TRUE(testing::WaitFor([&] { return db->Ping().ok(); }, absl::Seconds(30)));
  EXPECT_EQ(Count(*db, "frozen"), 0) << "the cut transaction was not committed";
  Exec(*db, "INSERT INTO frozen VALUES (2)");
  EXPECT_EQ(Count(*db, "frozen"), 1);
}

// Issue 26 §2 with §4: after a failover the old primary's address may answer nothing at all
// (its machine gone). The ping tries each host of a multi-host URL with its own
// ping_timeout, so it reaches the new primary and calls are not failed fast.
TEST_F(DbTest, APingOverSeveralHostsPassesAFirstHostThatAnswersNothing) {
  int pg_port = 0;
  std::string direct = database_.url();
  ThroughPort(direct, 0, &pg_port);
  FreezingProxy gone(pg_port);
  gone.Freeze();  // connections are accepted by its kernel, and never answered
  DbOptions options;
  size_t at = direct.find('@') + 1;
  options.url = absl::StrCat(direct.substr(0, at), "127.0.0.1:", gone.port(), ",127.0.0.1:",
                             pg_port, direct.substr(direct.find('/', at)));
  options.ping_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Db> db = std::move(*opened);
  for (int i = 0; i < 3; ++i) {
    absl::Status ping = db->Ping();
    EXPECT_TRUE(ping.ok()) << ping;
  }
  Exec(*db, "CREATE TABLE behind_a_dead_host (x int)");
  EXPECT_EQ(Count(*db, "behind_a_dead_host"), 0);
}

// The stall guard leaves a living server alone: a statement given a longer
// statement_timeout of its own runs past statement_timeout + ping_timeout and completes.
TEST_F(DbTest, TheStallGuardSparesALongStatementOnAServerThatAnswers) {
  DbOptions options;
  options.statement_timeout = absl::Seconds(1);
  options.ping_timeout = absl::Seconds(2);  // the default: a loaded machine answers within it
  std::unique_ptr<Db> db = OpenDb(options);
  ASSERT_NE(db, nullptr);
  absl::Status st = db->Transact([](pqxx::work& tx) {
    tx.exec("SET LOCAL statement_timeout = '20s'");
    tx.exec("SELECT pg_sleep(4)");
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
}

TEST(ReplyWaitTest, CountsFromTheFirstSendAfterAnAnswer) {
  ReplyWait w;
  absl::Time t0 = absl::FromUnixSeconds(1000);
  // Idle: the last thing was an answer.
  EXPECT_EQ(w.Sample(100, absl::Seconds(3), absl::Seconds(2), t0), absl::ZeroDuration());
  // A statement sent 1 s ago, no answer since: waiting 1 s, then 4 s.
  EXPECT_EQ(w.Sample(100, absl::Seconds(1), absl::Seconds(4), t0 + absl::Seconds(2)),
            absl::Seconds(1));
  // Retransmissions refresh the last send: the wait still counts from the first.
  EXPECT_EQ(w.Sample(100, absl::Milliseconds(10), absl::Seconds(7), t0 + absl::Seconds(5)),
            absl::Seconds(4));
  // An answer came (more bytes received): the wait is over.
  EXPECT_EQ(w.Sample(180, absl::Seconds(1), absl::Milliseconds(5), t0 + absl::Seconds(6)),
            absl::ZeroDuration());
  // The next statement, sent between two samples right after that answer: counted anew.
  EXPECT_EQ(w.Sample(240, absl::Milliseconds(100), absl::Milliseconds(200), t0 + absl::Seconds(7)),
            absl::Milliseconds(100));
  // Sent in the same jiffy as the last answer: counted as waiting (the server is asked).
  ReplyWait tie;
  EXPECT_EQ(tie.Sample(300, absl::Milliseconds(8), absl::Milliseconds(8), t0),
            absl::Milliseconds(8));
  EXPECT_EQ(tie.Sample(300, absl::Seconds(2), absl::Seconds(2), t0 + absl::Seconds(2)),
            absl::Seconds(2) + absl::Milliseconds(8));
}

TEST_F(DbTest, WithConnectionRunsOutsideATransaction) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);

  // VACUUM cannot run inside a transaction block.
  absl::Status st = db->WithConnection([](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE TABLE items (name text)");
    tx.exec("VACUUM items");
    return absl::OkStatus();
  });

  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(DbTest, PgArrayRoundTripsAwkwardStrings) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  const std::vector<std::string> items = {
      "plain", "with \"quotes\"", "back\\slash", "trailing\\", "a,b", "", "{braces}",
      "NULL",  " padded ",        "new\nline",   "单元",       "",
  };
  std::vector<std::string> parsed;
  int length = 0;

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    pqxx::row row = tx.exec_params1("SELECT $1::text[], cardinality($1::text[])", PgArray(items));
    parsed = ParsePgArray(row[0]);
    length = row[1].as<int>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_EQ(length, static_cast<int>(items.size()));  // the server saw each item
  EXPECT_EQ(parsed, items);
}

TEST_F(DbTest, PgArrayOfNothingIsAnEmptyArrayAndNullParsesAsEmpty) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(PgArray({}), "{}");
  std::vector<std::string> empty = {"not cleared"};
  std::vector<std::string> null = {"not cleared"};

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    pqxx::row row = tx.exec_params1("SELECT $1::text[], NULL::text[]", PgArray({}));
    empty = ParsePgArray(row[0]);
    null = ParsePgArray(row[1]);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(null.empty());
}

TEST_F(DbTest, ParsePgArrayReadsIntAndUuidArrays) {
  std::unique_ptr<Db> db = OpenDb();
  ASSERT_NE(db, nullptr);
  std::vector<std::string> ints, uuids;

  absl::Status st = db->Transact([&](pqxx::work& tx) {
    pqxx::row row = tx.exec1(
        "SELECT ARRAY[1, -2, 30]::int[], "
        "ARRAY['0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b']::uuid[]");
    ints = ParsePgArray(row[0]);
    uuids = ParsePgArray(row[1]);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_EQ(ints, (std::vector<std::string>{"1", "-2", "30"}));
  EXPECT_EQ(uuids, (std::vector<std::string>{"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"}));
}

TEST(ConnectionUrlTest, AddsKeepalivesAndTimeoutsUnlessTheUrlGivesThem) {
  DbOptions options;
  options.url = "postgresql://u@h:5432/db";
  std::string url = ConnectionUrl(options, "wuye");
  for (const char* param :
       {"?connect_timeout=3", "&application_name=wuye", "&keepalives=1", "&keepalives_idle=30",
        "&keepalives_interval=10", "&keepalives_count=3"}) {
    EXPECT_TRUE(absl::StrContains(url, param)) << url << " lacks " << param;
  }
  EXPECT_FALSE(absl::StrContains(url, "tcp_user_timeout")) << url;
  EXPECT_TRUE(absl::StrContains(ConnectionUrl(options, "wuye-relay", absl::Seconds(60)),
                                "&tcp_user_timeout=60000"));

  options.url = "postgresql://u@h:5432/db?sslmode=verify-full&keepalives_idle=7";
  url = ConnectionUrl(options, "wuye");
  EXPECT_TRUE(
      absl::StartsWith(url, "postgresql://u@h:5432/db?sslmode=verify-full&keepalives_idle=7&"))
      << url;
  EXPECT_EQ(url.find("keepalives_idle"), url.rfind("keepalives_idle")) << url;
  EXPECT_TRUE(absl::StrContains(url, "&keepalives_interval=10")) << url;
}

// docs/operations.md, "PostgreSQL failover": a primary and its standby in one URL.
TEST(ConnectionUrlTest, SeveralHostsConnectToTheOneThatTakesWrites) {
  DbOptions options;
  options.url = "postgresql://u@pg-a:5432,pg-b:5432/db";
  EXPECT_TRUE(absl::StrContains(ConnectionUrl(options, "wuye"), "target_session_attrs=read-write"));
  options.url = "postgresql://u@pg-a:5432,pg-b:5432/db?target_session_attrs=primary";
  std::string url = ConnectionUrl(options, "wuye");
  EXPECT_FALSE(absl::StrContains(url, "read-write")) << url;
  options.url = "postgresql://u@pg-a:5432/db";
  EXPECT_FALSE(absl::StrContains(ConnectionUrl(options, "wuye"), "target_session_attrs"));
  EXPECT_EQ(WithDatabase("postgresql://u@pg-a:5432,pg-b:5432/old?sslmode=require", "new"),
            "postgresql://u@pg-a:5432,pg-b:5432/new?sslmode=require");
}

TEST(WithDatabaseTest, ReplacesTheDatabaseName) {
  EXPECT_EQ(WithDatabase("postgresql://wuye@127.0.0.1:54329/postgres", "t_1"),
            "postgresql://wuye@127.0.0.1:54329/t_1");
  EXPECT_EQ(WithDatabase("postgres://u:p@db.example:5432/old", "new"),
            "postgres://u:p@db.example:5432/new");
}

TEST(WithDatabaseTest, KeepsTheQueryString) {
  EXPECT_EQ(WithDatabase("postgresql://u@h:5432/old?sslmode=disable&application_name=x", "new"),
            "postgresql://u@h:5432/new?sslmode=disable&application_name=x");
  EXPECT_EQ(WithDatabase("postgresql:///old?host=/var/run/postgresql", "new"),
            "postgresql:///new?host=/var/run/postgresql");
}

TEST(WithDatabaseTest, AddsANameToUrlsWithoutOne) {
  EXPECT_EQ(WithDatabase("postgresql://u@h:5432", "new"), "postgresql://u@h:5432/new");
  EXPECT_EQ(WithDatabase("postgresql://u@h:5432/", "new"), "postgresql://u@h:5432/new");
  EXPECT_EQ(WithDatabase("postgresql://u@h:5432?sslmode=disable", "new"),
            "postgresql://u@h:5432/new?sslmode=disable");
}

TEST(WithDatabaseTest, TheResultIsAUsableUrl) {
  testing::TestDatabase database;
  std::string admin = testing::PgAdminUrl();
  admin += absl::StrContains(admin, "?") ? "&sslmode=disable" : "?sslmode=disable";
  std::string url = WithDatabase(admin, database.name());
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);

  EXPECT_EQ(tx.exec1("SELECT current_database()")[0].as<std::string>(), database.name());
}

// Two masked updates of one resource must not both read its stored value: the second waits
// for the first's transaction; another resource's update does not wait at all.
TEST_F(DbTest, LockForUpdateSerialisesOneResourceAndLeavesOthersFree) {
  pqxx::connection first(database_.url()), second(database_.url()), other(database_.url());
  auto holder = std::make_unique<pqxx::work>(first);
  LockForUpdate(*holder, "sla_policy/g1/e1");

  {  // Another resource: taken at once (a wait would end in the statement timeout).
    pqxx::work tx(other);
    tx.exec("SET LOCAL statement_timeout = '30s'");
    LockForUpdate(tx, "sla_policy/g1/e2");
    tx.commit();
  }

  int waiter_pid = second.backendpid();
  std::atomic<bool> taken{false};
  std::thread waiter([&] {
    pqxx::work tx(second);
    LockForUpdate(tx, "sla_policy/g1/e1");
    taken = true;
    tx.commit();
  });
  pqxx::connection watcher(database_.url());
  bool waits = testing::WaitFor(
      [&] {
        pqxx::nontransaction tx(watcher);
        return tx.exec_params1(
                     "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
                     "wait_event_type = 'Lock'",
                     waiter_pid)[0]
                   .as<int>() == 1;
      },
      absl::Seconds(30));
  EXPECT_TRUE(waits) << "the second update of the resource should wait for the first";
  EXPECT_FALSE(taken);
  holder->commit();
  holder.reset();
  waiter.join();
  EXPECT_TRUE(taken);
}

}  // namespace
}  // namespace wuye
