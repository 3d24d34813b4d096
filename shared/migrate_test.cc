#include "shared/migrate.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shared/db.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

// The advisory lock key ApplyMigrations takes ("wuye").
constexpr int64_t kMigrationLockKey = 0x77757965;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = OpenDb(); }

  std::unique_ptr<Db> OpenDb() {
    DbOptions options;
    options.url = database_.url();
    options.pool_size = 2;
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // The first column of the first row of `sql`, as text ("" for NULL).
  std::string Query(const std::string& sql) {
    std::string value;
    absl::Status st = db_->Transact([&](pqxx::work& tx) {
      pqxx::row row = tx.exec1(sql);
      value = row[0].is_null() ? "" : row[0].as<std::string>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << sql << ": " << st;
    return value;
  }

  bool TableExists(const std::string& table) {
    return Query("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
  }

  std::string RecordedVersions(const std::string& component) {
    return Query(
        "SELECT coalesce(string_agg(version::text || ':' || file, ',' ORDER BY version), '') "
        "FROM wuye_migrations WHERE component = '" +
        component + "'");
  }

  testing::TestDatabase database_;
  std::unique_ptr<Db> db_;
};

const MigrationSet kInventory = {
    "inventory",
    {
        {"001_items.sql", "CREATE TABLE items (name text PRIMARY KEY);"},
        {"002_counts.sql",
         "ALTER TABLE items ADD COLUMN n int NOT NULL DEFAULT 0;\n"
         "CREATE TABLE counts (item text REFERENCES items);\n"
         "INSERT INTO items (name, n) VALUES ('seed', 1);"},
    },
};

TEST_F(MigrateTest, AppliesEveryMigrationAndRecordsEachWithItsChecksum) {
  ASSERT_NE(db_, nullptr);

  absl::Status st = ApplyMigrations(*db_, {&kInventory});

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(TableExists("items"));
  EXPECT_TRUE(TableExists("counts"));
  EXPECT_EQ(Query("SELECT n FROM items WHERE name = 'seed'"), "1");
  EXPECT_EQ(RecordedVersions("inventory"), "1:001_items.sql,2:002_counts.sql");
  // The checksum is the SHA-256 of the SQL text, in hex.
  EXPECT_EQ(Query("SELECT checksum FROM wuye_migrations WHERE version = 1"),
            Query("SELECT encode(sha256(convert_to('CREATE TABLE items (name text PRIMARY KEY);', "
                  "'UTF8')), 'hex')"));
}

TEST_F(MigrateTest, ApplyingTheSameSetAgainChangesNothing) {
  ASSERT_NE(db_, nullptr);
  ASSERT_TRUE(ApplyMigrations(*db_, {&kInventory}).ok());
  std::string recorded = Query(
      "SELECT string_agg(version || file || checksum || applied_at, ';' ORDER BY version) "
      "FROM wuye_migrations");

  absl::Status st = ApplyMigrations(*db_, {&kInventory});

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Query("SELECT count(*) FROM items"), "1");  // the seed row was not inserted again
  EXPECT_EQ(Query("SELECT string_agg(version || file || checksum || applied_at, ';' "
                  "ORDER BY version) FROM wuye_migrations"),
            recorded);
}

TEST_F(MigrateTest, ANewMigrationIsAppliedOnTopOfTheAppliedOnes) {
  ASSERT_NE(db_, nullptr);
  ASSERT_TRUE(ApplyMigrations(*db_, {&kInventory}).ok());
  MigrationSet grown = kInventory;
  grown.migrations.push_back({"003_more.sql", "INSERT INTO items (name) VALUES ('third');"});

  absl::Status st = ApplyMigrations(*db_, {&grown});

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Query("SELECT count(*) FROM items"), "2");
  EXPECT_EQ(RecordedVersions("inventory"), "1:001_items.sql,2:002_counts.sql,3:003_more.sql");
}

TEST_F(MigrateTest, EditingAnAppliedMigrationIsFailedPrecondition) {
  ASSERT_NE(db_, nullptr);
  ASSERT_TRUE(ApplyMigrations(*db_, {&kInventory}).ok());
  MigrationSet edited = kInventory;
  edited.migrations[1].sql += "\nCREATE TABLE sneaky (x int);";
  edited.migrations.push_back({"003_more.sql", "CREATE TABLE later (x int);"});

  absl::Status st = ApplyMigrations(*db_, {&edited});

  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_FALSE(TableExists("sneaky"));
  EXPECT_FALSE(TableExists("later"));  // nothing after the edited one ran
  EXPECT_EQ(RecordedVersions("inventory"), "1:001_items.sql,2:002_counts.sql");
}

TEST_F(MigrateTest, BadFileNamesAreRefusedBeforeAnythingRuns) {
  ASSERT_NE(db_, nullptr);
  for (const std::string name :
       {"1_init.sql", "01_init.sql", "abc_init.sql", "001init.sql", "001-init.sql", "001_", ""}) {
    MigrationSet set = {"bad", {{name, "CREATE TABLE should_not_exist (x int);"}}};

    absl::Status st = ApplyMigrations(*db_, {&set});

    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << "'" << name << "': " << st;
    EXPECT_FALSE(TableExists("should_not_exist")) << name;
  }
  EXPECT_EQ(RecordedVersions("bad"), "");
}

TEST_F(MigrateTest, VersionsOutOfOrderOrRepeatedAreRefused) {
  ASSERT_NE(db_, nullptr);
  MigrationSet descending = {
      "desc", {{"002_b.sql", "CREATE TABLE b (x int);"}, {"001_a.sql", "CREATE TABLE a (x int);"}}};
  MigrationSet repeated = {
      "rep", {{"001_a.sql", "CREATE TABLE c (x int);"}, {"001_b.sql", "CREATE TABLE d (x int);"}}};
  MigrationSet zero = {"zero", {{"000_a.sql", "CREATE TABLE e (x int);"}}};

  EXPECT_EQ(ApplyMigrations(*db_, {&descending}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyMigrations(*db_, {&repeated}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyMigrations(*db_, {&zero}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(TableExists("a"));
  EXPECT_FALSE(TableExists("d"));
  EXPECT_FALSE(TableExists("e"));
}

TEST_F(MigrateTest, AFailingMigrationLeavesNoTraceAndIsNotRecorded) {
  ASSERT_NE(db_, nullptr);
  MigrationSet broken = {"broken",
                         {{"001_ok.sql", "CREATE TABLE first (x int);"},
                          {"002_bad.sql", "CREATE TABLE half (x int);\nSELECT * FROM missing;"}}};

  absl::Status st = ApplyMigrations(*db_, {&broken});

  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(TableExists("first"));  // each migration is its own transaction
  EXPECT_FALSE(TableExists("half"));
  EXPECT_EQ(RecordedVersions("broken"), "1:001_ok.sql");
}

// DISABLED: ApplyMigrations skips pg_advisory_unlock when a migration throws, and the
// connection goes back to the pool still holding the session lock, so every other replica
// blocks on the lock until its statement timeout. Enable once the unlock always runs.
TEST_F(MigrateTest, AFailingMigrationReleasesTheLockForOtherReplicas) {
  ASSERT_NE(db_, nullptr);
  MigrationSet broken = {"broken", {{"001_bad.sql", "SELECT * FROM missing;"}}};
  ASSERT_FALSE(ApplyMigrations(*db_, {&broken}).ok());
  DbOptions options;
  options.url = database_.url();
  options.statement_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<Db>> replica = Db::Open(options);
  ASSERT_TRUE(replica.ok()) << replica.status();

  absl::Status st = ApplyMigrations(**replica, {&kInventory});

  EXPECT_TRUE(st.ok()) << st;
  EXPECT_TRUE(TableExists("items"));
}

TEST_F(MigrateTest, ComponentsHaveTheirOwnVersionNumbers) {
  ASSERT_NE(db_, nullptr);
  MigrationSet a = {"alpha", {{"001_a.sql", "CREATE TABLE alpha_t (x int);"}}};
  MigrationSet b = {"beta", {{"001_b.sql", "CREATE TABLE beta_t (x int);"}}};

  ASSERT_TRUE(ApplyMigrations(*db_, {&a, &b}).ok());

  EXPECT_TRUE(TableExists("alpha_t"));
  EXPECT_TRUE(TableExists("beta_t"));
  EXPECT_EQ(RecordedVersions("alpha"), "1:001_a.sql");
  EXPECT_EQ(RecordedVersions("beta"), "1:001_b.sql");
}

TEST_F(MigrateTest, ConcurrentReplicasBothSucceedAndEachMigrationRunsOnce) {
  ASSERT_NE(db_, nullptr);
  ASSERT_TRUE(ApplyMigrations(*db_, {&kInventory}).ok());
  MigrationSet next = kInventory;
  next.migrations.push_back({"003_once.sql",
                             "INSERT INTO items (name, n) VALUES ('ran', 1) "
                             "ON CONFLICT (name) DO UPDATE SET n = items.n + 1;"});
  std::unique_ptr<Db> replica_a = OpenDb();
  std::unique_ptr<Db> replica_b = OpenDb();
  ASSERT_NE(replica_a, nullptr);
  ASSERT_NE(replica_b, nullptr);

  // Hold the migration lock so that both replicas queue up on it, then let them race.
  const std::string key = std::to_string(kMigrationLockKey);
  const std::string waiters =
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = " +
      key + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
  pqxx::connection holder(database_.url());
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_lock(" + key + ")");
  absl::Status status_a, status_b;
  std::thread thread_a([&] { status_a = ApplyMigrations(*replica_a, {&next}); });
  std::thread thread_b([&] { status_b = ApplyMigrations(*replica_b, {&next}); });
  bool both_waiting = testing::WaitFor([&] { return Query(waiters) == "2"; }, absl::Seconds(4));
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock(" + key + ")");
  thread_a.join();
  thread_b.join();

  EXPECT_TRUE(both_waiting);
  EXPECT_TRUE(status_a.ok()) << status_a;
  EXPECT_TRUE(status_b.ok()) << status_b;
  EXPECT_EQ(Query("SELECT n FROM items WHERE name = 'ran'"), "1");
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_migrations WHERE version = 3"), "1");
}

TEST_F(MigrateTest, PlatformMigrationsCreateTheIdempotencyOutboxAndInboxTables) {
  ASSERT_NE(db_, nullptr);
  const MigrationSet& platform = platform_migrations();
  EXPECT_EQ(platform.component, "platform");
  ASSERT_FALSE(platform.migrations.empty());
  EXPECT_EQ(platform.migrations[0].file, "001_platform.sql");

  absl::Status st = ApplyMigrations(*db_, {&platform, &kInventory});

  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(TableExists("wuye_idempotency"));
  EXPECT_TRUE(TableExists("wuye_outbox"));
  EXPECT_TRUE(TableExists("wuye_inbox"));
  EXPECT_TRUE(TableExists("items"));
  EXPECT_TRUE(TableExists("wuye_bus_deliveries"));
  EXPECT_TRUE(absl::StartsWith(RecordedVersions("platform"),
                               "1:001_platform.sql,2:002_bus_deliveries.sql,3:"))
      << RecordedVersions("platform");
}

}  // namespace
}  // namespace wuye
