#include "shared/pg_listener.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "shared/testing/test_env.h"

namespace wuye {
namespace {

TEST(PgListenerTest, HearsWhatCommitsAndNothingOfARollback) {
  static const MigrationSet kNone{"pg_listener_test", {}};
  testing::TestDatabase tdb;
  std::unique_ptr<Db> db = tdb.Open(kNone);
  std::mutex mu;
  std::vector<std::string> heard;
  int reconnects = 0;
  PgListener listener(
      {.url = tdb.url(), .channel = "wuye_test_signal"},
      [&](const std::string& payload) {
        std::lock_guard<std::mutex> lock(mu);
        heard.push_back(payload);
      },
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        ++reconnects;
      });
  listener.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return listener.listening(); }, absl::Seconds(10)));
  EXPECT_FALSE(db->Transact([](pqxx::work& tx) {
                   tx.exec("SELECT pg_notify('wuye_test_signal', 'rolled back')");
                   return absl::AbortedError("roll back");
                 }).ok());
  ASSERT_TRUE(db->Transact([](pqxx::work& tx) {
                  tx.exec("SELECT pg_notify('wuye_test_signal', 'estate-1')");
                  tx.exec("SELECT pg_notify('wuye_other_channel', 'not ours')");
                  return absl::OkStatus();
                }).ok());
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return !heard.empty();
      },
      absl::Seconds(10)));
  listener.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(heard, std::vector<std::string>{"estate-1"});
  EXPECT_EQ(reconnects, 1);  // the first connection says so too: nothing heard before it
}

TEST(PgListenerTest, KeepsTryingWhileTheServerCannotBeReachedAndStops) {
  PgListener listener(
      {.url = "postgresql://wuye@127.0.0.1:1/none?connect_timeout=1",
       .channel = "wuye_test_signal",
       .retry = absl::Milliseconds(100)},
      [](const std::string&) {}, [] {});
  listener.Start();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(listener.listening());
  listener.Stop();  // returns although it never connected
}

}  // namespace
}  // namespace wuye
