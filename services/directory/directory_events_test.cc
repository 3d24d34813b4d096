// The directory's event payloads made from its resources (directory_events.h): pure.
#include "services/directory/directory_events.h"

#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"
#include "shared/phone_key.h"

namespace wuye::directory {
namespace {

namespace ev = ::wuye::events::v1;

// The event enums copy the API's (directory_events.proto): same names, same numbers, so a
// value converts by its number.
void ExpectSameEnum(const google::protobuf::EnumDescriptor* api,
                    const google::protobuf::EnumDescriptor* event) {
  ASSERT_EQ(api->value_count(), event->value_count()) << event->full_name();
  for (int i = 0; i < api->value_count(); ++i) {
    const auto* value = event->FindValueByNumber(api->value(i)->number());
    ASSERT_NE(value, nullptr) << api->value(i)->full_name();
    EXPECT_EQ(value->name(), api->value(i)->name());
  }
}

TEST(DirectoryEvents, EnumsHaveTheApisNamesAndNumbers) {
  ExpectSameEnum(v1::UnitType_descriptor(), ev::UnitType_descriptor());
  ExpectSameEnum(v1::Occupancy_descriptor(), ev::Occupancy_descriptor());
  ExpectSameEnum(v1::ResidentRole_descriptor(), ev::ResidentRole_descriptor());
  ExpectSameEnum(v1::StaffRole_descriptor(), ev::StaffRole_descriptor());
  ExpectSameEnum(v1::Skill_descriptor(), ev::Skill_descriptor());
}

// Seed 000_… 二.5 (有业主通话记录): intake matches a carrier-log call with a resident's number
// by its hash; the event carries the hash of the number as intake reads a caller's, never
// the number, and nothing without the key or for a number that is no caller's.
TEST(DirectoryEvents, AResidentsNumberTravelsOnlyAsTheCallersHash) {
  const std::string key = "directory-events-test-key-0123456789abcdef";
  v1::Resident r;
  r.set_id("r-1");
  r.set_name("张伟");
  r.set_phone("+8613900139000");  // as the directory stores "+86 139-0013-9000"
  r.set_role(v1::RESIDENT_ROLE_OWNER);
  r.mutable_date_of_birth()->set_year(1950);
  r.mutable_date_of_birth()->set_month(3);
  r.mutable_date_of_birth()->set_day(14);
  ev::ResidentChanged e = ResidentChangedOf(r, key);
  EXPECT_EQ(e.phone_hash(), HashPhone(key, "13900139000"));
  EXPECT_EQ(e.role(), ev::RESIDENT_ROLE_OWNER);
  EXPECT_EQ(e.date_of_birth().year(), 1950);
  EXPECT_FALSE(e.has_lease_start());  // unset dates stay absent
  std::string bytes = e.SerializeAsString();
  EXPECT_EQ(bytes.find("13900139000"), std::string::npos);
  EXPECT_EQ(bytes.find("张伟"), std::string::npos);

  EXPECT_TRUE(ResidentChangedOf(r, "").phone_hash().empty());
  r.set_phone("+1234567890123456");  // more digits than a caller's number has
  EXPECT_TRUE(ResidentChangedOf(r, key).phone_hash().empty());
}

TEST(DirectoryEvents, AnEstateWithoutDeskHoursHasItsDeskOpenAroundTheClock) {
  v1::Estate e;
  e.set_id("e-1");
  EXPECT_TRUE(EstateChangedOf(e).desk_24h());
  e.mutable_desk_opens()->set_hours(8);
  e.mutable_desk_closes()->set_hours(20);
  e.mutable_desk_closes()->set_minutes(30);
  ev::EstateChanged hours = EstateChangedOf(e);
  EXPECT_FALSE(hours.desk_24h());
  EXPECT_EQ(hours.desk_opens_minute(), 8 * 60);
  EXPECT_EQ(hours.desk_closes_minute(), 20 * 60 + 30);
  e.set_desk_24h(true);
  EXPECT_TRUE(EstateChangedOf(e).desk_24h());
  e.set_duty_phone("057187650000");
  EXPECT_EQ(EstateChangedOf(e).SerializeAsString().find("057187650000"), std::string::npos);
}

TEST(DirectoryEvents, StaffCarryNoNameOrPhone) {
  v1::Staff s;
  s.set_id("s-1");
  s.set_name("李师傅");
  s.set_phone("13900000000");
  s.add_roles(v1::STAFF_ROLE_CARE_WORKER);
  s.add_skills(v1::SKILL_ELDERLY_CARE);
  s.add_home_estate_ids("e-1");
  s.set_active(true);
  s.mutable_start_date()->set_year(2026);
  s.mutable_start_date()->set_month(2);
  s.mutable_start_date()->set_day(1);
  s.set_version(4);
  ev::StaffChanged e = StaffChangedOf(s);
  EXPECT_EQ(e.staff_id(), "s-1");
  ASSERT_EQ(e.roles_size(), 1);
  EXPECT_EQ(e.roles(0), ev::STAFF_ROLE_CARE_WORKER);
  EXPECT_EQ(e.skills(0), ev::SKILL_ELDERLY_CARE);
  EXPECT_EQ(e.start_date().month(), 2);
  EXPECT_EQ(e.version(), 4);
  std::string bytes = e.SerializeAsString();
  EXPECT_EQ(bytes.find("李师傅"), std::string::npos);
  EXPECT_EQ(bytes.find("13900000000"), std::string::npos);
}

}  // namespace
}  // namespace wuye::directory
