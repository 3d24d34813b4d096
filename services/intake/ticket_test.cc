// Intake's pure domain: ticket validation, the state machine, work-order moves, the
// consultation deadline and the callback rule at its boundaries.
#include "services/intake/ticket.h"

#include "services/intake/complaint_reply.h"
#include "services/intake/intake_store.h"

#include <gtest/gtest.h>

#include <set>

#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);

v1::Ticket Repair() {
  v1::Ticket t;
  t.set_estate_id(NewId(kNow));
  t.mutable_location()->set_unit_id(NewId(kNow));
  t.set_channel(common::CHANNEL_HOTLINE);
  t.set_kind(common::TICKET_KIND_REPAIR_UNIT);
  t.set_summary("Kitchen tap leaks");
  t.set_category(common::WORK_CATEGORY_PLUMBING);
  t.set_priority(common::PRIORITY_SMALL);
  return t;
}

v1::Ticket Consultation() {
  v1::Ticket t;
  t.set_estate_id(NewId(kNow));
  t.set_channel(common::CHANNEL_WALK_IN);
  t.set_kind(common::TICKET_KIND_CONSULTATION);
  t.set_summary("When is the water off?");
  return t;
}

std::string FieldOf(const absl::Status& st) { return ErrorField(st); }

TEST(PrepareTicket, AcceptsAValidRepairAndFillsTheLocationEstateAndTime) {
  v1::Ticket t = Repair();
  t.set_id("ignored");
  t.set_state(ev::TICKET_STATE_CLOSED);
  ASSERT_TRUE(PrepareTicket(t, "", kNow, "ticket").ok());
  EXPECT_EQ(t.location().estate_id(), t.estate_id());
  EXPECT_EQ(FromProtoTime(t.received_time()), kNow);
  EXPECT_TRUE(t.id().empty());
  EXPECT_EQ(t.state(), ev::TICKET_STATE_UNSPECIFIED);
  EXPECT_FALSE(t.has_answer_due_time());
}

TEST(PrepareTicket, NamesTheFieldOfEachBadInput) {
  struct Case {
    const char* field;
    std::function<void(v1::Ticket&)> spoil;
  };
  std::vector<Case> cases = {
      {"ticket.estate_id", [](v1::Ticket& t) { t.clear_estate_id(); }},
      {"ticket.estate_id", [](v1::Ticket& t) { t.set_estate_id("nope"); }},
      {"ticket.channel", [](v1::Ticket& t) { t.clear_channel(); }},
      {"ticket.channel", [](v1::Ticket& t) { t.set_channel(static_cast<common::Channel>(99)); }},
      {"ticket.kind", [](v1::Ticket& t) { t.clear_kind(); }},
      {"ticket.summary", [](v1::Ticket& t) { t.set_summary("   "); }},
      {"ticket.summary", [](v1::Ticket& t) { t.set_summary(std::string(201, 'a')); }},
      {"ticket.summary", [](v1::Ticket& t) { t.set_summary("bad\x01"); }},
      {"ticket.summary", [](v1::Ticket& t) { t.set_summary("\xff\xfe"); }},
      {"ticket.description", [](v1::Ticket& t) { t.set_description(std::string(4001, 'a')); }},
      {"ticket.location.estate_id",
       [](v1::Ticket& t) { t.mutable_location()->set_estate_id(NewId(kNow)); }},
      {"ticket.location.unit_id", [](v1::Ticket& t) { t.mutable_location()->set_unit_id("x"); }},
      {"ticket.location.unit_id", [](v1::Ticket& t) { t.clear_location(); }},
      {"ticket.resident_id", [](v1::Ticket& t) { t.set_resident_id("r1"); }},
      {"ticket.category", [](v1::Ticket& t) { t.clear_category(); }},
      {"ticket.priority", [](v1::Ticket& t) { t.clear_priority(); }},
      {"ticket.service_item_code", [](v1::Ticket& t) { t.set_service_item_code("CLEAN"); }},
      {"ticket.major", [](v1::Ticket& t) { t.set_major(true); }},
      {"ticket.first_complaint_id", [](v1::Ticket& t) { t.set_first_complaint_id(NewId(kNow)); }},
      {"ticket.disputed_bill_id", [](v1::Ticket& t) { t.set_disputed_bill_id(NewId(kNow)); }},
      {"ticket.needs_supervisor", [](v1::Ticket& t) { t.set_needs_supervisor(true); }},
      {"ticket.caller_phone", [](v1::Ticket& t) { t.set_caller_phone("12ab"); }},
      {"ticket.caller_phone", [](v1::Ticket& t) { t.set_caller_phone("123456"); }},
      {"ticket.caller_phone",
       [](v1::Ticket& t) {
         t.set_channel(common::CHANNEL_APP);
         t.set_caller_phone("13800001111");
       }},
      {"ticket.received_time",
       [](v1::Ticket& t) { *t.mutable_received_time() = ToProtoTime(kNow + absl::Seconds(1)); }},
      {"ticket.received_time",
       [](v1::Ticket& t) {
         *t.mutable_received_time() = ToProtoTime(kNow - absl::Hours(24 * 7) - absl::Seconds(1));
       }},
  };
  for (const auto& c : cases) {
    v1::Ticket t = Repair();
    c.spoil(t);
    absl::Status st = PrepareTicket(t, "", kNow, "ticket");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(FieldOf(st), c.field);
  }
}

TEST(PrepareTicket, WorkKindsNeedTheirPlace) {
  v1::Ticket common_area = Repair();
  common_area.set_kind(common::TICKET_KIND_REPAIR_COMMON);
  EXPECT_EQ(FieldOf(PrepareTicket(common_area, "", kNow, "ticket")), "ticket.location.common_area");
  common_area.mutable_location()->set_common_area("Building 3 lobby");
  EXPECT_TRUE(PrepareTicket(common_area, "", kNow, "ticket").ok());

  v1::Ticket paid = Repair();
  paid.set_kind(common::TICKET_KIND_PAID_SERVICE);
  EXPECT_EQ(FieldOf(PrepareTicket(paid, "", kNow, "ticket")), "ticket.service_item_code");
  paid.set_service_item_code("clean_home");
  EXPECT_EQ(FieldOf(PrepareTicket(paid, "", kNow, "ticket")), "ticket.service_item_code");
  paid.set_service_item_code("CLEAN_HOME");
  EXPECT_TRUE(PrepareTicket(paid, "", kNow, "ticket").ok());

  v1::Ticket consult = Consultation();
  consult.set_category(common::WORK_CATEGORY_PLUMBING);
  EXPECT_EQ(FieldOf(PrepareTicket(consult, "", kNow, "ticket")), "ticket.category");
}

TEST(PrepareTicket, ConsultationsAreDueAtOnceOrInFiveMinutes) {
  v1::Ticket t = Consultation();
  ASSERT_TRUE(PrepareTicket(t, "", kNow, "ticket").ok());
  EXPECT_EQ(FromProtoTime(t.answer_due_time()), kNow);
  t = Consultation();
  t.set_needs_supervisor(true);
  ASSERT_TRUE(PrepareTicket(t, "", kNow, "ticket").ok());
  EXPECT_EQ(FromProtoTime(t.answer_due_time()), kNow + absl::Minutes(5));

  t.set_state(ev::TICKET_STATE_RECEIVED);
  EXPECT_FALSE(IsOverdue(t, kNow + absl::Minutes(5)));
  EXPECT_TRUE(IsOverdue(t, kNow + absl::Minutes(5) + absl::Seconds(1)));
  t.set_state(ev::TICKET_STATE_ANSWERED);
  EXPECT_FALSE(IsOverdue(t, kNow + absl::Hours(1)));

  v1::Ticket answered = Consultation();
  EXPECT_TRUE(PrepareTicket(answered, "Thursday 9-12", kNow, "ticket").ok());
  answered.set_needs_supervisor(true);
  EXPECT_EQ(FieldOf(PrepareTicket(answered, "Thursday 9-12", kNow, "ticket")), "answer");
  v1::Ticket repair = Repair();
  EXPECT_EQ(FieldOf(PrepareTicket(repair, "an answer", kNow, "ticket")), "answer");
}

// DOMAIN.md §2 (answered at once, or within 5 minutes) with 000_…, 二.5 (每日24小时服务接待):
// the answer's clock runs while the estate's desk is open.
TEST(AnswerDue, FollowsTheDeskHoursUnlessTheDeskIsOpenAroundTheClock) {
  absl::TimeZone tz = EstateZone("Asia/Shanghai");
  auto at = [&](int day, int h, int m) {
    return absl::FromCivil(absl::CivilMinute(2026, 11, day, h, m), tz);
  };
  DeskHours around_the_clock;
  EXPECT_EQ(AnswerDue(at(24, 3, 0), false, around_the_clock, tz), at(24, 3, 0));
  EXPECT_EQ(AnswerDue(at(24, 3, 0), true, around_the_clock, tz), at(24, 3, 5));
  DeskHours day_desk{.open_24h = false, .opens_min = 8 * 60, .closes_min = 20 * 60};
  EXPECT_EQ(AnswerDue(at(24, 10, 0), true, day_desk, tz), at(24, 10, 5));  // open
  EXPECT_EQ(AnswerDue(at(24, 6, 30), false, day_desk, tz), at(24, 8, 0));  // before opening
  EXPECT_EQ(AnswerDue(at(24, 6, 30), true, day_desk, tz), at(24, 8, 5));
  EXPECT_EQ(AnswerDue(at(24, 20, 0), true, day_desk, tz), at(25, 8, 5));  // closed at 20:00
  EXPECT_EQ(AnswerDue(at(30, 23, 0), false, day_desk, tz),
            absl::FromCivil(absl::CivilMinute(2026, 12, 1, 8, 0), tz));  // month's end
}

// 002_…, 2.2.2 (解决不了的应向主管请示后五分钟内给予回复) with the desk's hours of 000_…, 二.5:
// the five minutes are minutes the desk is open. A window the closing interrupts goes on at
// the next opening; a desk open over midnight counts on through it.
TEST(AnswerDue, CountsOnlyTheDesksOpenMinutesAcrossClosingTime) {
  absl::TimeZone tz = EstateZone("Asia/Shanghai");
  auto at = [&](int day, int h, int m, int s = 0) {
    return absl::FromCivil(absl::CivilSecond(2026, 11, day, h, m, s), tz);
  };
  DeskHours day_desk{.open_24h = false, .opens_min = 8 * 60, .closes_min = 20 * 60};
  // 2 minutes before closing: 2 today, 3 at the next opening.
  EXPECT_EQ(AnswerDue(at(24, 19, 58), true, day_desk, tz), at(25, 8, 3));
  EXPECT_EQ(AnswerDue(at(24, 19, 59, 30), true, day_desk, tz), at(25, 8, 4, 30));
  // Exactly five minutes before closing: due at closing time.
  EXPECT_EQ(AnswerDue(at(24, 19, 55), true, day_desk, tz), at(24, 20, 0));
  // Answered at once: at the moment received, while open.
  EXPECT_EQ(AnswerDue(at(24, 19, 58), false, day_desk, tz), at(24, 19, 58));
  // The last day of the month runs into the next month's first opening.
  EXPECT_EQ(AnswerDue(at(30, 19, 57), true, day_desk, tz),
            absl::FromCivil(absl::CivilMinute(2026, 12, 1, 8, 2), tz));

  // A desk open over midnight (20:00–08:00, as directory.estate.* may say): its night runs
  // on through midnight, and its morning closing moves the rest to the evening.
  DeskHours night_desk{.open_24h = false, .opens_min = 20 * 60, .closes_min = 8 * 60};
  EXPECT_EQ(AnswerDue(at(24, 23, 58), true, night_desk, tz), at(25, 0, 3));
  EXPECT_EQ(AnswerDue(at(24, 7, 58), true, night_desk, tz), at(24, 20, 3));
  EXPECT_EQ(AnswerDue(at(24, 12, 0), true, night_desk, tz), at(24, 20, 5));
  EXPECT_EQ(AnswerDue(at(24, 3, 0), false, night_desk, tz), at(24, 3, 0));
  // A desk closing at midnight (closes 0): open till 24:00, the rest from 08:00.
  DeskHours till_midnight{.open_24h = false, .opens_min = 8 * 60, .closes_min = 0};
  EXPECT_EQ(AnswerDue(at(24, 23, 58), true, till_midnight, tz), at(25, 8, 3));
}

// 000_…, 二.5 (實行每日24小時服務接待): at a 24-hour desk the window is five minutes of the
// clock at any hour, across midnight too; hours that open and close at the same minute name
// no hours, and count as around the clock.
TEST(AnswerDue, ATwentyFourHourDeskCountsTheClock) {
  absl::TimeZone tz = EstateZone("Asia/Shanghai");
  auto at = [&](int day, int h, int m) {
    return absl::FromCivil(absl::CivilMinute(2026, 11, day, h, m), tz);
  };
  DeskHours around_the_clock;
  for (absl::Time t : {at(24, 19, 58), at(24, 23, 58), at(24, 7, 58), at(24, 20, 0)}) {
    EXPECT_EQ(AnswerDue(t, true, around_the_clock, tz), t + absl::Minutes(5));
    EXPECT_EQ(AnswerDue(t, false, around_the_clock, tz), t);
  }
  DeskHours no_hours{.open_24h = false, .opens_min = 8 * 60, .closes_min = 8 * 60};
  EXPECT_EQ(AnswerDue(at(24, 19, 58), true, no_hours, tz), at(24, 20, 3));
}

// A Timestamp a caller sends is a real time, not before 2000 (a call log's time, a
// received time, a reply's time); anything else is refused naming the field before it can
// reach the database.
TEST(RequestTime, RefusesTimesOutOfRangeNamingTheField) {
  google::protobuf::Timestamp ts = ToProtoTime(kNow);
  ASSERT_TRUE(RequestTime(ts, "t").ok());
  EXPECT_EQ(*RequestTime(ts, "t"), kNow);
  ts.set_seconds(946684800);  // 2000-01-01T00:00:00Z
  EXPECT_TRUE(RequestTime(ts, "t").ok());
  const std::vector<std::pair<int64_t, int32_t>> bad = {
      {-100000000000, 0}, {946684799, 999999999}, {0, 0},           {-1, 0},
      {253402300800, 0},  {INT64_MAX, 0},         {1795000000, -1}, {1795000000, 1000000000}};
  for (auto [seconds, nanos] : bad) {
    ts.set_seconds(seconds);
    ts.set_nanos(nanos);
    absl::StatusOr<absl::Time> t = RequestTime(ts, "calls[3].call_time");
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << seconds << " " << nanos;
    EXPECT_EQ(FieldOf(t.status()), "calls[3].call_time");
  }
}

TEST(PrepareTicket, ComplaintsMayBeMajorSecondOrAboutABill) {
  v1::Ticket t = Consultation();
  t.set_kind(common::TICKET_KIND_COMPLAINT);
  t.set_major(true);
  t.set_first_complaint_id(NewId(kNow));
  t.set_disputed_bill_id(NewId(kNow));
  EXPECT_TRUE(PrepareTicket(t, "", kNow, "ticket").ok());
  t.set_disputed_bill_id("bill-7");
  EXPECT_EQ(FieldOf(PrepareTicket(t, "", kNow, "ticket")), "ticket.disputed_bill_id");
}

TEST(StateMachine, AllowsExactlyTheDocumentedMoves) {
  using S = TicketState;
  std::set<std::pair<S, S>> legal = {
      {ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_ANSWERED},
      {ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_DISPATCHED},
      {ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_IN_PROGRESS},
      {ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_RESOLVED},
      {ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_CANCELLED},
      {ev::TICKET_STATE_ANSWERED, ev::TICKET_STATE_CLOSED},
      {ev::TICKET_STATE_ANSWERED, ev::TICKET_STATE_CANCELLED},
      {ev::TICKET_STATE_DISPATCHED, ev::TICKET_STATE_IN_PROGRESS},
      {ev::TICKET_STATE_DISPATCHED, ev::TICKET_STATE_RESOLVED},
      {ev::TICKET_STATE_DISPATCHED, ev::TICKET_STATE_CANCELLED},
      {ev::TICKET_STATE_IN_PROGRESS, ev::TICKET_STATE_RESOLVED},
      {ev::TICKET_STATE_IN_PROGRESS, ev::TICKET_STATE_CANCELLED},
      {ev::TICKET_STATE_RESOLVED, ev::TICKET_STATE_CALLBACK_DUE},
      {ev::TICKET_STATE_RESOLVED, ev::TICKET_STATE_CLOSED},
      {ev::TICKET_STATE_CALLBACK_DUE, ev::TICKET_STATE_CLOSED},
      {ev::TICKET_STATE_CALLBACK_DUE, ev::TICKET_STATE_REOPENED},
      {ev::TICKET_STATE_CLOSED, ev::TICKET_STATE_REOPENED},
      {ev::TICKET_STATE_REOPENED, ev::TICKET_STATE_DISPATCHED},
      {ev::TICKET_STATE_REOPENED, ev::TICKET_STATE_IN_PROGRESS},
      {ev::TICKET_STATE_REOPENED, ev::TICKET_STATE_RESOLVED},
      {ev::TICKET_STATE_REOPENED, ev::TICKET_STATE_CANCELLED},
  };
  for (int from = 0; from <= 9; ++from) {
    for (int to = 0; to <= 9; ++to) {
      auto f = static_cast<S>(from), t = static_cast<S>(to);
      bool expected = legal.count({f, t}) > 0;
      EXPECT_EQ(CanMove(common::TICKET_KIND_REPAIR_UNIT, f, t), expected) << from << "→" << to;
      absl::Status st = CheckMove(common::TICKET_KIND_REPAIR_UNIT, f, t);
      if (!expected) {
        EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_EQ(ErrorReason(st), "ILLEGAL_TRANSITION");
      }
    }
  }
}

TEST(StateMachine, AComplaintIsNeverAnsweredNorCancelled) {
  for (int from = 0; from <= 9; ++from) {
    auto f = static_cast<TicketState>(from);
    EXPECT_FALSE(CanMove(common::TICKET_KIND_COMPLAINT, f, ev::TICKET_STATE_ANSWERED));
    EXPECT_FALSE(CanMove(common::TICKET_KIND_COMPLAINT, f, ev::TICKET_STATE_CANCELLED));
  }
  EXPECT_TRUE(
      CanMove(common::TICKET_KIND_COMPLAINT, ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_RESOLVED));
}

TEST(WorkOrders, MoveTheTicketForwardOnly) {
  EXPECT_EQ(TargetForWorkOrder(ev::WORK_ORDER_STATE_WAITING), ev::TICKET_STATE_DISPATCHED);
  EXPECT_EQ(TargetForWorkOrder(ev::WORK_ORDER_STATE_ASSIGNED), ev::TICKET_STATE_DISPATCHED);
  for (auto s :
       {ev::WORK_ORDER_STATE_ACCEPTED, ev::WORK_ORDER_STATE_EN_ROUTE, ev::WORK_ORDER_STATE_ON_SITE,
        ev::WORK_ORDER_STATE_WORK_DONE, ev::WORK_ORDER_STATE_SIGNED}) {
    EXPECT_EQ(TargetForWorkOrder(s), ev::TICKET_STATE_IN_PROGRESS);
  }
  EXPECT_EQ(TargetForWorkOrder(ev::WORK_ORDER_STATE_COMPLETED), ev::TICKET_STATE_RESOLVED);
  EXPECT_EQ(TargetForWorkOrder(ev::WORK_ORDER_STATE_CANCELLED), ev::TICKET_STATE_UNSPECIFIED);

  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_RECEIVED, ev::TICKET_STATE_DISPATCHED, false),
            ev::TICKET_STATE_DISPATCHED);
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_REOPENED, ev::TICKET_STATE_DISPATCHED, false),
            ev::TICKET_STATE_DISPATCHED);
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_IN_PROGRESS, ev::TICKET_STATE_DISPATCHED, false),
            ev::TICKET_STATE_UNSPECIFIED);  // a late "assigned" does not move it back
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_IN_PROGRESS, ev::TICKET_STATE_IN_PROGRESS, false),
            ev::TICKET_STATE_UNSPECIFIED);
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_DISPATCHED, ev::TICKET_STATE_RESOLVED, true),
            ev::TICKET_STATE_RESOLVED);
  // Another order still open: the ticket stays in progress.
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_DISPATCHED, ev::TICKET_STATE_RESOLVED, false),
            ev::TICKET_STATE_IN_PROGRESS);
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_CLOSED, ev::TICKET_STATE_IN_PROGRESS, false),
            ev::TICKET_STATE_UNSPECIFIED);
  EXPECT_EQ(NextStateForWork(ev::TICKET_STATE_CANCELLED, ev::TICKET_STATE_RESOLVED, true),
            ev::TICKET_STATE_UNSPECIFIED);
}

// 004_…, 5.5.2: 以当月提供过居家服务的户数为计算依据 — the band follows the households
// served in the month: 300户以上 10 %, 100户-300户 20 %, 100户以下 30 %. 以上 and 以下
// include their number, so 100 and 300 are each in two bands and take the stricter: 100 →
// 30 %, 300 → 20 %.
TEST(CallbackQuota, FollowsTheHouseholdsServedAtTheBoundaries) {
  EXPECT_EQ(CallbackQuotaPercent(0), 30);
  EXPECT_EQ(CallbackQuotaPercent(5), 30);
  EXPECT_EQ(CallbackQuotaPercent(99), 30);
  EXPECT_EQ(CallbackQuotaPercent(100), 30);  // 100户以下 and 100户-300户: the stricter
  EXPECT_EQ(CallbackQuotaPercent(101), 20);
  EXPECT_EQ(CallbackQuotaPercent(300), 20);  // 300户以上 and 100户-300户: the stricter
  EXPECT_EQ(CallbackQuotaPercent(301), 10);
  EXPECT_EQ(RequiredCallbacks(30, 5), 2);  // 5 served, whatever the estate's size
  EXPECT_EQ(RequiredCallbacks(10, 0), 0);
  EXPECT_EQ(RequiredCallbacks(10, 1), 1);
  EXPECT_EQ(RequiredCallbacks(30, 99), 30);
  EXPECT_EQ(RequiredCallbacks(30, 100), 30);
  EXPECT_EQ(RequiredCallbacks(20, 300), 60);
  EXPECT_EQ(RequiredCallbacks(10, 301), 31);
}

// 004_…, 5.5.2 (抽樣比例不低于…; 以下情況必須全部回訪): the month is met when at least the
// quota of the households served is called back and no mandatory callback (A–D) is missing;
// the share is of the households served, 0 when none was.
TEST(CallbackQuota, CoverageIsMetByTheQuotaAndEveryMandatoryCallback) {
  CallbackCoverageFigures none = CallbackCoverageOf(0, 0, 0);
  EXPECT_EQ(none.quota_percent, 30);
  EXPECT_EQ(none.callbacks_required, 0);
  EXPECT_EQ(none.share_bp, 0);
  EXPECT_TRUE(none.met);
  EXPECT_FALSE(CallbackCoverageOf(0, 0, 1).met);  // a mandatory callback is still owed
  // 5 served at 30 %: 2 required.
  EXPECT_FALSE(CallbackCoverageOf(5, 1, 0).met);
  CallbackCoverageFigures two = CallbackCoverageOf(5, 2, 0);
  EXPECT_EQ(two.callbacks_required, 2);
  EXPECT_EQ(two.share_bp, 4000);
  EXPECT_TRUE(two.met);
  EXPECT_FALSE(CallbackCoverageOf(5, 5, 1).met);  // all called, one mandatory missing
  EXPECT_EQ(CallbackCoverageOf(5, 5, 0).share_bp, 10000);
  // The bands at their boundaries: 99 → 30 %, 100 → 30 %, 101 → 20 %, 300 → 20 %, 301 → 10 %.
  EXPECT_EQ(CallbackCoverageOf(99, 29, 0).met, false);
  EXPECT_EQ(CallbackCoverageOf(99, 30, 0).met, true);
  EXPECT_EQ(CallbackCoverageOf(100, 29, 0).met, false);
  EXPECT_EQ(CallbackCoverageOf(100, 30, 0).met, true);
  EXPECT_EQ(CallbackCoverageOf(100, 30, 0).quota_percent, 30);
  EXPECT_EQ(CallbackCoverageOf(101, 20, 0).met, false);
  EXPECT_EQ(CallbackCoverageOf(101, 21, 0).met, true);
  EXPECT_EQ(CallbackCoverageOf(300, 60, 0).met, true);
  EXPECT_EQ(CallbackCoverageOf(301, 30, 0).met, false);
  CallbackCoverageFigures big = CallbackCoverageOf(301, 31, 0);
  EXPECT_EQ(big.quota_percent, 10);
  EXPECT_EQ(big.callbacks_required, 31);
  EXPECT_EQ(big.share_bp, 1029);  // 31 / 301 rounds down
  EXPECT_TRUE(big.met);
}

// 004_…, 3 (居家服務是指:家政服務、維修服務) and 5.5.2 (以户为单位): a household served is a
// unit with an in-home service.
TEST(CallbackQuota, OnlyInHomeServicesAtAUnitServeAHousehold) {
  v1::Ticket t;
  t.set_id("t1");
  t.mutable_location()->set_unit_id("u1");
  for (auto kind : {common::TICKET_KIND_REPAIR_UNIT, common::TICKET_KIND_PAID_SERVICE}) {
    t.set_kind(kind);
    EXPECT_TRUE(IsInHomeService(t)) << kind;
    EXPECT_EQ(ServedHousehold(t), "u1");
  }
  t.set_kind(common::TICKET_KIND_EMERGENCY);
  t.set_category(common::WORK_CATEGORY_PLUMBING);  // a burst pipe in the flat
  EXPECT_TRUE(IsInHomeService(t));
  t.set_category(common::WORK_CATEGORY_SECURITY);  // guiding an ambulance
  EXPECT_FALSE(IsInHomeService(t));
  for (auto kind : {common::TICKET_KIND_COMPLAINT, common::TICKET_KIND_ELDERCARE_REQUEST,
                    common::TICKET_KIND_CONSULTATION}) {
    t.set_kind(kind);
    EXPECT_FALSE(IsInHomeService(t)) << kind;
    EXPECT_EQ(ServedHousehold(t), "");
  }
  t.set_kind(common::TICKET_KIND_REPAIR_COMMON);
  t.mutable_location()->set_common_area("lobby");
  EXPECT_FALSE(IsInHomeService(t));
}

// Resolves `n` in-home tickets of distinct households one after another, as the store would
// count them, and returns which were picked.
std::vector<bool> Simulate(int n) {
  std::vector<bool> picked;
  int called = 0;
  for (int i = 1; i <= n; ++i) {
    CallbackInputs in;
    in.kind = common::TICKET_KIND_REPAIR_UNIT;
    in.in_home = true;
    in.households_served = i;
    in.households_called = called;
    bool pick = DecideCallback(in) == v1::CALLBACK_REASON_SAMPLE;
    called += pick;
    picked.push_back(pick);
  }
  return picked;
}

// 004_…, 5.5.2: the quota of the households served holds whenever the month ends,
// across the 100/101 and 300/301 boundaries.
TEST(CallbackSample, MeetsTheQuotaOfTheHouseholdsServedAtEveryMoment) {
  std::vector<bool> picked = Simulate(400);
  int called = 0;
  for (int i = 1; i <= 400; ++i) {
    called += picked[i - 1];
    int quota = CallbackQuotaPercent(i);
    EXPECT_GE(called * 100, quota * i) << "at " << i;
    if (i <= 100) {
      EXPECT_EQ(called, RequiredCallbacks(30, i)) << "at " << i;
    }
  }
  // Past a boundary the quota falls; the calls made stay made and none is added until the
  // lower band needs them: 30 at 99 served, still 30 at 100..150, then 20 % of the served.
  int at99 = 0, at150 = 0, at151 = 0;
  for (int i = 0; i < 151; ++i) {
    if (i < 99) at99 += picked[i];
    if (i < 150) at150 += picked[i];
    at151 += picked[i];
  }
  EXPECT_EQ(at99, 30);
  EXPECT_EQ(at150, 30);
  EXPECT_EQ(at151, 31);
}

TEST(CallbackSample, IsReproducibleAndSpreadOverTheMonth) {
  EXPECT_EQ(Simulate(250), Simulate(250));
  // Under 100 served, 30 %: three picks in every run of ten households, none bunched.
  std::vector<bool> picked = Simulate(90);
  for (int block = 0; block < 9; ++block) {
    int in_block = 0;
    for (int i = block * 10; i < block * 10 + 10; ++i) in_block += picked[i];
    EXPECT_EQ(in_block, 3) << "block " << block;
  }
}

TEST(CallbackSample, ASecondTicketOfACalledHouseholdIsNotPickedAgain) {
  CallbackInputs in;
  in.kind = common::TICKET_KIND_REPAIR_UNIT;
  in.in_home = true;
  in.households_served = 1;
  in.households_called = 0;
  in.household_already_called = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NOT_REQUIRED);
}

// 004_…, 5.5.2 A–D (但以下情况必须全部回访) for in-home services, and every complaint.
TEST(CallbackSample, EveryMandatoryCaseIsCalledWhateverTheSample) {
  CallbackInputs base;
  base.kind = common::TICKET_KIND_REPAIR_UNIT;
  base.in_home = true;
  base.households_served = 5;
  base.households_called = 5;  // quota more than met
  base.household_already_called = true;
  EXPECT_EQ(DecideCallback(base), v1::CALLBACK_REASON_NOT_REQUIRED);

  CallbackInputs in = base;
  in.kind = common::TICKET_KIND_COMPLAINT;
  in.in_home = false;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_COMPLAINT);
  in = base;
  in.new_contract = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NEW_CONTRACT);
  in = base;
  in.new_service_item = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NEW_SERVICE_ITEM);
  in = base;
  in.worker_new = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NEW_STAFF);
  in = base;
  in.worker_complained = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_COMPLAINED_STAFF);
  // Not an in-home service (a common area): neither sampled nor a 居家服务 case.
  in = base;
  in.in_home = false;
  in.worker_new = true;
  in.household_already_called = false;
  in.households_called = 0;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NOT_REQUIRED);

  for (auto r : {v1::CALLBACK_REASON_COMPLAINT, v1::CALLBACK_REASON_NEW_CONTRACT,
                 v1::CALLBACK_REASON_NEW_SERVICE_ITEM, v1::CALLBACK_REASON_NEW_STAFF,
                 v1::CALLBACK_REASON_COMPLAINED_STAFF}) {
    EXPECT_TRUE(IsMandatory(r));
  }
  EXPECT_FALSE(IsMandatory(v1::CALLBACK_REASON_SAMPLE));
  EXPECT_FALSE(IsMandatory(v1::CALLBACK_REASON_NOT_REQUIRED));
}

TEST(CallbackSample, NewMeansStartedWithinTheWindow) {
  absl::CivilDay day(2026, 11, 24);
  EXPECT_TRUE(StartedWithin(day, day, 90));
  EXPECT_TRUE(StartedWithin(day - 89, day, 90));
  EXPECT_FALSE(StartedWithin(day - 90, day, 90));
  EXPECT_FALSE(StartedWithin(day + 1, day, 90));  // not started yet: a data error, not "new"
  EXPECT_TRUE(StartedWithin(day - 29, day, 30));
  EXPECT_FALSE(StartedWithin(day - 30, day, 30));
  v1::CallbackSettings s = DefaultCallbackSettings();
  EXPECT_EQ(s.new_staff_days(), 90);
  EXPECT_EQ(s.new_contract_days(), 30);
  EXPECT_EQ(s.new_item_days(), 90);
  EXPECT_TRUE(CheckCallbackSettings(s, "settings").ok());
  s.set_new_item_days(0);
  EXPECT_EQ(ErrorField(CheckCallbackSettings(s, "settings")), "settings.new_item_days");
}

// Issue #27 §1, a complaint's written reply: the group's window (default 72 hours on the
// working-day clock: 3 working days; the seeds give no figure) and its checks; the desk's
// words for it; due soon a third of the window before, at most 24 hours of the clock.
TEST(ComplaintReply, TheGroupsWindowItsChecksAndWords) {
  v1::CallbackSettings s = DefaultCallbackSettings();
  EXPECT_EQ(s.complaint_reply_hours(), 72);
  EXPECT_EQ(s.complaint_reply_clock(), common::SLA_CLOCK_WORKING_DAYS);
  s.set_complaint_reply_hours(2161);
  EXPECT_EQ(ErrorField(CheckCallbackSettings(s, "settings")), "settings.complaint_reply_hours");
  s.set_complaint_reply_hours(2160);
  s.set_complaint_reply_clock(common::SLA_CLOCK_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckCallbackSettings(s, "settings")), "settings.complaint_reply_clock");
  FillComplaintReplyDefaults(s);
  EXPECT_EQ(s.complaint_reply_clock(), common::SLA_CLOCK_WORKING_DAYS);
  EXPECT_EQ(s.complaint_reply_hours(), 2160);  // only what is unset takes the default
  EXPECT_EQ(ComplaintReplyLabel(72, common::SLA_CLOCK_WORKING_DAYS), "3个工作日");
  EXPECT_EQ(ComplaintReplyLabel(30, common::SLA_CLOCK_WORKING_DAYS), "30小时（工作日）");
  EXPECT_EQ(ComplaintReplyLabel(16, common::SLA_CLOCK_OFFICE_HOURS), "16个办公小时");
  EXPECT_EQ(ComplaintReplyLabel(48, common::SLA_CLOCK_ELAPSED), "48小时");
  EXPECT_EQ(ComplaintReplyWarnBefore(72), absl::Hours(24));
  EXPECT_EQ(ComplaintReplyWarnBefore(24), absl::Hours(8));
  EXPECT_EQ(ComplaintReplyWarnBefore(6), absl::Hours(2));
}

TEST(ServiceContracts, NeedAUnitAStartAndAnEndNotBeforeIt) {
  v1::ServiceContract c;
  c.set_estate_id("0190a1b2-0000-7000-8000-000000000001");
  c.set_unit_id("0190a1b2-0000-7000-8000-000000000002");
  c.set_summary("Weekly home cleaning");
  c.mutable_start_date()->set_year(2026);
  c.mutable_start_date()->set_month(11);
  c.mutable_start_date()->set_day(1);
  c.set_id("ignored");
  EXPECT_TRUE(PrepareContract(c, "contract").ok());
  EXPECT_EQ(c.id(), "");
  auto field = [&](auto mutate) {
    v1::ServiceContract bad = c;
    mutate(bad);
    return ErrorField(PrepareContract(bad, "contract"));
  };
  EXPECT_EQ(field([](v1::ServiceContract& b) { b.clear_unit_id(); }), "contract.unit_id");
  EXPECT_EQ(field([](v1::ServiceContract& b) { b.set_summary(" "); }), "contract.summary");
  EXPECT_EQ(field([](v1::ServiceContract& b) { b.clear_start_date(); }), "contract.start_date");
  EXPECT_EQ(field([](v1::ServiceContract& b) { b.mutable_start_date()->set_day(31); }),
            "contract.start_date");
  EXPECT_EQ(field([](v1::ServiceContract& b) {
              b.mutable_end_date()->set_year(2026);
              b.mutable_end_date()->set_month(10);
              b.mutable_end_date()->set_day(31);
            }),
            "contract.end_date");
  EXPECT_EQ(DateText(c.start_date()), "2026-11-01");
  EXPECT_EQ(DateFromText("2026-11-01").day(), 1);
}

TEST(Satisfaction, OnlyTheTwoLowestLevelsReopen) {
  EXPECT_FALSE(IsUnsatisfied(common::SATISFACTION_VERY_SATISFIED));
  EXPECT_FALSE(IsUnsatisfied(common::SATISFACTION_SATISFIED));
  EXPECT_FALSE(IsUnsatisfied(common::SATISFACTION_NEUTRAL));
  EXPECT_TRUE(IsUnsatisfied(common::SATISFACTION_UNSATISFIED));
  EXPECT_TRUE(IsUnsatisfied(common::SATISFACTION_VERY_UNSATISFIED));
}

TEST(Households, AreUnitsElseResidentsElseTheTicket) {
  v1::Ticket t;
  t.set_id("t1");
  EXPECT_EQ(HouseholdKey(t), "ticket:t1");
  t.set_resident_id("r1");
  EXPECT_EQ(HouseholdKey(t), "resident:r1");
  t.mutable_location()->set_unit_id("u1");
  EXPECT_EQ(HouseholdKey(t), "unit:u1");
}

TEST(Months, UseTheEstateTimeZone) {
  // 2026-11-30 17:00 UTC is already December 1st in Shanghai.
  absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 11, 30, 17, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(MonthKey(t, EstateZone("Asia/Shanghai")), "2026-12");
  EXPECT_EQ(MonthKey(t, EstateZone("UTC")), "2026-11");
  EXPECT_EQ(MonthKey(t, EstateZone("")), "2026-12");  // default zone
  EXPECT_EQ(MonthKey(t, EstateZone("Not/AZone")), "2026-12");
  common::Month m;
  m.set_year(2026);
  m.set_month(13);
  EXPECT_EQ(ErrorField(CheckMonth(m, "month")), "month.month");
  m.set_month(12);
  EXPECT_TRUE(CheckMonth(m, "month").ok());
}

// CreateTicket's estates (EstateCache): kept for the ttl, and forgotten at once when this
// process applies a change to any estate.
TEST(EstateCache, KeepsAnEstateForItsTtlAndNotPastAChangeAppliedHere) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  EstateCache cache(absl::Seconds(1));
  EstateFacts facts;
  facts.time_zone = "Asia/Shanghai";
  facts.desk.opens_min = 8 * 60;
  EXPECT_FALSE(cache.Find("g1", "e1", t0).has_value());
  cache.Keep("g1", "e1", facts, EstateGeneration(), t0);
  auto kept = cache.Find("g1", "e1", t0 + absl::Milliseconds(999));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->time_zone, "Asia/Shanghai");
  EXPECT_EQ(kept->desk.opens_min, 8 * 60);
  EXPECT_FALSE(cache.Find("g2", "e1", t0).has_value()) << "another group's estate of that id";
  EXPECT_FALSE(cache.Find("g1", "e1", t0 + absl::Seconds(1)).has_value()) << "past its ttl";

  // Read before a change this process applied: not kept past it.
  cache.Keep("g1", "e1", facts, EstateGeneration() - 1, t0);
  EXPECT_FALSE(cache.Find("g1", "e1", t0).has_value());
}

}  // namespace
}  // namespace wuye::intake
