#include "shared/zone.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "shared/status.h"

namespace wuye {
namespace {

// Issue 20, item 8: a time-zone name from a request is never a file path.
TEST(Zone, PathsAndHugeNamesRefused) {
  const std::string huge(10000, 'A');
  for (const std::string& bad :
       {std::string("../etc/passwd"), std::string("../../../../etc/passwd"),
        std::string("/etc/localtime"), std::string("/usr/share/zoneinfo/Asia/Shanghai"),
        std::string("Asia/../Asia/Shanghai"), std::string("Asia/Shanghai/"), huge,
        std::string("Asia/Shanghai\n"), std::string("Asia/Shanghai\0x", 15), std::string(""),
        std::string("localtime"), std::string("posixrules"), std::string("zone.tab"),
        std::string("tzdata.zi"), std::string("right/UTC"), std::string("Mars/Olympus_Mons")}) {
    SCOPED_TRACE(bad.substr(0, 40));
    EXPECT_FALSE(IsIanaZoneName(bad));
    absl::Status s = CheckTimeZoneName(bad, "estate.time_zone");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(s), "estate.time_zone");
    EXPECT_FALSE(absl::StrContains(s.message(), "passwd"));
    absl::TimeZone tz = absl::UTCTimeZone();
    EXPECT_FALSE(LoadIanaZone(bad, &tz));
    EXPECT_EQ(tz, absl::UTCTimeZone());
  }
}

TEST(Zone, IanaNamesAccepted) {
  for (const char* good : {"Asia/Shanghai", "UTC", "Asia/Hong_Kong", "America/New_York",
                           "Etc/GMT+8", "Europe/London", "PRC"}) {
    SCOPED_TRACE(good);
    EXPECT_TRUE(IsIanaZoneName(good));
    EXPECT_TRUE(CheckTimeZoneName(good, "time_zone").ok());
    absl::TimeZone tz;
    ASSERT_TRUE(LoadIanaZone(good, &tz));
  }
  absl::TimeZone shanghai;
  ASSERT_TRUE(LoadIanaZone("Asia/Shanghai", &shanghai));
  EXPECT_EQ(absl::ToCivilHour(absl::FromUnixSeconds(0), shanghai), absl::CivilHour(1970, 1, 1, 8));
}

// Issue 21, item 3: one fallback for an estate's zone in every service, Asia/Shanghai (the
// seeds' estates are in mainland China), so one estate has one "today" everywhere.
TEST(Zone, EstateZoneFallsBackToShanghai) {
  EXPECT_EQ(EstateZone("").name(), "Asia/Shanghai");
  EXPECT_EQ(EstateZone("Nowhere/City").name(), "Asia/Shanghai");
  EXPECT_EQ(EstateZone("../etc/passwd").name(), "Asia/Shanghai");
  EXPECT_EQ(EstateZone("America/New_York").name(), "America/New_York");
  EXPECT_EQ(EstateZone("UTC").name(), "UTC");
  EXPECT_EQ(std::string(kDefaultEstateZone), "Asia/Shanghai");
  EXPECT_EQ(std::string(WUYE_SQL_DEFAULT_ESTATE_ZONE), "'Asia/Shanghai'");
  // 2026-11-30 17:00 UTC is already December 1st at an estate without a zone.
  absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 11, 30, 17, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(absl::ToCivilDay(t, EstateZone("")), absl::CivilDay(2026, 12, 1));
}

}  // namespace
}  // namespace wuye
