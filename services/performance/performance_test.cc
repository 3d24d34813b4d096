// The domain of performance, pure: grades, the arrears KPI, the appeal window, line maths,
// and the evidence each event gives.
#include "services/performance/performance.h"

#include <gtest/gtest.h>

#include <limits>

#include "absl/strings/match.h"
#include "services/performance/evidence.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::performance {
namespace {

namespace ev = ::wuye::events::v1;

TEST(Grade, Boundaries) {
  EXPECT_EQ(GradeOf(100).name, "excellent");
  EXPECT_EQ(GradeOf(98).name, "excellent");
  EXPECT_EQ(GradeOf(98).pay_percent, 100);
  EXPECT_EQ(GradeOf(97).name, "good");
  EXPECT_EQ(GradeOf(97).pay_percent, 100);
  EXPECT_EQ(GradeOf(91).name, "good");
  EXPECT_EQ(GradeOf(90).name, "pass");
  EXPECT_EQ(GradeOf(90).pay_percent, 80);
  EXPECT_EQ(GradeOf(86).name, "pass");
  EXPECT_EQ(GradeOf(86).pay_percent, 80);
  EXPECT_EQ(GradeOf(85).name, "fail");
  EXPECT_EQ(GradeOf(85).pay_percent, 0);
  EXPECT_EQ(GradeOf(-400).name, "fail");
  EXPECT_EQ(GradeOf(250).name, "excellent");  // rewards can lift above the base
}

TEST(Grade, SqlMirrorsTheThresholds) {
  std::string grade = GradeSql("s");
  EXPECT_NE(grade.find("s >= 98 THEN 'excellent'"), std::string::npos) << grade;
  EXPECT_NE(grade.find("s >= 91 THEN 'good'"), std::string::npos) << grade;
  EXPECT_NE(grade.find("s >= 86 THEN 'pass'"), std::string::npos) << grade;
  std::string pay = PaySql("s");
  EXPECT_NE(pay.find("s >= 91 THEN 100"), std::string::npos) << pay;
  EXPECT_NE(pay.find("s >= 86 THEN 80 ELSE 0"), std::string::npos) << pay;
}

// 000_… 二.10 "以欠繳費業主率25%為基準,每超過一個百分點扣服務質量標準分值1000分,每降低一個百分點
// 獎勵服務質量標準分值1000分": each whole percentage point exceeded or fallen short counts; a part
// of a point counts nothing (no pro rata).
TEST(Arrears, TeamPointsAgainstTheBaseline) {
  EXPECT_EQ(ArrearsTeamPoints(2400, -1000, 1000), 1000);   // 24 %: one point below
  EXPECT_EQ(ArrearsTeamPoints(2500, -1000, 1000), 0);      // 25 %: the baseline
  EXPECT_EQ(ArrearsTeamPoints(2650, -1000, 1000), -1000);  // 26.5 %: one whole point above
  EXPECT_EQ(ArrearsTeamPoints(2550, -1000, 1000), 0);      // 25.5 %: no whole point
  EXPECT_EQ(ArrearsTeamPoints(2390, -1000, 1000), 1000);   // 23.9 %: one whole point below
  EXPECT_EQ(ArrearsTeamPoints(2200, -1000, 1000), 3000);   // 22 %: three points below
  EXPECT_EQ(ArrearsTeamPoints(2599, -1000, 1000), 0);
  EXPECT_EQ(ArrearsTeamPoints(2600, -1000, 1000), -1000);
  EXPECT_EQ(ArrearsTeamPoints(2401, -1000, 1000), 0);
  EXPECT_EQ(ArrearsTeamPoints(0, -1000, 1000), 25000);
  EXPECT_EQ(ArrearsTeamPoints(10000, -1000, 1000), -75000);
  EXPECT_EQ(ArrearsTeamPoints(2650, -500, 1000), -500);  // the group's own points
  EXPECT_EQ(ArrearsTeamPoints(2290, -1000, 700), 1400);
}

// 002_…, 第七章: a person's monthly form is a 100-point form: never above 100, never below 0.
TEST(Lines, ScoreCountsWhatIsNotVoidedWithinTheForm) {
  EXPECT_EQ(SheetScore(100, {}), 100);
  EXPECT_EQ(SheetScore(100, {{-10, false}, {-20, false}, {100, false}}), 100);  // not 170
  EXPECT_EQ(SheetScore(100, {{-10, false}, {5, false}}), 95);
  EXPECT_EQ(SheetScore(100, {{-60, false}, {-60, false}}), 0);         // not -20
  EXPECT_EQ(SheetScore(100, {{-10, false}, {-10, false, true}}), 90);  // pending counts nothing
  EXPECT_EQ(ClampForm(250), 100);
  EXPECT_EQ(ClampForm(-5), 0);
  EXPECT_EQ(SheetScore(100, {{-10, false}, {-20, true}}), 90);
  EXPECT_EQ(SheetScore(100, {{-50, true}, {-50, true}}), 100);
  EXPECT_EQ(GradeOf(SheetScore(100, {{-10, false}, {-5, false}})).name, "fail");  // 85
  EXPECT_EQ(GradeOf(SheetScore(100, {{-10, false}, {-4, false}})).name, "pass");  // 86
}

TEST(Rules, CatalogueAndPoints) {
  ASSERT_EQ(Catalogue().size(), 14u);
  // The form's default items: every office item that names a person, at a tenth of its
  // points (000_… −50 → −5 on the form, +100 → +10); the arrears items are the team's.
  EXPECT_EQ(DefaultFormItems().size(), 12u);
  EXPECT_EQ(FindDefaultFormItem("physical_conflict")->default_points, -5);
  EXPECT_EQ(FindDefaultFormItem("housing_claim_help")->default_points, 10);
  EXPECT_EQ(FindDefaultFormItem("call_unrecorded")->default_points, -2);
  EXPECT_EQ(FindDefaultFormItem("arrears_above_baseline"), nullptr);
  EXPECT_EQ(DefaultFormItemOf("arrears_below_baseline"), "");
  EXPECT_TRUE(NeedsConfirmation("housing_claim_help"));
  EXPECT_FALSE(NeedsConfirmation("quarrel"));
  pb::FormItem f;
  f.set_code("late_to_work");
  f.set_name("late to work");
  f.set_points(-3);
  EXPECT_TRUE(CheckFormItem(f, "item", true).ok());
  f.set_code("Late!");
  EXPECT_EQ(ErrorField(CheckFormItem(f, "item", true)), "item.code");
  f.set_code("late");
  f.set_points(-101);
  EXPECT_EQ(ErrorField(CheckFormItem(f, "item", true)), "item.points");
  f.set_points(0);
  // 002_…, 3.2 (保密性: 不得泄露客户隐私): a name a person writes holds no phone or ID number.
  f.set_name("call 138 0013 8000 when late");
  EXPECT_EQ(ErrorField(CheckFormItem(f, "item", true)), "item.name");
  f.set_name("");
  EXPECT_EQ(ErrorField(CheckFormItem(f, "item", true)), "item.name");
  EXPECT_TRUE(CheckFormItem(f, "item", false).ok());
  const RuleDef* r = FindRule("physical_conflict");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->default_points, -50);
  EXPECT_EQ(r->source, pb::RULE_SOURCE_MANUAL);
  EXPECT_EQ(FindRule("housing_claim_help")->default_points, 100);
  EXPECT_EQ(FindRule("call_unrecorded")->source, pb::RULE_SOURCE_EVENT);
  EXPECT_EQ(FindRule("arrears_above_baseline")->source, pb::RULE_SOURCE_TEAM);
  EXPECT_EQ(FindRule("nope"), nullptr);
  EXPECT_TRUE(CheckRulePoints(*r, -30, "points").ok());
  EXPECT_TRUE(CheckRulePoints(*r, 0, "points").ok());
  EXPECT_EQ(ErrorField(CheckRulePoints(*r, 5, "points")), "points");
  EXPECT_EQ(ErrorField(CheckRulePoints(*r, -10001, "points")), "points");
  const RuleDef* reward = FindRule("housing_claim_help");
  EXPECT_TRUE(CheckRulePoints(*reward, 200, "points").ok());
  EXPECT_EQ(ErrorField(CheckRulePoints(*reward, -1, "points")), "points");
}

TEST(Settings, Checks) {
  EXPECT_TRUE(CheckSettings(DefaultSettings(), "settings").ok());
  EXPECT_EQ(DefaultSettings().base_score(), 100);
  EXPECT_EQ(DefaultSettings().appeal_window_days(), 5);
  pb::Settings s = DefaultSettings();
  s.set_base_score(0);
  EXPECT_EQ(ErrorField(CheckSettings(s, "settings")), "settings.base_score");
  s.set_base_score(101);  // a form is of 100 points
  EXPECT_EQ(ErrorField(CheckSettings(s, "settings")), "settings.base_score");
  s = DefaultSettings();
  s.set_appeal_window_days(61);
  EXPECT_EQ(ErrorField(CheckSettings(s, "settings")), "settings.appeal_window_days");
}

TEST(Months, AppealWindow) {
  absl::TimeZone sh = EstateZone("Asia/Shanghai");
  auto oct = MakeMonth(2026, 10);
  // Five days after 31 October ends, Shanghai time: 6 November 00:00 +08 = 5 Nov 16:00 UTC.
  absl::Time deadline = AppealDeadline(oct, sh, 5);
  EXPECT_EQ(deadline,
            absl::FromCivil(absl::CivilSecond(2026, 11, 5, 16, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(AppealDeadline(MakeMonth(2026, 12), sh, 0),
            absl::FromCivil(absl::CivilSecond(2026, 12, 31, 16, 0, 0), absl::UTCTimeZone()));
  // The month of a time is the estate's local month.
  absl::Time late = absl::FromCivil(absl::CivilSecond(2026, 10, 31, 17, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(MonthDate(MonthOf(late, sh)), "2026-11-01");
  EXPECT_EQ(MonthDate(MonthOf(late, absl::UTCTimeZone())), "2026-10-01");
  EXPECT_EQ(MonthDate(NextMonth(MakeMonth(2026, 12))), "2027-01-01");
  EXPECT_EQ(MonthFromDate("2026-03-01").month(), 3);
  EXPECT_EQ(ErrorField(CheckMonth(MakeMonth(2026, 13), "period")), "period.month");
  EXPECT_EQ(ErrorField(CheckMonth(MakeMonth(1999, 1), "period")), "period.year");
}

// CreateManualEntry.occurred_at: a real time, not before 2000 (the first year of a month) and
// not in the future; an absurd year never reaches the database.
TEST(ManualEntries, OccurredAtWithinItsRange) {
  absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 10, 15, 4, 0, 0), absl::UTCTimeZone());
  EXPECT_TRUE(CheckOccurredAt(ToProtoTime(now - absl::Hours(24)), now, "occurred_at").ok());
  EXPECT_TRUE(CheckOccurredAt(ToProtoTime(now + absl::Minutes(5)), now, "occurred_at").ok());
  EXPECT_TRUE(
      CheckOccurredAt(ToProtoTime(absl::FromCivil(absl::CivilDay(2000, 1, 1), absl::UTCTimeZone())),
                      now, "occurred_at")
          .ok());
  auto year = [](int64_t y) {
    return absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(y, 1, 1), absl::UTCTimeZone()));
  };
  google::protobuf::Timestamp ts;
  for (int64_t seconds : {year(-10000), year(-1), year(1), int64_t{-1}, int64_t{0}, year(2000) - 1,
                          std::numeric_limits<int64_t>::min()}) {
    ts.set_seconds(seconds);
    absl::Status st = CheckOccurredAt(ts, now, "occurred_at");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << seconds;
    EXPECT_EQ(ErrorField(st), "occurred_at") << seconds;
  }
  for (int64_t seconds :
       {absl::ToUnixSeconds(now) + 3600, year(10000), std::numeric_limits<int64_t>::max()}) {
    ts.set_seconds(seconds);
    EXPECT_EQ(ErrorField(CheckOccurredAt(ts, now, "occurred_at")), "occurred_at") << seconds;
  }
  ts = ToProtoTime(now);
  ts.set_nanos(-1);
  EXPECT_EQ(ErrorField(CheckOccurredAt(ts, now, "occurred_at")), "occurred_at");
  ts.set_nanos(1'000'000'000);
  EXPECT_EQ(ErrorField(CheckOccurredAt(ts, now, "occurred_at")), "occurred_at");
}

// A manual line goes only to a month still open to appeal (000_…, 二: the committee assesses
// the office by its lines, and every line can be appealed in its window): never into a
// closed month, nor after its appeal window.
TEST(ManualEntries, OnlyIntoAMonthStillOpenToAppeal) {
  absl::TimeZone sh = EstateZone("Asia/Shanghai");
  auto sep = MakeMonth(2026, 9);
  absl::Time deadline = AppealDeadline(sep, sh, 5);  // 5 Oct 16:00 UTC
  EXPECT_TRUE(CheckEntryMonth(sep, false, sh, 5, deadline - absl::Seconds(1), "occurred_at").ok());
  absl::Status st = CheckEntryMonth(sep, false, sh, 5, deadline, "occurred_at");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(st), "APPEAL_WINDOW_CLOSED");
  EXPECT_TRUE(absl::StartsWith(st.message(), "occurred_at: ")) << st.message();
  EXPECT_TRUE(absl::StrContains(st.message(), "2026-09")) << st.message();
  st = CheckEntryMonth(sep, true, sh, 5, deadline + absl::Hours(24), "occurred_at");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(st), "MONTH_CLOSED");
  EXPECT_TRUE(absl::StartsWith(st.message(), "occurred_at: ")) << st.message();
  EXPECT_TRUE(absl::StrContains(st.message(), "2026-09")) << st.message();
  // A month closed while its window is open (the group widened the window after the close).
  EXPECT_EQ(ErrorReason(CheckEntryMonth(sep, true, sh, 60, deadline, "occurred_at")),
            "MONTH_CLOSED");
}

TEST(Text, Csv) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
}

// issue 20.18: a CSV cell a spreadsheet would run as a formula is neutralised.
TEST(Text, CsvNeutralisesFormulaCells) {
  EXPECT_EQ(CsvField("=1+1"), "'=1+1");
  EXPECT_EQ(CsvField("+86 138"), "'+86 138");
  EXPECT_EQ(CsvField("-2"), "'-2");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tx"), "'\tx");
  EXPECT_EQ(CsvField("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvField("a=b"), "a=b");  // only the first character matters
  EXPECT_EQ(CsvField(""), "");
}

// ---- evidence of events ------------------------------------------------------------------

ev::Event Envelope(const std::string& type, const google::protobuf::Message& payload) {
  ev::Event e;
  e.set_event_id(NewId(absl::Now()));
  e.set_type(type);
  e.set_group_id(NewId(absl::Now()));
  *e.mutable_occurred_at() = ToProtoTime(absl::FromUnixSeconds(1790000000));
  e.mutable_payload()->PackFrom(payload);
  return e;
}

std::map<std::string, int32_t> Defaults() {
  std::map<std::string, int32_t> m;
  for (const RuleDef& r : Catalogue()) m[std::string(r.code)] = r.default_points;
  return m;
}

// The evidence of `e` in UTC; a refusal fails the test.
Evidence Read(const ev::Event& e, const Points& points) {
  absl::StatusOr<Evidence> evidence = EvidenceOf(e, points, absl::UTCTimeZone());
  EXPECT_TRUE(evidence.ok()) << evidence.status();
  return evidence.ok() ? *std::move(evidence) : Evidence();
}

TEST(Evidence, CallbackUnsatisfiedUnpaid) {
  ev::CallbackRecorded c;
  c.set_estate_id(NewId(absl::Now()));
  c.set_satisfaction(wuye::common::v1::SATISFACTION_VERY_UNSATISFIED);
  std::string w1 = NewId(absl::Now()), w2 = NewId(absl::Now());
  c.add_worker_ids(w1);
  c.add_worker_ids(w2);
  c.add_worker_ids(w1);  // listed twice: counted once
  c.set_agent_id(NewId(absl::Now()));
  Evidence e = Read(Envelope("intake.callback.recorded", c), Defaults());
  // 000_…, 二.5: one office line of −20 per unsatisfied visit, naming both workers.
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_EQ(e.quality[0].line.item, "service_unsatisfied");
  EXPECT_EQ(e.quality[0].line.points, -20);
  EXPECT_EQ(e.quality[0].line.responsible, (std::vector<std::string>{w1, w2}));
  EXPECT_EQ(e.facts.size(), 3u);  // the agent's call, two workers rated
  c.set_paid(true);
  e = Read(Envelope("intake.callback.recorded", c), Defaults());
  EXPECT_TRUE(e.quality.empty());  // paid items are not deducted
  c.set_paid(false);
  c.set_satisfaction(wuye::common::v1::SATISFACTION_SATISFIED);
  e = Read(Envelope("intake.callback.recorded", c), Defaults());
  EXPECT_TRUE(e.quality.empty());
  EXPECT_EQ(e.facts[1].callbacks_satisfied, 1);
}

// 000_…, 二.5 "在上門服務中業主對其服務態度進行評估,非有償服務的條目中,評估為不滿意的,每次扣服務
// 質量標準分值20分": only an on-site service (上門服務) rated unsatisfied costs 20. A callback
// naming no worker — a ticket settled at the desk, or whose work orders were all cancelled —
// rates no visit: a figure of the agent's, no office line.
TEST(Evidence, AnUnsatisfiedCallbackCostsTwentyOnlyForAnOnSiteService) {
  ev::CallbackRecorded c;
  c.set_estate_id(NewId(absl::Now()));
  c.set_satisfaction(wuye::common::v1::SATISFACTION_UNSATISFIED);
  c.set_agent_id(NewId(absl::Now()));
  Evidence e = Read(Envelope("intake.callback.recorded", c), Defaults());
  EXPECT_TRUE(e.quality.empty());  // resolved at the desk: nobody visited
  ASSERT_EQ(e.facts.size(), 1u);   // the agent's call is still counted
  EXPECT_EQ(e.facts[0].callbacks_made, 1);
  c.add_work_order_ids(NewId(absl::Now()));  // its only order cancelled: no worker went
  c.add_worker_ids("not-an-id");
  e = Read(Envelope("intake.callback.recorded", c), Defaults());
  EXPECT_TRUE(e.quality.empty());
  std::string w = NewId(absl::Now());
  c.add_worker_ids(w);  // a worker went: an on-site service
  e = Read(Envelope("intake.callback.recorded", c), Defaults());
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_EQ(e.quality[0].line.item, "service_unsatisfied");
  EXPECT_EQ(e.quality[0].line.points, -20);
  EXPECT_EQ(e.quality[0].line.responsible, (std::vector<std::string>{w}));
}

TEST(Evidence, UnrecordedCallAndComplaintAndSignature) {
  // 000_…, 二.5: only a resident's call is deducted; others are findings to review.
  ev::UnrecordedCall u;
  u.set_finding_id(NewId(absl::Now()));
  u.set_estate_id(NewId(absl::Now()));
  Evidence e = Read(Envelope("intake.call.unrecorded", u), Defaults());
  ASSERT_EQ(e.findings.size(), 1u);
  EXPECT_EQ(e.findings[0].caller, pb::CALLER_KIND_UNSPECIFIED);
  EXPECT_EQ(e.findings[0].state, pb::FINDING_STATE_TO_REVIEW);
  EXPECT_TRUE(e.quality.empty());
  u.set_caller_is_resident(false);
  e = Read(Envelope("intake.call.unrecorded", u), Defaults());
  EXPECT_EQ(e.findings[0].caller, pb::CALLER_KIND_NOT_RESIDENT);
  EXPECT_TRUE(e.quality.empty());
  u.set_caller_is_resident(true);
  e = Read(Envelope("intake.call.unrecorded", u), Defaults());
  EXPECT_EQ(e.findings[0].state, pb::FINDING_STATE_DEDUCTED);
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_TRUE(e.quality[0].on_duty);  // the agents on duty, by the roster
  EXPECT_TRUE(e.quality[0].line.responsible.empty());
  EXPECT_EQ(e.quality[0].line.points, -20);
  u.add_staff_ids(NewId(absl::Now()));
  e = Read(Envelope("intake.call.unrecorded", u), Defaults());
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_EQ(e.quality[0].line.responsible, (std::vector<std::string>{u.staff_ids(0)}));

  ev::ComplaintVerified c;
  c.set_estate_id(u.estate_id());
  c.set_staff_id(NewId(absl::Now()));
  e = Read(Envelope("intake.complaint.verified", c), Defaults());
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_EQ(e.quality[0].line.item, "complaint_verified");
  EXPECT_EQ(e.facts[0].complaints_against, 1);

  ev::WorkOrderChanged w;
  w.set_estate_id(u.estate_id());
  w.add_worker_ids(NewId(absl::Now()));
  auto points = Defaults();
  points["work_unsigned"] = -30;
  ev::Event env = Envelope("dispatch.work_order.signature_missing", w);
  e = Read(env, points);
  ASSERT_EQ(e.quality.size(), 1u);
  EXPECT_EQ(e.quality[0].line.points, -30);
  EXPECT_EQ(e.quality[0].line.source_event_id, env.event_id());

  *w.mutable_sla_deadline() = ToProtoTime(absl::Now());
  w.set_sla_met(true);
  e = Read(Envelope("dispatch.work_order.completed", w), points);
  EXPECT_TRUE(e.quality.empty());
  ASSERT_EQ(e.facts.size(), 1u);
  EXPECT_EQ(e.facts[0].sla_hits, 1);
  EXPECT_EQ(e.facts[0].requests_handled, 1);
  e = Read(Envelope("dispatch.sla.breached", w), points);
  EXPECT_EQ(e.facts[0].sla_misses, 1);
  // Not evidence at all.
  e = Read(Envelope("dispatch.work_order.assigned", w), points);
  EXPECT_TRUE(e.quality.empty() && e.lines.empty() && e.facts.empty());
  EXPECT_FALSE(IsEvidence("dispatch.work_order.assigned"));
  EXPECT_TRUE(IsEvidence("dispatch.sla.breached"));
}

// Issue 27 §2 ("pausing cannot hide misses"). The time a worker keeps is the standard's (004_…
// 5.2.4 "小問題在24小時內處理完畢,大問題三天之內有回應") or the one agreed with the resident
// (002_… 第八节 有偿服务标准作业规程, 室内维修 1 "与业主预约维修时间", 3 "按预约时间提前5-10分钟
// 到达维修现场"): a completion met counting the pauses is a hit; met only thanks to them (missed
// as if never paused) it is counted beside the hit as well, so that it shows.
TEST(Evidence, AHitMetOnlyThanksToAPauseStaysAHitAndIsCountedApart) {
  ev::WorkOrderChanged w;
  w.set_estate_id(NewId(absl::Now()));
  w.add_worker_ids(NewId(absl::Now()));
  w.add_worker_ids(NewId(absl::Now()));
  *w.mutable_sla_deadline() = ToProtoTime(absl::Now());
  w.set_sla_met(true);
  w.set_sla_met_unpaused(false);
  w.mutable_paused_time()->set_seconds(30 * 3600);
  Evidence e = Read(Envelope("dispatch.work_order.completed", w), Defaults());
  ASSERT_EQ(e.facts.size(), 2u);
  for (const FactDelta& f : e.facts) {
    EXPECT_EQ(f.sla_hits, 1);
    EXPECT_EQ(f.sla_hits_paused_only, 1);
    EXPECT_EQ(f.sla_misses, 0);
  }
  EXPECT_TRUE(e.lines.empty() && e.quality.empty());  // no points either way
  // Met as if never paused too: a plain hit.
  w.set_sla_met_unpaused(true);
  e = Read(Envelope("dispatch.work_order.completed", w), Defaults());
  EXPECT_EQ(e.facts[0].sla_hits, 1);
  EXPECT_EQ(e.facts[0].sla_hits_paused_only, 0);
  // Missed counting the pauses: no hit, and nothing met thanks to a pause.
  w.set_sla_met(false);
  w.set_sla_met_unpaused(false);
  e = Read(Envelope("dispatch.work_order.completed", w), Defaults());
  EXPECT_EQ(e.facts[0].sla_hits, 0);
  EXPECT_EQ(e.facts[0].sla_hits_paused_only, 0);
  // An event from before dispatch published the unpaused figure (no paused_time): a hit only.
  w.set_sla_met(true);
  w.clear_paused_time();
  e = Read(Envelope("dispatch.work_order.completed", w), Defaults());
  EXPECT_EQ(e.facts[0].sla_hits, 1);
  EXPECT_EQ(e.facts[0].sla_hits_paused_only, 0);
  // No worker on the order: the estate's figure.
  w.clear_worker_ids();
  w.mutable_paused_time()->set_seconds(5 * 60);
  e = Read(Envelope("dispatch.work_order.completed", w), Defaults());
  ASSERT_EQ(e.facts.size(), 1u);
  EXPECT_EQ(e.facts[0].staff_id, kNilId);
  EXPECT_EQ(e.facts[0].sla_hits_paused_only, 1);
}

// docs/events.md (consumers): an evidence event whose payload is not the message its type
// carries is refused, so the bus dead-letters it where an operator sees it, instead of
// counting as no evidence.
TEST(Evidence, APayloadOfAnotherMessageIsRefused) {
  ev::WorkOrderChanged w;
  w.set_estate_id(NewId(absl::Now()));
  w.add_worker_ids(NewId(absl::Now()));
  for (const char* type : {"intake.call.unrecorded", "intake.callback.recorded",
                           "intake.complaint.verified", "intake.ticket.changed"}) {
    absl::StatusOr<Evidence> e = EvidenceOf(Envelope(type, w), Defaults(), absl::UTCTimeZone());
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << type;
  }
  ev::CallbackRecorded c;
  absl::StatusOr<Evidence> e =
      EvidenceOf(Envelope("dispatch.sla.breached", c), Defaults(), absl::UTCTimeZone());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  // A type that is no evidence is not read at all.
  EXPECT_TRUE(
      EvidenceOf(Envelope("intake.complaint.major", c), Defaults(), absl::UTCTimeZone()).ok());
}

// ---- the counter's evidence (issue #25) ------------------------------------------------------

// 000_… 二.7–9 "定期或不定期进行检查,如发现未处理…每发现一件扣服务质量标准分值50分": a case an
// inspection found not handled is one −50 office line (the event is its evidence), naming
// the case's owner (whose form it moves onto), entered by the inspector, in the month of the
// inspection in the estate's zone.
TEST(Evidence, CounterCaseFoundUnhandledIsMinusFiftyOnItsOwner) {
  ev::CaseFoundUnhandled c;
  c.set_case_id(NewId(absl::Now()));
  c.set_estate_id(NewId(absl::Now()));
  c.set_inspection_id(NewId(absl::Now()));
  c.set_owner_staff_id(NewId(absl::Now()));
  c.set_inspector_staff_id(NewId(absl::Now()));
  // 2026-10-31 17:00 UTC is 2026-11-01 01:00 in Shanghai: November's.
  *c.mutable_at() = ToProtoTime(absl::FromCivil(absl::CivilSecond(2026, 10, 31, 17, 0, 0),
                                                absl::UTCTimeZone()));
  ev::Event env = Envelope("counter.case.found_unhandled", c);
  absl::StatusOr<Evidence> read = EvidenceOf(env, Defaults(), EstateZone("Asia/Shanghai"));
  ASSERT_TRUE(read.ok()) << read.status();
  const Evidence& e = *read;
  ASSERT_EQ(e.quality.size(), 1u);
  const QualityDraft& q = e.quality[0].line;
  EXPECT_EQ(q.item, "violation_not_handled");
  EXPECT_EQ(q.points, -50);
  EXPECT_EQ(q.state, pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_EQ(q.source_event_id, env.event_id());
  EXPECT_EQ(q.estate_id, c.estate_id());
  EXPECT_EQ(q.period, "2026-11-01");
  EXPECT_EQ(q.responsible, (std::vector<std::string>{c.owner_staff_id()}));
  EXPECT_EQ(q.entered_by, c.inspector_staff_id());
  EXPECT_EQ(q.note, "counter case " + c.case_id() + " found not handled");
  EXPECT_FALSE(e.quality[0].on_duty);
  EXPECT_TRUE(e.lines.empty() && e.facts.empty() && e.surveys.empty());
  // The group's points; an owner not known still costs the office, nobody's form.
  auto points = Defaults();
  points["violation_not_handled"] = -80;
  c.set_owner_staff_id("someone");
  Evidence nobody = Read(Envelope("counter.case.found_unhandled", c), points);
  ASSERT_EQ(nobody.quality.size(), 1u);
  EXPECT_EQ(nobody.quality[0].line.points, -80);
  EXPECT_TRUE(nobody.quality[0].line.responsible.empty());
  // No estate: nothing.
  c.clear_estate_id();
  EXPECT_TRUE(Read(Envelope("counter.case.found_unhandled", c), points).empty());
}

// 000_… 二.11 "每成功协助业主进行一次房屋质量维权奖励服务质量标准分值100分,以所作记录并经监督委员
// 会确认的次数为准": a warranty claim helped to success is +100 awaiting the committee's
// confirmation, naming who followed it.
TEST(Evidence, CounterClaimSucceededAwaitsTheCommittee) {
  ev::DefectClaimSucceeded d;
  d.set_defect_id(NewId(absl::Now()));
  d.set_estate_id(NewId(absl::Now()));
  d.set_unit_id(NewId(absl::Now()));
  d.set_staff_id(NewId(absl::Now()));
  ev::Event env = Envelope("counter.defect.claim_succeeded", d);
  Evidence e = Read(env, Defaults());
  ASSERT_EQ(e.quality.size(), 1u);
  const QualityDraft& q = e.quality[0].line;
  EXPECT_EQ(q.item, "housing_claim_help");
  EXPECT_EQ(q.points, 100);
  EXPECT_EQ(q.state, pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION);
  EXPECT_TRUE(NeedsConfirmation(q.item));
  EXPECT_EQ(q.responsible, (std::vector<std::string>{d.staff_id()}));
  EXPECT_EQ(q.source_event_id, env.event_id());
  EXPECT_EQ(q.period, "2026-09-01");  // no `at`: the envelope's time (2026-09-21 UTC)
}

// Issue #25 §5: a closed survey is the office's figure of the month, never points; figures
// that cannot be are not kept.
TEST(Evidence, CounterSurveyIsAFigureNotPoints) {
  ev::SurveyClosed v;
  v.set_survey_id(NewId(absl::Now()));
  v.set_estate_id(NewId(absl::Now()));
  v.set_households_answered(180);
  v.set_households(240);
  v.set_satisfied_bp(8650);
  *v.mutable_at() = ToProtoTime(absl::FromCivil(absl::CivilSecond(2026, 11, 30, 12, 0, 0),
                                                absl::UTCTimeZone()));
  ev::Event env = Envelope("counter.survey.closed", v);
  Evidence e = Read(env, Defaults());
  EXPECT_TRUE(e.quality.empty() && e.lines.empty() && e.facts.empty() && e.findings.empty());
  ASSERT_EQ(e.surveys.size(), 1u);
  EXPECT_EQ(e.surveys[0].survey_id, v.survey_id());
  EXPECT_EQ(e.surveys[0].estate_id, v.estate_id());
  EXPECT_EQ(e.surveys[0].period, "2026-11-01");
  EXPECT_EQ(e.surveys[0].households_answered, 180);
  EXPECT_EQ(e.surveys[0].households, 240);
  EXPECT_EQ(e.surveys[0].satisfied_bp, 8650);
  EXPECT_EQ(e.surveys[0].source_event_id, env.event_id());
  for (auto bad : {std::pair<int, int>{241, 240}, {-1, 240}}) {
    ev::SurveyClosed b = v;
    b.set_households_answered(bad.first);
    b.set_households(bad.second);
    EXPECT_TRUE(Read(Envelope("counter.survey.closed", b), Defaults()).empty());
  }
  for (int bp : {-1, 10001}) {
    ev::SurveyClosed b = v;
    b.set_satisfied_bp(bp);
    EXPECT_TRUE(Read(Envelope("counter.survey.closed", b), Defaults()).empty());
  }
  ev::SurveyClosed no_id = v;
  no_id.clear_survey_id();
  EXPECT_TRUE(Read(Envelope("counter.survey.closed", no_id), Defaults()).empty());
}

TEST(Evidence, TheCountersOtherEventsAreNoEvidenceAndWrongPayloadsAreRefused) {
  for (const char* type : {"counter.case.found_unhandled", "counter.defect.claim_succeeded",
                           "counter.survey.closed"}) {
    EXPECT_TRUE(IsEvidence(type)) << type;
    ev::WorkOrderChanged w;
    EXPECT_EQ(EvidenceOf(Envelope(type, w), Defaults(), absl::UTCTimeZone()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << type;
  }
  for (const char* type : {"counter.case.opened", "counter.case.closed",
                           "counter.renovation.applied", "counter.card.blocked"}) {
    EXPECT_FALSE(IsEvidence(type)) << type;
  }
}

}  // namespace
}  // namespace wuye::performance
