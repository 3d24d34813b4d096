// China's working calendar and the SLA clocks that run on it (issue 27).
//
// The week is Monday to Friday, except where a year's arrangement says otherwise: statutory
// holidays are days off even on a weekday, and 调休 makes some Saturdays and Sundays working
// days. A year's arrangement is data — a small text file per year (ParseCalendarYear), the
// State Council's shipped with wuye (NationalCalendarYears), a group's or an estate's
// imported through the directory's API — and a WorkCalendar stacks them: the national years,
// then the group's, then the estate's. A later layer's year either replaces the year below
// it whole, or (`mode overlay`) changes only the days and office hours it names.
//
// An SLA clock counts either elapsed time, or only the time of working days (whole local
// days), or only office hours on working days. Durations are counted in the estate's zone,
// so a working day that a daylight-saving change shortens counts 23 hours.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace wuye {

// What an SLA clock counts.
enum class SlaClock {
  kElapsed = 0,      // every second
  kWorkingDays = 1,  // the whole local days that are working days
  kOfficeHours = 2,  // the office hours of working days
};

// Office hours of a working day: [start_minute, end_minute) after local midnight.
struct OfficeSpan {
  int start_minute = 0;
  int end_minute = 0;
  bool operator==(const OfficeSpan&) const = default;
};

// 09:00–12:00 and 13:30–17:30 when a year names none (a setting of each year's file).
const std::vector<OfficeSpan>& DefaultOfficeHours();

// One exception to the Monday-to-Friday week.
struct CalendarDay {
  absl::CivilDay day;
  bool working = false;  // false: a holiday (放假); true: a make-up working day (调休上班)
  std::string name;      // e.g. "春节", "春节调休上班"
  bool operator==(const CalendarDay&) const = default;
};

// One year's arrangement, as its file gives it.
struct CalendarYear {
  int year = 0;
  std::string source;              // the notice it follows, for people reading a deadline
  std::vector<OfficeSpan> office;  // empty: DefaultOfficeHours()
  std::vector<CalendarDay> days;   // ascending, each day once
  // False: the year replaces whatever a layer below says of it. True: the year lays its days
  // (and office hours, if it names any) over the layer below, which keeps the rest.
  bool overlay = false;
  bool operator==(const CalendarYear&) const = default;
};

// Limits of a file: it is operator input.
inline constexpr size_t kMaxCalendarFileBytes = 64 * 1024;
inline constexpr int kMinCalendarYear = 2000;
inline constexpr int kMaxCalendarYear = 2100;

// Parses a year's file. Lines (blank lines and `#` comments ignored):
//   year 2026
//   mode overlay                             (optional, before the days: see `overlay`)
//   source 国务院办公厅关于2026年部分节假日安排的通知（2025-11-04）
//   office 09:00-12:00 13:30-17:30          (optional; ascending, not overlapping)
//   off 2026-02-15..2026-02-23 春节          (holidays; one day or an inclusive range)
//   work 2026-02-14 春节调休上班              (make-up working days: Saturdays or Sundays;
//                                            in an overlay any day, e.g. a holiday the
//                                            estate's office works through)
// INVALID_ARGUMENT "line N: ..." for anything else: a day outside the year, a day named
// twice, a make-up day that is already a weekday (in a whole year), a missing `year` line.
absl::StatusOr<CalendarYear> ParseCalendarYear(absl::string_view text);

// The file of a year (ParseCalendarYear(FormatCalendarYear(y)) == y, days merged into ranges).
std::string FormatCalendarYear(const CalendarYear& year);

// The State Council's arrangements shipped with wuye (shared/calendars/cn-YYYY.txt), parsed.
const std::vector<CalendarYear>& NationalCalendarYears();

// A span of days an SLA clock did not count, for telling people why a deadline is late.
struct SkippedDays {
  absl::CivilDay first;
  absl::CivilDay last;  // inclusive
  std::string name;     // the holiday's name, or "周末" for an ordinary weekend
  bool operator==(const SkippedDays&) const = default;
};

class WorkCalendar {
 public:
  // Monday to Friday, DefaultOfficeHours(), only the fixed-date holidays.
  WorkCalendar() = default;
  // The national years (NationalCalendarYears()); a group's and an estate's years go on top.
  static WorkCalendar National();

  // Replaces the year's arrangement whole, or lays an overlay's days and office hours over it
  // (an overlay's source is added to the year's).
  void SetYear(const CalendarYear& year);
  // The year as the layers set so far make it, as a whole year (never an overlay); nullopt
  // for a year no layer covered.
  std::optional<CalendarYear> YearOf(int year) const;
  bool HasYear(int year) const { return years_.contains(year); }
  // Whether a whole year's arrangement (the State Council's shipped one, or a group's or an
  // estate's imported without `mode overlay`) covers the year. False for a year only overlays
  // touch: its other days are counted Monday to Friday, less the fixed-date holidays.
  bool HasArrangement(int year) const;
  // The year's source; "" for a year no arrangement covers.
  absl::string_view Source(int year) const;

  // The holidays of fixed dates (全国年节及纪念日放假办法 第二条) that a year no whole
  // arrangement covers still has: 元旦 1 January, 劳动节 1–2 May (2 May since 2025), 国庆节
  // 1–3 October, named "元旦（法定）" etc.
  static std::vector<CalendarDay> FixedStatutoryHolidays(int year);

  bool IsWorkingDay(absl::CivilDay day) const;
  // The holiday's or make-up day's name; "周末" for an ordinary Saturday or Sunday; "".
  std::string DayName(absl::CivilDay day) const;
  const std::vector<OfficeSpan>& OfficeHours(int year) const;

  // The time the clock counts in [from, to) (zero when to <= from).
  absl::Duration Counted(absl::Time from, absl::Time to, SlaClock clock,
                         const absl::TimeZone& tz) const;
  // The first instant by which the clock has counted `amount` from `from`: `from` itself for
  // a zero amount. absl::InfiniteFuture() if ten years hold no counted time.
  absl::Time Advance(absl::Time from, absl::Duration amount, SlaClock clock,
                     const absl::TimeZone& tz) const;
  // The rest days the clock skipped in [from, due), grouped by name (nothing for kElapsed).
  std::vector<SkippedDays> Skipped(absl::Time from, absl::Time due, SlaClock clock,
                                   const absl::TimeZone& tz) const;
  // What a desk shows: "2026-10-09（周五）10:00 到期；不计：2026-10-01至2026-10-07 国庆节，
  // 2026-10-03至2026-10-04 周末" (working days), with "；只计办公时间 09:00-12:00 13:30-17:30"
  // for office hours. A working-time clock from or to a year no arrangement covers
  // (HasArrangement: e.g. the State Council's next year before it is imported or shipped)
  // adds "；未载入2027年节假日安排，按周一至周五计（元旦、劳动节、国庆节的法定假日已除，春节等农历
  // 节日与调休未计）", so the desk knows the lunar holidays are missing. Such a year counts
  // Monday to Friday less the holidays of fixed dates (全国年节及纪念日放假办法 第二条: 1 January,
  // 1–2 May, 1–3 October), named "元旦（法定）" etc.
  std::string Explain(absl::Time from, absl::Time due, SlaClock clock,
                      const absl::TimeZone& tz) const;

 private:
  struct Year {
    bool whole = false;  // a whole year was set, not only overlays
    std::string source;
    std::vector<OfficeSpan> office;
    absl::btree_map<absl::CivilDay, CalendarDay> days;
  };
  // The counted intervals of a local day, ascending.
  void CountedSpans(absl::CivilDay day, SlaClock clock, const absl::TimeZone& tz,
                    std::vector<std::pair<absl::Time, absl::Time>>* out) const;
  const CalendarDay* Exception(absl::CivilDay day) const;

  absl::btree_map<int, Year> years_;
};

// An SLA clock that can stop and start: what it counted until `settled_at`, and whether it
// runs from there. A pause, a resume, a calendar or policy change first settles the clock
// on the calendar in force until then, so time already spent is never counted again or lost.
struct SlaProgress {
  absl::Duration spent = absl::ZeroDuration();
  absl::Time settled_at = absl::UnixEpoch();
  bool running = true;
};

// `p` brought to `now` on `calendar` (nothing counted while stopped).
SlaProgress Settle(const SlaProgress& p, absl::Time now, const WorkCalendar& calendar,
                   SlaClock clock, const absl::TimeZone& tz);
// When a clock of `window` is due: InfiniteFuture while stopped; settled_at when spent.
absl::Time DueTime(const SlaProgress& p, absl::Duration window, const WorkCalendar& calendar,
                   SlaClock clock, const absl::TimeZone& tz);

}  // namespace wuye
