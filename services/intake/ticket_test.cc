// Intake's pure domain: ticket validation, the state machine, work-order moves, the
// consultation deadline and the callback rule at its boundaries.
#include "services/intake/ticket.h"

#include <gtest/gtest.h>

#include <set>

#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"

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

TEST(Phone, NormalizesTheSameCallerToTheSameDigitsAndNeverQuotesIt) {
  EXPECT_EQ(*NormalizePhone("+86 138-0000-1111", "p"), "13800001111");
  EXPECT_EQ(*NormalizePhone("13800001111", "p"), "13800001111");
  EXPECT_EQ(*NormalizePhone("0755-8888 1234", "p"), "075588881234");
  absl::Status bad = NormalizePhone("138000011112222333", "p").status();
  EXPECT_EQ(ErrorField(bad), "p");
  EXPECT_EQ(bad.message().find("1380000"), std::string::npos);
  std::string h1 = HashPhone("key-one", "13800001111");
  EXPECT_EQ(h1.size(), 32u);
  EXPECT_EQ(h1, HashPhone("key-one", "13800001111"));
  EXPECT_NE(h1, HashPhone("key-two", "13800001111"));
  EXPECT_NE(h1, HashPhone("key-one", "13800001112"));
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

TEST(CallbackQuota, FollowsTheEstateSizeAtItsBoundaries) {
  EXPECT_EQ(CallbackQuotaPercent(0), 30);  // unknown: the strictest
  EXPECT_EQ(CallbackQuotaPercent(99), 30);
  EXPECT_EQ(CallbackQuotaPercent(100), 20);
  EXPECT_EQ(CallbackQuotaPercent(300), 20);
  EXPECT_EQ(CallbackQuotaPercent(301), 10);
  EXPECT_EQ(RequiredCallbacks(10, 0), 0);
  EXPECT_EQ(RequiredCallbacks(10, 1), 1);
  EXPECT_EQ(RequiredCallbacks(10, 10), 1);
  EXPECT_EQ(RequiredCallbacks(10, 11), 2);
  EXPECT_EQ(RequiredCallbacks(20, 99), 20);
  EXPECT_EQ(RequiredCallbacks(30, 100), 30);
  EXPECT_EQ(RequiredCallbacks(30, 101), 31);
}

// Resolves `n` tickets of distinct households one after another, as the store would count
// them, and returns which were picked.
std::vector<bool> Simulate(int estate_households, int n) {
  std::vector<bool> picked;
  int called = 0;
  for (int i = 1; i <= n; ++i) {
    CallbackInputs in;
    in.kind = common::TICKET_KIND_REPAIR_UNIT;
    in.quota_percent = CallbackQuotaPercent(estate_households);
    in.households_served = i;
    in.households_called = called;
    bool pick = DecideCallback(in) == v1::CALLBACK_REASON_SAMPLE;
    called += pick;
    picked.push_back(pick);
  }
  return picked;
}

TEST(CallbackSample, MeetsTheQuotaAtEveryMomentForEachSizeBoundary) {
  for (int households : {99, 100, 300, 301}) {
    int quota = CallbackQuotaPercent(households);
    std::vector<bool> picked = Simulate(households, 400);
    int called = 0;
    for (int i = 1; i <= 400; ++i) {
      called += picked[i - 1];
      // At least the quota whenever the month might end, and never more than one over.
      EXPECT_GE(called * 100, quota * i) << households << " at " << i;
      EXPECT_LE(called, RequiredCallbacks(quota, i)) << households << " at " << i;
    }
  }
}

TEST(CallbackSample, IsReproducibleAndSpreadOverTheMonth) {
  EXPECT_EQ(Simulate(301, 250), Simulate(301, 250));
  // 10 %: one pick in every run of ten households, none bunched.
  std::vector<bool> picked = Simulate(301, 100);
  for (int block = 0; block < 10; ++block) {
    int in_block = 0;
    for (int i = block * 10; i < block * 10 + 10; ++i) in_block += picked[i];
    EXPECT_EQ(in_block, 1) << "block " << block;
  }
}

TEST(CallbackSample, ASecondTicketOfACalledHouseholdIsNotPickedAgain) {
  CallbackInputs in;
  in.kind = common::TICKET_KIND_REPAIR_UNIT;
  in.quota_percent = 30;
  in.households_served = 1;
  in.households_called = 0;
  in.household_already_called = true;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_NOT_REQUIRED);
}

TEST(CallbackSample, EveryMandatoryCaseIsCalledWhateverTheSample) {
  CallbackInputs base;
  base.kind = common::TICKET_KIND_REPAIR_UNIT;
  base.quota_percent = 10;
  base.households_served = 5;
  base.households_called = 5;  // quota more than met
  base.household_already_called = true;
  EXPECT_EQ(DecideCallback(base), v1::CALLBACK_REASON_NOT_REQUIRED);

  CallbackInputs in = base;
  in.kind = common::TICKET_KIND_COMPLAINT;
  EXPECT_EQ(DecideCallback(in), v1::CALLBACK_REASON_COMPLAINT);
  in = base;
  in.new_service_contract = true;
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

  for (auto r : {v1::CALLBACK_REASON_COMPLAINT, v1::CALLBACK_REASON_NEW_CONTRACT,
                 v1::CALLBACK_REASON_NEW_SERVICE_ITEM, v1::CALLBACK_REASON_NEW_STAFF,
                 v1::CALLBACK_REASON_COMPLAINED_STAFF}) {
    EXPECT_TRUE(IsMandatory(r));
  }
  EXPECT_FALSE(IsMandatory(v1::CALLBACK_REASON_SAMPLE));
  EXPECT_FALSE(IsMandatory(v1::CALLBACK_REASON_NOT_REQUIRED));
}

TEST(CallbackSample, NewStaffMeansStartedWithinNinetyDays) {
  absl::CivilDay day(2026, 11, 24);
  EXPECT_TRUE(IsNewStaff(day, day));
  EXPECT_TRUE(IsNewStaff(day - 89, day));
  EXPECT_FALSE(IsNewStaff(day - 90, day));
  EXPECT_FALSE(IsNewStaff(day + 1, day));  // not started yet: a data error, not "new"
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
  EXPECT_EQ(MonthKey(t, LoadZone("Asia/Shanghai")), "2026-12");
  EXPECT_EQ(MonthKey(t, LoadZone("UTC")), "2026-11");
  EXPECT_EQ(MonthKey(t, LoadZone("")), "2026-12");  // default zone
  EXPECT_EQ(MonthKey(t, LoadZone("Not/AZone")), "2026-12");
  common::Month m;
  m.set_year(2026);
  m.set_month(13);
  EXPECT_EQ(ErrorField(CheckMonth(m, "month")), "month.month");
  m.set_month(12);
  EXPECT_TRUE(CheckMonth(m, "month").ok());
}

}  // namespace
}  // namespace wuye::intake
