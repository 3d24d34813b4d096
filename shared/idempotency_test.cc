#include "shared/idempotency.h"

#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "shared/testing/test_env.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::wuye::directory::v1::Building;
using ::wuye::directory::v1::CreateGroupRequest;
using ::wuye::directory::v1::Group;

// The table the effects under test write to.
const MigrationSet kGroupsSchema = {
    "idempotency_test",
    {{"001_groups.sql",
      "CREATE TABLE groups (id text PRIMARY KEY, owner text NOT NULL, name text NOT NULL);"}},
};

CreateGroupRequest MakeRequest(const std::string& request_id, const std::string& name) {
  CreateGroupRequest request;
  request.set_request_id(request_id);
  request.mutable_group()->set_name(name);
  return request;
}

IdempotencyKey KeyFor(const std::string& group, const CreateGroupRequest& request,
                      const std::string& method = "directory.CreateGroup") {
  return IdempotencyKey{group, request.request_id(), method};
}

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = database_.Open(kGroupsSchema, /*pool_size=*/8); }

  // CreateGroup through RunOnce: the effect inserts a row into `groups` and answers with
  // the new group. `effect_calls_` counts how often the effect ran.
  absl::Status CreateGroup(const IdempotencyKey& key, const CreateGroupRequest& request,
                           Group* response) {
    return RunOnce(*db_, key, request, response, [&](pqxx::work& tx) {
      ++effect_calls_;
      response->set_id(NewId(absl::Now()));
      response->set_name(request.group().name());
      response->mutable_create_time()->set_seconds(1'700'000'000);
      tx.exec_params("INSERT INTO groups (id, owner, name) VALUES ($1, $2, $3)", response->id(),
                     key.group, response->name());
      return absl::OkStatus();
    });
  }

  int64_t Count(const std::string& table) {
    int64_t n = -1;
    absl::Status st = db_->Transact([&](pqxx::work& tx) {
      n = tx.exec1("SELECT count(*) FROM " + table)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n;
  }

  void ExpectReuseRefused(const absl::Status& st) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_EQ(ErrorField(st), "request_id") << st;
    EXPECT_EQ(ErrorReason(st), "REQUEST_ID_REUSED") << st;
  }

  testing::TestDatabase database_;
  std::unique_ptr<Db> db_;
  std::atomic<int> effect_calls_{0};
};

TEST_F(IdempotencyTest, FirstCallRunsTheEffectAndStoresTheResponse) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group group;

  absl::Status st = CreateGroup(KeyFor("g1", request), request, &group);

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(effect_calls_, 1);
  EXPECT_TRUE(IsValidId(group.id()));
  EXPECT_EQ(group.name(), "Green Court Group");
  EXPECT_EQ(Count("groups"), 1);
  std::string stored, method;
  st = db_->Transact([&](pqxx::work& tx) {
    pqxx::row row = tx.exec_params1(
        "SELECT response, method FROM wuye_idempotency WHERE group_key = $1 AND request_id = $2",
        "g1", "req-1");
    stored = pqxx::binarystring(row[0]).str();
    method = row[1].as<std::string>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(method, "directory.CreateGroup");
  Group parsed;
  ASSERT_TRUE(parsed.ParseFromString(stored));
  EXPECT_TRUE(MessageDifferencer::Equals(parsed, group)) << parsed.DebugString();
}

TEST_F(IdempotencyTest, ARetryGetsTheSameResponseWithoutRunningTheEffectAgain) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group first;
  ASSERT_TRUE(CreateGroup(KeyFor("g1", request), request, &first).ok());

  Group retry;
  retry.set_name("left over from an earlier use of this object");
  absl::Status st = CreateGroup(KeyFor("g1", request), request, &retry);

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(MessageDifferencer::Equals(retry, first))
      << retry.DebugString() << " vs " << first.DebugString();
  EXPECT_EQ(effect_calls_, 1);
  EXPECT_EQ(Count("groups"), 1);
  EXPECT_EQ(Count("wuye_idempotency"), 1);
}

TEST_F(IdempotencyTest, AnEmptyResponseIsReplayedToo) {
  CreateGroupRequest request = MakeRequest("req-empty", "Nothing to say");
  auto effect = [&](pqxx::work&) {
    ++effect_calls_;
    return absl::OkStatus();
  };
  Group first, retry;

  ASSERT_TRUE(RunOnce(*db_, KeyFor("g1", request), request, &first, effect).ok());
  absl::Status st = RunOnce(*db_, KeyFor("g1", request), request, &retry, effect);

  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(effect_calls_, 1);
  EXPECT_EQ(retry.ByteSizeLong(), 0u);
}

TEST_F(IdempotencyTest, TheRequestIdFieldIsNotPartOfTheRequestHash) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group first, retry;
  ASSERT_TRUE(CreateGroup(KeyFor("g1", request), request, &first).ok());

  CreateGroupRequest same_intent = request;
  same_intent.set_request_id("spelled-differently-in-the-body");
  absl::Status st = CreateGroup(KeyFor("g1", request), same_intent, &retry);

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(retry.id(), first.id());
  EXPECT_EQ(effect_calls_, 1);
}

TEST_F(IdempotencyTest, TheSameRequestIdWithDifferentContentIsRefused) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group first, second;
  ASSERT_TRUE(CreateGroup(KeyFor("g1", request), request, &first).ok());

  CreateGroupRequest changed = MakeRequest("req-1", "Another Name");
  absl::Status st = CreateGroup(KeyFor("g1", changed), changed, &second);

  ExpectReuseRefused(st);
  EXPECT_EQ(effect_calls_, 1);
  EXPECT_EQ(Count("groups"), 1);
}

TEST_F(IdempotencyTest, TheSameRequestIdOnAnotherMethodIsRefused) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group first, second;
  ASSERT_TRUE(CreateGroup(KeyFor("g1", request), request, &first).ok());

  absl::Status st = CreateGroup(KeyFor("g1", request, "directory.RenameGroup"), request, &second);

  ExpectReuseRefused(st);
  EXPECT_EQ(effect_calls_, 1);
  EXPECT_EQ(Count("groups"), 1);
}

TEST_F(IdempotencyTest, AFailedEffectStoresNothingAndARetryRunsItAgain) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group response;
  absl::Status failed =
      RunOnce(*db_, KeyFor("g1", request), request, &response, [&](pqxx::work& tx) {
        ++effect_calls_;
        tx.exec("INSERT INTO groups VALUES ('x', 'g1', 'half done')");
        return absl::FailedPreconditionError("estate is closed");
      });
  ASSERT_EQ(failed, absl::FailedPreconditionError("estate is closed"));
  EXPECT_EQ(Count("groups"), 0);
  EXPECT_EQ(Count("wuye_idempotency"), 0);

  absl::Status retried = CreateGroup(KeyFor("g1", request), request, &response);

  ASSERT_TRUE(retried.ok()) << retried;
  EXPECT_EQ(effect_calls_, 2);
  EXPECT_EQ(Count("groups"), 1);
  EXPECT_EQ(response.name(), "Green Court Group");
}

TEST_F(IdempotencyTest, KeysAreScopedByGroup) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  Group in_g1, in_g2;

  ASSERT_TRUE(CreateGroup(KeyFor("g1", request), request, &in_g1).ok());
  ASSERT_TRUE(CreateGroup(KeyFor("g2", request), request, &in_g2).ok());

  EXPECT_EQ(effect_calls_, 2);
  EXPECT_NE(in_g1.id(), in_g2.id());
  EXPECT_EQ(Count("groups"), 2);
}

TEST_F(IdempotencyTest, ConcurrentCallsWithOneKeyRunTheEffectOnceAndAllGetItsResponse) {
  constexpr int kCallers = 8;
  CreateGroupRequest request = MakeRequest("req-race", "Green Court Group");
  IdempotencyKey key = KeyFor("g1", request);
  // The first caller's effect waits until the seven others are blocked on its key row, so
  // the calls really overlap.
  std::atomic<bool> others_waited{false};
  auto effect = [&](pqxx::work& tx, Group* response) {
    ++effect_calls_;
    pqxx::connection watcher(database_.url());
    auto all_others_blocked = [&] {
      pqxx::nontransaction q(watcher);
      pqxx::row row = q.exec1(
          "SELECT count(*) FROM pg_stat_activity "
          "WHERE datname = current_database() AND wait_event_type = 'Lock'");
      return row[0].as<int>() == kCallers - 1;
    };
    others_waited = testing::WaitFor(all_others_blocked, absl::Seconds(10));
    response->set_id(NewId(absl::Now()));
    tx.exec_params("INSERT INTO groups VALUES ($1, 'g1', 'raced')", response->id());
    return absl::OkStatus();
  };
  absl::Notification go;
  std::vector<absl::Status> statuses(kCallers);
  std::vector<Group> responses(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      go.WaitForNotification();
      statuses[i] = RunOnce(*db_, key, request, &responses[i],
                            [&](pqxx::work& tx) { return effect(tx, &responses[i]); });
    });
  }
  go.Notify();
  for (auto& t : threads) t.join();

  EXPECT_EQ(effect_calls_, 1);
  EXPECT_TRUE(others_waited);
  EXPECT_EQ(Count("groups"), 1);
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i];
    EXPECT_TRUE(IsValidId(responses[i].id())) << i;
    EXPECT_EQ(responses[i].id(), responses[0].id()) << i;
  }
}

TEST_F(IdempotencyTest, ClaimAndRecordLetAHandlerShapeItsOwnTransaction) {
  CreateGroupRequest request = MakeRequest("req-1", "Green Court Group");
  IdempotencyKey key = KeyFor("g1", request);
  Group answer;
  answer.set_id("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");

  bool first_claim = false;
  PrepareIdempotency(*db_);
  absl::Status st = db_->Transact([&](pqxx::work& tx) -> absl::Status {
    WUYE_ASSIGN_OR_RETURN(std::optional<std::string> prior, ClaimRequest(tx, key, request));
    first_claim = !prior.has_value();
    RecordResponse(tx, key, answer);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(first_claim);

  std::optional<std::string> replay;
  st = db_->Transact([&](pqxx::work& tx) -> absl::Status {
    WUYE_ASSIGN_OR_RETURN(replay, ClaimRequest(tx, key, request));
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(replay.has_value());
  Group parsed;
  ASSERT_TRUE(parsed.ParseFromString(*replay));
  EXPECT_EQ(parsed.id(), answer.id());
}

TEST_F(IdempotencyTest, RunOnceRefusesABadRequestIdWithoutRunningTheEffect) {
  CreateGroupRequest request = MakeRequest("", "Green Court Group");
  Group response;

  absl::Status st = CreateGroup(KeyFor("g1", request), request, &response);

  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(st), "request_id");
  EXPECT_EQ(effect_calls_, 0);
  EXPECT_EQ(Count("wuye_idempotency"), 0);
}

Caller CallerOf(const std::string& subject, std::vector<std::string> estates) {
  Caller c;
  c.subject = subject;
  c.group_id = "g1";
  c.roles = {"estate_manager"};
  if (estates == std::vector<std::string>{"*"}) {
    c.all_estates = true;
  } else {
    c.estate_ids = std::move(estates);
  }
  return c;
}

// A building of estate e1, made through RunOnce by `caller`.
absl::Status CreateBuilding(Db& db, const Caller& caller, const CreateGroupRequest& request,
                            Building* response, std::atomic<int>* effect_calls) {
  IdempotencyKey key{"g1", request.request_id(), "directory.CreateBuilding", &caller};
  return RunOnce(db, key, request, response, [&](pqxx::work&) {
    ++*effect_calls;
    response->set_id("b1");
    response->set_estate_id("e1");
    response->set_name(request.group().name());
    return absl::OkStatus();
  });
}

// Issue 20, item 14: the key is bound to its caller.
TEST_F(IdempotencyTest, AnotherCallersReplayIsRefused) {
  CreateGroupRequest request = MakeRequest("req-1", "Block 3");
  Caller first = CallerOf("agent-1", {"e1"}), other = CallerOf("agent-2", {"e1"});
  Building made, replayed, stolen;
  ASSERT_TRUE(CreateBuilding(*db_, first, request, &made, &effect_calls_).ok());
  ASSERT_TRUE(CreateBuilding(*db_, first, request, &replayed, &effect_calls_).ok());
  EXPECT_EQ(replayed.id(), made.id());

  absl::Status st = CreateBuilding(*db_, other, request, &stolen, &effect_calls_);
  ExpectReuseRefused(st);
  EXPECT_EQ(stolen.id(), "");
  EXPECT_EQ(effect_calls_, 1);
}

// Issue 20, item 14: a replay skips the handler's estate check, so the stored answer is
// checked against the caller's estates instead.
TEST_F(IdempotencyTest, AReplayNamingAnEstateTheCallerCannotSeeIsRefused) {
  CreateGroupRequest request = MakeRequest("req-1", "Block 3");
  Building made, replayed;
  ASSERT_TRUE(CreateBuilding(*db_, CallerOf("mgr-1", {"e1"}), request, &made, &effect_calls_).ok());
  // The same subject, with a token that no longer names e1.
  absl::Status st =
      CreateBuilding(*db_, CallerOf("mgr-1", {"e2"}), request, &replayed, &effect_calls_);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_EQ(replayed.id(), "");
  st = CreateBuilding(*db_, CallerOf("mgr-1", {"*"}), request, &replayed, &effect_calls_);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(replayed.id(), made.id());
  EXPECT_EQ(effect_calls_, 1);

  // Replay (the group-commit path) checks the same, also for a row written without a subject.
  PrepareIdempotency(*db_);
  CreateGroupRequest batch = MakeRequest("req-batch", "Block 4");
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params(
                       "INSERT INTO wuye_idempotency (group_key, request_id, method, "
                       "request_hash, response) VALUES ('g1', 'req-batch', 'm', $1, $2)",
                       tx.esc_raw(RequestHash(batch)), tx.esc_raw(made.SerializeAsString()));
                   return absl::OkStatus();
                 })
                  .ok());
  Caller elsewhere = CallerOf("agent-9", {"e2"}), here = CallerOf("agent-9", {"e1"});
  Building out;
  st = Replay(*db_, IdempotencyKey{"g1", "req-batch", "m", &elsewhere}, batch, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  st = Replay(*db_, IdempotencyKey{"g1", "req-batch", "m", &here}, batch, &out);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(out.estate_id(), "e1");
}

TEST(CheckReplayScopeTest, EstateIdsAtAnyDepthAndHomeEstates) {
  Caller c = CallerOf("s", {"e1"});
  Building b;
  EXPECT_TRUE(CheckReplayScope(c, b).ok());  // names no estate
  b.set_estate_id("e1");
  EXPECT_TRUE(CheckReplayScope(c, b).ok());
  b.set_estate_id("e2");
  EXPECT_EQ(CheckReplayScope(c, b).code(), absl::StatusCode::kPermissionDenied);
  ::wuye::directory::v1::Estate estate;
  estate.set_id("e2");
  EXPECT_EQ(CheckReplayScope(c, estate).code(), absl::StatusCode::kPermissionDenied);
  ::wuye::directory::v1::Staff staff;
  staff.add_home_estate_ids("e2");
  EXPECT_EQ(CheckReplayScope(c, staff).code(), absl::StatusCode::kPermissionDenied);
  staff.add_home_estate_ids("e1");
  EXPECT_TRUE(CheckReplayScope(c, staff).ok());
  ::wuye::directory::v1::ListBuildingsResponse list;
  list.add_buildings()->set_estate_id("e1");
  EXPECT_TRUE(CheckReplayScope(c, list).ok());
  list.add_buildings()->set_estate_id("e3");
  EXPECT_EQ(CheckReplayScope(c, list).code(), absl::StatusCode::kPermissionDenied);
}

TEST(ValidateRequestIdTest, AcceptsOneTo128PrintableAsciiCharacters) {
  EXPECT_TRUE(ValidateRequestId("a").ok());
  EXPECT_TRUE(ValidateRequestId("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b").ok());
  EXPECT_TRUE(ValidateRequestId("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(128, 'x')).ok());
}

TEST(ValidateRequestIdTest, RejectsEmptyTooLongAndNonPrintableIds) {
  for (const std::string& bad :
       {std::string(), std::string(129, 'x'), std::string("has space"), std::string("tab\there"),
        std::string("new\nline"), std::string("del\x7f"), std::string("caf\xc3\xa9"),
        std::string("nul\0x", 5), std::string("请求")}) {
    absl::Status st = ValidateRequestId(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_EQ(ErrorField(st), "request_id") << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace wuye
