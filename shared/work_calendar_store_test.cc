#include "shared/work_calendar_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/time/clock.h"
#include "shared/db.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

const MigrationSet kNoServiceTables = {"calendar_test", {}};

events::v1::CalendarChanged Changed(std::string group, std::string estate, std::string text,
                                    int64_t version) {
  events::v1::CalendarChanged e;
  e.set_group_id(std::move(group));
  e.set_estate_id(std::move(estate));
  e.set_year(2026);
  e.set_calendar(std::move(text));
  e.set_version(version);
  return e;
}

TEST(WorkCalendarStoreTest, AnEstateSeesTheGroupsYearUnlessItHasItsOwnAndOnlyTheLatestCounts) {
  testing::TestDatabase database;
  std::unique_ptr<Db> db = database.Open(kNoServiceTables);
  absl::CivilDay wednesday(2026, 3, 4), thursday(2026, 3, 5);
  auto working = [&](const char* group, const char* estate, absl::CivilDay day) {
    bool w = false;
    EXPECT_TRUE(db->Transact([&](pqxx::work& tx) {
                    w = LoadWorkCalendar(tx, group, estate).IsWorkingDay(day);
                    return absl::OkStatus();
                  }).ok());
    return w;
  };
  auto apply = [&](const events::v1::CalendarChanged& e) {
    bool changed = false;
    EXPECT_TRUE(db->Transact([&](pqxx::work& tx) {
                    changed = ApplyCalendarChanged(tx, e);
                    return absl::OkStatus();
                  }).ok());
    return changed;
  };
  // Nothing imported: the State Council's 2026.
  EXPECT_TRUE(working("g1", "e1", wednesday));
  EXPECT_FALSE(working("g1", "e1", absl::CivilDay(2026, 2, 16)));
  // The group's own year replaces the national one for all its estates, and no other group.
  EXPECT_TRUE(apply(Changed("g1", "", "year 2026\noff 2026-03-04 集团活动日\n", 1)));
  EXPECT_FALSE(working("g1", "e1", wednesday));
  EXPECT_TRUE(working("g1", "e1", absl::CivilDay(2026, 2, 16)));
  EXPECT_TRUE(working("g2", "e1", wednesday));
  // An estate's year replaces the group's for that estate only.
  EXPECT_TRUE(apply(Changed("g1", "e2", "year 2026\noff 2026-03-05 停水\n", 1)));
  EXPECT_TRUE(working("g1", "e2", wednesday));
  EXPECT_FALSE(working("g1", "e2", thursday));
  EXPECT_FALSE(working("g1", "e1", wednesday));
  // A replay or an older version changes nothing; a withdrawal brings the group's back.
  EXPECT_FALSE(apply(Changed("g1", "e2", "year 2026\n", 1)));
  EXPECT_FALSE(working("g1", "e2", thursday));
  EXPECT_TRUE(apply(Changed("g1", "e2", "", 2)));
  EXPECT_FALSE(working("g1", "e2", wednesday));
  EXPECT_TRUE(working("g1", "e2", thursday));
  // Text that does not parse is kept as withdrawn.
  EXPECT_TRUE(apply(Changed("g1", "", "year 2026\nholiday 2026-03-06 x\n", 2)));
  EXPECT_TRUE(working("g1", "e1", wednesday));
}

// Issue 27: a change waits for whoever reads the group's calendars and readers wait for a
// change (the group's calendar lock); another group's calendars are not held up. Two
// connections; the waiting one is seen in pg_locks, no sleeps as assertions.
TEST(WorkCalendarStoreTest, AChangeWaitsForTheGroupsReadersAndOtherGroupsDoNot) {
  testing::TestDatabase database;
  std::unique_ptr<Db> db = database.Open(kNoServiceTables);
  pqxx::connection reader_conn(database.url()), writer_conn(database.url());
  auto waiting = [&] {
    pqxx::connection conn(database.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND classid = 1667329125 AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())")[0]
        .as<int>();
  };
  pqxx::work reader(reader_conn);
  EXPECT_TRUE(LoadWorkCalendar(reader, "g1", "e1").IsWorkingDay(absl::CivilDay(2026, 3, 4)));
  bool applied = false;
  std::thread writer([&] {
    pqxx::work tx(writer_conn);
    applied = ApplyCalendarChanged(tx, Changed("g1", "", "year 2026\noff 2026-03-04 停水\n", 1));
    tx.commit();
  });
  for (int i = 0; i < 6000 && waiting() < 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(waiting(), 1);
  // Another group reads on while g1's change waits.
  EXPECT_TRUE(LoadWorkCalendar(reader, "g2", "e1").IsWorkingDay(absl::CivilDay(2026, 3, 4)));
  reader.commit();
  writer.join();
  EXPECT_TRUE(applied);
  // A change holding the lock: a reader of the group waits, then reads the new calendar.
  pqxx::work change(writer_conn);
  ASSERT_TRUE(ApplyCalendarChanged(change, Changed("g1", "", "year 2026\noff 2026-03-05 停电\n", 2)));
  bool thursday = true;
  std::thread read([&] {
    pqxx::work tx(reader_conn);
    thursday = LoadWorkCalendar(tx, "g1", "e1").IsWorkingDay(absl::CivilDay(2026, 3, 5));
  });
  for (int i = 0; i < 6000 && waiting() < 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(waiting(), 1);
  change.commit();
  read.join();
  EXPECT_FALSE(thursday);
}

}  // namespace
}  // namespace wuye
