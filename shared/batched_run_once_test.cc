#include "shared/batched_run_once.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "shared/testing/test_env.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye {
namespace {

using ::wuye::directory::v1::CreateGroupRequest;
using ::wuye::directory::v1::Group;

// The service's own table; a body "bad" breaks its check, as a bad row would.
const MigrationSet kNotesSchema = {
    "batched_run_once_test",
    {{"001_notes.sql",
      "CREATE TABLE notes (id uuid PRIMARY KEY, group_id text NOT NULL, "
      "body text NOT NULL CHECK (body <> 'bad'));"}},
};

struct Note {
  std::string id, body;
};

// The service's part: its rows as CTEs joined on `claimed`, and their parameters.
const char kNotesSql[] =
    "n AS ("
    "  INSERT INTO notes (id, group_id, body)"
    "  SELECT x.id, claimed.group_key, x.body"
    "  FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS x(id, body, call)"
    "  JOIN claimed ON claimed.call = x.call"
    ")";

std::vector<std::string> NotesParams(pqxx::transaction_base&, absl::Span<const Note* const> calls) {
  std::vector<std::string> ids, bodies;
  for (const Note* n : calls) {
    ids.push_back(n->id);
    bodies.push_back(n->body);
  }
  return {PgArray(ids), PgArray(bodies)};
}

CreateGroupRequest Request(const std::string& request_id, const std::string& body) {
  CreateGroupRequest r;
  r.set_request_id(request_id);
  r.mutable_group()->set_name(body);
  return r;
}

Caller CallerOf(const std::string& subject) {
  Caller c;
  c.subject = subject;
  c.group_id = "g1";
  c.all_estates = true;
  return c;
}

class BatchedRunOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = database_.Open(kNotesSchema, /*pool_size=*/8);
    // One writer, so that calls arriving while it writes queue into one batch.
    once_ = std::make_unique<BatchedRunOnce<Note>>(*db_, "test_notes_batch", kNotesSql,
                                                   &NotesParams, /*max_batch=*/64,
                                                   /*max_writers=*/1);
  }

  // A call: a new note with the request's body, answered with it; each build counted.
  absl::Status Create(const Caller& caller, const CreateGroupRequest& request, Group* answer) {
    IdempotencyKey key{"g1", request.request_id(), "test.CreateNote", &caller};
    return once_->Run(key, request, answer, [&](BatchedRunOnce<Note>::Effect& effect) {
      ++builds_;
      effect.rows.id = NewId(absl::Now());
      effect.rows.body = request.group().name();
      wuye::events::v1::Event e;
      e.set_event_id(NewId(absl::Now()));
      e.set_type("test.note.created");
      e.set_subject(effect.rows.id);
      effect.events.push_back(e);
      answer->set_id(effect.rows.id);
      answer->set_name(effect.rows.body);
      return absl::OkStatus();
    });
  }

  int64_t Query(const std::string& sql) {
    int64_t n = -1;
    absl::Status st = db_->Transact([&](pqxx::work& tx) {
      n = tx.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n;
  }

  // Holds the notes table until the returned function is called: the first call then
  // waits in the database with the only writer slot, and the calls started after it queue.
  std::function<void()> HoldNotes() {
    auto conn = std::make_shared<pqxx::connection>(database_.url());
    auto tx = std::make_shared<pqxx::work>(*conn);
    tx->exec("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE");
    return [conn, tx] { tx->abort(); };
  }

  // Starts `call` on a thread of its own and waits until it is in the queue.
  void Enqueue(std::function<void()> call) {
    const size_t before = once_->queued();
    threads_.emplace_back(std::move(call));
    ASSERT_TRUE(testing::WaitFor([&] { return once_->queued() == before + 1; }, absl::Seconds(30)));
  }

  // Starts the blocked first call and waits until it waits on the held table.
  void StartBlockedWriter(const Caller& caller, const CreateGroupRequest& request, absl::Status* st,
                          Group* answer) {
    threads_.emplace_back([=, this, &caller] { *st = Create(caller, request, answer); });
    // Asked on a connection of its own: the pool's may be busy.
    pqxx::connection conn(database_.url());
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          pqxx::nontransaction tx(conn);
          return tx.exec1(
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND wait_event_type = 'Lock'")[0]
                     .as<int64_t>() > 0;
        },
        absl::Seconds(30)));
  }

  void Join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void ExpectReuseRefused(const absl::Status& st) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_EQ(ErrorField(st), "request_id") << st;
    EXPECT_EQ(ErrorReason(st), "REQUEST_ID_REUSED") << st;
  }

  testing::TestDatabase database_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<BatchedRunOnce<Note>> once_;
  std::atomic<int> builds_{0};
  std::vector<std::thread> threads_;
};

TEST(BatchedRunOnceSqlTest, TheServicesParametersComeFirstAndThePlatformsAfterThem) {
  EXPECT_EQ(HighestParameter("SELECT $1, $12, '$99', \"a$98\", x$97 -- $96\n, $3"), 12);
  EXPECT_EQ(HighestParameter("SELECT 'it''s $50', 1"), 0);
  const std::string sql = ComposeOnceStatement(kNotesSql);
  EXPECT_NE(sql.find("$3::text[]"), std::string::npos) << sql;    // the platform's first
  EXPECT_NE(sql.find("$12::bytea[]"), std::string::npos) << sql;  // and last
  EXPECT_EQ(sql.find("$13"), std::string::npos) << sql;
  EXPECT_NE(sql.find(kNotesSql), std::string::npos) << sql;
}

TEST_F(BatchedRunOnceTest, ACallAloneIsWrittenWithItsClaimAnswerAndEventsAndReplayed) {
  Caller agent = CallerOf("agent-1");
  Group first, again;
  ASSERT_TRUE(Create(agent, Request("req-1", "one"), &first).ok());
  EXPECT_EQ(first.name(), "one");
  ASSERT_TRUE(Create(agent, Request("req-1", "one"), &again).ok());
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(Query("SELECT count(*) FROM notes"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'test.note.created'"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_idempotency WHERE subject = 'agent-1' AND "
                  "method = 'test.CreateNote' AND response IS NOT NULL"),
            1);

  Group other;
  ExpectReuseRefused(Create(agent, Request("req-1", "not one"), &other));
  EXPECT_EQ(other.id(), "");
  ExpectReuseRefused(Create(CallerOf("agent-2"), Request("req-1", "one"), &other));
  EXPECT_EQ(other.id(), "");
  EXPECT_EQ(Query("SELECT count(*) FROM notes"), 1);
}

TEST_F(BatchedRunOnceTest, ABadRequestIdIsRefusedBeforeAnythingIsBuilt) {
  Group answer;
  absl::Status st = Create(CallerOf("agent-1"), Request("", "one"), &answer);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(ErrorField(st), "request_id");
  EXPECT_EQ(builds_, 0);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_idempotency"), 0);
}

TEST_F(BatchedRunOnceTest, OneBatchWritesEachNewRequestOnceAndAnswersRepeatsFromTheStore) {
  Caller agent = CallerOf("agent-1"), other = CallerOf("agent-2");
  Group old;
  ASSERT_TRUE(Create(agent, Request("req-old", "old"), &old).ok());

  std::function<void()> release = HoldNotes();
  absl::Status blocked_st;
  Group blocked;
  StartBlockedWriter(agent, Request("req-a", "a"), &blocked_st, &blocked);
  // One batch, queued in this order: two new requests, each repeated (the same body, then
  // another body), the request written before, and it from another caller.
  struct Slot {
    std::string request_id, body;
    const Caller* caller;
    absl::Status st;
    Group answer;
  };
  std::vector<Slot> slots = {{"req-1", "one", &agent},   {"req-2", "two", &agent},
                             {"req-1", "one", &agent},   {"req-2", "not two", &agent},
                             {"req-old", "old", &agent}, {"req-old", "old", &other}};
  for (Slot& s : slots) {
    Enqueue([&] { s.st = Create(*s.caller, Request(s.request_id, s.body), &s.answer); });
  }
  release();
  Join();

  ASSERT_TRUE(blocked_st.ok()) << blocked_st;
  ASSERT_TRUE(slots[0].st.ok()) << slots[0].st;
  ASSERT_TRUE(slots[1].st.ok()) << slots[1].st;
  EXPECT_EQ(slots[0].answer.name(), "one");
  EXPECT_EQ(slots[1].answer.name(), "two");
  ASSERT_TRUE(slots[2].st.ok()) << slots[2].st;  // the repeat is answered with the first's answer
  EXPECT_EQ(slots[2].answer.id(), slots[0].answer.id());
  ExpectReuseRefused(slots[3].st);
  EXPECT_EQ(slots[3].answer.id(), "");
  ASSERT_TRUE(slots[4].st.ok()) << slots[4].st;
  EXPECT_EQ(slots[4].answer.id(), old.id());
  ExpectReuseRefused(slots[5].st);

  // Each request once: old, a, one, two.
  EXPECT_EQ(Query("SELECT count(*) FROM notes"), 4);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox"), 4);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_idempotency"), 4);
  // "one" and "two" were written together: their claims, rows and events by one statement
  // (one transaction).
  EXPECT_EQ(Query("SELECT count(DISTINCT x) FROM (SELECT xmin::text AS x FROM notes WHERE body "
                  "IN ('one', 'two') UNION ALL SELECT xmin::text FROM wuye_idempotency WHERE "
                  "request_id IN ('req-1', 'req-2')) s"),
            1);
}

TEST_F(BatchedRunOnceTest, OneBadCallInABatchDoesNotFailTheOthers) {
  Caller agent = CallerOf("agent-1");
  std::function<void()> release = HoldNotes();
  absl::Status blocked_st;
  Group blocked;
  StartBlockedWriter(agent, Request("req-a", "a"), &blocked_st, &blocked);
  absl::Status st1, st_bad, st2;
  Group one, bad, two;
  Enqueue([&] { st1 = Create(agent, Request("req-1", "one"), &one); });
  Enqueue([&] { st_bad = Create(agent, Request("req-bad", "bad"), &bad); });
  Enqueue([&] { st2 = Create(agent, Request("req-2", "two"), &two); });
  release();
  Join();

  EXPECT_TRUE(blocked_st.ok()) << blocked_st;
  EXPECT_TRUE(st1.ok()) << st1;
  EXPECT_TRUE(st2.ok()) << st2;
  EXPECT_FALSE(st_bad.ok());
  EXPECT_EQ(bad.id(), "");
  EXPECT_EQ(Query("SELECT count(*) FROM notes"), 3);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox"), 3);
  // The bad call's claim went with it: a retry runs again.
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_idempotency WHERE request_id = 'req-bad'"), 0);
  Group retry;
  EXPECT_FALSE(Create(agent, Request("req-bad", "bad"), &retry).ok());
  EXPECT_EQ(builds_, 5);
}

}  // namespace
}  // namespace wuye
