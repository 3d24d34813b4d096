// The duty desk's places in words, its desk-gap timer and the tasks of the producers'
// later events (issue #22 §1, §2), over real gRPC against a real PostgreSQL database of its
// own. Other services' events go through the desk's own handler, as the bus would feed
// them; the clock is a FakeClock.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/duty/consumers.h"
#include "services/duty/desk_gap.h"
#include "services/duty/duty_service.h"
#include "services/duty/places.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/events/v1/performance_events.pb.h"

namespace wuye::duty {
namespace {

using Stub = pb::DutyService::Stub;
using ::wuye::testing::TestToken;

// 09:00 UTC: 17:00 at an estate in Asia/Shanghai.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::UTCTimeZone());

class DutySourcesTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(duty_migrations(), 8);
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<DutyServiceImpl>(*db_, *verifier_, clock_, absl::Milliseconds(20));
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.duty.v1.DutyService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = pb::DutyService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                                         grpc::InsecureChannelCredentials()));
    handler_ = MakeHandler(*db_, clock_);
    group_ = NewId(absl::Now());
    estate_ = Estate(true, 0, 0);
    lead_ = Staff({ev::STAFF_ROLE_TEAM_LEAD});
    manager_ = Staff({ev::STAFF_ROLE_ESTATE_MANAGER});
    clerk_ = Staff({ev::STAFF_ROLE_FINANCE_CLERK});
    agent_ = Staff({ev::STAFF_ROLE_AGENT});
    guard_ = Staff({ev::STAFF_ROLE_SECURITY_GUARD});
    for (const std::string& s : {lead_, manager_, clerk_, guard_}) {
      Shift(s, kStart - absl::Hours(8), kStart + absl::Hours(16));
    }
    manager_tok_ = TestToken(group_, {estate_}, {"estate_manager"}, manager_);
    agent_tok_ = TestToken(group_, {estate_}, {"agent"}, agent_);
  }

  absl::Status Deliver(const std::string& type, const google::protobuf::Message& payload,
                       std::string event_id = "") {
    ev::Event e = ::wuye::testing::TestEvent(type, group_, payload);
    if (!event_id.empty()) e.set_event_id(event_id);
    e.set_estate_id(estate_);
    e.set_subject_version(1);
    *e.mutable_occurred_at() = ToProtoTime(clock_.Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  }

  // An estate in Asia/Shanghai: a 24-hour desk, or open from `opens` to `closes` (minutes
  // after local midnight).
  std::string Estate(bool desk_24h, int opens, int closes) {
    ev::EstateChanged e;
    e.set_estate_id(NewId(absl::Now()));
    e.set_time_zone("Asia/Shanghai");
    e.set_desk_24h(desk_24h);
    e.set_desk_opens_minute(opens);
    e.set_desk_closes_minute(closes);
    e.set_version(1);
    ev::Event env = ::wuye::testing::TestEvent("directory.estate.created", group_, e);
    env.set_estate_id(e.estate_id());
    EXPECT_TRUE(::wuye::testing::Deliver(*db_, handler_, env).ok());
    return e.estate_id();
  }

  std::string Staff(std::vector<ev::StaffRole> roles) {
    ev::StaffChanged s;
    s.set_staff_id(NewId(absl::Now()));
    for (auto r : roles) s.add_roles(r);
    s.add_home_estate_ids(estate_);
    s.set_active(true);
    s.set_version(1);
    EXPECT_TRUE(Deliver("directory.staff.created", s).ok());
    return s.staff_id();
  }

  void Shift(const std::string& staff, absl::Time start, absl::Time end) {
    ev::ShiftChanged sh;
    sh.set_shift_id(NewId(absl::Now()));
    sh.set_estate_id(estate_);
    sh.set_staff_id(staff);
    *sh.mutable_start_time() = ToProtoTime(start);
    *sh.mutable_end_time() = ToProtoTime(end);
    EXPECT_TRUE(Deliver("directory.shift.created", sh).ok());
  }

  // Building "3栋" with unit 1201 (version 1); returns the unit id.
  std::string Unit1201() {
    ev::BuildingCreated b;
    b.set_building_id(NewId(absl::Now()));
    b.set_estate_id(estate_);
    b.set_name("3栋");
    EXPECT_TRUE(Deliver("directory.building.created", b).ok());
    ev::UnitChanged u;
    u.set_unit_id(NewId(absl::Now()));
    u.set_estate_id(estate_);
    u.set_building_id(b.building_id());
    u.set_number("1201");
    u.set_version(1);
    EXPECT_TRUE(Deliver("directory.unit.created", u).ok());
    return u.unit_id();
  }

  std::vector<pb::Task> Tasks(int kind = 0) {
    pb::ListTasksRequest req;
    req.set_estate_id(estate_);
    req.set_kind(static_cast<ev::TaskKind>(kind));
    pb::ListTasksResponse resp;
    grpc::Status st = Call(&Stub::ListTasks, manager_tok_, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.tasks().begin(), resp.tasks().end()};
  }

  int64_t Count(const std::string& table) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(absl::StrCat("SELECT count(*) FROM ", table))[0].as<int64_t>();
  }

  pb::Attendance CheckIn(const std::string& request_id) {
    pb::CheckInRequest in;
    in.set_request_id(request_id);
    in.set_estate_id(estate_);
    in.set_role(ev::STAFF_ROLE_AGENT);
    pb::Attendance a;
    grpc::Status st = Call(&Stub::CheckIn, agent_tok_, in, &a);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return a;
  }

  void CheckOut(const std::string& request_id) {
    pb::CheckOutRequest out;
    out.set_request_id(request_id);
    out.set_estate_id(estate_);
    pb::Attendance a;
    grpc::Status st = Call(&Stub::CheckOut, agent_tok_, out, &a);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  FakeClock clock_{kStart};
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<DutyServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  EventHandler handler_;
  std::string group_, estate_, lead_, manager_, clerk_, agent_, guard_;
  std::string manager_tok_, agent_tok_;
};

// ---- places in words (issue #22 §2) -------------------------------------------------------------

TEST(PlaceWordsTest, BuildingAndUnitNeverANumberThatLooksLikeAPhone) {
  EXPECT_EQ(UnitWords("3栋", "1201"), "building 3 unit 1201");
  EXPECT_EQ(UnitWords("A座", "502"), "building A unit 502");
  EXPECT_EQ(UnitWords("12号楼", "0301"), "building 12 unit 0301");
  EXPECT_EQ(UnitWords("", "1201"), "unit 1201");
  EXPECT_EQ(UnitWords("3栋", ""), "");
  EXPECT_EQ(UnitWords("3栋", "138 0013 8000"), "");
  EXPECT_EQ(UnitWords("3栋\n", "1201"), "building 3 unit 1201");  // trimmed
  EXPECT_EQ(UnitWords("3\x01栋", "1201"), "");
  EXPECT_EQ(CommonAreaWords("car park B2"), "car park B2");
  EXPECT_EQ(CommonAreaWords("lobby, call 13800138000"), "common area");
  EXPECT_EQ(CommonAreaWords(std::string(61, 'x')), "common area");
  EXPECT_EQ(CommonAreaWords("\xff\xfe"), "common area");
}

TEST_F(DutySourcesTest, AnEmergencysTitleSaysTheBuildingAndUnit_NeverTheElder) {
  // Issue #22 §2: "an elder's emergency says 'elderly-care emergency, building 3 unit 1201'";
  // 004_… keeps the elder's health confidential: ids and the place only.
  std::string unit = Unit1201();
  ev::ElderEmergency em;
  em.set_emergency_id(NewId(absl::Now()));
  em.set_elder_id(NewId(absl::Now()));
  em.set_estate_id(estate_);
  em.set_unit_id(unit);
  ASSERT_TRUE(Deliver("eldercare.emergency.raised", em).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_ELDER_EMERGENCY);
  ASSERT_EQ(tasks.size(), 2u);  // the guard and the care workers
  for (const pb::Task& t : tasks) {
    EXPECT_EQ(t.title(), "elderly-care emergency, building 3 unit 1201");
    EXPECT_EQ(t.DebugString().find(em.elder_id()), std::string::npos);
  }
  // 000_… item 13: the guards guide the ambulance; dispatch's order for it completed (it
  // names the emergency) ends the emergency's tasks, once.
  ev::WorkOrderChanged order;
  order.set_work_order_id(NewId(absl::Now()));
  order.set_estate_id(estate_);
  order.set_emergency_id(em.emergency_id());
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", order).ok());
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", order).ok());
  for (const pb::Task& t : Tasks(ev::TASK_KIND_ELDER_EMERGENCY)) {
    EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  }
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 2);
}

TEST_F(DutySourcesTest, TheCopyOfUnitsIsIdempotentByVersion) {
  std::string unit = Unit1201();
  ev::UnitChanged u;
  u.set_unit_id(unit);
  u.set_estate_id(estate_);
  u.set_number("1202");  // renumbered, version 2
  u.set_version(2);
  ASSERT_TRUE(Deliver("directory.unit.updated", u).ok());
  u.set_number("1201");  // the old version again, late: no effect
  u.set_version(1);
  ASSERT_TRUE(Deliver("directory.unit.created", u).ok());
  ASSERT_TRUE(Deliver("directory.unit.updated", u).ok());
  EXPECT_EQ(Count("dir_units"), 1);
  EXPECT_EQ(Count("dir_units WHERE number = '1202' AND version = 2"), 1);

  // An import: its buildings and units, applied twice, copied once.
  ev::UnitImportChunk chunk;
  chunk.set_estate_id(estate_);
  ev::BuildingCreated* b = chunk.add_buildings_created();
  b->set_building_id(NewId(absl::Now()));
  b->set_estate_id(estate_);
  b->set_name("7幢");
  ev::UnitChanged* imported = chunk.add_units();
  imported->set_unit_id(NewId(absl::Now()));
  imported->set_estate_id(estate_);
  imported->set_building_id(b->building_id());
  imported->set_number("0801");
  imported->set_version(1);
  ASSERT_TRUE(Deliver("directory.units.imported", chunk).ok());
  ASSERT_TRUE(Deliver("directory.units.imported", chunk).ok());
  EXPECT_EQ(Count("dir_units"), 2);
  EXPECT_EQ(Count("dir_buildings"), 2);

  // A flagged meter reading of the imported unit: its words come from the copy. A unit the
  // copy does not know: the kind only.
  ev::MeterReadingFlagged r;
  r.set_reading_id(NewId(absl::Now()));
  r.set_estate_id(estate_);
  r.set_unit_id(imported->unit_id());
  ASSERT_TRUE(Deliver("billing.meter_reading.flagged", r).ok());
  r.set_reading_id(NewId(absl::Now()));
  r.set_unit_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("billing.meter_reading.flagged", r).ok());
  std::vector<std::string> titles;
  for (const pb::Task& t : Tasks(ev::TASK_KIND_METER_READING)) titles.push_back(t.title());
  std::sort(titles.begin(), titles.end());
  EXPECT_EQ(titles, (std::vector<std::string>{"meter reading flagged",
                                              "meter reading flagged, building 7 unit 0801"}));
}

// ---- the desk gap (000_… 二.5 "实行每日24小时服务接待") --------------------------------------

TEST_F(DutySourcesTest, AGapAtThe24HourDeskIsRaisedOnceAndClosedByAnAgentsCheckIn) {
  // 000_… 二.5: the desk receives residents 24 hours a day. Nobody checked in: a gap, a
  // task for the team lead on duty, raised once however often the timer looks.
  DeskGapJob job(*db_);
  EXPECT_EQ(*job.Run(kStart), 1);
  EXPECT_EQ(*job.Run(kStart + absl::Minutes(1)), 0);
  std::vector<pb::Task> gaps = Tasks(ev::TASK_KIND_DESK_GAP);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].role(), ev::STAFF_ROLE_TEAM_LEAD);
  EXPECT_EQ(std::vector<std::string>(gaps[0].assignee_ids().begin(), gaps[0].assignee_ids().end()),
            std::vector<std::string>{lead_});
  EXPECT_EQ(gaps[0].subject_ref(), "desk/" + estate_);
  EXPECT_EQ(gaps[0].title(), "nobody checked in at the 24-hour desk");

  // An agent checks in: the gap's task is done, in the check-in's own transaction.
  clock_.Set(kStart + absl::Minutes(2));
  CheckIn("in-1");
  gaps = Tasks(ev::TASK_KIND_DESK_GAP);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(*job.Run(kStart + absl::Minutes(3)), 0);

  // The agent hands over: checking out and the next check-in within the grace is no gap;
  // past it, a new gap, a new task.
  clock_.Set(kStart + absl::Hours(8));
  CheckOut("out-1");
  EXPECT_EQ(*job.Run(kStart + absl::Hours(8) + kDeskGapGrace - absl::Seconds(1)), 0);
  EXPECT_EQ(*job.Run(kStart + absl::Hours(8) + kDeskGapGrace), 1);
  EXPECT_EQ(Tasks(ev::TASK_KIND_DESK_GAP).size(), 2u);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.raised'"), 2);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 1);
}

TEST_F(DutySourcesTest, ACheckInThatRacedTheTimerStillClosesTheGap) {
  // The timer raised the task in a transaction that did not yet see the check-in: its
  // next look closes it (000_… 二.5).
  DeskGapJob job(*db_);
  ASSERT_EQ(*job.Run(kStart), 1);
  {
    pqxx::connection conn(tdb_.url());
    pqxx::work tx(conn);
    tx.exec(absl::StrCat(
        "INSERT INTO attendances (id, group_id, estate_id, staff_id, role, check_in_time) "
        "VALUES ('",
        NewId(absl::Now()), "', '", group_, "', '", estate_, "', '", agent_,
        "', 1, "
        "'2026-03-02 09:00:30+00')"));
    tx.commit();
  }
  EXPECT_EQ(*job.Run(kStart + absl::Minutes(1)), 1);
  EXPECT_EQ(Tasks(ev::TASK_KIND_DESK_GAP)[0].state(), ev::TASK_STATE_DONE);
}

TEST_F(DutySourcesTest, TwoTimersRacingRaiseEachGapOnce) {
  // Two replicas at the same moment (FOR UPDATE SKIP LOCKED): twelve estates, twelve tasks.
  for (int i = 0; i < 11; ++i) Estate(true, 0, 0);
  DeskGapJob a(*db_), b(*db_);
  std::atomic<int> raised{0};
  auto run = [&](DeskGapJob& job) {
    for (int i = 0; i < 5; ++i) raised += *job.Run(kStart, 2);
  };
  std::thread ta(run, std::ref(a)), tb(run, std::ref(b));
  ta.join();
  tb.join();
  raised += *a.Run(kStart);
  EXPECT_EQ(raised.load(), 12);
  EXPECT_EQ(Count("tasks WHERE kind = 14"), 12);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.raised'"), 12);
}

TEST_F(DutySourcesTest, ADeskWithHoursHasAGapOnlyWhileOpenInTheEstatesTime) {
  // 08:00–17:00 in Asia/Shanghai: at 09:00 UTC (17:00 there) the desk is closed; at
  // 01:00 UTC (09:00 there) it is open. The 24-hour desk of the fixture has its gap too.
  std::string office = Estate(false, 8 * 60, 17 * 60);
  DeskGapJob job(*db_);
  EXPECT_EQ(*job.Run(kStart), 1);  // the fixture's 24-hour desk only
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE subject_ref = 'desk/", office, "'")), 0);
  EXPECT_EQ(*job.Run(kStart + absl::Hours(16)), 1);
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE subject_ref = 'desk/", office, "'")), 1);
}

// ---- the producers' later events (issue #22 §2) ------------------------------------------------

TEST_F(DutySourcesTest, AnOverdueConsultationReachesTheTeamLeadOnceAndClosesWhenAnswered) {
  // 002_… 2.2.2: a consultation is answered within five minutes; intake's timer says when
  // one was not.
  std::string unit = Unit1201();
  ev::ConsultationOverdue c;
  c.set_ticket_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.mutable_location()->set_estate_id(estate_);
  c.mutable_location()->set_unit_id(unit);
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("intake.consultation.overdue", c, event_id).ok());
  ASSERT_TRUE(Deliver("intake.consultation.overdue", c, event_id).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_CONSULTATION_OVERDUE);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_TEAM_LEAD);
  EXPECT_EQ(tasks[0].title(), "consultation not answered, building 3 unit 1201");
  ev::TicketChanged answered;
  answered.set_ticket_id(c.ticket_id());
  answered.set_estate_id(estate_);
  answered.set_state(ev::TICKET_STATE_ANSWERED);
  ASSERT_TRUE(Deliver("intake.ticket.changed", answered).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_CONSULTATION_OVERDUE)[0].state(), ev::TASK_STATE_DONE);
}

// Issue #22 §2 "appeal to decide": the seeds name no appeal of a person's form line; the
// estate manager decides it (docs/api/performance.md), the office's appeal of a quality line
// is the supervisory committee's (000_… 二), recorded by the group: no task at the estate.
TEST_F(DutySourcesTest, AnAppealIsTheEstateManagersToDecide_TheOfficesIsNot) {
  ev::AppealChanged a;
  a.set_appeal_id(NewId(absl::Now()));
  a.set_estate_id(estate_);
  a.set_staff_id(agent_);
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("performance.appeal.created", a, event_id).ok());
  ASSERT_TRUE(Deliver("performance.appeal.created", a, event_id).ok());
  // The office's appeal of a quality line is the group's (the committee's record).
  ev::AppealChanged office;
  office.set_appeal_id(NewId(absl::Now()));
  office.set_estate_id(estate_);
  office.set_office(true);
  ASSERT_TRUE(Deliver("performance.appeal.created", office).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_APPEAL);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_ESTATE_MANAGER);
  EXPECT_EQ(tasks[0].subject_ref(), "appeal/" + a.appeal_id());
  EXPECT_EQ(tasks[0].title(), "appeal to decide");
  a.set_upheld(true);
  ASSERT_TRUE(Deliver("performance.appeal.decided", a).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_APPEAL)[0].state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 1);
}

// 000_… 二.5 (every call to the desk recorded): an unrecorded call not known to be a
// resident's is a finding the supervisor reviews; dismissed in performance, its task is done.
TEST_F(DutySourcesTest, ADismissedCallFindingClosesItsReviewTask) {
  ev::UnrecordedCall call;
  call.set_finding_id(NewId(absl::Now()));
  call.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("intake.call.unrecorded", call).ok());
  ASSERT_EQ(Tasks(ev::TASK_KIND_UNRECORDED_CALL).size(), 1u);
  ev::CallFindingDismissed d;
  d.set_finding_id(call.finding_id());
  d.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("performance.call_finding.dismissed", d).ok());
  ASSERT_TRUE(Deliver("performance.call_finding.dismissed", d).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_UNRECORDED_CALL)[0].state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 1);
}

// 002_… (客服部月计划 2): "每月初配合工程部对每户业主进行远程数据抄表" — the monthly reading; one
// billing holds as implausible is the finance clerk's to check (issue #22 §2).
TEST_F(DutySourcesTest, AFlaggedMeterReadingReachesTheFinanceClerkAndClosesWhenConfirmed) {
  std::string unit = Unit1201();
  ev::MeterReadingFlagged r;
  r.set_reading_id(NewId(absl::Now()));
  r.set_estate_id(estate_);
  r.set_unit_id(unit);
  r.set_meter_id("W1");
  r.set_meter_kind("water");
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("billing.meter_reading.flagged", r, event_id).ok());
  ASSERT_TRUE(Deliver("billing.meter_reading.flagged", r, event_id).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_METER_READING);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_FINANCE_CLERK);
  EXPECT_EQ(tasks[0].title(), "meter reading flagged, building 3 unit 1201");
  EXPECT_EQ(tasks[0].assignee_ids(0), clerk_);
  r.set_confirmed(true);
  ASSERT_TRUE(Deliver("billing.meter_reading.confirmed", r).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_METER_READING)[0].state(), ev::TASK_STATE_DONE);
}

// ---- the counter's events (issue #25: every decision reaches a person) -------------------------

// 000_… 二.9 (装修审批记录): a renovation application waits for the office's decision — the
// estate manager on duty gets it, at the unit, once per renovation however often it is
// delivered; the decision closes it. Another group's event is that group's alone.
TEST_F(DutySourcesTest, ARenovationApplicationReachesTheManagerOnceAndClosesWhenDecided) {
  std::string unit = Unit1201();
  ev::RenovationApplied a;
  a.set_renovation_id(NewId(absl::Now()));
  a.set_estate_id(estate_);
  a.set_unit_id(unit);
  a.set_documents_complete(true);
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.renovation.applied", a, event_id).ok());
  ASSERT_TRUE(Deliver("counter.renovation.applied", a, event_id).ok());
  ASSERT_TRUE(Deliver("counter.renovation.applied", a).ok());  // the same subject, republished
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_RENOVATION_APPLICATION);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_ESTATE_MANAGER);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_OPEN);
  ASSERT_EQ(tasks[0].assignee_ids_size(), 1);
  EXPECT_EQ(tasks[0].assignee_ids(0), manager_);
  EXPECT_EQ(tasks[0].subject_ref(), "renovation/" + a.renovation_id());
  EXPECT_EQ(tasks[0].location().unit_id(), unit);
  EXPECT_EQ(tasks[0].title(), "renovation application to decide, building 3 unit 1201");
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.raised'"), 1);

  // Another group's application (the same ids) raises nothing of this group's.
  ev::Event foreign =
      ::wuye::testing::TestEvent("counter.renovation.applied", NewId(absl::Now()), a);
  foreign.set_estate_id(estate_);
  *foreign.mutable_occurred_at() = ToProtoTime(clock_.Now());
  ASSERT_TRUE(::wuye::testing::Deliver(*db_, handler_, foreign).ok());
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE group_id = '", group_,
                               "' AND kind = ", ev::TASK_KIND_RENOVATION_APPLICATION)),
            1);
  EXPECT_EQ(Tasks(ev::TASK_KIND_RENOVATION_APPLICATION).size(), 1u);

  ev::RenovationDecided d;
  d.set_renovation_id(a.renovation_id());
  d.set_estate_id(estate_);
  d.set_unit_id(unit);
  d.set_approved(true);
  d.set_deposit_fen(200000);
  ASSERT_TRUE(Deliver("counter.renovation.decided", d).ok());
  ASSERT_TRUE(Deliver("counter.renovation.decided", d).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_RENOVATION_APPLICATION)[0].state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 1);
}

// 000_… 二.9 (日常巡查记录): a day of approved work without a patrol record is a finding for
// the supervisor on duty — once per renovation and day.
TEST_F(DutySourcesTest, AMissedPatrolReachesTheSupervisorOncePerDay) {
  std::string supervisor = Staff({ev::STAFF_ROLE_SUPERVISOR});
  Shift(supervisor, kStart - absl::Hours(8), kStart + absl::Hours(16));
  std::string unit = Unit1201();
  ev::PatrolMissed p;
  p.set_renovation_id(NewId(absl::Now()));
  p.set_estate_id(estate_);
  p.set_unit_id(unit);
  p.mutable_date()->set_year(2026);
  p.mutable_date()->set_month(3);
  p.mutable_date()->set_day(1);
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.renovation.patrol_missed", p, event_id).ok());
  ASSERT_TRUE(Deliver("counter.renovation.patrol_missed", p, event_id).ok());
  ASSERT_TRUE(Deliver("counter.renovation.patrol_missed", p).ok());
  p.mutable_date()->set_day(2);  // the next day is another finding
  ASSERT_TRUE(Deliver("counter.renovation.patrol_missed", p).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_PATROL_MISSED);
  ASSERT_EQ(tasks.size(), 2u);
  for (const pb::Task& t : tasks) {
    EXPECT_EQ(t.role(), ev::STAFF_ROLE_SUPERVISOR);
    ASSERT_EQ(t.assignee_ids_size(), 1);
    EXPECT_EQ(t.assignee_ids(0), supervisor);
    EXPECT_EQ(t.subject_ref(), "renovation/" + p.renovation_id());
    EXPECT_EQ(t.title(), "renovation patrol missed, building 3 unit 1201");
  }
}

// 000_… 二.7–9 "如发现未处理…": a case an inspection found not handled reaches the estate
// manager on duty, once per inspection; the case closed, the task is done.
TEST_F(DutySourcesTest, ACaseFoundUnhandledReachesTheManagerAndClosesWithTheCase) {
  ev::CaseFoundUnhandled c;
  c.set_case_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.set_inspection_id(NewId(absl::Now()));
  c.set_owner_staff_id(agent_);
  c.set_inspector_staff_id(lead_);
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", c).ok());
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", c).ok());  // the same inspection
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_CASE_UNHANDLED);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_ESTATE_MANAGER);
  EXPECT_EQ(tasks[0].assignee_ids(0), manager_);
  EXPECT_EQ(tasks[0].subject_ref(), "case/" + c.case_id());
  EXPECT_EQ(tasks[0].title(), "case found not handled");
  // Neither who owns the case nor who inspected is named by the task.
  EXPECT_EQ(tasks[0].DebugString().find(agent_), std::string::npos);
  EXPECT_EQ(tasks[0].DebugString().find(lead_), std::string::npos);
  ev::CaseChanged closed;
  closed.set_case_id(c.case_id());
  closed.set_estate_id(estate_);
  closed.set_kind("illegal_building");
  closed.set_closed(true);
  ASSERT_TRUE(Deliver("counter.case.closed", closed).ok());
  EXPECT_EQ(Tasks(ev::TASK_KIND_CASE_UNHANDLED)[0].state(), ev::TASK_STATE_DONE);
}

// Issue #25 §4: a card reported lost is blocked at the access-control system by the security
// guard on duty (until an integration consumes the event itself): once per card, naming the
// card by id — never its number.
TEST_F(DutySourcesTest, ALostCardReachesTheGuardOnDutyOnceByIdNeverByNumber) {
  ev::CardBlocked b;
  b.set_card_id(NewId(absl::Now()));
  b.set_estate_id(estate_);
  b.set_card_number("13800138000");
  b.set_kind("access");
  ASSERT_TRUE(Deliver("counter.card.blocked", b).ok());
  ASSERT_TRUE(Deliver("counter.card.blocked", b).ok());
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_CARD_TO_BLOCK);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_SECURITY_GUARD);
  ASSERT_EQ(tasks[0].assignee_ids_size(), 1);
  EXPECT_EQ(tasks[0].assignee_ids(0), guard_);
  EXPECT_EQ(tasks[0].subject_ref(), "card/" + b.card_id());
  EXPECT_EQ(tasks[0].title(), "lost card to block at the gates");
  EXPECT_EQ(tasks[0].DebugString().find("13800138000"), std::string::npos);
  EXPECT_EQ(Count("wuye_outbox WHERE position('13800138000' in encode(envelope, 'escape')) > 0"),
            0);
  // A payload of another message is refused, nothing raised.
  EXPECT_EQ(Deliver("counter.card.blocked", ev::CaseChanged()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE kind = ", ev::TASK_KIND_CARD_TO_BLOCK)), 1);
}

TEST_F(DutySourcesTest, ItReadsThePerformanceAndBillingStreams) {
  std::vector<std::string> streams = ConsumedStreams();
  EXPECT_NE(std::find(streams.begin(), streams.end(), StreamOf("performance")), streams.end());
  EXPECT_NE(std::find(streams.begin(), streams.end(), StreamOf("billing")), streams.end());
  EXPECT_NE(std::find(streams.begin(), streams.end(), StreamOf("counter")), streams.end());
}

// Issue 27 §3: a city's 12345 order reaches the supervisor when it arrives, the team lead
// when its reply is due soon, the supervisor and the estate manager when it is overdue;
// each once (a redelivery, or the same event republished, raises nothing more), and the
// reply delivered to the city's platform closes them all (a reply only recorded does not). The task
// names the place, never the caller nor the complaint (the event carries neither).
TEST_F(DutySourcesTest, A12345OrderReachesThePersonOnDutyOnceAndItsReplyClosesIt) {
  // A supervisor on duty too (the fixture has none: a supervisor's task would go up a level).
  Shift(Staff({ev::STAFF_ROLE_SUPERVISOR}), kStart - absl::Hours(8), kStart + absl::Hours(16));
  std::string unit = Unit1201();
  ev::HotlineOrderEvent h;
  h.set_ticket_id(NewId(absl::Now()));
  h.set_estate_id(estate_);
  h.mutable_location()->set_estate_id(estate_);
  h.mutable_location()->set_unit_id(unit);
  h.set_city("shenzhen");
  h.set_order_number("SZ20260930-0001");
  for (const char* type :
       {"intake.hotline.received", "intake.hotline.due_soon", "intake.hotline.overdue"}) {
    std::string event_id = NewId(absl::Now());
    ASSERT_TRUE(Deliver(type, h, event_id).ok());
    ASSERT_TRUE(Deliver(type, h, event_id).ok());  // redelivered
    ASSERT_TRUE(Deliver(type, h).ok());            // republished under a new envelope
  }
  std::vector<pb::Task> received = Tasks(ev::TASK_KIND_HOTLINE_ORDER);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(received[0].title(), "12345 order received, building 3 unit 1201");
  EXPECT_EQ(received[0].subject_ref(), absl::StrCat("hotline/", h.ticket_id()));
  std::vector<pb::Task> soon = Tasks(ev::TASK_KIND_HOTLINE_DUE_SOON);
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(soon[0].role(), ev::STAFF_ROLE_TEAM_LEAD);
  std::vector<pb::Task> overdue = Tasks(ev::TASK_KIND_HOTLINE_OVERDUE);
  ASSERT_EQ(overdue.size(), 2u);
  std::set<int> roles;
  for (const auto& t : overdue) roles.insert(t.role());
  EXPECT_EQ(roles, (std::set<int>{ev::STAFF_ROLE_SUPERVISOR, ev::STAFF_ROLE_ESTATE_MANAGER}));

  // A reply recorded closes nothing (issue 27 §3: it counts once it reached the city's
  // platform); its delivery closes them all.
  ASSERT_TRUE(Deliver("intake.hotline.replied", h).ok());
  for (const auto& t : Tasks(ev::TASK_KIND_HOTLINE_DUE_SOON)) {
    EXPECT_NE(t.state(), ev::TASK_STATE_DONE);
  }
  ASSERT_TRUE(Deliver("intake.hotline.delivered", h).ok());
  for (ev::TaskKind kind : {ev::TASK_KIND_HOTLINE_ORDER, ev::TASK_KIND_HOTLINE_DUE_SOON,
                            ev::TASK_KIND_HOTLINE_OVERDUE}) {
    for (const auto& t : Tasks(kind)) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE) << kind;
  }
  std::cout << "FIGURE duty_hotline_tasks " << Count("tasks") << "\n";
}

// Issue 27 §1 ("a complaint's written reply" runs on working days): intake's reply timers
// put a task in front of the estate's supervisor on duty — due soon (kind 25) and overdue
// (kind 26), each once whatever the redeliveries — and the handling result given closes
// both; a second complaint's tasks are closed by its ticket closing. Ids and the place only.
TEST_F(DutySourcesTest, AComplaintReplyDueReachesTheSupervisorOnDutyOnceAndTheResultClosesIt) {
  Shift(Staff({ev::STAFF_ROLE_SUPERVISOR}), kStart - absl::Hours(8), kStart + absl::Hours(16));
  std::string unit = Unit1201();
  ev::ComplaintReplyEvent c;
  c.set_ticket_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.mutable_location()->set_estate_id(estate_);
  c.mutable_location()->set_unit_id(unit);
  for (const char* type : {"intake.complaint.reply_due_soon", "intake.complaint.reply_overdue"}) {
    std::string event_id = NewId(absl::Now());
    ASSERT_TRUE(Deliver(type, c, event_id).ok());
    ASSERT_TRUE(Deliver(type, c, event_id).ok());  // redelivered
    ASSERT_TRUE(Deliver(type, c).ok());            // republished under a new envelope
  }
  std::vector<pb::Task> soon = Tasks(ev::TASK_KIND_COMPLAINT_REPLY_DUE_SOON);
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(soon[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(soon[0].title(), "complaint reply due soon, building 3 unit 1201");
  EXPECT_EQ(soon[0].subject_ref(), absl::StrCat("complaint_reply/", c.ticket_id()));
  std::vector<pb::Task> overdue = Tasks(ev::TASK_KIND_COMPLAINT_REPLY_OVERDUE);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  ASSERT_TRUE(Deliver("intake.complaint.replied", c).ok());
  for (ev::TaskKind kind :
       {ev::TASK_KIND_COMPLAINT_REPLY_DUE_SOON, ev::TASK_KIND_COMPLAINT_REPLY_OVERDUE}) {
    for (const auto& t : Tasks(kind)) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE) << kind;
  }

  // Another complaint's overdue task, closed by its ticket ending.
  ev::ComplaintReplyEvent other = c;
  other.set_ticket_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("intake.complaint.reply_overdue", other).ok());
  ev::TicketChanged closed;
  closed.set_ticket_id(other.ticket_id());
  closed.set_estate_id(estate_);
  closed.set_state(ev::TICKET_STATE_CLOSED);
  ASSERT_TRUE(Deliver("intake.ticket.changed", closed).ok());
  overdue = Tasks(ev::TASK_KIND_COMPLAINT_REPLY_OVERDUE);
  ASSERT_EQ(overdue.size(), 2u);
  for (const auto& t : overdue) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  std::cout << "FIGURE duty_complaint_reply_tasks " << overdue.size() + soon.size() << "\n";
}

// Issue 27 §3: a 12345 order the government's callback rated unsatisfied (政府回访不满意)
// reaches the supervisor on duty once per callback (a redelivery or a republished event
// raises nothing more); the title names the city's order number, never the caller; the
// next reply delivered to the city's platform closes it. 002_… 2.3.5: "解决不满意的问题" — someone
// has to take the dissatisfaction up.
TEST_F(DutySourcesTest, A12345OrderRatedUnsatisfiedReachesTheSupervisorOnceAndTheReplyClosesIt) {
  Shift(Staff({ev::STAFF_ROLE_SUPERVISOR}), kStart - absl::Hours(8), kStart + absl::Hours(16));
  std::string unit = Unit1201();
  ev::HotlineOrderEvent h;
  h.set_ticket_id(NewId(absl::Now()));
  h.set_estate_id(estate_);
  h.mutable_location()->set_estate_id(estate_);
  h.mutable_location()->set_unit_id(unit);
  h.set_city("shenzhen");
  h.set_order_number("SZ20260930-0001");
  h.set_rating(ev::HOTLINE_RATING_UNSATISFIED);
  *h.mutable_callback_at() = ToProtoTime(kStart);
  std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("intake.hotline.rated", h, event_id).ok());
  ASSERT_TRUE(Deliver("intake.hotline.rated", h, event_id).ok());  // redelivered
  ASSERT_TRUE(Deliver("intake.hotline.rated", h).ok());            // republished
  std::vector<pb::Task> tasks = Tasks(ev::TASK_KIND_HOTLINE_ATTENTION);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(tasks[0].title(),
            "12345 needs attention: order shenzhen SZ20260930-0001 rated unsatisfied, building 3 "
            "unit 1201");
  EXPECT_EQ(tasks[0].subject_ref(), absl::StrCat("hotline_rating/", h.ticket_id()));
  EXPECT_NE(tasks[0].state(), ev::TASK_STATE_DONE);

  ASSERT_TRUE(Deliver("intake.hotline.delivered", h).ok());
  tasks = Tasks(ev::TASK_KIND_HOTLINE_ATTENTION);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_DONE);
  std::cout << "FIGURE duty_hotline_unsatisfied_tasks " << tasks.size() << "\n";
}

// Issue 27 §3: a city's 12345 platform failing is a task for each estate the endpoint
// covers, and "recovered" closes the task of the estate it names only — intake tells it to
// an estate the endpoint stops covering mid-failure while the estates still covered keep
// theirs, until the exchange works again (the bad case: a recovery for one estate must not
// close another's, nor leave its own open).
TEST_F(DutySourcesTest, A12345EndpointsTaskIsClosedEstateByEstate) {
  Shift(Staff({ev::STAFF_ROLE_SUPERVISOR}), kStart - absl::Hours(8), kStart + absl::Hours(16));
  const std::string other = Estate(true, 0, 0);
  ev::HotlineEndpointEvent p;
  p.set_city("shenzhen");
  p.mutable_failing_since()->set_seconds(500);
  p.set_last_error("orders: HTTP 503");
  for (const std::string& estate : {estate_, other}) {
    p.set_estate_id(estate);
    ASSERT_TRUE(Deliver("intake.hotline.endpoint_failing", p).ok());
  }
  auto open_in = [&](const std::string& estate) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx
        .exec_params1(
            "SELECT count(*) FROM tasks WHERE kind = $1 AND estate_id = $2::uuid AND "
            "state IN (1, 2, 3)",
            static_cast<int>(ev::TASK_KIND_HOTLINE_ATTENTION), estate)[0]
        .as<int>();
  };
  ASSERT_EQ(open_in(estate_), 1);
  ASSERT_EQ(open_in(other), 1);
  // The endpoint stops covering `other`: its task closes, estate_'s stays.
  p.set_estate_id(other);
  ASSERT_TRUE(Deliver("intake.hotline.endpoint_recovered", p).ok());
  EXPECT_EQ(open_in(other), 0);
  EXPECT_EQ(open_in(estate_), 1);
  // It works again: estate_'s closes too.
  p.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("intake.hotline.endpoint_recovered", p).ok());
  EXPECT_EQ(open_in(estate_), 0);
  std::cout << "FIGURE duty_hotline_endpoint_tasks " << Count("tasks WHERE kind = 24") << "\n";
}

}  // namespace
}  // namespace wuye::duty
