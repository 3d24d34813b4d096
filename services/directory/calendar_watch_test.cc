// The directory's watch on next year's working calendar (issue 27 §1: the State Council's
// arrangement "shipped as data … 2027 where it has been published"; until it is, each group
// must import it, and the platform team is told which groups have not).
#include "services/directory/calendar_watch.h"

#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "services/directory/directory_store.h"
#include "shared/metrics.h"
#include "shared/testing/test_env.h"

namespace wuye::directory {
namespace {

absl::Time ChinaNoon(absl::CivilDay day) {
  return absl::FromCivil(absl::CivilSecond(day.year(), day.month(), day.day(), 12, 0, 0),
                         absl::FixedTimeZone(8 * 3600));
}

class CalendarWatchTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = tdb_.Open(directory_migrations()); }

  void Exec(const std::string& sql) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec0(sql);
                     return absl::OkStatus();
                   })
                    .ok());
  }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
};

TEST_F(CalendarWatchTest, CountsTheGroupsThatHaveNotImportedAnUnshippedYearWhole) {
  Exec(
      "INSERT INTO groups VALUES ('00000000-0000-0000-0000-00000000000a', 'A', now()), "
      "('00000000-0000-0000-0000-00000000000b', 'B', now()), "
      "('00000000-0000-0000-0000-00000000000c', 'C', now())");
  // A imports 2027 whole; B only an overlay (an estate-style closed day for the group), C
  // nothing; an estate's whole year does not arrange the group's.
  Exec(
      "INSERT INTO wuye_work_calendars VALUES "
      "('00000000-0000-0000-0000-00000000000a', '', 2027, 'year 2027\nsource 集团通知\n', 1), "
      "('00000000-0000-0000-0000-00000000000b', '', 2027, 'year 2027\nmode overlay\noff "
      "2027-12-17 盘点\n', 1), "
      "('00000000-0000-0000-0000-00000000000c', 'estate-1', 2027, 'year 2027\n', 1)");

  // 2026-12-07 in China: next year is 2027, which only cn-2026 does not cover.
  absl::StatusOr<NextYearCalendar> next =
      CheckNextYearCalendar(*db_, ChinaNoon(absl::CivilDay(2026, 12, 7)));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->year, 2027);
  EXPECT_EQ(next->days_left, 25);
  EXPECT_FALSE(next->shipped);
  EXPECT_EQ(next->groups_without, 2);  // B and C

  // A year that ships covers every group, whatever they imported.
  next = CheckNextYearCalendar(*db_, ChinaNoon(absl::CivilDay(2025, 12, 7)));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->year, 2026);
  EXPECT_TRUE(next->shipped);
  EXPECT_EQ(next->groups_without, 0);

  // 00:30 on 1 January in China (16:30 on 31 December in UTC) is already the new year.
  next = CheckNextYearCalendar(
      *db_, absl::FromCivil(absl::CivilSecond(2026, 12, 31, 16, 30, 0), absl::UTCTimeZone()));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->year, 2028);
}

TEST_F(CalendarWatchTest, TheTickSetsTheGaugesAndChangesNothing) {
  Exec("INSERT INTO groups VALUES ('00000000-0000-0000-0000-00000000000a', 'A', now())");
  NextYearCalendarWatch watch(*db_);
  ASSERT_TRUE(watch.Tick(ChinaNoon(absl::CivilDay(2026, 12, 7))).ok());
  ASSERT_TRUE(
      watch.Tick(ChinaNoon(absl::CivilDay(2026, 12, 7))).ok());  // the warning is logged once a day
  const std::string text = Metrics::Global().PrometheusText();
  EXPECT_NE(text.find("wuye_work_calendar_next_year_shipped 0"), std::string::npos) << text;
  EXPECT_NE(text.find("wuye_work_calendar_next_year_groups_uncovered 1"), std::string::npos);
  EXPECT_NE(text.find("wuye_work_calendar_next_year_days_left 25"), std::string::npos);
  int64_t rows = -1;
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   rows = tx.exec1("SELECT count(*) FROM wuye_work_calendars")[0].as<int64_t>();
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(rows, 0);
}

}  // namespace
}  // namespace wuye::directory
