#include "shared/work_calendar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace wuye {
namespace {

using ::testing::HasSubstr;

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

absl::Time At(const char* civil, const absl::TimeZone& tz) {
  absl::CivilSecond cs;
  EXPECT_TRUE(absl::ParseCivilTime(civil, &cs)) << civil;
  return absl::FromCivil(cs, tz);
}

std::string Local(absl::Time t, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%dT%H:%M", t, tz);
}

absl::CivilDay Day(int y, int m, int d) { return absl::CivilDay(y, m, d); }

// 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), as shared/calendars/cn-2026.txt
// ships it: the holidays are days off whatever the weekday, the make-up days are working
// Saturdays and Sundays.
TEST(WorkCalendarTest, TheShippedYearIsTheStateCouncilsArrangementFor2026) {
  WorkCalendar cn = WorkCalendar::National();
  ASSERT_TRUE(cn.HasYear(2026));
  EXPECT_THAT(std::string(cn.Source(2026)), HasSubstr("2026年部分节假日安排"));
  // 一、元旦 1月1日至3日放假调休, 1月4日（周日）上班.
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 1, 1)));
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 1, 4)));
  // 二、春节 2月15日至23日放假调休, 2月14日（周六）、2月28日（周六）上班.
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 2, 14)));
  for (int d = 15; d <= 23; ++d) EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 2, d))) << d;
  EXPECT_EQ(cn.DayName(Day(2026, 2, 16)), "春节");
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 2, 24)));
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 2, 28)));
  // 三、清明节 4月4日至6日 (a Monday off); 四、劳动节 5月1日至5日, 5月9日（周六）上班.
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 4, 6)));
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 5, 5)));
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 5, 9)));
  // 五、端午节 6月19日至21日; 六、中秋节 9月25日至27日.
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 6, 19)));
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 9, 25)));
  // 七、国庆节 10月1日至7日, 9月20日（周日）、10月10日（周六）上班.
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 9, 20)));
  for (int d = 1; d <= 7; ++d) EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 10, d))) << d;
  EXPECT_TRUE(cn.IsWorkingDay(Day(2026, 10, 10)));
  // An ordinary weekend, and a year no arrangement covers: Monday to Friday, less the
  // fixed-date holidays (2031-01-01, a Wednesday, is 元旦 all the same).
  EXPECT_FALSE(cn.IsWorkingDay(Day(2026, 3, 7)));
  EXPECT_EQ(cn.DayName(Day(2026, 3, 7)), "周末");
  EXPECT_FALSE(cn.IsWorkingDay(Day(2031, 1, 1)));
  EXPECT_TRUE(cn.IsWorkingDay(Day(2031, 1, 2)));
}

TEST(WorkCalendarTest, SevenWorkingDaysAcrossTheSpringFestivalCountItsMakeUpSaturdays) {
  WorkCalendar cn = WorkCalendar::National();
  absl::TimeZone sh = Zone("Asia/Shanghai");
  // A 12345 order received Thursday 2026-02-12 10:00 with 7 working days: Thu (14 h), Fri,
  // the make-up Saturday 02-14, then nothing until Tuesday 02-24, Tue–Fri, and the second
  // make-up Saturday 02-28 brings it to 7 × 24 h at 10:00.
  absl::Time received = At("2026-02-12T10:00:00", sh);
  absl::Time due = cn.Advance(received, absl::Hours(7 * 24), SlaClock::kWorkingDays, sh);
  EXPECT_EQ(Local(due, sh), "2026-02-28T10:00");
  EXPECT_EQ(cn.Counted(received, due, SlaClock::kWorkingDays, sh), absl::Hours(7 * 24));
  std::vector<SkippedDays> skipped = cn.Skipped(received, due, SlaClock::kWorkingDays, sh);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], (SkippedDays{Day(2026, 2, 15), Day(2026, 2, 23), "春节"}));
  EXPECT_THAT(cn.Explain(received, due, SlaClock::kWorkingDays, sh),
              HasSubstr("2026-02-28（周六）10:00 到期；不计：2026-02-15至2026-02-23 春节"));
  // On the clock the same week is a week.
  EXPECT_EQ(Local(cn.Advance(received, absl::Hours(7 * 24), SlaClock::kElapsed, sh), sh),
            "2026-02-19T10:00");
}

TEST(WorkCalendarTest, OfficeHoursAcrossNationalDaySkipTheHolidayAndTheNights) {
  WorkCalendar cn = WorkCalendar::National();
  absl::TimeZone sh = Zone("Asia/Shanghai");
  // A written reply due in 4 office hours, asked for Wednesday 2026-09-30 at 16:00: 1.5 h that
  // afternoon, the holiday 10-01..10-07 skipped, 2.5 h on Thursday 10-08 from 09:00.
  absl::Time asked = At("2026-09-30T16:00:00", sh);
  absl::Time due = cn.Advance(asked, absl::Hours(4), SlaClock::kOfficeHours, sh);
  EXPECT_EQ(Local(due, sh), "2026-10-08T11:30");
  // The lunch break does not count: 3 h from Thursday 10:00 end at 14:30.
  EXPECT_EQ(
      Local(cn.Advance(At("2026-10-08T10:00:00", sh), absl::Hours(3), SlaClock::kOfficeHours, sh),
            sh),
      "2026-10-08T14:30");
  std::string why = cn.Explain(asked, due, SlaClock::kOfficeHours, sh);
  EXPECT_THAT(why, HasSubstr("2026-10-01至2026-10-07 国庆节"));
  EXPECT_THAT(why, HasSubstr("只计办公时间 09:00-12:00 13:30-17:30"));
  // Asked after hours on a working day: the clock starts at the next opening.
  EXPECT_EQ(Local(cn.Advance(At("2026-09-30T20:00:00", sh), absl::Minutes(30),
                             SlaClock::kOfficeHours, sh),
                  sh),
            "2026-10-08T09:30");
}

TEST(WorkCalendarTest, AWorkingDayThatADaylightSavingChangeShortensCounts23Hours) {
  // New York springs forward on Sunday 2026-03-08; a group there that made that Sunday a
  // working day counts 23 hours for it.
  absl::StatusOr<CalendarYear> year = ParseCalendarYear("year 2026\nwork 2026-03-08 make-up day\n");
  ASSERT_TRUE(year.ok()) << year.status();
  WorkCalendar cal;
  cal.SetYear(*year);
  absl::TimeZone ny = Zone("America/New_York");
  absl::Time sunday = At("2026-03-08T00:00:00", ny);
  absl::Time monday = At("2026-03-09T00:00:00", ny);
  EXPECT_EQ(cal.Counted(sunday, monday, SlaClock::kWorkingDays, ny), absl::Hours(23));
  EXPECT_EQ(Local(cal.Advance(sunday, absl::Hours(24), SlaClock::kWorkingDays, ny), ny),
            "2026-03-09T01:00");
  // Office hours keep their local times on both sides of the change.
  EXPECT_EQ(
      Local(cal.Advance(At("2026-03-06T17:00:00", ny), absl::Hours(1), SlaClock::kOfficeHours, ny),
            ny),
      "2026-03-08T09:30");
}

TEST(WorkCalendarTest, ACalendarEditedMidDeadlineKeepsTheTimeAlreadySpent) {
  absl::TimeZone sh = Zone("Asia/Shanghai");
  WorkCalendar before = WorkCalendar::National();
  // Three working days from Monday 2026-03-02 09:00: due Thursday 09:00.
  SlaProgress p{absl::ZeroDuration(), At("2026-03-02T09:00:00", sh), true};
  absl::Duration window = absl::Hours(72);
  EXPECT_EQ(Local(DueTime(p, window, before, SlaClock::kWorkingDays, sh), sh), "2026-03-05T09:00");
  // Tuesday 09:00 the group declares Wednesday a day off: 24 h were spent on the old calendar
  // and stay spent; the rest runs on the new one, so the deadline moves to Friday.
  p = Settle(p, At("2026-03-03T09:00:00", sh), before, SlaClock::kWorkingDays, sh);
  EXPECT_EQ(p.spent, absl::Hours(24));
  WorkCalendar after = before;
  CalendarYear edited = *ParseCalendarYear(FormatCalendarYear(NationalCalendarYears()[0]) +
                                           "off 2026-03-04 停电检修\n");
  after.SetYear(edited);
  EXPECT_EQ(Local(DueTime(p, window, after, SlaClock::kWorkingDays, sh), sh), "2026-03-06T09:00");
  // Paused for the resident Tuesday 12:00 to Thursday 12:00: the two days do not count.
  p = Settle(p, At("2026-03-03T12:00:00", sh), after, SlaClock::kWorkingDays, sh);
  p.running = false;
  EXPECT_EQ(DueTime(p, window, after, SlaClock::kWorkingDays, sh), absl::InfiniteFuture());
  p = Settle(p, At("2026-03-05T12:00:00", sh), after, SlaClock::kWorkingDays, sh);
  EXPECT_EQ(p.spent, absl::Hours(27));
  p.running = true;
  EXPECT_EQ(Local(DueTime(p, window, after, SlaClock::kWorkingDays, sh), sh), "2026-03-09T09:00");
}

TEST(WorkCalendarTest, AFileRoundTrips) {
  const CalendarYear& y2026 = NationalCalendarYears().at(0);
  EXPECT_EQ(y2026.year, 2026);
  EXPECT_EQ(*ParseCalendarYear(FormatCalendarYear(y2026)), y2026);
  absl::StatusOr<CalendarYear> custom = ParseCalendarYear(
      "# a group's own hours\nyear 2027\nsource 集团通知\noffice 08:30-12:00 14:00-18:00\n"
      "off 2027-01-01 元旦\n");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->office, (std::vector<OfficeSpan>{{510, 720}, {840, 1080}}));
  EXPECT_EQ(*ParseCalendarYear(FormatCalendarYear(*custom)), *custom);
}

// Issue 27 §1 (estate overrides): an estate that closes its office one extra day, or works
// through a holiday, says only that; the State Council's year stays beneath it.
TEST(WorkCalendarTest, AnOverlayChangesOnlyTheDaysItNames) {
  absl::StatusOr<CalendarYear> overlay = ParseCalendarYear(
      "year 2026\nmode overlay\nsource 管理处通知\n"
      "off 2026-12-18 年终盘点\nwork 2026-10-05 国庆值守\n");
  ASSERT_TRUE(overlay.ok()) << overlay.status();
  EXPECT_TRUE(overlay->overlay);
  EXPECT_EQ(*ParseCalendarYear(FormatCalendarYear(*overlay)), *overlay);
  WorkCalendar calendar = WorkCalendar::National();
  calendar.SetYear(*overlay);
  EXPECT_FALSE(calendar.IsWorkingDay(Day(2026, 12, 18)));  // a Friday, closed
  EXPECT_EQ(calendar.DayName(Day(2026, 12, 18)), "年终盘点");
  EXPECT_TRUE(calendar.IsWorkingDay(Day(2026, 10, 5)));   // a National Day holiday, worked
  EXPECT_FALSE(calendar.IsWorkingDay(Day(2026, 10, 6)));  // the rest of the holiday stays
  EXPECT_FALSE(calendar.IsWorkingDay(Day(2026, 2, 16)));  // 春节 stays
  EXPECT_TRUE(calendar.IsWorkingDay(Day(2026, 2, 28)));   // its make-up Saturday stays
  EXPECT_EQ(calendar.OfficeHours(2026), DefaultOfficeHours());
  EXPECT_THAT(std::string(calendar.Source(2026)), HasSubstr("国务院办公厅"));
  EXPECT_THAT(std::string(calendar.Source(2026)), HasSubstr("管理处通知"));
  std::optional<CalendarYear> merged = calendar.YearOf(2026);
  ASSERT_TRUE(merged.has_value());
  EXPECT_FALSE(merged->overlay);
  EXPECT_EQ(merged->days.size(), NationalCalendarYears().at(0).days.size() + 1);
  // Office hours named by an overlay replace the year's; a whole year replaces everything.
  calendar.SetYear(*ParseCalendarYear("year 2026\nmode overlay\noffice 08:30-17:00\n"));
  EXPECT_EQ(calendar.OfficeHours(2026), (std::vector<OfficeSpan>{{510, 1020}}));
  EXPECT_FALSE(calendar.IsWorkingDay(Day(2026, 12, 18)));
  calendar.SetYear(*ParseCalendarYear("year 2026\n"));
  EXPECT_TRUE(calendar.IsWorkingDay(Day(2026, 2, 16)));
  EXPECT_TRUE(calendar.IsWorkingDay(Day(2026, 12, 18)));
  EXPECT_FALSE(calendar.YearOf(2031).has_value());
}

// Issue 27 §1 ("the State Council's published arrangement for 2026 (and 2027 where it has
// been published) shipped as data"): the notice for 2027 is not out yet, so only cn-2026
// ships. A deadline that runs into 2027 counts its days Monday to Friday less the holidays of
// fixed dates that 全国年节及纪念日放假办法 第二条 gives every year (元旦 1 January, 劳动节
// 1–2 May, 国庆节 1–3 October), and its reason says the year's arrangement is not loaded, so
// that a desk is not misled about the lunar holidays and make-up days.
TEST(WorkCalendarTest, ADeadlineIntoAYearWithNoArrangementSaysTheYearIsNotLoaded) {
  WorkCalendar cn = WorkCalendar::National();
  absl::TimeZone sh = Zone("Asia/Shanghai");
  EXPECT_TRUE(cn.HasArrangement(2026));
  EXPECT_FALSE(cn.HasArrangement(2027));
  // 5 working days from Tuesday 2026-12-29 10:00: Tue 14 h, Wed, Thu, (Friday 2027-01-01 is
  // 元旦, the weekend), Mon, Tue, and Wednesday 2027-01-06 until 10:00.
  absl::Time received = At("2026-12-29T10:00:00", sh);
  absl::Time due = cn.Advance(received, absl::Hours(5 * 24), SlaClock::kWorkingDays, sh);
  EXPECT_EQ(Local(due, sh), "2027-01-06T10:00");
  EXPECT_EQ(cn.Explain(received, due, SlaClock::kWorkingDays, sh),
            "2027-01-06（周三）10:00 到期；不计：2027-01-01 元旦（法定），2027-01-02至2027-01-03 "
            "周末；未载入2027年节假日安排，按周一至周五计（元旦、劳动节、国庆节的法定假日已除，"
            "春节等农历节日与调休未计）");
  // The other fixed dates; 2 May only since the 2024 revision (in force 2025).
  for (absl::CivilDay d :
       {absl::CivilDay(2027, 5, 1), absl::CivilDay(2027, 5, 2), absl::CivilDay(2027, 10, 1),
        absl::CivilDay(2027, 10, 3), absl::CivilDay(2028, 1, 1)}) {
    EXPECT_FALSE(cn.IsWorkingDay(d)) << d;
  }
  EXPECT_TRUE(cn.IsWorkingDay(absl::CivilDay(2027, 10, 4)));  // a Monday: no notice, no 调休
  EXPECT_EQ(cn.DayName(absl::CivilDay(2027, 10, 2)), "国庆节（法定）");
  EXPECT_TRUE(WorkCalendar().IsWorkingDay(absl::CivilDay(2024, 5, 2)));  // a Thursday then
  EXPECT_FALSE(WorkCalendar().IsWorkingDay(absl::CivilDay(2024, 5, 1)));
  // An estate's overlay on such a year has the last word on the days it names.
  WorkCalendar duty = cn;
  duty.SetYear(*ParseCalendarYear("year 2027\nmode overlay\nwork 2027-10-01 国庆值守\n"));
  EXPECT_TRUE(duty.IsWorkingDay(absl::CivilDay(2027, 10, 1)));
  EXPECT_EQ(duty.DayName(absl::CivilDay(2027, 10, 1)), "国庆值守");
  EXPECT_FALSE(duty.IsWorkingDay(absl::CivilDay(2027, 10, 2)));
  // An arranged year says what its notice says: 2026-10-03 is 国庆节 there too, by name.
  EXPECT_EQ(cn.DayName(absl::CivilDay(2026, 10, 3)), "国庆节");
  EXPECT_THAT(
      cn.Explain(received, cn.Advance(received, absl::Hours(24), SlaClock::kOfficeHours, sh),
                 SlaClock::kOfficeHours, sh),
      HasSubstr("未载入2027年节假日安排"));
  // Within 2026, and on the clock (which no calendar changes), nothing is said.
  absl::Time in_2026 = cn.Advance(received, absl::Hours(24), SlaClock::kWorkingDays, sh);
  EXPECT_EQ(cn.Explain(received, in_2026, SlaClock::kWorkingDays, sh),
            "2026-12-30（周三）10:00 到期");
  EXPECT_EQ(cn.Explain(received, received + absl::Hours(120), SlaClock::kElapsed, sh),
            "2027-01-03（周日）10:00 到期");
  // A year not loaded at either end is named, and each of them.
  EXPECT_THAT(WorkCalendar().Explain(At("2025-12-31T10:00:00", sh), At("2027-01-04T10:00:00", sh),
                                     SlaClock::kWorkingDays, sh),
              HasSubstr("未载入2025、2026、2027年节假日安排"));
  // An estate's overlay alone does not arrange the year: the holidays are still unknown.
  WorkCalendar overlaid = cn;
  overlaid.SetYear(*ParseCalendarYear("year 2027\nmode overlay\noff 2027-01-04 盘点\n"));
  EXPECT_FALSE(overlaid.HasArrangement(2027));
  EXPECT_THAT(
      overlaid.Explain(received,
                       overlaid.Advance(received, absl::Hours(5 * 24), SlaClock::kWorkingDays, sh),
                       SlaClock::kWorkingDays, sh),
      HasSubstr("未载入2027年节假日安排"));
  // The group imports the notice once it is out: the year is arranged, the note goes.
  WorkCalendar imported = cn;
  imported.SetYear(
      *ParseCalendarYear("year 2027\nsource 国务院办公厅关于2027年部分节假日安排的通知"
                         "\noff 2027-01-01..2027-01-03 元旦\n"));
  EXPECT_TRUE(imported.HasArrangement(2027));
  absl::Time later = imported.Advance(received, absl::Hours(5 * 24), SlaClock::kWorkingDays, sh);
  EXPECT_EQ(Local(later, sh), "2027-01-06T10:00");
  EXPECT_EQ(imported.Explain(received, later, SlaClock::kWorkingDays, sh),
            "2027-01-06（周三）10:00 到期；不计：2027-01-01至2027-01-03 元旦");
}

TEST(WorkCalendarTest, ABadFileIsRefusedNamingItsLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"", "no `year` line"},
           {"off 2026-01-01 元旦\n", "line 1: the file starts with its `year` line"},
           {"year 1999\n", "line 1: `year` takes a year"},
           {"year 2026\nyear 2026\n", "line 2: a second `year` line"},
           {"year 2026\noff 2027-01-01 元旦\n", "line 2: days of the file are in 2026"},
           {"year 2026\noff 2026-02-30 x\n", "line 2: `2026-02-30` is not a day"},
           {"year 2026\noff 2026-02-23..2026-02-15 春节\n", "line 2: `2026-02-23..2026-02-15`"},
           {"year 2026\noff 2026-02-15\n", "line 2: `off` takes a day or a range and a name"},
           {"year 2026\nwork 2026-02-16 x\n", "line 2: 2026-02-16 is a weekday"},
           {"year 2026\noff 2026-02-15..2026-02-16 a\noff 2026-02-16 b\n",
            "line 3: 2026-02-16 is named twice"},
           {"year 2026\noffice 09:00-12:00 11:00-17:00\n", "line 2: office spans are ascending"},
           {"year 2026\noffice 9:00-17:00\n", "line 2: `9:00-17:00` is not a span"},
           {"year 2026\noffice 17:00-09:00\n", "line 2: `17:00-09:00` is not a span"},
           {"year 2026\nholiday 2026-01-01 x\n", "line 2: unknown keyword `holiday`"},
           {"year 2026\nmode layered\n", "line 2: `mode` is `replace` (the default) or `overlay`"},
           {"year 2026\noff 2026-12-18 盘点\nmode overlay\n",
            "line 3: `mode` comes before the days"},
           {"year 2026\nmode overlay\nmode overlay\n", "line 3: a second `mode` line"},
       }) {
    absl::StatusOr<CalendarYear> y = ParseCalendarYear(c.text);
    ASSERT_FALSE(y.ok()) << c.text;
    EXPECT_EQ(y.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(y.status().message()), HasSubstr(c.error)) << c.text;
  }
  EXPECT_FALSE(ParseCalendarYear(std::string(kMaxCalendarFileBytes + 1, '#')).ok());
}

}  // namespace
}  // namespace wuye
