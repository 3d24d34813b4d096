#include "shared/work_calendar_store.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wuye
