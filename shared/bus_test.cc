// The bus end to end: real PostgreSQL (a database per test) and real Redis (a stream name
// per test; a private Redis where a test stops or restarts it).
#include "shared/bus.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/metrics.h"
#include "shared/outbox.h"
#include "shared/service_main.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

using ::wuye::testing::WaitFor;

// A table the test consumer writes: one row per application, so twice shows as two rows.
const MigrationSet& TestMigrations() {
  static const MigrationSet kSet{
      "bustest",
      {{"001_applied.sql",
        "CREATE TABLE applied (n bigserial PRIMARY KEY, event_id uuid NOT NULL, type text)"},
       {"002_subject.sql", "ALTER TABLE applied ADD COLUMN subject text"}}};
  return kSet;
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A service of the test's own: its stream carries only "<service>.…" events.
    service_ = absl::StrCat("t", NewId(absl::Now()).substr(24));
    stream_ = StreamOf(service_);
    redis_.addr = ::wuye::testing::RedisAddr();
  }

  void TearDown() override {
    RedisConnection conn(redis_);
    (void)conn.Command({"DEL", stream_, DeadLetterStream(stream_)});
  }

  void OpenDb() {
    db_ = tdb_.Open(TestMigrations());
    outbox_ = std::make_unique<Outbox>(*db_, service_);
  }

  // The test service's event type "<service>.<what>".
  std::string Type(absl::string_view what) const { return absl::StrCat(service_, ".", what); }

  // Commits `n` events, each in its own transaction, as a service's handlers do; their
  // subjects are `subject` followed by 0, 1, ... (or `subject` itself when `same`).
  void Produce(int n, const std::string& what = "thing.happened", const std::string& subject = "s",
               bool same = false) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                       EventDraft draft{Type(what), "group-1",
                                        "",         same ? subject : absl::StrCat(subject, i),
                                        1,          nullptr};
                       outbox_->Append(tx, draft, absl::Now(), "trace");
                       return absl::OkStatus();
                     })
                      .ok());
    }
  }

  std::unique_ptr<OutboxRelay> Relay(const RedisOptions& redis,
                                     absl::Duration lease = RelayOptions{}.lease) {
    RelayOptions options;
    options.stream = stream_;
    options.lease = lease;
    options.poll = absl::Milliseconds(50);
    options.max_backoff = absl::Milliseconds(300);
    DbOptions db;
    db.url = tdb_.url();
    return std::make_unique<OutboxRelay>(db, redis, options);
  }

  ConsumerOptions Options(const std::string& group = "consumer") {
    ConsumerOptions options;
    options.group = group;
    options.streams = {stream_};
    options.block = absl::Milliseconds(100);
    options.claim_idle = absl::Milliseconds(300);
    options.max_deliveries = 3;
    options.max_backoff = absl::Milliseconds(300);
    return options;
  }

  // A relay and a recording consumer on a Redis of the test's own.
  struct PrivateBus {
    std::unique_ptr<OutboxRelay> relay;
    std::unique_ptr<EventConsumer> consumer;
  };
  PrivateBus StartOn(const ::wuye::testing::PrivateServers& servers) {
    RedisOptions redis;
    redis.addr = servers.RedisAddr();
    redis.connect_timeout = absl::Milliseconds(300);
    OpenDb();
    PrivateBus bus{Relay(redis),
                   std::make_unique<EventConsumer>(*db_, redis, Options(), Recorder())};
    bus.relay->Start();
    bus.consumer->Start();
    return bus;
  }

  static EventHandler Recorder() {
    return [](pqxx::work& tx, const wuye::events::v1::Event& e) {
      tx.exec_params("INSERT INTO applied (event_id, type, subject) VALUES ($1::uuid, $2, $3)",
                     e.event_id(), e.type(), e.subject());
      return absl::OkStatus();
    };
  }

  int Applied() { return Query("SELECT count(*) FROM applied"); }
  int Distinct() { return Query("SELECT count(DISTINCT event_id) FROM applied"); }
  int Query(const std::string& sql) { return QueryAt(tdb_.url(), sql); }
  static int QueryAt(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }
  long long Redis(const std::vector<std::string>& args, const RedisOptions& where) {
    RedisConnection conn(where);
    auto reply = conn.Command(args);
    return reply.ok() ? reply->integer : -1;
  }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Outbox> outbox_;
  std::string service_, stream_;
  RedisOptions redis_;
};

TEST_F(BusTest, ACommittedEventReachesTheConsumerOnceAndARolledBackOneNever) {
  OpenDb();
  Produce(1);
  ASSERT_FALSE(db_->Transact([&](pqxx::work& tx) {
                    EventDraft draft{Type("rolled.back"), "g", "", "s", 1, nullptr};
                    outbox_->Append(tx, draft, absl::Now(), "");
                    return absl::AbortedError("the change failed");
                  })
                   .ok());
  auto relay = Relay(redis_);
  relay->Start();
  EventConsumer consumer(*db_, redis_, Options(), Recorder());
  consumer.Start();
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 1; }, absl::Seconds(20)));
  Produce(1);  // a marker: once it is in, everything before it was delivered
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 2; }, absl::Seconds(20)));
  EXPECT_EQ(Applied(), 2);
  EXPECT_EQ(
      Query(absl::StrCat("SELECT count(*) FROM applied WHERE type = '", Type("rolled.back"), "'")),
      0);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 0);
}

TEST(OutboxFloorTest, StartsFullThenFromTheFirstUnsentIdAndWaitsForGaps) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  OutboxFloor floor(absl::Seconds(2), absl::Seconds(5));
  EXPECT_EQ(floor.From(t0), 0);  // nothing known: from the start
  floor.Relayed({5, 6, 7}, t0);
  EXPECT_EQ(floor.From(t0), 8);
  // 9 relayed while 8 is in flight: the floor waits at 8 ...
  floor.Relayed({9}, t0);
  EXPECT_EQ(floor.From(t0 + absl::Seconds(1)), 8);
  // ... 8 commits and is relayed: the floor moves past both.
  floor.Relayed({8}, t0 + absl::Seconds(1));
  EXPECT_EQ(floor.From(t0 + absl::Seconds(1)), 10);
  // 10 never comes (rolled back): after the gap timeout the floor passes it.
  floor.Relayed({11, 12}, t0 + absl::Seconds(1));
  EXPECT_EQ(floor.From(t0 + absl::Seconds(2)), 10);
  EXPECT_EQ(floor.From(t0 + absl::Milliseconds(3100)), 13);
  // Every five seconds a full check.
  EXPECT_EQ(floor.From(t0 + absl::Seconds(5)), 0);
  EXPECT_EQ(floor.From(t0 + absl::Seconds(6)), 13);
  floor.Reset();
  EXPECT_EQ(floor.From(t0 + absl::Seconds(6)), 0);
}

TEST(OutboxFloorTest, OldHolesArePassedTogetherAndAHoleAgesFromWhenItWasSeen) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  OutboxFloor floor(absl::Seconds(2), absl::Seconds(60));
  EXPECT_EQ(floor.From(t0), 0);  // the first check is a full one
  floor.Relayed({1}, t0);
  // Holes at 2 and 4 (rolled back), seen at once; 6 missing a second later.
  floor.Relayed({3, 5}, t0);
  floor.Relayed({7}, t0 + absl::Seconds(1));
  EXPECT_EQ(floor.From(t0 + absl::Milliseconds(1900)), 2);
  // Two seconds on, both old holes are passed in one step; 6 waits its own two seconds.
  EXPECT_EQ(floor.From(t0 + absl::Milliseconds(2100)), 6);
  EXPECT_EQ(floor.From(t0 + absl::Milliseconds(2900)), 6);
  EXPECT_EQ(floor.From(t0 + absl::Milliseconds(3100)), 8);
  // A straggler below the floor, found by a full check, does not move it.
  floor.Relayed({4}, t0 + absl::Seconds(4));
  EXPECT_EQ(floor.From(t0 + absl::Seconds(4)), 8);

  OutboxFloor empty(absl::Seconds(2), absl::Seconds(60));
  EXPECT_EQ(empty.From(t0), 0);
  empty.NothingBelow(42);  // a full check of an empty outbox whose last id was 41
  EXPECT_TRUE(empty.known());
  EXPECT_EQ(empty.From(t0), 42);
}

// Issue 20, finding 11: "a dead node holds the relay's lock for two hours". The session that
// holds the leader's advisory lock must notice a vanished peer in about a minute, and end a
// transaction left idle: read back from that very session.
TEST_F(BusTest, TheLeadersSessionHasKeepalivesAUserTimeoutAnIdleTransactionTimeoutAndALease) {
  OpenDb();
  RelayOptions options;
  options.stream = stream_;
  DbOptions db;
  db.url = tdb_.url();
  db.keepalives_idle = absl::Seconds(17);
  db.keepalives_interval = absl::Seconds(4);
  db.keepalives_count = 3;
  db.idle_in_transaction_timeout = absl::Seconds(42);
  options.lease = absl::Seconds(37);
  OutboxRelay relay(db, redis_, options);
  ASSERT_TRUE(relay.RelayOnce().ok());  // the leader now
  auto show = [&](const std::string& name) {
    auto value = relay.SessionSetting(name);
    EXPECT_TRUE(value.ok()) << name << ": " << value.status();
    return value.ok() ? *value : "";
  };
  // Over TCP the server reports the socket's own values: these are in effect, not wishes.
  EXPECT_EQ(show("tcp_keepalives_idle"), "17");
  EXPECT_EQ(show("tcp_keepalives_interval"), "4");
  EXPECT_EQ(show("tcp_keepalives_count"), "3");
  // Unacknowledged data: given up after idle + interval x count = 29 s (the socket's value,
  // in milliseconds).
  EXPECT_EQ(show("tcp_user_timeout"), "29000");
  EXPECT_EQ(show("idle_in_transaction_session_timeout"), "42s");
  EXPECT_EQ(show("idle_session_timeout"), "37s");  // the leader's lease
  EXPECT_EQ(show("application_name"), "wuye-relay");
  // And that session is the one holding the lock.
  EXPECT_EQ(Query("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                  "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = "
                  "'wuye-relay' AND a.datname = current_database() AND a.pid <> pg_backend_pid()"),
            1);
  // The pool's sessions have the same keepalives and idle-transaction timeout.
  auto pool = Db::Open(db);
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::string pooled;
  ASSERT_TRUE((*pool)
                  ->Transact([&](pqxx::work& tx) {
                    pooled = tx.exec1(
                                   "SELECT current_setting('tcp_keepalives_idle') || ',' || "
                                   "current_setting('idle_in_transaction_session_timeout')")[0]
                                 .as<std::string>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(pooled, "17,42s");
}

// A leader whose process is frozen keeps a session that answers keepalives: only its lease
// (idle_session_timeout) ends it. Here the frozen one is a relay whose passes are not run.
TEST_F(BusTest, AFrozenLeaderLosesItsLeaseAndAnotherRelaysInItsPlaceOnce) {
  OpenDb();
  auto frozen = Relay(redis_, absl::Seconds(3));
  auto other = Relay(redis_, absl::Seconds(3));
  ASSERT_TRUE(other->SessionSetting("application_name").ok());  // connected, not leading
  ASSERT_TRUE(frozen->RelayOnce().ok());                        // the leader
  auto sent = other->RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 0);
  Produce(1);
  sent = other->RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 0);  // a follower sends nothing
  // The leader runs no pass now: once its lease has run out, the other leads and sends.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto n = other->RelayOnce();
        return n.ok() && *n == 1;
      },
      absl::Seconds(30)));
  EXPECT_EQ(Redis({"XLEN", stream_}, redis_), 1);
  // Thawed, the old leader finds its session gone, then follows.
  EXPECT_EQ(frozen->RelayOnce().status().code(), absl::StatusCode::kUnavailable);
  Produce(1);
  sent = frozen->RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 0);
  sent = other->RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 1);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis_), 2);
}

TEST_F(BusTest, AnEventCommittedAfterALaterOneIsRelayedToo) {
  OpenDb();
  RelayOptions options;
  options.stream = stream_;
  options.gap_timeout = absl::Milliseconds(200);
  options.full_check_every = absl::Milliseconds(600);
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis_, options);
  auto relay_once = [&] {
    auto sent = relay.RelayOnce();
    EXPECT_TRUE(sent.ok()) << sent.status();
    return sent.ok() ? *sent : -1;
  };
  auto length = [&] { return Redis({"XLEN", stream_}, redis_); };
  Produce(1);
  EXPECT_EQ(relay_once(), 1);

  // A transaction takes the next id and stays open while a later one commits.
  pqxx::connection slow_conn(tdb_.url());
  auto slow = std::make_unique<pqxx::work>(slow_conn);
  slow->exec(
      "INSERT INTO wuye_outbox (event_id, type, envelope) "
      "VALUES (gen_random_uuid(), 'test.slow', '\\x00')");
  Produce(1);
  EXPECT_EQ(relay_once(), 1);
  slow->commit();
  EXPECT_EQ(relay_once(), 1);  // found at once: the floor waited below it
  EXPECT_EQ(length(), 3);

  // One that commits later than the gap timeout is found by the next full check.
  slow = std::make_unique<pqxx::work>(slow_conn);
  slow->exec(
      "INSERT INTO wuye_outbox (event_id, type, envelope) "
      "VALUES (gen_random_uuid(), 'test.slower', '\\x00')");
  Produce(1);
  EXPECT_EQ(relay_once(), 1);
  absl::SleepFor(absl::Milliseconds(250));
  Produce(1);
  EXPECT_EQ(relay_once(), 1);  // the floor passes the open id now
  slow->commit();
  EXPECT_TRUE(WaitFor([&] { return relay_once() > 0 || length() == 6; }, absl::Seconds(5)));
  EXPECT_EQ(length(), 6);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 0);
}

TEST_F(BusTest, TheSameEventDeliveredTwiceIsAppliedOnce) {
  OpenDb();
  wuye::events::v1::Event event;
  event.set_event_id(NewId(absl::Now()));
  event.set_type(Type("dup"));
  event.set_producer(service_);
  RedisConnection conn(redis_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(conn.Command({"XADD", stream_, "*", "env", event.SerializeAsString()}).ok());
  }
  EventConsumer consumer(*db_, redis_, Options(), Recorder());
  int handled = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto n = consumer.PollOnce();
        handled += n.ok() ? *n : 0;
        return handled >= 2;
      },
      absl::Seconds(20)));
  EXPECT_EQ(Applied(), 1);
  RedisConnection check(redis_);
  auto pending = check.Command({"XPENDING", stream_, "consumer"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0);
}

TEST_F(BusTest, APoisonEventGoesToTheDeadLetterStreamAndTheRestFlow) {
  OpenDb();
  Produce(1, "poison");
  Produce(5, "good", "g");
  auto relay = Relay(redis_);
  relay->Start();
  std::atomic<bool> refuse{true};
  EventConsumer consumer(*db_, redis_, Options(), [&](pqxx::work& tx, const auto& e) {
    if (e.type() == Type("poison") && refuse) {
      return absl::FailedPreconditionError("cannot apply this");
    }
    tx.exec_params("INSERT INTO applied (event_id, type) VALUES ($1::uuid, $2)", e.event_id(),
                   e.type());
    return absl::OkStatus();
  });
  consumer.Start();
  ASSERT_TRUE(WaitFor([&] { return Applied() == 5; }, absl::Seconds(20)));
  std::string dead = DeadLetterStream(stream_);
  ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", dead}, redis_) == 1; }, absl::Seconds(20)));
  consumer.Stop();
  RedisConnection conn(redis_);
  auto entries = conn.Command({"XRANGE", dead, "-", "+"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 1u);
  const auto& fields = entries->elements[0].elements[1].elements;
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) f[fields[i].str] = fields[i + 1].str;
  EXPECT_EQ(f["type"], Type("poison"));
  EXPECT_EQ(f["reason"], "cannot apply this");
  EXPECT_EQ(f["group"], "consumer");
  auto pending = conn.Command({"XPENDING", stream_, "consumer"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0) << "the poison entry is acknowledged";
  // And the poison was never half-applied: its inbox row rolled back with the handler.
  EXPECT_EQ(
      Query(absl::StrCat("SELECT count(*) FROM wuye_inbox WHERE type = '", Type("poison"), "'")),
      0);
  EXPECT_EQ(f["refusals"], "3");
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_bus_deliveries"), 0) << "its count went with it";

  // The cause is fixed; the operator replays it (wuyectl bus replay): applied once.
  refuse = false;
  const std::string dead_id = entries->elements[0].elements[0].str;
  EXPECT_EQ(ReplayDeadLetter(conn, dead, "0-1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReplayDeadLetter(conn, stream_, dead_id).status().code(),
            absl::StatusCode::kInvalidArgument);
  const int64_t replayed_before = Metrics::Global().Counter(
      absl::StrCat("wuye_bus_replayed_total{stream=\"", stream_, "\",group=\"consumer\"}"));
  auto replayed = ReplayDeadLetter(conn, dead, dead_id);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 0) << "moved, not copied";
  auto applied = [&](int n) {  // the consumer's thread has stopped: poll by hand
    return WaitFor(
        [&] {
          (void)consumer.PollOnce();
          return Applied() == n;
        },
        absl::Seconds(20));
  };
  ASSERT_TRUE(applied(6));
  EXPECT_EQ(Distinct(), 6);
  EXPECT_EQ(Metrics::Global().Counter(absl::StrCat("wuye_bus_replayed_total{stream=\"", stream_,
                                                   "\",group=\"consumer\"}")),
            replayed_before + 1);
  // Replayed twice (e.g. by two operators): the inbox applies it once.
  ASSERT_TRUE(conn.Command({"XADD", stream_, "*", "env", f["env"], "replay_of", dead_id}).ok());
  Produce(1, "marker");
  ASSERT_TRUE(applied(7));
  EXPECT_EQ(Distinct(), 7);
}

TEST_F(BusTest, LaterEventsOfADeadLetteredSubjectAreHeldBehindItUntilItsReplay) {
  OpenDb();
  // Subject "p": a poison event, then two more; subject "q" has nothing to do with it.
  Produce(1, "poison", "p", true);
  Produce(1, "second", "p", true);
  Produce(1, "third", "p", true);
  Produce(1, "other", "q", true);
  auto relay = Relay(redis_);
  relay->Start();
  std::atomic<bool> refuse{true};
  EventHandler handler = [&](pqxx::work& tx, const wuye::events::v1::Event& e) {
    if (e.type() == Type("poison") && refuse) {
      return absl::FailedPreconditionError("cannot apply this");
    }
    return Recorder()(tx, e);
  };
  const std::string dead = DeadLetterStream(stream_);
  RedisConnection conn(redis_);
  auto list = [&] {
    auto entries = ListDeadLetters(conn, dead);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? *entries : std::vector<DeadLetterEntry>{};
  };
  auto order = [&](const std::string& subject) {  // types applied, in order of application
    pqxx::connection c(tdb_.url());
    pqxx::nontransaction tx(c);
    return tx
        .exec_params1(
            "SELECT COALESCE(string_agg(type, ',' ORDER BY n), '') FROM applied "
            "WHERE subject = $1",
            subject)[0]
        .as<std::string>();
  };
  std::string dead_id;
  {
    EventConsumer consumer(*db_, redis_, Options(), handler);
    consumer.Start();
    // The other subject flows; the poison is dead-lettered, and the two after it are parked
    // behind it instead of applied.
    ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", dead}, redis_) == 3; }, absl::Seconds(30)));
    consumer.Stop();
    EXPECT_EQ(order("q"), Type("other"));
    EXPECT_EQ(order("p"), "") << "nothing of the dead-lettered subject applied";
    std::vector<DeadLetterEntry> entries = list();
    ASSERT_EQ(entries.size(), 3u);
    dead_id = entries[0].id;
    EXPECT_EQ(entries[0].fields["type"], Type("poison"));
    EXPECT_EQ(entries[0].fields["reason"], "cannot apply this");
    EXPECT_EQ(entries[0].fields.count("held_behind"), 0u);
    for (int i : {1, 2}) {
      EXPECT_EQ(entries[i].fields["held_behind"], dead_id);
      EXPECT_EQ(entries[i].fields["reason"], absl::StrCat("held behind ", dead_id));
      EXPECT_EQ(entries[i].fields["group"], "consumer");
    }
    EXPECT_EQ(entries[1].fields["type"], Type("second"));
    EXPECT_EQ(entries[2].fields["type"], Type("third"));
    auto pending = conn.Command({"XPENDING", stream_, "consumer"});
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->elements[0].integer, 0) << "held entries are acknowledged, not pending";
    // A held entry is replayed with its dead letter, not alone.
    EXPECT_EQ(ReplayDeadLetter(conn, dead, entries[1].id).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // A new consumer (a restart): the hold is kept in the database, so an event of the subject
  // produced meanwhile is held too, and the other subject still flows.
  EventConsumer consumer(*db_, redis_, Options(), handler);
  consumer.Start();
  Produce(1, "fourth", "p", true);
  Produce(1, "other2", "q", true);
  ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", dead}, redis_) == 4; }, absl::Seconds(30)));
  ASSERT_TRUE(WaitFor([&] { return order("q") == Type("other") + "," + Type("other2"); },
                      absl::Seconds(30)));
  EXPECT_EQ(order("p"), "");
  EXPECT_EQ(Query("SELECT held FROM wuye_bus_holds"), 3);

  // The cause is fixed; the operator replays the dead letter: it and the three held behind
  // it apply, in order, once each.
  refuse = false;
  int held = 0;
  auto replayed = ReplayDeadLetter(conn, dead, dead_id, &held);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(held, 3);
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 0) << "moved, not copied";
  const std::string want =
      absl::StrCat(Type("poison"), ",", Type("second"), ",", Type("third"), ",", Type("fourth"));
  ASSERT_TRUE(WaitFor([&] { return order("p") == want; }, absl::Seconds(30))) << order("p");
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_bus_holds"), 0) << "the hold ended with the replay";
  // The subject flows again.
  Produce(1, "fifth", "p", true);
  ASSERT_TRUE(WaitFor([&] { return Applied() == 7; }, absl::Seconds(30)));
  consumer.Stop();
  EXPECT_EQ(order("p"), want + "," + Type("fifth"));
  EXPECT_EQ(Distinct(), 7) << "nothing twice";
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 0);
}

TEST_F(BusTest, ARefusedReplayMovesTheHoldAndKeepsItsHeldEntriesBehindIt) {
  OpenDb();
  Produce(1, "poison", "p", true);
  Produce(1, "second", "p", true);
  auto relay = Relay(redis_);
  relay->Start();
  std::atomic<bool> refuse{true};
  EventConsumer consumer(*db_, redis_, Options(), [&](pqxx::work& tx, const auto& e) {
    if (e.type() == Type("poison") && refuse) return absl::FailedPreconditionError("not yet");
    return Recorder()(tx, e);
  });
  consumer.Start();
  const std::string dead = DeadLetterStream(stream_);
  RedisConnection conn(redis_);
  ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", dead}, redis_) == 2; }, absl::Seconds(30)));
  auto first = ListDeadLetters(conn, dead);
  ASSERT_TRUE(first.ok());
  // Replayed too early: refused again. It is dead-lettered anew and the entry replayed after
  // it is held behind the new dead letter.
  ASSERT_TRUE(ReplayDeadLetter(conn, dead, first->at(0).id).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto now = ListDeadLetters(conn, dead);
        return now.ok() && now->size() == 2 && now->at(0).id != first->at(0).id &&
               now->at(1).fields["held_behind"] == now->at(0).id;
      },
      absl::Seconds(30)));
  EXPECT_EQ(Applied(), 0);
  refuse = false;
  auto again = ListDeadLetters(conn, dead);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(ReplayDeadLetter(conn, dead, again->at(0).id).ok());
  ASSERT_TRUE(WaitFor([&] { return Applied() == 2; }, absl::Seconds(30)));
  consumer.Stop();
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM applied WHERE n = (SELECT min(n) FROM "
                               "applied) AND type = '",
                               Type("poison"), "'")),
            1)
      << "the dead letter first";
  EXPECT_EQ(Distinct(), 2);
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 0);
}

TEST_F(BusTest, RequestsSucceedWhileRedisIsDownAndEveryEventArrivesAfterwards) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  PrivateBus bus = StartOn(servers);
  Produce(5);
  ASSERT_TRUE(WaitFor([&] { return Applied() == 5; }, absl::Seconds(20)));

  ASSERT_EQ(servers.Run("stop redis"), 0);
  Produce(50);  // every commit succeeds: the events wait in the outbox
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 50);
  ASSERT_EQ(servers.Run("start redis"), 0);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 55; }, absl::Seconds(60)));
  Produce(1);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 56; }, absl::Seconds(20)));
  EXPECT_EQ(Applied(), 56);
  EXPECT_EQ(Distinct(), 56);
}

TEST_F(BusTest, RedisRestartsWhileEventsFlowLoseNothingAndApplyNothingTwice) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  PrivateBus bus = StartOn(servers);
  constexpr int kEvents = 300;
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      Produce(1);
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(WaitFor([&] { return Applied() > (i + 1) * 60; }, absl::Seconds(30)));
    ASSERT_EQ(servers.Run("restart redis"), 0);
  }
  producer.join();
  ASSERT_TRUE(WaitFor([&] { return Applied() >= kEvents; }, absl::Seconds(60)));
  Produce(1);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= kEvents + 1; }, absl::Seconds(20)));
  EXPECT_EQ(Applied(), kEvents + 1) << "an event was applied twice";
  EXPECT_EQ(Distinct(), kEvents + 1) << "an event was lost";
}

// Redis replicates asynchronously (issue #26 §3): with min_replicas the relay marks a row sent
// only once WAIT says a replica has its entry.
TEST_F(BusTest, WithMinReplicasRowsStayUnsentUntilAReplicaHasThemAndAreNotAddedTwice) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);  // no replica yet
  OpenDb();
  RedisOptions redis;
  redis.addr = servers.RedisAddr();
  RelayOptions options;
  options.stream = stream_;
  options.min_replicas = 1;
  options.replica_wait = absl::Milliseconds(100);
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis, options);
  const std::string waits = absl::StrCat("wuye_bus_replica_waits_total{stream=\"", stream_, "\"}");
  const int64_t waits_before = Metrics::Global().Counter(waits);
  Produce(5);

  auto sent = relay.RelayOnce();
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kUnavailable) << sent.status();
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 5)
      << "on the primary only: not sent";
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 5);
  EXPECT_EQ(Metrics::Global().Counter(waits), waits_before + 1);
  // Waited for again on the same connection, not added again; a new row is added once.
  Produce(1);
  sent = relay.RelayOnce();
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kUnavailable) << sent.status();
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 6);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 6) << "the same entries XADDed twice";
  EXPECT_EQ(Metrics::Global().Counter(waits), waits_before + 2);

  // A replica attaches (and copies the stream): the next WAIT counts it.
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  sent = relay.RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 6);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 0);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 6);
  RedisOptions replica;
  replica.addr = servers.RedisReplicaAddr();
  EXPECT_EQ(Redis({"XLEN", stream_}, replica), 6);
  EXPECT_EQ(Metrics::Global().Counter(waits), waits_before + 2);

  // With the replica gone again, new rows wait; once the relay's connection is lost they are
  // added again (the server it reaches next may lack them: consumers absorb the copies).
  ASSERT_EQ(servers.Run("kill redis-replica"), 0);
  Produce(2);
  EXPECT_EQ(relay.RelayOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 8);
  EXPECT_GE(Redis({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}, redis), 1)
      << "only the relay's connection is open";
  EXPECT_FALSE(relay.RelayOnce().ok());  // finds its connection gone
  EXPECT_EQ(relay.RelayOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 10) << "added again on the new connection";
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 2);
}

// Issue #26 §3: a dead letter is the only copy of an entry the group gave up on, so with
// min_replicas it is acknowledged on its stream only once a replica has it.
TEST_F(BusTest, WithMinReplicasADeadLetterIsAcknowledgedOnlyOnceAReplicaHasIt) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);  // no replica yet
  OpenDb();
  RedisOptions redis;
  redis.addr = servers.RedisAddr();
  Produce(1, "poison");
  auto relay = Relay(redis);
  relay->Start();
  ConsumerOptions options = Options();
  options.min_replicas = 1;
  options.replica_wait = absl::Milliseconds(50);
  EventConsumer consumer(*db_, redis, options, [](pqxx::work&, const auto&) {
    return absl::FailedPreconditionError("cannot apply this");
  });
  consumer.Start();
  const std::string dead = DeadLetterStream(stream_);
  ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", dead}, redis) >= 1; }, absl::Seconds(20)));
  // On the primary only: still pending in the group, so a failover now cannot lose it.
  auto pending = [&]() -> long long {
    RedisConnection conn(redis);
    auto reply = conn.Command({"XPENDING", stream_, "consumer"});
    return reply.ok() && !reply->elements.empty() ? reply->elements[0].integer : -1;
  };
  EXPECT_EQ(pending(), 1);
  // Redelivered meanwhile (claim_idle), it is not added again: the retry only waits.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Redis({"XLEN", dead}, redis), 1);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  ASSERT_TRUE(WaitFor([&] { return pending() == 0; }, absl::Seconds(20)));
  consumer.Stop();
  RedisOptions replica;
  replica.addr = servers.RedisReplicaAddr();
  EXPECT_EQ(Redis({"XLEN", dead}, replica), 1);
  EXPECT_EQ(Applied(), 0);
}

TEST_F(BusTest, WithMinReplicasAndNoReplicaEventsStillFlowPastABatch) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  OpenDb();
  RedisOptions redis;
  redis.addr = servers.RedisAddr();
  RelayOptions options;
  options.stream = stream_;
  options.batch = 2;
  options.min_replicas = 1;
  options.replica_wait = absl::Milliseconds(50);
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis, options);
  Produce(5);
  // Each pass adds the next rows past those waiting for a replica (a batch of 2 would
  // otherwise hold the stream at the first two while the replica is away).
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(relay.RelayOnce().status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 5);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 5);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  auto sent = relay.RelayOnce();
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 5) << "one WAIT confirms every entry of the connection";
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 0);
  EXPECT_EQ(Redis({"XLEN", stream_}, redis), 5);
}

TEST_F(BusTest, WithMinReplicasAndARelayRunningEventsArriveOnceAReplicaIsBack) {
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  RedisOptions redis;
  redis.addr = servers.RedisAddr();
  OpenDb();
  RelayOptions options;
  options.stream = stream_;
  options.poll = absl::Milliseconds(50);
  options.min_replicas = 1;
  options.replica_wait = absl::Milliseconds(100);
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis, options);
  relay.Start();
  EventConsumer consumer(*db_, redis, Options(), Recorder());
  consumer.Start();
  Produce(20);
  // Consumers see entries the primary holds (they may apply them early: a copy added again
  // later is absorbed); the rows stay unsent while no replica confirms them.
  ASSERT_TRUE(WaitFor([&] { return Applied() == 20; }, absl::Seconds(20)));
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL"), 20);
  ASSERT_EQ(servers.Run("up redis-replica"), 0);
  const std::string unsent = "SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL";
  ASSERT_TRUE(WaitFor([&] { return Query(unsent) == 0; }, absl::Seconds(20)));
  Produce(1);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 21; }, absl::Seconds(20)));
  consumer.Stop();
  relay.Stop();
  EXPECT_EQ(Applied(), 21);
  EXPECT_EQ(Distinct(), 21);
}

TEST_F(BusTest, AConsumerKilledInItsHandlerIsTakenOverAndTheEventAppliedOnce) {
  // The child is forked before this process opens any connection.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = tdb_.Open(TestMigrations());
    ConsumerOptions options = Options();
    options.consumer = "doomed";
    EventConsumer consumer(*db, redis_, options, [&](pqxx::work& tx, const auto& e) {
      tx.exec_params("INSERT INTO applied (event_id, type) VALUES ($1::uuid, $2)", e.event_id(),
                     e.type());
      char byte = 1;
      (void)!write(ready[1], &byte, 1);  // "I am inside the handler"
      pause();                           // until SIGKILL
      return absl::OkStatus();
    });
    for (;;) (void)consumer.PollOnce();
  }
  close(ready[1]);
  OpenDb();
  auto relay = Relay(redis_);
  relay->Start();
  Produce(1);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(Applied(), 0) << "the killed handler's transaction never committed";

  // The survivor (another replica) takes the dead consumer's entry over, and counts it.
  const std::string claimed =
      absl::StrCat("wuye_bus_claimed_total{stream=\"", stream_, "\",group=\"consumer\"}");
  const int64_t claimed_before = Metrics::Global().Counter(claimed);
  ConsumerOptions options = Options();
  options.consumer = "survivor";
  EventConsumer survivor(*db_, redis_, options, Recorder());
  survivor.Start();
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 1; }, absl::Seconds(20)));
  Produce(1);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 2; }, absl::Seconds(20)));
  EXPECT_EQ(Applied(), 2);
  EXPECT_EQ(Distinct(), 2);
  EXPECT_EQ(Metrics::Global().Counter(claimed) - claimed_before, 1)
      << "one entry was pending on the killed consumer";
}

TEST_F(BusTest, TrimmingNeverRemovesWhatAGroupHasNotAcknowledged) {
  OpenDb();
  RedisConnection conn(redis_);
  for (const char* group : {"fast", "slow"}) {
    ASSERT_TRUE(conn.Command({"XGROUP", "CREATE", stream_, group, "0", "MKSTREAM"}).ok());
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = conn.Command({"XADD", stream_, "*", "n", std::to_string(i)});
    ASSERT_TRUE(id.ok());
    ids.push_back(id->str);
  }
  // "fast" reads and acknowledges everything; "slow" reads 40 and acknowledges 30.
  auto read_and_ack = [&](const std::string& group, int read, int ack) {
    auto got = conn.Command({"XREADGROUP", "GROUP", group, "c", "COUNT", std::to_string(read),
                             "STREAMS", stream_, ">"});
    ASSERT_TRUE(got.ok());
    for (int i = 0; i < ack; ++i) {
      ASSERT_TRUE(conn.Command({"XACK", stream_, group, ids[i]}).ok());
    }
  };
  read_and_ack("fast", 100, 100);
  read_and_ack("slow", 40, 30);

  RelayOptions options;
  options.stream = stream_;
  options.retention = absl::ZeroDuration();  // age alone would allow trimming everything
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis_, options);
  ASSERT_TRUE(relay.RelayOnce().ok());  // becomes the leader
  ASSERT_TRUE(relay.TrimOnce(absl::Now() + absl::Seconds(1)).ok());
  EXPECT_EQ(Redis({"XLEN", stream_}, redis_), 70) << "entries from slow's oldest pending on stay";

  // Everything "slow" has not acknowledged is still readable.
  auto pending = conn.Command({"XRANGE", stream_, "-", "+", "COUNT", "1"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].elements[0].str, ids[30]);
  read_and_ack("slow", 100, 0);
  // A group that has read nothing yet holds everything back.
  ASSERT_TRUE(conn.Command({"XGROUP", "CREATE", stream_, "new", "0"}).ok());
  ASSERT_TRUE(relay.TrimOnce(absl::Now() + absl::Seconds(1)).ok());
  EXPECT_EQ(Redis({"XLEN", stream_}, redis_), 70);
}

TEST_F(BusTest, ADatabaseOutageLongerThanTheDeadLetterThresholdDeadLettersNothing) {
  // The consumer's database is a private PostgreSQL the test stops; the producer's is the
  // shared one, so events keep arriving on the stream during the outage.
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up pg"), 0);
  {
    pqxx::connection admin(servers.PgUrl("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE bus_consumer");
  }
  DbOptions consumer_db;
  consumer_db.url = servers.PgUrl("bus_consumer");
  consumer_db.connect_timeout = absl::Seconds(1);
  auto db = OpenServiceDatabase(consumer_db, TestMigrations(), absl::Seconds(10));
  ASSERT_TRUE(db.ok()) << db.status();
  auto applied = [&] { return QueryAt(consumer_db.url, "SELECT count(*) FROM applied"); };

  OpenDb();
  auto relay = Relay(redis_);
  relay->Start();
  ConsumerOptions options = Options();
  options.max_deliveries = 2;
  options.claim_idle = absl::Milliseconds(200);
  EventConsumer consumer(**db, redis_, options, Recorder());
  consumer.Start();
  Produce(5);
  ASSERT_TRUE(WaitFor([&] { return applied() == 5; }, absl::Seconds(20)));

  ASSERT_EQ(servers.Run("stop pg"), 0);
  Produce(30, "during.outage");
  ASSERT_TRUE(WaitFor([&] { return Redis({"XLEN", stream_}, redis_) == 35; }, absl::Seconds(20)));
  // Well past the old threshold: 4 × max_deliveries claims of 200 ms, each a delivery.
  absl::SleepFor(absl::Seconds(5));
  EXPECT_EQ(Redis({"XLEN", DeadLetterStream(stream_)}, redis_), 0);
  ASSERT_EQ(servers.Run("start pg"), 0);

  ASSERT_TRUE(WaitFor([&] { return applied() >= 35; }, absl::Seconds(60)));
  Produce(1, "marker");
  ASSERT_TRUE(WaitFor([&] { return applied() >= 36; }, absl::Seconds(20)));
  EXPECT_EQ(applied(), 36) << "an event was applied twice";
  EXPECT_EQ(QueryAt(consumer_db.url, "SELECT count(DISTINCT event_id) FROM applied"), 36);
  EXPECT_EQ(Redis({"XLEN", DeadLetterStream(stream_)}, redis_), 0) << "nothing dead-lettered";
  EXPECT_EQ(QueryAt(consumer_db.url, "SELECT count(*) FROM wuye_bus_deliveries"), 0);
  consumer.Stop();
  relay->Stop();
}

TEST_F(BusTest, AnEntryThatWaitsLetsOthersApplyAndKeepsItsSubjectInOrder) {
  OpenDb();
  // Like billing's charge for a unit it has not seen yet: UNAVAILABLE until "released".
  std::atomic<bool> released{false};
  Produce(1, "charge", "unit-1", true);
  Produce(1, "refund", "unit-1", true);  // the same subject: must not overtake the charge
  Produce(5, "other");
  auto relay = Relay(redis_);
  relay->Start();
  ConsumerOptions options = Options();
  options.max_deliveries = 2;
  options.claim_idle = absl::Milliseconds(200);
  EventConsumer consumer(*db_, redis_, options, [&](pqxx::work& tx, const auto& e) {
    if (e.type() == Type("charge") && !released) {
      return absl::UnavailableError("charge: unit not yet in the copy");
    }
    return Recorder()(tx, e);
  });
  consumer.Start();
  ASSERT_TRUE(WaitFor([&] { return Applied() == 5; }, absl::Seconds(20)))
      << "the entries behind the waiting one apply";
  // It waits through far more claims than the dead-letter threshold, and is not counted.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Query(absl::StrCat("SELECT COALESCE(max(waits), 0) FROM wuye_bus_deliveries "
                                  "WHERE refusals = 0 AND last_error LIKE 'charge:%'")) >
               3 * options.max_deliveries;
      },
      absl::Seconds(30)));
  EXPECT_EQ(Applied(), 5) << "the refund waits behind the charge of its unit";
  EXPECT_EQ(Redis({"XLEN", DeadLetterStream(stream_)}, redis_), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_bus_deliveries WHERE waiting_since IS NOT NULL"), 2);

  released = true;
  ASSERT_TRUE(WaitFor([&] { return Applied() == 7; }, absl::Seconds(20)));
  EXPECT_EQ(
      Query(absl::StrCat("SELECT count(*) FROM applied a JOIN applied b ON a.subject = "
                         "b.subject WHERE a.type = '",
                         Type("charge"), "' AND b.type = '", Type("refund"), "' AND a.n < b.n")),
      1)
      << "the charge before the refund";
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT count(*) FROM wuye_bus_deliveries") == 0; },
                      absl::Seconds(20)));
  EXPECT_EQ(Redis({"XLEN", DeadLetterStream(stream_)}, redis_), 0);
}

TEST(StreamRulesTest, AStreamCarriesOnlyItsServicesEvents) {
  EXPECT_EQ(ProducerOfStream("wuye.intake.events"), "intake");
  EXPECT_EQ(ProducerOfStream("wuye.billing.events.dead"), "");
  EXPECT_EQ(ProducerOfStream("wuye.a.b.events"), "");
  EXPECT_EQ(ProducerOfStream("other"), "");
  wuye::events::v1::Event e;
  e.set_producer("billing");
  e.set_type("billing.payment.recorded");
  EXPECT_EQ(ForgeryOf(e, "billing"), "");
  EXPECT_NE(ForgeryOf(e, "intake"), "");
  e.set_producer("intake");
  EXPECT_NE(ForgeryOf(e, "intake"), "") << "the type names another service";
  e.set_type("intake.ticket.created");
  EXPECT_EQ(ForgeryOf(e, "intake"), "");
  e.set_type("intakex.ticket.created");
  EXPECT_NE(ForgeryOf(e, "intake"), "");
  EXPECT_EQ(ForgeryOf(e, ""), "") << "no rule for a stream of another form";
}

TEST_F(BusTest, AForgedEventIsRefusedAndNotApplied) {
  OpenDb();
  // The consumer reads this stream as intake's (a stand-in for wuye.intake.events).
  ConsumerOptions options = Options();
  options.producers[stream_] = "intake";
  RedisConnection conn(redis_);
  auto inject = [&](const std::string& producer, const std::string& type) {
    wuye::events::v1::Event event;
    event.set_event_id(NewId(absl::Now()));
    event.set_producer(producer);
    event.set_type(type);
    event.set_group_id("group-1");
    event.set_subject(NewId(absl::Now()));
    ASSERT_TRUE(
        conn.Command({"XADD", stream_, "*", "type", type, "env", event.SerializeAsString()}).ok());
  };
  inject("billing", "billing.x");                // another service's event on intake's stream
  inject("intake", "billing.payment.recorded");  // claims to be intake's, names billing's type
  inject("billing", "intake.ticket.created");    // intake's type, another producer
  inject("intake", "intake.ticket.created");     // the real thing
  const std::string forged_series =
      absl::StrCat("wuye_bus_forged_total{stream=\"", stream_, "\",group=\"consumer\"}");
  const int64_t forged_before = Metrics::Global().Counter(forged_series);
  EventConsumer consumer(*db_, redis_, options, Recorder());
  int handled = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto n = consumer.PollOnce();
        handled += n.ok() ? *n : 0;
        return handled >= 4;
      },
      absl::Seconds(20)));
  EXPECT_EQ(Applied(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM applied WHERE type = 'intake.ticket.created'"), 1);
  EXPECT_EQ(Metrics::Global().Counter(forged_series), forged_before + 3);
  auto dead = ListDeadLetters(conn, DeadLetterStream(stream_));
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 3u);
  for (const auto& d : *dead) {
    EXPECT_EQ(d.fields.at("reason").rfind("forged: ", 0), 0u) << d.fields.at("reason");
  }
  EXPECT_EQ(dead->at(0).fields.at("type"), "billing.x");
  EXPECT_EQ(ReplayDeadLetter(conn, DeadLetterStream(stream_), dead->at(0).id).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "a forged event is not replayed";
  auto pending = conn.Command({"XPENDING", stream_, "consumer"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0);
}

TEST_F(BusTest, DeadLettersAreTrimmedByAge) {
  OpenDb();
  RedisConnection conn(redis_);
  const std::string dead = DeadLetterStream(stream_);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(conn.Command({"XADD", dead, "*", "n", "1"}).ok());
  RelayOptions options;
  options.stream = stream_;
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis_, options);
  ASSERT_TRUE(relay.RelayOnce().ok());  // becomes the leader
  ASSERT_TRUE(relay.TrimOnce(absl::Now()).ok());
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 3) << "younger than 30 days";
  ASSERT_TRUE(relay.TrimOnce(absl::Now() + absl::Hours(24 * 30) + absl::Seconds(1)).ok());
  EXPECT_EQ(Redis({"XLEN", dead}, redis_), 0);
}

// Issue 26 §5: the outbox, the inbox and the request ids are pruned, so a year of traffic costs
// per call what a day does; each by its own retention (--bus_keep_sent, --bus_keep_keys), and
// an unsent event never, however old.
TEST_F(BusTest, SentRowsRequestIdsAndInboxRowsArePrunedPastTheirRetentionOnly) {
  OpenDb();
  RelayOptions options;
  options.stream = stream_;
  options.keep_sent = absl::Hours(2);
  options.keep_keys = absl::Hours(48);
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay relay(db, redis_, options);
  ASSERT_TRUE(relay.RelayOnce().ok());  // becomes the leader (nothing to send)
  {
    pqxx::connection conn(tdb_.url());
    pqxx::work tx(conn);
    for (const auto& [type, sent] :
         std::vector<std::pair<std::string, std::string>>{{"sent.3h", "now() - interval '3 hours'"},
                                                          {"sent.1h", "now() - interval '1 hour'"},
                                                          {"unsent.old", "NULL"}}) {
      tx.exec(absl::StrCat("INSERT INTO wuye_outbox (event_id, type, envelope, created_at, "
                           "sent_at) VALUES (gen_random_uuid(), '", type, "', '\\x00', now() - "
                           "interval '100 days', ", sent, ")"));
    }
    for (const auto& [key, age] : std::vector<std::pair<std::string, std::string>>{
             {"k-49h", "49 hours"}, {"k-47h", "47 hours"}, {"k-3h", "3 hours"}}) {
      tx.exec(absl::StrCat("INSERT INTO wuye_idempotency (group_key, request_id, method, "
                           "request_hash, created_at) VALUES ('g', '", key, "', 'm', '\\x00', "
                           "now() - interval '", age, "')"));
      tx.exec(absl::StrCat("INSERT INTO wuye_inbox (event_id, stream, type, applied_at) VALUES "
                           "(gen_random_uuid(), 's', '", key, "', now() - interval '", age, "')"));
    }
    tx.commit();
  }
  auto text = [&](const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>("");
  };
  ASSERT_TRUE(relay.TrimOnce(absl::Now()).ok());
  EXPECT_EQ(text("SELECT string_agg(type, ',' ORDER BY type) FROM wuye_outbox"),
            "sent.1h,unsent.old")
      << "a sent row goes after --bus_keep_sent; an unsent one stays, however old";
  EXPECT_EQ(text("SELECT string_agg(request_id, ',' ORDER BY request_id) FROM wuye_idempotency"),
            "k-3h,k-47h");
  EXPECT_EQ(text("SELECT string_agg(type, ',' ORDER BY type) FROM wuye_inbox"), "k-3h,k-47h");

  // A replica that is not the relay's leader prunes nothing.
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec("UPDATE wuye_idempotency SET created_at = now() - interval '100 days'");
  }
  OutboxRelay follower(db, redis_, options);
  ASSERT_TRUE(follower.TrimOnce(absl::Now()).ok());
  EXPECT_EQ(Query("SELECT count(*)::int FROM wuye_idempotency"), 2);
}

TEST_F(BusTest, WithAnAclUserPerServiceTheBusWorksAndNoServiceWritesAnothersStream) {
  // The rules docs/operations.md gives to each service, on a Redis of the test's own.
  ::wuye::testing::PrivateServers servers;
  ASSERT_EQ(servers.Run("up redis"), 0);
  RedisOptions admin;
  admin.addr = servers.RedisAddr();
  RedisConnection root(admin);
  const std::string consumer_service = absl::StrCat("c", service_);
  auto set_user = [&](const std::string& service, const std::vector<std::string>& consumes) {
    std::vector<std::string> args = {"ACL",   "SETUSER", absl::StrCat("wuye-", service),
                                     "reset", "on",      ">secret-of-" + service};
    for (const auto& rule : RedisAclRules(service, consumes)) args.push_back(rule);
    auto reply = root.Command(args);
    ASSERT_TRUE(reply.ok() && !reply->is_error()) << (reply.ok() ? reply->str : "no reply");
  };
  set_user(service_, {});
  set_user(consumer_service, {stream_});
  auto as = [&](const std::string& service) {
    RedisOptions o;
    o.addr = servers.RedisAddr();
    o.user = absl::StrCat("wuye-", service);
    o.password = "secret-of-" + service;
    return o;
  };

  OpenDb();
  auto relay = Relay(as(service_));
  relay->Start();
  EventConsumer consumer(*db_, as(consumer_service), Options(), [&](pqxx::work& tx, const auto& e) {
    if (e.type() == Type("poison")) return absl::FailedPreconditionError("cannot apply this");
    return Recorder()(tx, e);
  });
  consumer.Start();
  Produce(3);
  Produce(1, "poison", "p");
  ASSERT_TRUE(WaitFor([&] { return Applied() == 3; }, absl::Seconds(20)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Redis({"XLEN", DeadLetterStream(stream_)}, admin) == 1;
      },
      absl::Seconds(20)))
      << "the consumer may add to the dead letters of what it reads";
  DbOptions db;
  db.url = tdb_.url();
  OutboxRelay trimmer(db, as(service_), RelayOptions{stream_});
  ASSERT_TRUE(trimmer.RelayOnce().ok());
  EXPECT_TRUE(trimmer.TrimOnce(absl::Now()).ok()) << "the producer keeps its stream";

  // Neither may write where it should not; a wrong password gets nowhere.
  RedisConnection consumer_conn(as(consumer_service));
  auto forged = consumer_conn.Command({"XADD", stream_, "*", "env", "x"});
  ASSERT_TRUE(forged.ok());
  EXPECT_TRUE(forged->is_error() && absl::StartsWith(forged->str, "NOPERM")) << forged->str;
  RedisConnection producer_conn(as(service_));
  auto elsewhere = producer_conn.Command({"XADD", StreamOf("intake"), "*", "env", "x"});
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_TRUE(elsewhere->is_error() && absl::StartsWith(elsewhere->str, "NOPERM"));
  // What a connection under Sentinel (ROLE) and a relay with --bus_min_replicas (WAIT) ask.
  for (const std::string& service : {service_, consumer_service}) {
    RedisConnection conn(as(service));
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{{"ROLE"}, {"WAIT", "0", "10"}}) {
      auto reply = conn.Command(command);
      ASSERT_TRUE(reply.ok()) << reply.status();
      EXPECT_FALSE(reply->is_error()) << service << " " << command[0] << ": " << reply->str;
    }
  }
  RedisOptions wrong = as(service_);
  wrong.password = "guess";
  RedisConnection intruder(wrong);
  EXPECT_EQ(intruder.Command({"XLEN", stream_}).status().code(),
            absl::StatusCode::kUnauthenticated);
  consumer.Stop();
  relay->Stop();
}

}  // namespace
}  // namespace wuye
