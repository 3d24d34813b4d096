// The counter's shared rules: the settings' defaults from the seeds and their checks.
#include "services/counter/counter.h"

#include <gtest/gtest.h>

#include "shared/status.h"

namespace wuye::counter {
namespace {

std::string Field(const absl::Status& s) { return ErrorField(s); }

// 003_… Q10: 装修单元正常施工时间为每天上午8:00至12:00，下午14:00至18:00.
TEST(CounterSettingsTest, WorkingHoursDefaultToTheSeedsWindows) {
  pb::Settings s = DefaultSettings();
  ASSERT_EQ(s.working_hours_size(), 2);
  EXPECT_FALSE(InWindows(s.working_hours(), 7 * 60 + 59));
  EXPECT_TRUE(InWindows(s.working_hours(), 8 * 60));
  EXPECT_TRUE(InWindows(s.working_hours(), 11 * 60 + 59));
  EXPECT_FALSE(InWindows(s.working_hours(), 12 * 60));
  EXPECT_FALSE(InWindows(s.working_hours(), 13 * 60 + 59));
  EXPECT_TRUE(InWindows(s.working_hours(), 14 * 60));
  EXPECT_FALSE(InWindows(s.working_hours(), 18 * 60));
  EXPECT_TRUE(CheckSettings(s, "settings").ok());
}

// 003_… Q9: 装修平面图、电路走向图、给排水布置图, and the signed 装修责任承诺书.
TEST(CounterSettingsTest, RequiredDocumentsDefaultToTheSeedsDrawingsAndTheUndertaking) {
  pb::Settings s = DefaultSettings();
  ASSERT_EQ(s.required_documents_size(), 4);
  EXPECT_EQ(s.required_documents(0), pb::DOCUMENT_KIND_FLOOR_PLAN);
  EXPECT_EQ(s.required_documents(1), pb::DOCUMENT_KIND_WIRING_PLAN);
  EXPECT_EQ(s.required_documents(2), pb::DOCUMENT_KIND_PLUMBING_PLAN);
  EXPECT_EQ(s.required_documents(3), pb::DOCUMENT_KIND_UNDERTAKING);
}

// 003_… Q3 (answer "5522216"): 屋面防水 5 年; 渗漏 5 年; 地面空鼓开裂 2 年; 门窗 2 年;
// 管道堵塞 2 年; 卫生洁具 1 年; 灯具、电器开关 6 个月.
TEST(CounterSettingsTest, WarrantyPeriodsAreTheSeedsAnswer) {
  pb::Settings s = DefaultSettings();
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_ROOF_WATERPROOFING), 60);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_LEAKAGE), 60);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_FLOOR_CRACKING), 24);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_DOORS_WINDOWS), 24);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_PIPE_BLOCKAGE), 24);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_SANITARY_WARE), 12);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_LIGHTING_SWITCHES), 6);
  EXPECT_EQ(WarrantyMonths(s, pb::DEFECT_CATEGORY_OTHER), 0);
}

TEST(CounterSettingsTest, BadSettingsNameTheirField) {
  pb::Settings s = DefaultSettings();
  s.mutable_working_hours(1)->mutable_start()->set_hours(11);  // overlaps 08–12
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.working_hours");
  s = DefaultSettings();
  s.mutable_working_hours(0)->mutable_end()->set_hours(7);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.working_hours[0]");
  s = DefaultSettings();
  s.mutable_working_hours(0)->mutable_start()->set_minutes(60);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.working_hours[0].start");
  s = DefaultSettings();
  s.clear_working_hours();
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.working_hours");
  s = DefaultSettings();
  s.set_renovation_deposit_fen(-1);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.renovation_deposit_fen");
  s = DefaultSettings();
  s.add_required_documents(pb::DOCUMENT_KIND_UNSPECIFIED);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.required_documents[4]");
  s = DefaultSettings();
  s.mutable_warranty(1)->set_category(pb::DEFECT_CATEGORY_STRUCTURE);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.warranty[1].category");
  s = DefaultSettings();
  s.mutable_warranty(0)->set_months(1201);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.warranty[0].months");
  s = DefaultSettings();
  s.set_card_replacement_fee_fen(100001);
  EXPECT_EQ(Field(CheckSettings(s, "settings")), "settings.card_replacement_fee_fen");
}

TEST(CounterDatesTest, OnlyRealDates) {
  pb::Date d;
  d.set_year(2026);
  d.set_month(2);
  d.set_day(29);
  EXPECT_EQ(Field(DayOf(d, "start_date").status()), "start_date");
  d.set_day(28);
  ASSERT_TRUE(DayOf(d, "start_date").ok());
  EXPECT_EQ(DayText(*DayOf(d, "start_date")), "2026-02-28");
}

}  // namespace
}  // namespace wuye::counter
