// The domain of performance (DOMAIN.md §5): the rule catalogue, grades and pay factors,
// the arrears team KPI, months and the appeal window. Pure: no I/O, no clock reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "wuye/common/v1/domain.pb.h"
#include "wuye/performance/v1/performance.pb.h"

namespace wuye::performance {

namespace pb = ::wuye::performance::v1;

// ---- rules ----------------------------------------------------------------------------

inline constexpr std::string_view kHandoverNotRecorded = "handover_not_recorded";
inline constexpr std::string_view kNoDailyLog = "no_daily_log";
inline constexpr std::string_view kDressCode = "dress_code";
inline constexpr std::string_view kUncivilLanguage = "uncivil_language";
inline constexpr std::string_view kQuarrel = "quarrel";
inline constexpr std::string_view kPhysicalConflict = "physical_conflict";
inline constexpr std::string_view kCallUnrecorded = "call_unrecorded";
inline constexpr std::string_view kServiceUnsatisfied = "service_unsatisfied";
inline constexpr std::string_view kWorkUnsigned = "work_unsigned";
inline constexpr std::string_view kComplaintVerified = "complaint_verified";
inline constexpr std::string_view kViolationNotHandled = "violation_not_handled";
inline constexpr std::string_view kArrearsAbove = "arrears_above_baseline";
inline constexpr std::string_view kArrearsBelow = "arrears_below_baseline";
inline constexpr std::string_view kHousingClaimHelp = "housing_claim_help";

// An item of the estate office's service quality ledger (服务质量标准分值, seed 000_…,
// 二): the points the owners' supervisory committee assesses the office by.
struct RuleDef {
  std::string_view code;
  std::string_view name;
  pb::RuleSource source;
  int32_t default_points;  // < 0 deduction, > 0 reward
  std::string_view clause;
};

// The catalogue of DOMAIN.md §5 (seed 000_…, 二), in its order.
const std::vector<RuleDef>& Catalogue();
const RuleDef* FindRule(std::string_view code);

// Office items whose line waits for the supervisory committee's confirmation before it
// counts (000_…, 二.11: "以所作记录并经监督委员会确认的次数为准").
bool NeedsConfirmation(std::string_view code);

// ---- the person's monthly form (seed 002_…, 第七章) -------------------------------------

// A form never goes above this nor below 0.
inline constexpr int32_t kFormMax = 100;
// The form's default items: one per office item that names a person (not the team's
// arrears items), same code and name, at a tenth of the office's points (the seed gives
// the form's grades, not its items: the group sets them; a tenth keeps one −50 from
// failing a person and one +100 from doubling a form).
struct FormItemDef {
  std::string code;
  std::string name;
  int32_t default_points;
};
const std::vector<FormItemDef>& DefaultFormItems();
const FormItemDef* FindDefaultFormItem(std::string_view code);
// The default form item of an office item ("" for team items).
std::string DefaultFormItemOf(std::string_view office_code);
// Form item input: code [a-z0-9_]{1,40}, name ≤ 200 bytes (required when `name_required`)
// without a phone or ID number, points -100..100.
absl::Status CheckFormItem(const pb::FormItem& item, absl::string_view field, bool name_required);
// base + points kept within 0..kFormMax.
int32_t ClampForm(int64_t score);
// The same as SQL over an integer expression.
std::string ClampSql(absl::string_view score);

// The points a group may give a rule: a deduction stays in [-10000, 0], a reward in
// [0, 10000]. FieldError on `field` otherwise.
absl::Status CheckRulePoints(const RuleDef& rule, int32_t points, absl::string_view field);

// ---- settings -------------------------------------------------------------------------

inline constexpr int32_t kDefaultBaseScore = 100;
inline constexpr int32_t kDefaultAppealWindowDays = 5;
pb::Settings DefaultSettings();
absl::Status CheckSettings(const pb::Settings& s, absl::string_view field);

// ---- grades ---------------------------------------------------------------------------

// ≥ 98 excellent 100 %, 91–97 good 100 %, 86–90 pass 80 %, ≤ 85 fail 0 %.
inline constexpr int32_t kExcellentFrom = 98;
inline constexpr int32_t kGoodFrom = 91;
inline constexpr int32_t kPassFrom = 86;

struct Grade {
  std::string_view name;
  int32_t pay_percent;
};
Grade GradeOf(int32_t score);
// The same thresholds as SQL CASE expressions over an integer expression `score`, so that
// the set-based month close grades exactly as GradeOf does.
std::string GradeSql(absl::string_view score);
std::string PaySql(absl::string_view score);

// base + the points of the lines that count (not voided, not pending), within 0..100.
struct LinePoints {
  int32_t points;
  bool voided;
  bool pending = false;
};
int32_t SheetScore(int32_t base, const std::vector<LinePoints>& lines);

// ---- team KPI: arrears ----------------------------------------------------------------

inline constexpr int32_t kArrearsBaselineBp = 2500;  // 25 %
// Team points for an arrears share in basis points: `above_points` (≤ 0) per whole
// percentage point above the baseline, `below_points` (≥ 0) per whole point below; a part
// of a point counts nothing (000_… 二.10 "每超過一個百分點…每降低一個百分點": each point
// exceeded or fallen short). With the defaults: 26.5 % → −1000, 25.5 % → 0, 25 % → 0,
// 23.9 % → +1000, 22 % → +3000.
int32_t ArrearsTeamPoints(int32_t arrears_bp, int32_t above_points, int32_t below_points);

// ---- months and the appeal window -----------------------------------------------------

// FieldError unless year 2000..2999 and month 1..12.
absl::Status CheckMonth(const wuye::common::v1::Month& m, absl::string_view field);
wuye::common::v1::Month MakeMonth(int year, int month);
wuye::common::v1::Month MonthOf(absl::Time t, absl::TimeZone tz);
wuye::common::v1::Month NextMonth(const wuye::common::v1::Month& m);
// "YYYY-MM-01" (PostgreSQL date) ⇄ Month.
std::string MonthDate(const wuye::common::v1::Month& m);
wuye::common::v1::Month MonthFromDate(std::string_view date);
// When the appeal window of `m` closes: `window_days` after the month's end, local time.
absl::Time AppealDeadline(const wuye::common::v1::Month& m, absl::TimeZone tz, int32_t window_days);

// ---- manual entries -------------------------------------------------------------------

// When a manual entry happened (CreateManualEntry.occurred_at): a valid Timestamp (nanos
// 0..999999999) from 2000-01-01 UTC (the first year of a month, CheckMonth) to five minutes
// past `now` (clocks differ). INVALID_ARGUMENT naming `field` otherwise, so that no absurd
// year reaches the database.
absl::Status CheckOccurredAt(const google::protobuf::Timestamp& ts, absl::Time now,
                             absl::string_view field);

// Whether an entry made at `now` may go to month `m` (its month in the estate's zone `tz`):
// only while the month is open (`closed`: a sheet of it was closed) and its appeal window
// is open, so that every line can still be appealed in its window; an entry in a closed
// month would change a graded month's office score and could never be appealed.
// FAILED_PRECONDITION naming `field` and the month otherwise, reason MONTH_CLOSED or
// APPEAL_WINDOW_CLOSED.
absl::Status CheckEntryMonth(const wuye::common::v1::Month& m, bool closed, absl::TimeZone tz,
                             int32_t window_days, absl::Time now, absl::string_view field);

// ---- input ----------------------------------------------------------------------------

// CSV field quoting (RFC 4180), and neutralised: a cell starting with = + - @, a tab or a
// carriage return gets a leading ' so that no spreadsheet runs it as a formula.
std::string CsvField(absl::string_view s);

}  // namespace wuye::performance
