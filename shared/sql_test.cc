#include "shared/sql.h"

#include <memory>

#include "gtest/gtest.h"
#include "shared/testing/test_env.h"

namespace wuye::sql {
namespace {

Statements statements;
const Statement kEcho = statements.Add("sql_test_echo", R"(
    SELECT $1::text, )" WUYE_SQL_MICROS(WUYE_SQL_TIME("$2")) R"(, NULL::text, NULL::bigint,
           )" WUYE_SQL_AFTER("$3") R"(, )" WUYE_SQL_BEFORE("$3") R"(,
           )" WUYE_SQL_TIME_OR_NULL("$4") R"( IS NULL, decode('00ff', 'hex'))");

class SqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DbOptions options;
    options.url = database_.url();
    auto db = Db::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    statements.PrepareOn(*db_);
  }

  testing::TestDatabase database_;
  std::unique_ptr<Db> db_;
};

TEST_F(SqlTest, StatementsDeclaredBesideTheirUseArePreparedOnTheDb) {
  EXPECT_EQ(kEcho, "sql_test_echo");
  EXPECT_EQ(statements.size(), 1u);
  const absl::Time at = absl::FromUnixMicros(1'764'806'400'123'456);
  absl::Status st = db_->Transact([&](pqxx::work& tx) {
    pqxx::row r = tx.exec_prepared1(kEcho, "text", Micros(at), "", -1);
    EXPECT_EQ(Text(r[0]), "text");
    EXPECT_EQ(TimeOf(r[1]), at);
    EXPECT_EQ(Text(r[2]), "");  // NULL text reads as ""
    EXPECT_EQ(TimeOf(r[3]), absl::InfinitePast());
    EXPECT_EQ(Stamp(r[3]).seconds(), 0);
    EXPECT_EQ(Text(r[4]), "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(Text(r[5]), "ffffffff-ffff-ffff-ffff-ffffffffffff");
    EXPECT_TRUE(r[6].as<bool>());
    EXPECT_EQ(Bytes(r[7]), std::string("\x00\xff", 2));
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

TEST_F(SqlTest, StampKeepsMicrosecondsBeforeTheEpoch) {
  absl::Status st = db_->Transact([&](pqxx::work& tx) {
    pqxx::row r = tx.exec_prepared1(kEcho, "", int64_t{-1'500'001}, "", 0);
    google::protobuf::Timestamp ts = Stamp(r[1]);
    EXPECT_EQ(ts.seconds(), -2);
    EXPECT_EQ(ts.nanos(), 499'999'000);
    EXPECT_FALSE(r[6].as<bool>());  // 0 is a time, only -1 is "none"
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

}  // namespace
}  // namespace wuye::sql
