// The directory's domain rules, without I/O.
#include "services/directory/directory.h"

#include <gtest/gtest.h>

#include "shared/ids.h"
#include "shared/status.h"

namespace wuye::directory {
namespace {

TEST(ParseArea, AcceptsDecimalsWithAtMostTwoPlaces) {
  EXPECT_EQ(*ParseArea("89.5", "a"), 8950);
  EXPECT_EQ(*ParseArea("120.25", "a"), 12025);
  EXPECT_EQ(*ParseArea("7", "a"), 700);
  EXPECT_EQ(*ParseArea("0.01", "a"), 1);
  EXPECT_EQ(*ParseArea("99999.99", "a"), 9999999);
}

TEST(ParseArea, RefusesEverythingElseNamingTheField) {
  for (const char* bad : {"", "0", "0.00", "-1", "1.234", "1.", ".5", "1e3", "abc", " 12", "12 ",
                          "1,5", "100000", "123456", "NaN", "+5"}) {
    auto area = ParseArea(bad, "unit.building_area_m2");
    ASSERT_FALSE(area.ok()) << bad;
    EXPECT_EQ(area.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(area.status()), "unit.building_area_m2") << bad;
  }
}

TEST(FormatArea, AlwaysTwoDecimals) {
  EXPECT_EQ(FormatArea(8950), "89.50");
  EXPECT_EQ(FormatArea(1), "0.01");
  EXPECT_EQ(FormatArea(700), "7.00");
}

// Names are one line of characters, not bytes (shared/text.h; text_test.cc has the rest).
TEST(Names, CountCharactersNotBytes) {
  v1::Building b;
  b.set_estate_id(NewId(absl::Now()));
  std::string name;
  for (int i = 0; i < 64; ++i) name += "楼";  // 64 characters, 192 bytes
  b.set_name(name);
  EXPECT_TRUE(PrepareBuilding(b, "building").ok());
  b.set_name(name + "楼");
  EXPECT_EQ(ErrorField(PrepareBuilding(b, "building")), "building.name");
  for (const std::string& bad :
       {std::string(" \t"), std::string("1\n号楼"), std::string("\xff\xfe")}) {
    b.set_name(bad);
    EXPECT_EQ(ErrorField(PrepareBuilding(b, "building")), "building.name");
  }
}

TEST(NormalizePhone, KeepsDigitsAndALeadingPlus) {
  EXPECT_EQ(*NormalizePhone("+86 138-0013-8000", "p"), "+8613800138000");
  EXPECT_EQ(*NormalizePhone("0755 8888 1234", "p"), "075588881234");
  EXPECT_FALSE(NormalizePhone("12345", "p").ok());
  EXPECT_FALSE(NormalizePhone("1380013800012345678", "p").ok());
  EXPECT_FALSE(NormalizePhone("138x0013800", "p").ok());
  EXPECT_FALSE(NormalizePhone("138+0013800", "p").ok());
}

TEST(NormalizePhone, ErrorsNeverQuoteTheNumber) {
  auto phone = NormalizePhone("13800138000999999", "resident.phone");
  ASSERT_FALSE(phone.ok());
  EXPECT_EQ(phone.status().message().find("13800"), absl::string_view::npos);
}

// 000_…, 二.5 (实行每日24小时服务接待): a residential estate's desk is open 24 hours unless
// it gives hours; other estates default to 08:00-20:00.
TEST(PrepareEstate, FillsDefaults) {
  v1::Estate e;
  e.set_name("Sunny Gardens");
  e.set_management_fee_fen_per_m2(150);
  ASSERT_TRUE(PrepareEstate(e, "estate").ok());
  EXPECT_EQ(e.time_zone(), "Asia/Shanghai");
  EXPECT_TRUE(e.desk_24h());
  EXPECT_FALSE(e.has_desk_opens());
  EXPECT_FALSE(e.has_desk_closes());
  EXPECT_EQ(e.kind(), v1::ESTATE_KIND_RESIDENTIAL);

  v1::Estate office;
  office.set_name("Finance Tower");
  office.set_kind(v1::ESTATE_KIND_OFFICE);
  office.set_management_fee_fen_per_m2(800);
  office.set_duty_phone("+86 21-5888 0000");
  ASSERT_TRUE(PrepareEstate(office, "estate").ok());
  EXPECT_FALSE(office.desk_24h());
  EXPECT_EQ(office.desk_opens().hours(), 8);
  EXPECT_EQ(office.desk_closes().hours(), 20);
  EXPECT_EQ(office.duty_phone(), "+862158880000");
}

TEST(PrepareEstate, NamesTheBrokenField) {
  auto field_of = [](std::function<void(v1::Estate&)> edit) {
    v1::Estate e;
    e.set_name("Sunny Gardens");
    e.set_management_fee_fen_per_m2(150);
    edit(e);
    return ErrorField(PrepareEstate(e, "estate"));
  };
  EXPECT_EQ(field_of([](v1::Estate& e) { e.clear_name(); }), "estate.name");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.set_time_zone("Asia/Nowhere"); }), "estate.time_zone");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.set_management_fee_fen_per_m2(-1); }),
            "estate.management_fee_fen_per_m2");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.set_household_count(-1); }), "estate.household_count");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.mutable_desk_opens()->set_hours(24); }),
            "estate.desk_opens");
  EXPECT_EQ(field_of([](v1::Estate& e) {
              e.set_desk_24h(true);
              e.mutable_desk_closes()->set_hours(20);
            }),
            "estate.desk_24h");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.set_duty_phone("ask the guard"); }),
            "estate.duty_phone");
  EXPECT_EQ(field_of([](v1::Estate& e) { e.set_kind(static_cast<v1::EstateKind>(99)); }),
            "estate.kind");
}

TEST(PrepareResident, RefusesFutureBirthAndLeasesOfNonTenants) {
  v1::Date today;
  today.set_year(2026);
  today.set_month(11);
  today.set_day(24);
  v1::Resident r;
  r.set_unit_id(NewId(absl::Now()));
  r.set_name("Chen");
  r.set_role(v1::RESIDENT_ROLE_OWNER);
  r.mutable_date_of_birth()->set_year(2026);
  r.mutable_date_of_birth()->set_month(11);
  r.mutable_date_of_birth()->set_day(25);
  EXPECT_EQ(ErrorField(PrepareResident(r, "resident", today)), "resident.date_of_birth");
  r.mutable_date_of_birth()->set_day(24);
  EXPECT_TRUE(PrepareResident(r, "resident", today).ok());
  r.mutable_date_of_birth()->set_month(2);
  r.mutable_date_of_birth()->set_day(30);
  EXPECT_EQ(ErrorField(PrepareResident(r, "resident", today)), "resident.date_of_birth");
  r.clear_date_of_birth();
  r.mutable_lease_start()->set_year(2026);
  r.mutable_lease_start()->set_month(1);
  r.mutable_lease_start()->set_day(1);
  EXPECT_EQ(ErrorField(PrepareResident(r, "resident", today)), "resident.lease_start");
  r.set_role(v1::RESIDENT_ROLE_TENANT);
  EXPECT_TRUE(PrepareResident(r, "resident", today).ok());
  r.mutable_lease_end()->set_year(2025);
  r.mutable_lease_end()->set_month(1);
  r.mutable_lease_end()->set_day(1);
  EXPECT_EQ(ErrorField(PrepareResident(r, "resident", today)), "resident.lease_end");
}

TEST(PrepareStaff, NeedsRolesAndEstates) {
  v1::Staff s;
  s.set_name("Li");
  EXPECT_EQ(ErrorField(PrepareStaff(s, "staff")), "staff.roles");
  s.add_roles(v1::STAFF_ROLE_TECHNICIAN);
  EXPECT_EQ(ErrorField(PrepareStaff(s, "staff")), "staff.home_estate_ids");
  s.add_home_estate_ids("nope");
  EXPECT_EQ(ErrorField(PrepareStaff(s, "staff")), "staff.home_estate_ids");
  s.set_home_estate_ids(0, NewId(absl::Now()));
  EXPECT_TRUE(PrepareStaff(s, "staff").ok());
  s.add_skills(static_cast<v1::Skill>(0));
  EXPECT_EQ(ErrorField(PrepareStaff(s, "staff")), "staff.skills");
}

TEST(CheckShift, BetweenOneMinuteAndOneDay) {
  v1::Shift s;
  s.set_estate_id(NewId(absl::Now()));
  s.set_staff_id(NewId(absl::Now()));
  s.mutable_start_time()->set_seconds(1000000);
  s.mutable_end_time()->set_seconds(1000030);
  EXPECT_EQ(ErrorField(CheckShift(s, "shift")), "shift.end_time");
  s.mutable_end_time()->set_seconds(1000000 + 8 * 3600);
  EXPECT_TRUE(CheckShift(s, "shift").ok());
  s.mutable_end_time()->set_seconds(1000000 + 25 * 3600);
  EXPECT_EQ(ErrorField(CheckShift(s, "shift")), "shift.end_time");
}

TEST(CheckMask, OnlyListedFields) {
  google::protobuf::FieldMask mask;
  EXPECT_EQ(ErrorField(CheckMask(mask, {"name"})), "update_mask");
  mask.add_paths("name");
  EXPECT_TRUE(CheckMask(mask, {"name", "kind"}).ok());
  mask.add_paths("group_id");
  EXPECT_EQ(ErrorField(CheckMask(mask, {"name", "kind"})), "update_mask");
}

}  // namespace
}  // namespace wuye::directory
