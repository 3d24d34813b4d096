#include "shared/work_calendar.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace wuye {

// shared/calendars/cn-*.txt, compiled in by wuye_embed_text.
const std::vector<std::pair<std::string, std::string>>& NationalCalendarFiles();

namespace {

constexpr int kMinutesPerDay = 24 * 60;
// How far Advance looks for counted time before giving up (a calendar of nothing but holidays).
constexpr int kAdvanceHorizonDays = 3660;
constexpr char kWeekend[] = "周末";

bool IsWeekend(absl::CivilDay day) {
  absl::Weekday w = absl::GetWeekday(day);
  return w == absl::Weekday::saturday || w == absl::Weekday::sunday;
}

// The holidays of fixed solar dates that 全国年节及纪念日放假办法 第二条 (国务院, revised
// 2024-11-10, in force 2025-01-01) gives everyone, whatever the year's arrangement: 元旦
// 1 January, 劳动节 1–2 May (2 May since 2025), 国庆节 1–3 October. The lunar ones (春节,
// 清明节, 端午节, 中秋节) move, and the make-up days come only with the State Council's notice;
// nullptr for any other day.
const char* FixedStatutoryHoliday(absl::CivilDay day) {
  const int m = day.month(), d = day.day();
  if (m == 1 && d == 1) return "元旦（法定）";
  if (m == 5 && (d == 1 || (d == 2 && day.year() >= 2025))) return "劳动节（法定）";
  if (m == 10 && d >= 1 && d <= 3) return "国庆节（法定）";
  return nullptr;
}

// The first instant of a local civil second: for a time a spring-forward change skips, the
// moment of the change (so a day that starts in the gap starts when the clocks jump).
absl::Time LocalInstant(absl::CivilSecond cs, const absl::TimeZone& tz) {
  absl::TimeZone::TimeInfo info = tz.At(cs);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

bool ParseDay(absl::string_view text, absl::CivilDay* day) {
  return absl::ParseCivilTime(text, day) && absl::FormatCivilTime(*day) == text;
}

// "HH:MM" → minutes after midnight, 24:00 allowed as an end.
bool ParseClock(absl::string_view text, int* minutes) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int h = 0, m = 0;
  if (parts.size() != 2 || parts[0].size() != 2 || parts[1].size() != 2 ||
      !absl::SimpleAtoi(parts[0], &h) || !absl::SimpleAtoi(parts[1], &m) || h < 0 || h > 24 ||
      m < 0 || m > 59 || (h == 24 && m != 0)) {
    return false;
  }
  *minutes = h * 60 + m;
  return true;
}

std::string ClockText(int minutes) {
  return absl::StrFormat("%02d:%02d", minutes / 60, minutes % 60);
}

std::string OfficeText(const std::vector<OfficeSpan>& spans) {
  return absl::StrJoin(spans, " ", [](std::string* out, const OfficeSpan& s) {
    absl::StrAppend(out, ClockText(s.start_minute), "-", ClockText(s.end_minute));
  });
}

const char* WeekdayName(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return "周一";
    case absl::Weekday::tuesday:
      return "周二";
    case absl::Weekday::wednesday:
      return "周三";
    case absl::Weekday::thursday:
      return "周四";
    case absl::Weekday::friday:
      return "周五";
    case absl::Weekday::saturday:
      return "周六";
    case absl::Weekday::sunday:
      return "周日";
  }
  return "";
}

}  // namespace

const std::vector<OfficeSpan>& DefaultOfficeHours() {
  static const auto* kHours =
      new std::vector<OfficeSpan>{{9 * 60, 12 * 60}, {13 * 60 + 30, 17 * 60 + 30}};
  return *kHours;
}

absl::StatusOr<CalendarYear> ParseCalendarYear(absl::string_view text) {
  if (text.size() > kMaxCalendarFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxCalendarFileBytes, " bytes"));
  }
  CalendarYear year;
  absl::btree_map<absl::CivilDay, CalendarDay> days;
  bool office_seen = false, source_seen = false, mode_seen = false;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::MaxSplits(absl::ByAnyChar(" \t"), 2), absl::SkipEmpty());
    absl::string_view keyword = words[0];
    if (keyword == "year") {
      int y = 0;
      if (year.year != 0) return LineError(line_no, "a second `year` line");
      if (words.size() != 2 || !absl::SimpleAtoi(words[1], &y) || y < kMinCalendarYear ||
          y > kMaxCalendarYear) {
        return LineError(line_no, absl::StrCat("`year` takes a year from ", kMinCalendarYear,
                                               " to ", kMaxCalendarYear));
      }
      year.year = y;
      continue;
    }
    if (year.year == 0) return LineError(line_no, "the file starts with its `year` line");
    if (keyword == "mode") {
      if (mode_seen) return LineError(line_no, "a second `mode` line");
      if (!days.empty()) return LineError(line_no, "`mode` comes before the days");
      if (words.size() != 2 || (words[1] != "overlay" && words[1] != "replace")) {
        return LineError(line_no, "`mode` is `replace` (the default) or `overlay`");
      }
      year.overlay = words[1] == "overlay";
      mode_seen = true;
    } else if (keyword == "source") {
      if (source_seen) return LineError(line_no, "a second `source` line");
      absl::string_view rest = absl::StripAsciiWhitespace(line.substr(keyword.size()));
      if (rest.empty()) return LineError(line_no, "`source` names the notice the year follows");
      year.source = std::string(rest);
      source_seen = true;
    } else if (keyword == "office") {
      if (office_seen) return LineError(line_no, "a second `office` line");
      office_seen = true;
      std::vector<absl::string_view> spans = absl::StrSplit(
          absl::StripAsciiWhitespace(line.substr(keyword.size())), ' ', absl::SkipEmpty());
      if (spans.empty()) return LineError(line_no, "`office` takes spans such as 09:00-17:30");
      int last_end = 0;
      for (absl::string_view s : spans) {
        std::pair<absl::string_view, absl::string_view> ends = absl::StrSplit(s, '-');
        OfficeSpan span;
        if (!ParseClock(ends.first, &span.start_minute) ||
            !ParseClock(ends.second, &span.end_minute) || span.start_minute >= span.end_minute ||
            span.start_minute == kMinutesPerDay) {
          return LineError(line_no, absl::StrCat("`", s, "` is not a span such as 09:00-17:30"));
        }
        if (span.start_minute < last_end) {
          return LineError(line_no, "office spans are ascending and do not overlap");
        }
        last_end = span.end_minute;
        year.office.push_back(span);
      }
    } else if (keyword == "off" || keyword == "work") {
      if (words.size() < 3) {
        return LineError(line_no,
                         absl::StrCat("`", keyword, "` takes a day or a range and a name"));
      }
      absl::CivilDay first, last;
      std::pair<absl::string_view, absl::string_view> range =
          absl::StrSplit(words[1], absl::MaxSplits("..", 1));
      if (!ParseDay(range.first, &first) ||
          !(range.second.empty() ? (last = first, true) : ParseDay(range.second, &last)) ||
          last < first) {
        return LineError(line_no, absl::StrCat("`", words[1],
                                               "` is not a day or range such as "
                                               "2026-02-15..2026-02-23"));
      }
      if (first.year() != year.year || last.year() != year.year) {
        return LineError(line_no, absl::StrCat("days of the file are in ", year.year));
      }
      std::string name(absl::StripAsciiWhitespace(words[2]));
      for (absl::CivilDay d = first; d <= last; ++d) {
        bool working = keyword == "work";
        if (working && !year.overlay && !IsWeekend(d)) {
          return LineError(line_no, absl::StrCat(absl::FormatCivilTime(d),
                                                 " is a weekday: a working day already"));
        }
        if (!days.emplace(d, CalendarDay{d, working, name}).second) {
          return LineError(line_no, absl::StrCat(absl::FormatCivilTime(d), " is named twice"));
        }
      }
    } else {
      return LineError(line_no, absl::StrCat("unknown keyword `", keyword,
                                             "` (year, mode, source, office, off, work)"));
    }
  }
  if (year.year == 0) return absl::InvalidArgumentError("no `year` line");
  for (auto& [d, day] : days) year.days.push_back(std::move(day));
  return year;
}

std::string FormatCalendarYear(const CalendarYear& year) {
  std::string out = absl::StrCat("year ", year.year, "\n");
  if (year.overlay) absl::StrAppend(&out, "mode overlay\n");
  if (!year.source.empty()) absl::StrAppend(&out, "source ", year.source, "\n");
  if (!year.office.empty()) absl::StrAppend(&out, "office ", OfficeText(year.office), "\n");
  for (size_t i = 0; i < year.days.size();) {
    size_t j = i;
    while (j + 1 < year.days.size() && year.days[j + 1].day == year.days[j].day + 1 &&
           year.days[j + 1].working == year.days[i].working &&
           year.days[j + 1].name == year.days[i].name) {
      ++j;
    }
    absl::StrAppend(&out, year.days[i].working ? "work " : "off ",
                    absl::FormatCivilTime(year.days[i].day));
    if (j > i) absl::StrAppend(&out, "..", absl::FormatCivilTime(year.days[j].day));
    absl::StrAppend(&out, " ", year.days[i].name, "\n");
    i = j + 1;
  }
  return out;
}

const std::vector<CalendarYear>& NationalCalendarYears() {
  static const auto* kYears = [] {
    auto* years = new std::vector<CalendarYear>;
    for (const auto& [name, text] : NationalCalendarFiles()) {
      // The shipped files are checked by work_calendar_test; one that fails is left out.
      if (absl::StatusOr<CalendarYear> y = ParseCalendarYear(text); y.ok()) {
        years->push_back(*std::move(y));
      }
    }
    return years;
  }();
  return *kYears;
}

WorkCalendar WorkCalendar::National() {
  WorkCalendar calendar;
  for (const CalendarYear& y : NationalCalendarYears()) calendar.SetYear(y);
  return calendar;
}

void WorkCalendar::SetYear(const CalendarYear& year) {
  Year& y = years_[year.year];
  if (!year.overlay) {
    y.whole = true;
    y.source = year.source;
    y.office = year.office;
    y.days.clear();
  } else {
    if (!year.source.empty()) {
      y.source = y.source.empty() ? year.source : absl::StrCat(y.source, "；", year.source);
    }
    if (!year.office.empty()) y.office = year.office;
  }
  for (const CalendarDay& d : year.days) y.days.insert_or_assign(d.day, d);
}

std::optional<CalendarYear> WorkCalendar::YearOf(int year) const {
  auto it = years_.find(year);
  if (it == years_.end()) return std::nullopt;
  CalendarYear out;
  out.year = year;
  out.source = it->second.source;
  out.office = it->second.office;
  for (const auto& [day, d] : it->second.days) out.days.push_back(d);
  return out;
}

bool WorkCalendar::HasArrangement(int year) const {
  auto it = years_.find(year);
  return it != years_.end() && it->second.whole;
}

absl::string_view WorkCalendar::Source(int year) const {
  auto it = years_.find(year);
  return it == years_.end() ? absl::string_view() : absl::string_view(it->second.source);
}

const CalendarDay* WorkCalendar::Exception(absl::CivilDay day) const {
  auto y = years_.find(static_cast<int>(day.year()));
  if (y == years_.end()) return nullptr;
  auto d = y->second.days.find(day);
  return d == y->second.days.end() ? nullptr : &d->second;
}

std::vector<CalendarDay> WorkCalendar::FixedStatutoryHolidays(int year) {
  std::vector<CalendarDay> out;
  for (absl::CivilDay d(year, 1, 1); d.year() == year; ++d) {
    if (const char* name = FixedStatutoryHoliday(d)) out.push_back({d, false, name});
  }
  return out;
}

bool WorkCalendar::IsWorkingDay(absl::CivilDay day) const {
  if (const CalendarDay* e = Exception(day)) return e->working;
  if (FixedStatutoryHoliday(day) != nullptr && !HasArrangement(static_cast<int>(day.year()))) {
    return false;
  }
  return !IsWeekend(day);
}

std::string WorkCalendar::DayName(absl::CivilDay day) const {
  if (const CalendarDay* e = Exception(day)) return e->name;
  if (const char* name = FixedStatutoryHoliday(day);
      name != nullptr && !HasArrangement(static_cast<int>(day.year()))) {
    return name;
  }
  return IsWeekend(day) ? kWeekend : "";
}

const std::vector<OfficeSpan>& WorkCalendar::OfficeHours(int year) const {
  auto y = years_.find(year);
  if (y == years_.end() || y->second.office.empty()) return DefaultOfficeHours();
  return y->second.office;
}

void WorkCalendar::CountedSpans(absl::CivilDay day, SlaClock clock, const absl::TimeZone& tz,
                                std::vector<std::pair<absl::Time, absl::Time>>* out) const {
  out->clear();
  if (!IsWorkingDay(day)) return;
  absl::CivilSecond midnight(day);
  if (clock == SlaClock::kOfficeHours) {
    for (const OfficeSpan& s : OfficeHours(static_cast<int>(day.year()))) {
      absl::Time a = LocalInstant(midnight + s.start_minute * 60, tz);
      absl::Time b = LocalInstant(midnight + s.end_minute * 60, tz);
      if (a < b) out->emplace_back(a, b);
    }
    return;
  }
  out->emplace_back(LocalInstant(midnight, tz), LocalInstant(absl::CivilSecond(day + 1), tz));
}

absl::Duration WorkCalendar::Counted(absl::Time from, absl::Time to, SlaClock clock,
                                     const absl::TimeZone& tz) const {
  if (to <= from) return absl::ZeroDuration();
  if (clock == SlaClock::kElapsed) return to - from;
  absl::Duration total;
  std::vector<std::pair<absl::Time, absl::Time>> spans;
  absl::CivilDay last = absl::ToCivilDay(to, tz);
  for (absl::CivilDay d = absl::ToCivilDay(from, tz); d <= last; ++d) {
    CountedSpans(d, clock, tz, &spans);
    for (const auto& [a, b] : spans) {
      absl::Time lo = std::max(a, from), hi = std::min(b, to);
      if (lo < hi) total += hi - lo;
    }
  }
  return total;
}

absl::Time WorkCalendar::Advance(absl::Time from, absl::Duration amount, SlaClock clock,
                                 const absl::TimeZone& tz) const {
  if (amount <= absl::ZeroDuration()) return from;
  if (clock == SlaClock::kElapsed) return from + amount;
  absl::Duration left = amount;
  std::vector<std::pair<absl::Time, absl::Time>> spans;
  absl::CivilDay first = absl::ToCivilDay(from, tz);
  for (absl::CivilDay d = first; d - first < kAdvanceHorizonDays; ++d) {
    CountedSpans(d, clock, tz, &spans);
    for (const auto& [a, b] : spans) {
      absl::Time lo = std::max(a, from);
      if (lo >= b) continue;
      if (left <= b - lo) return lo + left;
      left -= b - lo;
    }
  }
  return absl::InfiniteFuture();
}

std::vector<SkippedDays> WorkCalendar::Skipped(absl::Time from, absl::Time due, SlaClock clock,
                                               const absl::TimeZone& tz) const {
  std::vector<SkippedDays> out;
  if (clock == SlaClock::kElapsed || due <= from || due == absl::InfiniteFuture()) return out;
  absl::CivilDay last = absl::ToCivilDay(due, tz);
  for (absl::CivilDay d = absl::ToCivilDay(from, tz); d <= last; ++d) {
    if (IsWorkingDay(d)) continue;
    std::string name = DayName(d);
    if (!out.empty() && out.back().last + 1 == d && out.back().name == name) {
      out.back().last = d;
    } else {
      out.push_back({d, d, std::move(name)});
    }
  }
  return out;
}

std::string WorkCalendar::Explain(absl::Time from, absl::Time due, SlaClock clock,
                                  const absl::TimeZone& tz) const {
  if (due == absl::InfiniteFuture()) return "未计时（已暂停）";
  absl::CivilMinute local = absl::ToCivilMinute(due, tz);
  absl::CivilDay day(local);
  std::string out = absl::StrFormat("%s（%s）%02d:%02d 到期", absl::FormatCivilTime(day),
                                    WeekdayName(day), local.hour(), local.minute());
  std::vector<SkippedDays> skipped = Skipped(from, due, clock, tz);
  if (!skipped.empty()) {
    absl::StrAppend(&out, "；不计：",
                    absl::StrJoin(skipped, "，", [](std::string* o, const SkippedDays& s) {
                      absl::StrAppend(o, absl::FormatCivilTime(s.first));
                      if (s.last != s.first)
                        absl::StrAppend(o, "至", absl::FormatCivilTime(s.last));
                      absl::StrAppend(o, " ", s.name);
                    }));
  }
  if (clock == SlaClock::kOfficeHours) {
    absl::StrAppend(&out, "；只计办公时间 ", OfficeText(OfficeHours(static_cast<int>(day.year()))));
  }
  if (clock != SlaClock::kElapsed) {
    // The days of a year nobody loaded were counted Monday to Friday, less the holidays of
    // fixed dates: its lunar holidays and make-up days, unknown, were not, which the desk
    // must know.
    std::vector<int> missing;
    for (int y = static_cast<int>(absl::ToCivilDay(std::min(from, due), tz).year());
         y <= static_cast<int>(day.year()); ++y) {
      if (!HasArrangement(y)) missing.push_back(y);
    }
    if (!missing.empty()) {
      absl::StrAppend(&out, "；未载入", absl::StrJoin(missing, "、"),
                      "年节假日安排，按周一至周五计（元旦、劳动节、国庆节的法定假日已除，"
                      "春节等农历节日与调休未计）");
    }
  }
  return out;
}

SlaProgress Settle(const SlaProgress& p, absl::Time now, const WorkCalendar& calendar,
                   SlaClock clock, const absl::TimeZone& tz) {
  SlaProgress out = p;
  if (now <= p.settled_at) return out;
  if (p.running) out.spent += calendar.Counted(p.settled_at, now, clock, tz);
  out.settled_at = now;
  return out;
}

absl::Time DueTime(const SlaProgress& p, absl::Duration window, const WorkCalendar& calendar,
                   SlaClock clock, const absl::TimeZone& tz) {
  if (!p.running) return absl::InfiniteFuture();
  if (p.spent >= window) return p.settled_at;
  return calendar.Advance(p.settled_at, window - p.spent, clock, tz);
}

}  // namespace wuye
