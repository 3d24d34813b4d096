// The bus end to end: real PostgreSQL (a database per test) and real Redis (a stream name
// per test; a private Redis where a test stops or restarts it).
#include "shared/bus.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

using ::wuye::testing::WaitFor;

// A table the test consumer writes: one row per application, so twice shows as two rows.
const MigrationSet& TestMigrations() {
  static const MigrationSet kSet{
      "bustest",
      {{"001_applied.sql",
        "CREATE TABLE applied (n bigserial PRIMARY KEY, event_id uuid NOT NULL, type text)"}}};
  return kSet;
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_ = absl::StrCat("wuye.t", NewId(absl::Now()).substr(24), ".events");
    redis_.addr = ::wuye::testing::RedisAddr();
  }

  void TearDown() override {
    RedisConnection conn(redis_);
    (void)conn.Command({"DEL", stream_, DeadLetterStream(stream_)});
  }

  void OpenDb() {
    db_ = tdb_.Open(TestMigrations());
    outbox_ = std::make_unique<Outbox>(*db_, "tester");
  }

  // Commits `n` events, each in its own transaction, as a service's handlers do.
  void Produce(int n, const std::string& type = "test.thing.happened") {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                       EventDraft draft{type, "group-1", "", absl::StrCat("s", i), 1, nullptr};
                       outbox_->Append(tx, draft, absl::Now(), "trace");
                       return absl::OkStatus();
                     })
                      .ok());
    }
  }

  std::unique_ptr<OutboxRelay> Relay(const RedisOptions& redis) {
    RelayOptions options;
    options.stream = stream_;
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
      tx.exec_params("INSERT INTO applied (event_id, type) VALUES ($1::uuid, $2)", e.event_id(),
                     e.type());
      return absl::OkStatus();
    };
  }

  int Applied() { return Query("SELECT count(*) FROM applied"); }
  int Distinct() { return Query("SELECT count(DISTINCT event_id) FROM applied"); }
  int Query(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
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
  std::string stream_;
  RedisOptions redis_;
};

TEST_F(BusTest, ACommittedEventReachesTheConsumerOnceAndARolledBackOneNever) {
  OpenDb();
  Produce(1);
  ASSERT_FALSE(db_->Transact([&](pqxx::work& tx) {
                    EventDraft draft{"test.rolled.back", "g", "", "s", 1, nullptr};
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
  EXPECT_EQ(Query("SELECT count(*) FROM applied WHERE type = 'test.rolled.back'"), 0);
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
  slow->exec("INSERT INTO wuye_outbox (event_id, type, envelope) "
             "VALUES (gen_random_uuid(), 'test.slow', '\\x00')");
  Produce(1);
  EXPECT_EQ(relay_once(), 1);
  slow->commit();
  EXPECT_EQ(relay_once(), 1);  // found at once: the floor waited below it
  EXPECT_EQ(length(), 3);

  // One that commits later than the gap timeout is found by the next full check.
  slow = std::make_unique<pqxx::work>(slow_conn);
  slow->exec("INSERT INTO wuye_outbox (event_id, type, envelope) "
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
  event.set_type("test.dup");
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
  Produce(1, "test.poison");
  Produce(5, "test.good");
  auto relay = Relay(redis_);
  relay->Start();
  EventConsumer consumer(*db_, redis_, Options(), [](pqxx::work& tx, const auto& e) {
    if (e.type() == "test.poison") return absl::FailedPreconditionError("cannot apply this");
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
  EXPECT_EQ(f["type"], "test.poison");
  EXPECT_EQ(f["reason"], "cannot apply this");
  EXPECT_EQ(f["group"], "consumer");
  auto pending = conn.Command({"XPENDING", stream_, "consumer"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0) << "the poison entry is acknowledged";
  // And the poison was never half-applied: its inbox row rolled back with the handler.
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_inbox WHERE type = 'test.poison'"), 0);
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

  ConsumerOptions options = Options();
  options.consumer = "survivor";
  EventConsumer survivor(*db_, redis_, options, Recorder());
  survivor.Start();
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 1; }, absl::Seconds(20)));
  Produce(1);
  ASSERT_TRUE(WaitFor([&] { return Applied() >= 2; }, absl::Seconds(20)));
  EXPECT_EQ(Applied(), 2);
  EXPECT_EQ(Distinct(), 2);
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

}  // namespace
}  // namespace wuye
