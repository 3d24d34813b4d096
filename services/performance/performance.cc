#include "services/performance/performance.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"

namespace wuye::performance {

const std::vector<RuleDef>& Catalogue() {
  using S = pb::RuleSource;
  static const auto* rules = new std::vector<RuleDef>{
      {kHandoverNotRecorded, "shift handover not recorded or incomplete (交接班)",
       S::RULE_SOURCE_MANUAL, -10, "000_… 二.1"},
      {kNoDailyLog, "no daily work log", S::RULE_SOURCE_MANUAL, -10, "000_… 二.2"},
      {kDressCode, "uniform / name badge / smoking rule broken", S::RULE_SOURCE_MANUAL, -10,
       "000_… 二.3"},
      {kUncivilLanguage, "uncivil language, confirmed", S::RULE_SOURCE_MANUAL, -20, "000_… 二.4"},
      {kQuarrel, "quarrel with a resident", S::RULE_SOURCE_MANUAL, -20, "000_… 二.4"},
      {kPhysicalConflict, "physical conflict with a resident", S::RULE_SOURCE_MANUAL, -50,
       "000_… 二.4"},
      {kCallUnrecorded, "resident's call in the carrier's log but not recorded",
       S::RULE_SOURCE_EVENT, -20, "000_… 二.5"},
      {kServiceUnsatisfied, "on-site service rated unsatisfied (unpaid items)",
       S::RULE_SOURCE_EVENT, -20, "000_… 二.5"},
      {kWorkUnsigned, "on-site work not signed by the resident", S::RULE_SOURCE_EVENT, -20,
       "000_… 二.5"},
      {kComplaintVerified, "verified complaint that a duty was not done", S::RULE_SOURCE_EVENT, -20,
       "000_… 二.6, 二.13"},
      {kViolationNotHandled, "violation (illegal building, change of use, renovation) not handled",
       S::RULE_SOURCE_MANUAL, -50, "000_… 二.7–9"},
      {kArrearsAbove, "estate arrears rate, per percentage point above the 25 % baseline",
       S::RULE_SOURCE_TEAM, -1000, "000_… 二.10"},
      {kArrearsBelow, "estate arrears rate, per percentage point below the 25 % baseline",
       S::RULE_SOURCE_TEAM, 1000, "000_… 二.10"},
      {kHousingClaimHelp, "successful help to a resident in a housing-quality claim",
       S::RULE_SOURCE_MANUAL, 100, "000_… 二.11"},
  };
  return *rules;
}

const RuleDef* FindRule(std::string_view code) {
  for (const RuleDef& r : Catalogue()) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

bool NeedsConfirmation(std::string_view code) { return code == kHousingClaimHelp; }

const std::vector<FormItemDef>& DefaultFormItems() {
  static const auto* items = [] {
    auto* out = new std::vector<FormItemDef>;
    for (const RuleDef& r : Catalogue()) {
      if (r.source == pb::RULE_SOURCE_TEAM) continue;
      out->push_back({std::string(r.code), std::string(r.name), r.default_points / 10});
    }
    return out;
  }();
  return *items;
}

const FormItemDef* FindDefaultFormItem(std::string_view code) {
  for (const FormItemDef& f : DefaultFormItems()) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

std::string DefaultFormItemOf(std::string_view office_code) {
  const FormItemDef* f = FindDefaultFormItem(office_code);
  return f == nullptr ? "" : f->code;
}

absl::Status CheckFormItem(const pb::FormItem& item, absl::string_view field, bool name_required) {
  const std::string& code = item.code();
  if (code.empty() || code.size() > 40) {
    return FieldError(absl::StrCat(field, ".code"), "1..40 characters");
  }
  for (char c : code) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_') {
      return FieldError(absl::StrCat(field, ".code"), "lowercase letters, digits and _");
    }
  }
  WUYE_RETURN_IF_ERROR(CheckText(item.name(), absl::StrCat(field, ".name"), 200,
                                 name_required ? Presence::kRequired : Presence::kOptional,
                                 Lines::kOne));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(item.name(), absl::StrCat(field, ".name")));
  if (item.points() < -100 || item.points() > 100) {
    return FieldError(absl::StrCat(field, ".points"), "-100..100");
  }
  return absl::OkStatus();
}

int32_t ClampForm(int64_t score) {
  return static_cast<int32_t>(std::clamp<int64_t>(score, 0, kFormMax));
}

std::string ClampSql(absl::string_view score) {
  return absl::StrFormat("LEAST(%d, GREATEST(0, %s))", kFormMax, score);
}

absl::Status CheckRulePoints(const RuleDef& rule, int32_t points, absl::string_view field) {
  if (rule.default_points < 0 && (points > 0 || points < -10000)) {
    return FieldError(field, "a deduction is -10000..0");
  }
  if (rule.default_points > 0 && (points < 0 || points > 10000)) {
    return FieldError(field, "a reward is 0..10000");
  }
  return absl::OkStatus();
}

pb::Settings DefaultSettings() {
  pb::Settings s;
  s.set_base_score(kDefaultBaseScore);
  s.set_appeal_window_days(kDefaultAppealWindowDays);
  return s;
}

absl::Status CheckSettings(const pb::Settings& s, absl::string_view field) {
  if (s.base_score() < 1 || s.base_score() > kFormMax) {
    return FieldError(absl::StrCat(field, ".base_score"), "1..100");
  }
  if (s.appeal_window_days() < 0 || s.appeal_window_days() > 60) {
    return FieldError(absl::StrCat(field, ".appeal_window_days"), "0..60");
  }
  return absl::OkStatus();
}

Grade GradeOf(int32_t score) {
  if (score >= kExcellentFrom) return {"excellent", 100};
  if (score >= kGoodFrom) return {"good", 100};
  if (score >= kPassFrom) return {"pass", 80};
  return {"fail", 0};
}

std::string GradeSql(absl::string_view score) {
  return absl::StrFormat(
      "(CASE WHEN %s >= %d THEN 'excellent' WHEN %s >= %d THEN 'good' WHEN %s >= %d THEN "
      "'pass' ELSE 'fail' END)",
      score, kExcellentFrom, score, kGoodFrom, score, kPassFrom);
}

std::string PaySql(absl::string_view score) {
  return absl::StrFormat("(CASE WHEN %s >= %d THEN 100 WHEN %s >= %d THEN 80 ELSE 0 END)", score,
                         kGoodFrom, score, kPassFrom);
}

int32_t SheetScore(int32_t base, const std::vector<LinePoints>& lines) {
  int64_t score = base;
  for (const LinePoints& l : lines) {
    if (!l.voided && !l.pending) score += l.points;
  }
  return ClampForm(score);
}

int32_t ArrearsTeamPoints(int32_t arrears_bp, int32_t above_points, int32_t below_points) {
  int64_t diff = static_cast<int64_t>(arrears_bp) - kArrearsBaselineBp;  // bp above
  int64_t whole = diff / 100;  // whole percentage points, truncated toward the baseline
  if (whole > 0) return static_cast<int32_t>(whole * above_points);
  return static_cast<int32_t>(-whole * below_points);
}

absl::Status CheckOccurredAt(const google::protobuf::Timestamp& ts, absl::Time now,
                             absl::string_view field) {
  if (ts.nanos() < 0 || ts.nanos() > 999'999'999) return FieldError(field, "not a timestamp");
  absl::Time at = FromProtoTime(ts);
  if (at < absl::FromCivil(absl::CivilDay(2000, 1, 1), absl::UTCTimeZone())) {
    return FieldError(field, "before 2000-01-01");
  }
  if (at > now + absl::Minutes(5)) return FieldError(field, "in the future");
  return absl::OkStatus();
}

absl::Status CheckEntryMonth(const wuye::common::v1::Month& m, bool closed, absl::TimeZone tz,
                             int32_t window_days, absl::Time now, absl::string_view field) {
  std::string month = absl::StrFormat("%04d-%02d", m.year(), m.month());
  if (closed) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            field, ": month ", month, " is closed; a line there could not be appealed")),
        "MONTH_CLOSED");
  }
  if (now >= AppealDeadline(m, tz, window_days)) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          field, ": the appeal window of month ", month, " has closed")),
                      "APPEAL_WINDOW_CLOSED");
  }
  return absl::OkStatus();
}

absl::Status CheckMonth(const wuye::common::v1::Month& m, absl::string_view field) {
  if (m.year() < 2000 || m.year() > 2999) {
    return FieldError(absl::StrCat(field, ".year"), "2000..2999");
  }
  if (m.month() < 1 || m.month() > 12) return FieldError(absl::StrCat(field, ".month"), "1..12");
  return absl::OkStatus();
}

wuye::common::v1::Month MakeMonth(int year, int month) {
  wuye::common::v1::Month m;
  m.set_year(year);
  m.set_month(month);
  return m;
}

wuye::common::v1::Month MonthOf(absl::Time t, absl::TimeZone tz) {
  absl::CivilDay day = absl::ToCivilDay(t, tz);
  return MakeMonth(static_cast<int>(day.year()), day.month());
}

wuye::common::v1::Month NextMonth(const wuye::common::v1::Month& m) {
  return m.month() == 12 ? MakeMonth(m.year() + 1, 1) : MakeMonth(m.year(), m.month() + 1);
}

std::string MonthDate(const wuye::common::v1::Month& m) {
  return absl::StrFormat("%04d-%02d-01", m.year(), m.month());
}

wuye::common::v1::Month MonthFromDate(std::string_view date) {
  if (date.size() < 7) return {};
  return MakeMonth(std::stoi(std::string(date.substr(0, 4))),
                   std::stoi(std::string(date.substr(5, 2))));
}

absl::Time AppealDeadline(const wuye::common::v1::Month& m, absl::TimeZone tz,
                          int32_t window_days) {
  absl::CivilMonth next = absl::CivilMonth(m.year(), m.month()) + 1;
  return absl::FromCivil(absl::CivilDay(next) + window_days, tz);
}

std::string CsvField(absl::string_view s) {
  std::string cell(s);
  if (!cell.empty() && absl::string_view("=+-@\t\r").find(cell[0]) != absl::string_view::npos) {
    cell.insert(0, "'");
  }
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  return absl::StrCat("\"", absl::StrReplaceAll(cell, {{"\"", "\"\""}}), "\"");
}

}  // namespace wuye::performance
