// The duty desk over real gRPC against a real PostgreSQL database of its own. Other
// services' events go through the desk's own handler, as the bus would feed them; the
// clock is a FakeClock so that acknowledgement windows run out on cue.
#include "services/duty/duty_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/duty/consumers.h"
#include "services/duty/duty_jobs.h"
#include "services/duty/handover_flow.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/redis.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/duty_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::duty {
namespace {

using Stub = pb::DutyService::Stub;
using ::wuye::testing::TestToken;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::UTCTimeZone());

class DutyServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(duty_migrations(), 8);
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<DutyServiceImpl>(*db_, *verifier_, clock_, watch_poll_);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.duty.v1.DutyService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = pb::DutyService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                                         grpc::InsecureChannelCredentials()));
    handler_ = MakeHandler(*db_, clock_);
    group_ = NewId(absl::Now());
    estate_ = Estate(group_);
    lead_ = Staff({ev::STAFF_ROLE_TEAM_LEAD});
    supervisor_ = Staff({ev::STAFF_ROLE_SUPERVISOR});
    manager_ = Staff({ev::STAFF_ROLE_ESTATE_MANAGER});
    agent_ = Staff({ev::STAFF_ROLE_AGENT});
    lead_tok_ = TestToken(group_, {estate_}, {"team_lead"}, lead_);
    supervisor_tok_ = TestToken(group_, {estate_}, {"supervisor"}, supervisor_);
    manager_tok_ = TestToken(group_, {estate_}, {"estate_manager"}, manager_);
    agent_tok_ = TestToken(group_, {estate_}, {"agent"}, agent_);
    admin_tok_ = TestToken(group_, {"*"}, {"group_admin"}, NewId(absl::Now()));
  }

  absl::Status Deliver(const std::string& type, const std::string& group,
                       const google::protobuf::Message& payload, const std::string& estate = "",
                       std::string event_id = "") {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
    if (!event_id.empty()) e.set_event_id(event_id);
    e.set_estate_id(estate);
    e.set_subject_version(1);
    *e.mutable_occurred_at() = ToProtoTime(clock_.Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  }

  std::string Estate(const std::string& group) {
    ev::EstateChanged e;
    e.set_estate_id(NewId(absl::Now()));
    e.set_time_zone("Asia/Shanghai");
    e.set_desk_24h(true);
    e.set_version(1);
    EXPECT_TRUE(Deliver("directory.estate.created", group, e, e.estate_id()).ok());
    return e.estate_id();
  }

  std::string Staff(std::vector<ev::StaffRole> roles) {
    ev::StaffChanged s;
    s.set_staff_id(NewId(absl::Now()));
    for (auto r : roles) s.add_roles(r);
    s.add_home_estate_ids(estate_);
    s.set_active(true);
    s.set_version(1);
    EXPECT_TRUE(Deliver("directory.staff.created", group_, s).ok());
    return s.staff_id();
  }

  std::string Shift(const std::string& staff, absl::Time start, absl::Time end) {
    ev::ShiftChanged sh;
    sh.set_shift_id(NewId(absl::Now()));
    sh.set_estate_id(estate_);
    sh.set_staff_id(staff);
    *sh.mutable_start_time() = ToProtoTime(start);
    *sh.mutable_end_time() = ToProtoTime(end);
    EXPECT_TRUE(Deliver("directory.shift.created", group_, sh, estate_).ok());
    return sh.shift_id();
  }

  // The team lead, supervisor and manager on the roster for the day.
  void RosterLeads() {
    for (const std::string& s : {lead_, supervisor_, manager_}) {
      Shift(s, kStart - absl::Hours(1), kStart + absl::Hours(10));
    }
  }

  std::string MajorComplaint(const std::string& event_id = "") {
    ev::MajorComplaint m;
    m.set_ticket_id(NewId(absl::Now()));
    m.set_estate_id(estate_);
    m.set_summary("resident at 13800138000 says the lift is broken");
    EXPECT_TRUE(Deliver("intake.complaint.major", group_, m, estate_, event_id).ok());
    return m.ticket_id();
  }

  ev::WorkOrderChanged Order(int level) {
    ev::WorkOrderChanged o;
    o.set_work_order_id(NewId(absl::Now()));
    o.set_estate_id(estate_);
    o.mutable_location()->set_common_area("car park B2");
    o.set_escalation_level(level);
    return o;
  }

  std::vector<pb::Task> Tasks(const std::string& token, pb::ListTasksRequest req = {}) {
    if (req.estate_id().empty()) req.set_estate_id(estate_);
    pb::ListTasksResponse resp;
    grpc::Status st = Call(&Stub::ListTasks, token, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.tasks().begin(), resp.tasks().end()};
  }

  int64_t Count(const std::string& table) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(absl::StrCat("SELECT count(*) FROM ", table))[0].as<int64_t>();
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  FakeClock clock_{kStart};
  absl::Duration watch_poll_ = absl::Milliseconds(20);  // WatchTasks' fallback poll
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<DutyServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  EventHandler handler_;
  std::string group_, estate_, lead_, supervisor_, manager_, agent_;
  std::string lead_tok_, supervisor_tok_, manager_tok_, agent_tok_, admin_tok_;
};

// ---- check-in and check-out (值班登记, 000_… 二.1) -------------------------------------------

TEST_F(DutyServiceTest, CheckInAndOutAreRecordedAndArchived) {
  pb::CheckInRequest in;
  in.set_request_id("in-1");
  in.set_estate_id(estate_);
  in.set_role(ev::STAFF_ROLE_AGENT);
  pb::Attendance a;
  ASSERT_TRUE(Call(&Stub::CheckIn, agent_tok_, in, &a).ok());
  EXPECT_EQ(a.staff_id(), agent_);
  EXPECT_FALSE(a.has_check_out_time());

  // The same request_id: the same answer, one row. Another request with it: reused.
  pb::Attendance again;
  ASSERT_TRUE(Call(&Stub::CheckIn, agent_tok_, in, &again).ok());
  EXPECT_EQ(again.id(), a.id());
  EXPECT_EQ(Count("attendances"), 1);
  pb::CheckInRequest other = in;
  other.set_note("different");
  grpc::Status reused = Call(&Stub::CheckIn, agent_tok_, other, &again);
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");
  // A second check-in while the first is open.
  in.set_request_id("in-2");
  grpc::Status twice = Call(&Stub::CheckIn, agent_tok_, in, &again);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(twice), "ALREADY_CHECKED_IN");

  // On duty now: by the check-in.
  pb::ListOnDutyRequest who;
  who.set_estate_id(estate_);
  pb::ListOnDutyResponse on;
  ASSERT_TRUE(Call(&Stub::ListOnDuty, agent_tok_, who, &on).ok());
  ASSERT_EQ(on.on_duty_size(), 1);
  EXPECT_EQ(on.on_duty(0).staff_id(), agent_);
  EXPECT_EQ(on.on_duty(0).source(), pb::DUTY_SOURCE_CHECK_IN);

  clock_.Set(kStart + absl::Hours(8));
  pb::CheckOutRequest out;
  out.set_request_id("out-1");
  out.set_estate_id(estate_);
  pb::Attendance closed;
  ASSERT_TRUE(Call(&Stub::CheckOut, agent_tok_, out, &closed).ok());
  EXPECT_EQ(closed.id(), a.id());
  EXPECT_EQ(FromProtoTime(closed.check_out_time()), kStart + absl::Hours(8));
  out.set_request_id("out-2");
  EXPECT_EQ(Reason(Call(&Stub::CheckOut, agent_tok_, out, &closed)), "NOT_CHECKED_IN");

  // The archive: the team lead reads it; the agent only their own.
  pb::ListAttendancesRequest list;
  list.set_estate_id(estate_);
  *list.mutable_window_start() = ToProtoTime(kStart - absl::Hours(24));
  *list.mutable_window_end() = ToProtoTime(kStart + absl::Hours(24));
  pb::ListAttendancesResponse archive;
  ASSERT_TRUE(Call(&Stub::ListAttendances, lead_tok_, list, &archive).ok());
  ASSERT_EQ(archive.attendances_size(), 1);
  EXPECT_EQ(Call(&Stub::ListAttendances, agent_tok_, list, &archive).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  list.set_staff_id(agent_);
  EXPECT_TRUE(Call(&Stub::ListAttendances, agent_tok_, list, &archive).ok());

  // Both events went through the outbox.
  EXPECT_EQ(Count("wuye_outbox WHERE type LIKE 'duty.attendance.%'"), 2);
}

TEST_F(DutyServiceTest, BadCheckInsChangeNothing) {
  pb::Attendance a;
  pb::CheckInRequest in;
  in.set_request_id("bad");
  in.set_estate_id("not-an-id");
  in.set_role(ev::STAFF_ROLE_AGENT);
  EXPECT_EQ(Field(Call(&Stub::CheckIn, agent_tok_, in, &a)), "estate_id");
  in.set_estate_id(estate_);
  in.set_role(ev::STAFF_ROLE_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::CheckIn, agent_tok_, in, &a)), "role");
  in.set_role(ev::STAFF_ROLE_GROUP_ADMIN);
  EXPECT_EQ(Field(Call(&Stub::CheckIn, agent_tok_, in, &a)), "role");
  in.set_role(static_cast<ev::StaffRole>(77));
  EXPECT_EQ(Field(Call(&Stub::CheckIn, agent_tok_, in, &a)), "role");
  in.set_role(ev::STAFF_ROLE_AGENT);
  in.set_note(std::string(501, 'x'));
  EXPECT_EQ(Field(Call(&Stub::CheckIn, agent_tok_, in, &a)), "note");
  in.clear_note();
  // A role the caller does not hold.
  in.set_role(ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(Call(&Stub::CheckIn, agent_tok_, in, &a).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The token says supervisor, the directory does not.
  std::string liar = TestToken(group_, {estate_}, {"agent", "supervisor"}, agent_);
  EXPECT_EQ(Call(&Stub::CheckIn, liar, in, &a).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("attendances"), 0);
}

TEST_F(DutyServiceTest, TheRosterAndCheckInsSayWhoIsOnDutyByRole) {
  std::string shift = Shift(agent_, kStart - absl::Hours(1), kStart + absl::Hours(7));
  Shift(lead_, kStart + absl::Hours(2), kStart + absl::Hours(10));  // not yet
  pb::ListOnDutyRequest who;
  who.set_estate_id(estate_);
  pb::ListOnDutyResponse on;
  ASSERT_TRUE(Call(&Stub::ListOnDuty, agent_tok_, who, &on).ok());
  ASSERT_EQ(on.on_duty_size(), 1);
  EXPECT_EQ(on.on_duty(0).staff_id(), agent_);
  EXPECT_EQ(on.on_duty(0).role(), ev::STAFF_ROLE_AGENT);
  EXPECT_EQ(on.on_duty(0).shift_id(), shift);
  EXPECT_EQ(on.on_duty(0).source(), pb::DUTY_SOURCE_ROSTER);
  *who.mutable_at() = ToProtoTime(kStart + absl::Hours(3));
  who.set_role(ev::STAFF_ROLE_TEAM_LEAD);
  ASSERT_TRUE(Call(&Stub::ListOnDuty, agent_tok_, who, &on).ok());
  ASSERT_EQ(on.on_duty_size(), 1);
  EXPECT_EQ(on.on_duty(0).staff_id(), lead_);
  // A deleted shift is nobody's duty, and a late "created" does not revive it.
  ev::ShiftChanged gone;
  gone.set_shift_id(shift);
  gone.set_estate_id(estate_);
  gone.set_staff_id(agent_);
  *gone.mutable_start_time() = ToProtoTime(kStart - absl::Hours(1));
  *gone.mutable_end_time() = ToProtoTime(kStart + absl::Hours(7));
  gone.set_deleted(true);
  ASSERT_TRUE(Deliver("directory.shift.deleted", group_, gone, estate_).ok());
  gone.set_deleted(false);
  ASSERT_TRUE(Deliver("directory.shift.created", group_, gone, estate_).ok());
  who.clear_at();
  who.clear_role();
  ASSERT_TRUE(Call(&Stub::ListOnDuty, agent_tok_, who, &on).ok());
  EXPECT_EQ(on.on_duty_size(), 0);
}

// ---- the desk (000_… 二.5) ----------------------------------------------------------------------

TEST_F(DutyServiceTest, TheDesksDutyPhoneAndHours) {
  pb::UpdateDeskRequest up;
  up.set_request_id("desk-1");
  up.mutable_desk()->set_estate_id(estate_);
  up.mutable_desk()->set_duty_phone("010-6914 0000");
  up.mutable_update_mask()->add_paths("duty_phone");
  pb::Desk d;
  ASSERT_TRUE(Call(&Stub::UpdateDesk, manager_tok_, up, &d).ok());
  EXPECT_EQ(d.duty_phone(), "010-6914 0000");
  EXPECT_TRUE(d.desk_24h());
  EXPECT_EQ(d.time_zone(), "Asia/Shanghai");
  pb::GetDeskRequest get;
  get.set_estate_id(estate_);
  ASSERT_TRUE(Call(&Stub::GetDesk, agent_tok_, get, &d).ok());
  EXPECT_EQ(d.duty_phone(), "010-6914 0000");
  // Refusals: an agent, a bad number, a path of the directory's.
  up.set_request_id("desk-2");
  EXPECT_EQ(Call(&Stub::UpdateDesk, agent_tok_, up, &d).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  up.mutable_desk()->set_duty_phone("call the manager");
  EXPECT_EQ(Field(Call(&Stub::UpdateDesk, manager_tok_, up, &d)), "desk.duty_phone");
  up.mutable_desk()->set_duty_phone("12345");
  up.mutable_update_mask()->add_paths("desk_24h");
  EXPECT_EQ(Field(Call(&Stub::UpdateDesk, manager_tok_, up, &d)), "update_mask");
  ASSERT_TRUE(Call(&Stub::GetDesk, agent_tok_, get, &d).ok());
  EXPECT_EQ(d.duty_phone(), "010-6914 0000");
}

// ---- tasks
// ----------------------------------------------------------------------------------------

TEST_F(DutyServiceTest, AMajorComplaintReachesTheSupervisorAndTheManagerOnDuty) {
  RosterLeads();
  std::string event_id = NewId(absl::Now());
  std::string ticket = MajorComplaint(event_id);
  std::vector<pb::Task> tasks = Tasks(manager_tok_);
  ASSERT_EQ(tasks.size(), 2u);
  for (const pb::Task& t : tasks) {
    EXPECT_EQ(t.kind(), ev::TASK_KIND_MAJOR_COMPLAINT);
    EXPECT_EQ(t.state(), ev::TASK_STATE_OPEN);
    EXPECT_EQ(t.subject_ref(), "ticket/" + ticket);
    EXPECT_EQ(FromProtoTime(t.ack_due_time()), kStart + absl::Minutes(15));
    ASSERT_EQ(t.assignee_ids_size(), 1);
    EXPECT_EQ(t.assignee_ids(0), t.role() == ev::STAFF_ROLE_SUPERVISOR ? supervisor_ : manager_);
    // Privacy: nothing of the resident's words, no number.
    EXPECT_EQ(t.title(), "major complaint");
    EXPECT_EQ(t.DebugString().find("13800138000"), std::string::npos);
  }
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.raised'"), 2);
  // The same event again raises nothing.
  ev::MajorComplaint m;
  m.set_ticket_id(ticket);
  m.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("intake.complaint.major", group_, m, estate_, event_id).ok());
  EXPECT_EQ(Count("tasks"), 2);
  // An agent sees neither (not their role, not theirs).
  EXPECT_TRUE(Tasks(agent_tok_).empty());
  EXPECT_EQ(Tasks(supervisor_tok_).size(), 2u);  // supervisors see every task of the estate

  // The ticket closed: its tasks close.
  ev::TicketChanged closed;
  closed.set_ticket_id(ticket);
  closed.set_estate_id(estate_);
  closed.set_state(ev::TICKET_STATE_CLOSED);
  ASSERT_TRUE(Deliver("intake.ticket.changed", group_, closed, estate_).ok());
  for (const pb::Task& t : Tasks(manager_tok_)) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.done'"), 2);
}

TEST_F(DutyServiceTest, AcknowledgedItStopsClimbing_IgnoredItClimbsToTheManager) {
  RosterLeads();
  ev::WorkOrderChanged o = Order(1);
  ASSERT_TRUE(Deliver("dispatch.work_order.escalated", group_, o, estate_).ok());
  ev::WorkOrderChanged o2 = Order(1);
  ASSERT_TRUE(Deliver("dispatch.work_order.escalated", group_, o2, estate_).ok());
  std::vector<pb::Task> tasks = Tasks(lead_tok_);
  ASSERT_EQ(tasks.size(), 2u);
  const pb::Task& first =
      tasks[1].subject_ref() == "work_order/" + o.work_order_id() ? tasks[1] : tasks[0];
  const pb::Task& second = &first == &tasks[0] ? tasks[1] : tasks[0];
  EXPECT_EQ(first.role(), ev::STAFF_ROLE_TEAM_LEAD);
  EXPECT_EQ(first.title(), "work order escalated, car park B2");

  // The team lead acknowledges the first.
  pb::AcknowledgeTaskRequest ack;
  ack.set_request_id("ack-1");
  ack.set_id(first.id());
  pb::Task acked;
  // An agent may not.
  EXPECT_EQ(Call(&Stub::AcknowledgeTask, agent_tok_, ack, &acked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::AcknowledgeTask, lead_tok_, ack, &acked).ok());
  EXPECT_EQ(acked.state(), ev::TASK_STATE_ACKNOWLEDGED);
  EXPECT_EQ(acked.acknowledged_by(), lead_);
  pb::Task replay;
  ASSERT_TRUE(Call(&Stub::AcknowledgeTask, lead_tok_, ack, &replay).ok());
  EXPECT_EQ(replay.version(), acked.version());
  ack.set_request_id("ack-2");
  EXPECT_EQ(Reason(Call(&Stub::AcknowledgeTask, lead_tok_, ack, &replay)), "ALREADY_ACKNOWLEDGED");

  // Nobody acknowledges the second: after its window it goes to the supervisor, then the
  // manager, and stays there.
  DutyJobs jobs(*db_);
  EXPECT_EQ(*jobs.Escalate(kStart + absl::Minutes(14)), 0);
  EXPECT_EQ(*jobs.Escalate(kStart + absl::Minutes(15)), 1);
  pb::GetTaskRequest get;
  get.set_id(second.id());
  pb::Task t;
  ASSERT_TRUE(Call(&Stub::GetTask, manager_tok_, get, &t).ok());
  EXPECT_EQ(t.state(), ev::TASK_STATE_ESCALATED);
  EXPECT_EQ(t.role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(t.level(), 2);
  EXPECT_EQ(std::vector<std::string>(t.assignee_ids().begin(), t.assignee_ids().end()),
            std::vector<std::string>{supervisor_});
  EXPECT_EQ(FromProtoTime(t.ack_due_time()), kStart + absl::Minutes(30));
  EXPECT_EQ(*jobs.Escalate(kStart + absl::Minutes(30)), 1);
  EXPECT_EQ(*jobs.Escalate(kStart + absl::Hours(5)), 0);
  ASSERT_TRUE(Call(&Stub::GetTask, manager_tok_, get, &t).ok());
  EXPECT_EQ(t.role(), ev::STAFF_ROLE_ESTATE_MANAGER);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.escalated'"), 2);
  // The acknowledged one never moved.
  get.set_id(first.id());
  ASSERT_TRUE(Call(&Stub::GetTask, manager_tok_, get, &t).ok());
  EXPECT_EQ(t.role(), ev::STAFF_ROLE_TEAM_LEAD);

  // The order completed closes its task; acknowledging a done task is refused.
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, o, estate_).ok());
  ASSERT_TRUE(Call(&Stub::GetTask, manager_tok_, get, &t).ok());
  EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  ack.set_request_id("ack-3");
  EXPECT_EQ(Reason(Call(&Stub::AcknowledgeTask, manager_tok_, ack, &replay)), "TASK_DONE");
}

TEST_F(DutyServiceTest, NobodyOnDutyInTheRoleIsARoleGapForTheNextLevel) {
  // Only the supervisor is on the roster: an SLA warning for the team lead goes up at once.
  Shift(supervisor_, kStart - absl::Hours(1), kStart + absl::Hours(8));
  ASSERT_TRUE(Deliver("dispatch.sla.warning", group_, Order(0), estate_).ok());
  std::vector<pb::Task> tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind(), ev::TASK_KIND_SLA_WARNING);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_ESCALATED);
  ASSERT_EQ(tasks[0].assignee_ids_size(), 1);
  EXPECT_EQ(tasks[0].assignee_ids(0), supervisor_);
}

TEST_F(DutyServiceTest, AnElderlyCareEmergencySaysNothingOfTheElder) {
  std::string guard = Staff({ev::STAFF_ROLE_SECURITY_GUARD});
  std::string carer = Staff({ev::STAFF_ROLE_CARE_WORKER});
  Shift(guard, kStart - absl::Hours(1), kStart + absl::Hours(8));
  Shift(carer, kStart - absl::Hours(1), kStart + absl::Hours(8));
  ev::ElderEmergency em;
  em.set_emergency_id(NewId(absl::Now()));
  em.set_elder_id(NewId(absl::Now()));
  em.set_estate_id(estate_);
  em.set_unit_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("eldercare.emergency.raised", group_, em, estate_).ok());
  std::string guard_tok = TestToken(group_, {estate_}, {"security_guard"}, guard);
  std::vector<pb::Task> mine = Tasks(guard_tok);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].role(), ev::STAFF_ROLE_SECURITY_GUARD);
  EXPECT_EQ(FromProtoTime(mine[0].ack_due_time()), kStart + absl::Minutes(3));
  EXPECT_EQ(mine[0].DebugString().find(em.elder_id()), std::string::npos);
  EXPECT_EQ(Tasks(lead_tok_).size(), 2u);
}

TEST_F(DutyServiceTest, TenancyAndEstateScope) {
  RosterLeads();
  MajorComplaint();
  std::string task = Tasks(manager_tok_)[0].id();
  // Another group's token, on our ids: nothing.
  std::string other_group = NewId(absl::Now());
  std::string stranger =
      TestToken(other_group, {"*"}, {"group_admin", "estate_manager"}, NewId(absl::Now()));
  pb::GetTaskRequest get;
  get.set_id(task);
  pb::Task t;
  EXPECT_EQ(Call(&Stub::GetTask, stranger, get, &t).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::AcknowledgeTaskRequest ack;
  ack.set_request_id("x");
  ack.set_id(task);
  EXPECT_EQ(Call(&Stub::AcknowledgeTask, stranger, ack, &t).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::ListTasksRequest list;
  list.set_estate_id(estate_);
  pb::ListTasksResponse resp;
  ASSERT_TRUE(Call(&Stub::ListTasks, stranger, list, &resp).ok());
  EXPECT_EQ(resp.tasks_size(), 0);
  // Another group's event about our estate raises nothing we see.
  ev::MajorComplaint m;
  m.set_ticket_id(NewId(absl::Now()));
  m.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("intake.complaint.major", other_group, m, estate_).ok());
  EXPECT_EQ(Tasks(manager_tok_).size(), 2u);
  // A manager of another estate of the group: refused.
  std::string neighbour = TestToken(group_, {NewId(absl::Now())}, {"estate_manager"}, manager_);
  EXPECT_EQ(Call(&Stub::ListTasks, neighbour, list, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetTask, neighbour, get, &t).error_code(), grpc::StatusCode::NOT_FOUND);
  // No token, a token with no staff role.
  EXPECT_EQ(Call(&Stub::ListTasks, "", list, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string resident = TestToken(group_, {estate_}, {"resident"}, NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::ListTasks, resident, list, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Bad filters name their field.
  list.add_states(static_cast<ev::TaskState>(42));
  EXPECT_EQ(Field(Call(&Stub::ListTasks, manager_tok_, list, &resp)), "states");
  list.clear_states();
  list.set_kind(static_cast<ev::TaskKind>(99));
  EXPECT_EQ(Field(Call(&Stub::ListTasks, manager_tok_, list, &resp)), "kind");
  list.clear_kind();
  list.set_page_token("garbage");
  EXPECT_EQ(Field(Call(&Stub::ListTasks, manager_tok_, list, &resp)), "page_token");
}

TEST_F(DutyServiceTest, ListTasksPages) {
  RosterLeads();
  for (int i = 0; i < 3; ++i) MajorComplaint();  // six tasks
  pb::ListTasksRequest list;
  list.set_estate_id(estate_);
  list.set_page_size(4);
  pb::ListTasksResponse page1, page2;
  ASSERT_TRUE(Call(&Stub::ListTasks, manager_tok_, list, &page1).ok());
  EXPECT_EQ(page1.tasks_size(), 4);
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListTasks, manager_tok_, list, &page2).ok());
  EXPECT_EQ(page2.tasks_size(), 2);
  EXPECT_TRUE(page2.next_page_token().empty());
  // The token is for these filters only.
  list.set_kind(ev::TASK_KIND_SLA_BREACH);
  EXPECT_EQ(Field(Call(&Stub::ListTasks, manager_tok_, list, &page2)), "page_token");
}

TEST_F(DutyServiceTest, SettingsWindowsAreTheGroups) {
  pb::UpdateSettingsRequest up;
  up.set_request_id("s-1");
  pb::AckWindow* w = up.mutable_settings()->add_ack_windows();
  w->set_kind(ev::TASK_KIND_MAJOR_COMPLAINT);
  w->mutable_window()->set_seconds(300);
  pb::Settings s;
  EXPECT_EQ(Call(&Stub::UpdateSettings, manager_tok_, up, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, up, &s).ok());
  RosterLeads();
  MajorComplaint();
  for (const pb::Task& t : Tasks(manager_tok_)) {
    EXPECT_EQ(FromProtoTime(t.ack_due_time()), kStart + absl::Minutes(5));
  }
  w->mutable_window()->set_seconds(30);
  up.set_request_id("s-2");
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, up, &s)), "settings.ack_windows");
  up.mutable_update_mask()->add_paths("nonsense");
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, up, &s)), "update_mask");
  up.clear_update_mask();
  up.mutable_settings()->clear_ack_windows();
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, up, &s)), "settings.ack_windows");
  pb::GetSettingsRequest get;
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, get, &s).ok());
  for (const pb::AckWindow& w : s.ack_windows()) {
    if (w.kind() == ev::TASK_KIND_MAJOR_COMPLAINT) {
      EXPECT_EQ(w.window().seconds(), 300);
    }
  }
  EXPECT_EQ(s.ack_windows_size(), static_cast<int>(Kinds().size()));
}

TEST_F(DutyServiceTest, WatchTasksSeesANewTask) {
  RosterLeads();
  MajorComplaint();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + manager_tok_);
  pb::WatchTasksRequest req;
  req.set_estate_id(estate_);
  auto reader = stub_->WatchTasks(&ctx, req);
  pb::TaskUpdate u;
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_TRUE(u.initial());
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_TRUE(u.initial());
  ASSERT_TRUE(Deliver("dispatch.sla.breached", group_, Order(0), estate_).ok());
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_FALSE(u.initial());
  EXPECT_EQ(u.task().kind(), ev::TASK_KIND_SLA_BREACH);
  ctx.TryCancel();
  while (reader->Read(&u)) {
  }
  reader->Finish();
  // Refused before anything is sent: no estate, or another estate.
  grpc::ClientContext bad;
  bad.AddMetadata("authorization", "Bearer " + manager_tok_);
  req.set_estate_id(NewId(absl::Now()));
  auto refused = stub_->WatchTasks(&bad, req);
  EXPECT_FALSE(refused->Read(&u));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DutyServiceTest, WatchTasksSendsEveryChangeOfABusyMomentOnce) {
  // More tasks change within one poll's window than one page holds (500): the screen still
  // gets each of them, once.
  RosterLeads();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + manager_tok_);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(3));  // never hang
  pb::WatchTasksRequest req;
  req.set_estate_id(estate_);
  auto reader = stub_->WatchTasks(&ctx, req);
  constexpr int kTasks = 1200;
  std::thread feed([&] {
    for (int i = 0; i < kTasks; ++i) {
      ASSERT_TRUE(Deliver("dispatch.sla.warning", group_, Order(0), estate_).ok());
    }
  });
  std::set<std::string> seen;
  int updates = 0;
  pb::TaskUpdate u;
  while (updates < kTasks && reader->Read(&u)) {
    // The first tasks may come with the opening snapshot (initial): the feed races it.
    seen.insert(u.task().id());
    ++updates;
  }
  feed.join();
  EXPECT_EQ(updates, kTasks);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kTasks));
  ctx.TryCancel();
  while (reader->Read(&u)) ++updates;
  reader->Finish();
  EXPECT_EQ(updates, kTasks);  // nothing sent twice
}

// The screens' fallback poll out of reach: what wakes them is PostgreSQL's notification.
class DutyServiceNotifiedTest : public DutyServiceTest {
 protected:
  DutyServiceNotifiedTest() { watch_poll_ = absl::Hours(1); }
};

TEST_F(DutyServiceNotifiedTest, AScreenIsWokenByTheChangeNotByItsPoll) {
  RosterLeads();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + manager_tok_);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));  // never hang
  pb::WatchTasksRequest req;
  req.set_estate_id(estate_);
  auto reader = stub_->WatchTasks(&ctx, req);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Deliver("dispatch.sla.breached", group_, Order(0), estate_).ok());
    pb::TaskUpdate u;
    ASSERT_TRUE(reader->Read(&u)) << "task " << i << " never reached the screen";
    EXPECT_EQ(u.task().kind(), ev::TASK_KIND_SLA_BREACH);
  }
  ctx.TryCancel();
  pb::TaskUpdate u;
  while (reader->Read(&u)) {
  }
  reader->Finish();
}

TEST_F(DutyServiceTest, ConcurrentRetriesCheckInOnce) {
  pb::CheckInRequest in;
  in.set_request_id("same");
  in.set_estate_id(estate_);
  in.set_role(ev::STAFF_ROLE_AGENT);
  std::vector<std::thread> threads;
  std::vector<std::string> ids(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      pb::Attendance a;
      if (Call(&Stub::CheckIn, agent_tok_, in, &a).ok()) ids[i] = a.id();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Count("attendances"), 1);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.attendance.checked_in'"), 1);
}

TEST_F(DutyServiceTest, TwoTimersRacingMoveATaskOnce) {
  // Two replicas' acknowledgement timers at the same moment: SKIP LOCKED shares the rows.
  RosterLeads();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Deliver("dispatch.sla.warning", group_, Order(0), estate_).ok());
  }
  DutyJobs a(*db_), b(*db_);
  std::atomic<int> moved{0};
  auto run = [&](DutyJobs& jobs) {
    for (int i = 0; i < 5; ++i) moved += *jobs.Escalate(kStart + absl::Minutes(16), 3);
  };
  std::thread ta(run, std::ref(a)), tb(run, std::ref(b));
  ta.join();
  tb.join();
  while (int more = *a.Escalate(kStart + absl::Minutes(16))) moved += more;
  EXPECT_EQ(moved.load(), 20);
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.task.escalated'"), 20);
  EXPECT_EQ(Count("tasks WHERE role = 3"), 20);  // every one at the supervisor now
}

TEST_F(DutyServiceTest, AMajorComplaintArrivesThroughTheBusOnce) {
  // A stand-in intake: its own database and outbox, relayed to a stream of the test's.
  static const MigrationSet kNone{"bustest", {}};
  RosterLeads();
  ::wuye::testing::TestDatabase peer_db;
  auto peer = peer_db.Open(kNone);
  ::wuye::testing::TestBus bus;
  std::string intake_stream = bus.Stream("i");
  bus.Relay(peer_db.url(), intake_stream);
  bus.Consume(*db_, "duty", intake_stream, "intake", MakeHandler(*db_, clock_));
  ev::MajorComplaint m;
  m.set_ticket_id(NewId(absl::Now()));
  m.set_estate_id(estate_);
  Outbox intake_outbox(*peer, "intake");
  ev::Event sent;
  ASSERT_TRUE(peer->Transact([&](pqxx::work& tx) {
                    sent = intake_outbox.Append(
                        tx, {"intake.complaint.major", group_, estate_, m.ticket_id(), 0, &m},
                        absl::Now(), "trace");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(::wuye::testing::WaitFor([&] { return Count("tasks") == 2; }, absl::Seconds(20)));
  // The same envelope on the stream again (a relay that crashed before marking it sent).
  RedisConnection conn(bus.redis());
  ASSERT_TRUE(conn.Command({"XADD", intake_stream, "*", "type", sent.type(), "env",
                            sent.SerializeAsString()})
                  .ok());
  ASSERT_TRUE(::wuye::testing::WaitFor([&] { return Count("wuye_inbox") == 1; }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(500));  // the second delivery is applied (a no-op)
  EXPECT_EQ(Count("tasks"), 2);
  bus.Stop();
  (void)conn.Command({"DEL", intake_stream});
}

TEST_F(DutyServiceTest, AMalformedPayloadIsRefused) {
  ev::MajorComplaint m;
  EXPECT_EQ(Deliver("dispatch.sla.breached", group_, m, estate_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("tasks"), 0);
}

// ---- handovers (交接班, 000_… 二.1; 001_…) and daily logs (上班日志, 000_… 二.2) ----------------

class HandoverTest : public DutyServiceTest {
 protected:
  std::string Ticket(const std::string& owner, ev::TicketState state) {
    ev::TicketChanged t;
    t.set_ticket_id(NewId(absl::Now()));
    t.set_estate_id(estate_);
    t.set_owner_id(owner);
    t.set_state(state);
    EXPECT_TRUE(Deliver("intake.ticket.created", group_, t, estate_).ok());
    return t.ticket_id();
  }

  pb::CreateHandoverRequest HandOver(const std::string& request_id, const std::string& incoming) {
    pb::CreateHandoverRequest req;
    req.set_request_id(request_id);
    req.set_estate_id(estate_);
    req.set_incoming_staff_id(incoming);
    req.set_notes("lift of building 3 stopped at 16:40; the ticket stays with its owner");
    return req;
  }

  pb::AcknowledgeHandoverRequest Acknowledge(const std::string& request_id, const std::string& id) {
    pb::AcknowledgeHandoverRequest req;
    req.set_request_id(request_id);
    req.set_id(id);
    return req;
  }

  // The payloads of the events of `type` in the outbox.
  template <class T>
  std::vector<T> Published(const std::string& type) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<T> out;
    for (const auto& row :
         tx.exec_params("SELECT envelope FROM wuye_outbox WHERE type = $1 ORDER BY id", type)) {
      ev::Event e;
      e.ParseFromString(pqxx::binarystring(row[0]).str());
      T p;
      EXPECT_TRUE(e.payload().UnpackTo(&p));
      out.push_back(p);
    }
    return out;
  }

  // Two replicas' handover and log timers at the same moment, a few rows each, then until
  // nothing is due: how many published.
  int FireRacing(absl::Time now) {
    HandoverJobs a(*db_), b(*db_);
    std::atomic<int> published{0};
    auto run = [&](HandoverJobs& jobs) {
      for (int i = 0; i < 5; ++i) published += *jobs.FireDue(now, 2);
    };
    std::thread ta(run, std::ref(a)), tb(run, std::ref(b));
    ta.join();
    tb.join();
    while (int more = *a.FireDue(now)) published += more;
    return published.load();
  }

  static ev::CivilDate Day(int y, int m, int d) {
    ev::CivilDate out;
    out.set_year(y);
    out.set_month(m);
    out.set_day(d);
    return out;
  }
};

// 000_… 二.1 "嚴格排班和值班登記及交接制度;所有值班和交接班必須記錄、存檔" and 001_… "查阅交接班
// 记录,跟进未达成工作": the outgoing person hands over what they hold open, the incoming one
// acknowledges, the team lead reads it; tickets keep their first-contact owner (首接负责制).
TEST_F(HandoverTest, AHandoverRecordsWhatIsOpenAndTheIncomingPersonAcknowledges) {
  const std::string next = Staff({ev::STAFF_ROLE_AGENT});
  const std::string next_tok = TestToken(group_, {estate_}, {"agent"}, next);
  const std::string shift = Shift(agent_, kStart - absl::Hours(8), kStart);
  const std::string open = Ticket(agent_, ev::TICKET_STATE_RECEIVED);
  Ticket(agent_, ev::TICKET_STATE_CLOSED);
  const std::string theirs = Ticket(next, ev::TICKET_STATE_RECEIVED);
  ev::WorkOrderChanged order = Order(0);
  order.add_worker_ids(agent_);
  order.set_state(ev::WORK_ORDER_STATE_ACCEPTED);
  ASSERT_TRUE(Deliver("dispatch.work_order.accepted", group_, order, estate_).ok());
  std::vector<std::string> held = {"ticket/" + open, "work_order/" + order.work_order_id()};
  std::sort(held.begin(), held.end());

  clock_.Set(kStart + absl::Minutes(5));
  pb::DraftHandoverRequest draft;
  draft.set_estate_id(estate_);
  pb::Handover d;
  ASSERT_TRUE(Call(&Stub::DraftHandover, agent_tok_, draft, &d).ok());
  EXPECT_EQ(d.shift_id(), shift);
  EXPECT_EQ(std::vector<std::string>(d.open_refs().begin(), d.open_refs().end()), held);
  EXPECT_EQ(Count("handovers"), 0);  // a draft is not stored

  pb::Handover h;
  ASSERT_TRUE(Call(&Stub::CreateHandover, agent_tok_, HandOver("ho-1", next), &h).ok());
  EXPECT_EQ(h.shift_id(), shift);
  EXPECT_EQ(h.outgoing_staff_id(), agent_);
  EXPECT_EQ(h.incoming_staff_id(), next);
  EXPECT_EQ(FromProtoTime(h.shift_end_time()), kStart);
  EXPECT_EQ(std::vector<std::string>(h.open_refs().begin(), h.open_refs().end()), held);
  EXPECT_FALSE(h.has_acknowledge_time());
  // request_id: the same answer; another request for the same shift: refused.
  pb::Handover again;
  ASSERT_TRUE(Call(&Stub::CreateHandover, agent_tok_, HandOver("ho-1", next), &again).ok());
  EXPECT_EQ(again.id(), h.id());
  grpc::Status twice = Call(&Stub::CreateHandover, agent_tok_, HandOver("ho-2", next), &again);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(twice), "ALREADY_HANDED_OVER");
  EXPECT_EQ(Count("handovers"), 1);

  // The handover moves nothing: the incoming person holds only their own ticket.
  ASSERT_TRUE(Call(&Stub::DraftHandover, next_tok, draft, &d).ok());
  EXPECT_EQ(std::vector<std::string>(d.open_refs().begin(), d.open_refs().end()),
            std::vector<std::string>{"ticket/" + theirs});

  // Only the incoming person acknowledges, once.
  EXPECT_EQ(Call(&Stub::AcknowledgeHandover, agent_tok_, Acknowledge("ack-0", h.id()), &again)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  clock_.Set(kStart + absl::Minutes(12));
  pb::Handover acked;
  ASSERT_TRUE(
      Call(&Stub::AcknowledgeHandover, next_tok, Acknowledge("ack-1", h.id()), &acked).ok());
  EXPECT_EQ(FromProtoTime(acked.acknowledge_time()), kStart + absl::Minutes(12));
  ASSERT_TRUE(
      Call(&Stub::AcknowledgeHandover, next_tok, Acknowledge("ack-1", h.id()), &again).ok());
  EXPECT_EQ(again.acknowledge_time().seconds(), acked.acknowledge_time().seconds());
  EXPECT_EQ(
      Reason(Call(&Stub::AcknowledgeHandover, next_tok, Acknowledge("ack-2", h.id()), &again)),
      "ALREADY_ACKNOWLEDGED");

  // The record: the team lead reads every one, a colleague neither theirs nor the list.
  pb::GetHandoverRequest get;
  get.set_id(h.id());
  ASSERT_TRUE(Call(&Stub::GetHandover, lead_tok_, get, &again).ok());
  EXPECT_TRUE(again.has_acknowledge_time());
  const std::string third = Staff({ev::STAFF_ROLE_AGENT});
  const std::string third_tok = TestToken(group_, {estate_}, {"agent"}, third);
  EXPECT_EQ(Call(&Stub::GetHandover, third_tok, get, &again).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::ListHandoversRequest list;
  list.set_estate_id(estate_);
  *list.mutable_window_start() = ToProtoTime(kStart - absl::Hours(24));
  *list.mutable_window_end() = ToProtoTime(kStart + absl::Hours(24));
  pb::ListHandoversResponse archive;
  ASSERT_TRUE(Call(&Stub::ListHandovers, lead_tok_, list, &archive).ok());
  ASSERT_EQ(archive.handovers_size(), 1);
  EXPECT_EQ(archive.handovers(0).id(), h.id());
  EXPECT_EQ(Call(&Stub::ListHandovers, next_tok, list, &archive).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  list.set_staff_id(next);
  ASSERT_TRUE(Call(&Stub::ListHandovers, next_tok, list, &archive).ok());
  EXPECT_EQ(archive.handovers_size(), 1);

  // Recorded and acknowledged in time: the timer finds nothing missing.
  FireRacing(kStart + absl::Hours(1));
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.handover.missing'"), 0);
}

TEST_F(HandoverTest, BadHandoversNameTheirFieldsAndChangeNothing) {
  const std::string lead_shift = Shift(lead_, kStart - absl::Hours(8), kStart);
  pb::Handover h;
  pb::CreateHandoverRequest req = HandOver("bad", lead_);
  req.set_estate_id("nope");
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "estate_id");
  req.set_estate_id(estate_);
  req.clear_incoming_staff_id();
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "incoming_staff_id");
  req.set_incoming_staff_id("x");
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "incoming_staff_id");
  req.set_incoming_staff_id(agent_);  // oneself
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "incoming_staff_id");
  req.set_incoming_staff_id(lead_);
  req.set_notes(" ");
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "notes");
  req.set_notes("call the owner back on 13800138000");  // no phone numbers in the record
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "notes");
  req.set_notes(std::string(4001, 'n'));
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "notes");
  req.set_notes("all quiet");
  req.set_shift_id("x");
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &h)), "shift_id");
  req.set_shift_id(lead_shift);  // someone else's shift
  EXPECT_EQ(Call(&Stub::CreateHandover, agent_tok_, req, &h).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  req.set_shift_id(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::CreateHandover, agent_tok_, req, &h).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.clear_shift_id();
  req.set_incoming_staff_id(NewId(absl::Now()));  // nobody the directory knows
  EXPECT_EQ(Call(&Stub::CreateHandover, agent_tok_, req, &h).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_incoming_staff_id(lead_);
  req.set_estate_id(NewId(absl::Now()));  // not an estate of the token
  EXPECT_EQ(Call(&Stub::CreateHandover, agent_tok_, req, &h).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("handovers"), 0);

  // Acknowledging: the field, something that is not there, another group's.
  EXPECT_EQ(Field(Call(&Stub::AcknowledgeHandover, lead_tok_, Acknowledge("a", "x"), &h)), "id");
  EXPECT_EQ(Call(&Stub::AcknowledgeHandover, lead_tok_, Acknowledge("a", NewId(absl::Now())), &h)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::Handover made;
  ASSERT_TRUE(Call(&Stub::CreateHandover, agent_tok_, HandOver("good", lead_), &made).ok());
  pb::AcknowledgeHandoverRequest ack = Acknowledge("a2", made.id());
  ack.set_note("ok, ring 010-6914 0000");
  EXPECT_EQ(Field(Call(&Stub::AcknowledgeHandover, lead_tok_, ack, &h)), "note");
  const std::string other_group = NewId(absl::Now());
  const std::string stranger = TestToken(other_group, {"*"}, {"group_admin"}, NewId(absl::Now()));
  pb::GetHandoverRequest get;
  get.set_id(made.id());
  EXPECT_EQ(Call(&Stub::GetHandover, stranger, get, &h).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      Call(&Stub::AcknowledgeHandover, stranger, Acknowledge("a3", made.id()), &h).error_code(),
      grpc::StatusCode::NOT_FOUND);

  pb::ListHandoversRequest list;
  list.set_estate_id(estate_);
  pb::ListHandoversResponse resp;
  EXPECT_EQ(Field(Call(&Stub::ListHandovers, lead_tok_, list, &resp)), "window_start");
  *list.mutable_window_start() = ToProtoTime(kStart);
  *list.mutable_window_end() = ToProtoTime(kStart + absl::Hours(24 * 40));
  EXPECT_EQ(Field(Call(&Stub::ListHandovers, lead_tok_, list, &resp)), "window_end");
}

// What a handover lists follows the producer's versions: a late, older event does not
// reopen a ticket nor give it back to its former owner; a redelivered one changes nothing.
TEST_F(HandoverTest, HoldingsFollowTheNewestVersion) {
  const std::string next = Staff({ev::STAFF_ROLE_AGENT});
  auto deliver = [&](const ev::TicketChanged& t, int64_t version, const std::string& event_id) {
    ev::Event e = ::wuye::testing::TestEvent("intake.ticket.changed", group_, t);
    e.set_event_id(event_id);
    e.set_estate_id(estate_);
    e.set_subject_version(version);
    *e.mutable_occurred_at() = ToProtoTime(clock_.Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  };
  ev::TicketChanged t;
  t.set_ticket_id(NewId(absl::Now()));
  t.set_estate_id(estate_);
  t.set_owner_id(agent_);
  t.set_state(ev::TICKET_STATE_RECEIVED);
  ev::TicketChanged moved = t;  // version 2: another owner (a reassignment by intake)
  moved.set_owner_id(next);
  ev::TicketChanged closed = moved;  // version 3: closed
  closed.set_state(ev::TICKET_STATE_CLOSED);
  const std::string e1 = NewId(absl::Now()), e2 = NewId(absl::Now()), e3 = NewId(absl::Now());
  ASSERT_TRUE(deliver(moved, 2, e2).ok());
  ASSERT_TRUE(deliver(t, 1, e1).ok());  // late
  pb::DraftHandoverRequest draft;
  draft.set_estate_id(estate_);
  pb::Handover d;
  ASSERT_TRUE(Call(&Stub::DraftHandover, agent_tok_, draft, &d).ok());
  EXPECT_EQ(d.open_refs_size(), 0);
  ASSERT_TRUE(
      Call(&Stub::DraftHandover, TestToken(group_, {estate_}, {"agent"}, next), draft, &d).ok());
  ASSERT_EQ(d.open_refs_size(), 1);
  ASSERT_TRUE(deliver(closed, 3, e3).ok());
  ASSERT_TRUE(deliver(moved, 2, e2).ok());  // redelivered past the inbox
  ASSERT_TRUE(
      Call(&Stub::DraftHandover, TestToken(group_, {estate_}, {"agent"}, next), draft, &d).ok());
  EXPECT_EQ(d.open_refs_size(), 0);
  EXPECT_EQ(Count("holdings"), 1);
}

// 000_… 二.1 "(如發現交接班異常、未記錄或不全,每發現一處扣服務質量標準分值10分)": past the
// group's window after a shift's end, a shift not handed over names its person, one not
// acknowledged the incoming person; each once, with two timers racing.
TEST_F(HandoverTest, TheHandoverTimerNamesWhoFailedOnce) {
  std::vector<std::string> silent;
  for (int i = 0; i < 6; ++i) {
    silent.push_back(Staff({ev::STAFF_ROLE_AGENT}));
    Shift(silent.back(), kStart - absl::Hours(8), kStart);
  }
  const std::string giver = Staff({ev::STAFF_ROLE_SECURITY_GUARD});
  const std::string taker = Staff({ev::STAFF_ROLE_SECURITY_GUARD});
  const std::string careful = Staff({ev::STAFF_ROLE_AGENT});
  const std::string gardener = Staff({ev::STAFF_ROLE_GARDENER});  // keeps no round-the-clock post
  for (const std::string& s : {giver, careful, gardener}) {
    Shift(s, kStart - absl::Hours(8), kStart);
  }
  clock_.Set(kStart + absl::Minutes(10));
  pb::Handover h;
  ASSERT_TRUE(Call(&Stub::CreateHandover, TestToken(group_, {estate_}, {"security_guard"}, giver),
                   HandOver("g", taker), &h)
                  .ok());
  ASSERT_TRUE(Call(&Stub::CreateHandover, TestToken(group_, {estate_}, {"agent"}, careful),
                   HandOver("c", agent_), &h)
                  .ok());
  ASSERT_TRUE(Call(&Stub::AcknowledgeHandover, agent_tok_, Acknowledge("c-ack", h.id()), &h).ok());

  EXPECT_EQ(FireRacing(kStart + absl::Minutes(29)), 0);  // within the window
  EXPECT_EQ(FireRacing(kStart + absl::Minutes(31)), 7);
  EXPECT_EQ(FireRacing(kStart + absl::Hours(2)), 0);  // fired once
  auto missing = Published<ev::HandoverMissing>("duty.handover.missing");
  ASSERT_EQ(missing.size(), 7u);
  std::vector<std::string> named;
  for (const ev::HandoverMissing& m : missing) {
    EXPECT_EQ(m.estate_id(), estate_);
    EXPECT_EQ(FromProtoTime(m.shift_end()), kStart);
    if (m.staff_id() == taker) {
      EXPECT_TRUE(m.acknowledging());
    } else {
      EXPECT_FALSE(m.acknowledging());
      named.push_back(m.staff_id());
    }
  }
  std::sort(named.begin(), named.end());
  std::sort(silent.begin(), silent.end());
  EXPECT_EQ(named, silent);
}

// 000_… 二.1: a roster entered after its shift ended still owes the handover, within the
// group's window from when the desk learnt of it (nobody could be asked before); a shift
// over for more than a day when learnt is a replayed record and is not timed.
TEST_F(HandoverTest, ALateRosterGetsItsWindowFromWhenTheDeskLearntOfIt) {
  const std::string late = Staff({ev::STAFF_ROLE_AGENT});
  const std::string replayed = Staff({ev::STAFF_ROLE_AGENT});
  Shift(late, kStart - absl::Hours(11), kStart - absl::Hours(3));
  Shift(replayed, kStart - absl::Hours(40), kStart - absl::Hours(32));
  EXPECT_EQ(FireRacing(kStart), 0);  // both ended before the desk heard of them
  EXPECT_EQ(FireRacing(kStart + absl::Minutes(29)), 0);
  EXPECT_EQ(FireRacing(kStart + absl::Minutes(31)), 1);
  auto missing = Published<ev::HandoverMissing>("duty.handover.missing");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].staff_id(), late);
  EXPECT_EQ(FromProtoTime(missing[0].shift_end()), kStart - absl::Hours(3));
}

// The group's window is a setting (a reading: the seed names no time); new settings move
// the deadlines of timers armed before them.
TEST_F(HandoverTest, TheGroupsHandoverSettings) {
  Shift(agent_, kStart - absl::Hours(8), kStart);
  pb::UpdateSettingsRequest up;
  up.set_request_id("s-1");
  up.mutable_settings()->mutable_handover_window()->set_seconds(3600);
  up.mutable_update_mask()->add_paths("handover_window");
  pb::Settings s;
  EXPECT_EQ(Call(&Stub::UpdateSettings, manager_tok_, up, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, up, &s).ok());
  EXPECT_EQ(s.handover_window().seconds(), 3600);
  EXPECT_EQ(s.daily_log_cutoff_minute(), 600);
  EXPECT_EQ(s.handover_roles_size(), 4);
  EXPECT_EQ(s.ack_windows_size(), static_cast<int>(Kinds().size()));  // kept
  for (auto [path, field] : std::vector<std::pair<std::string, std::string>>{
           {"handover_window", "settings.handover_window"},
           {"daily_log_cutoff_minute", "settings.daily_log_cutoff_minute"},
           {"handover_roles", "settings.handover_roles"}}) {
    pb::UpdateSettingsRequest bad;
    bad.set_request_id("bad-" + path);
    bad.mutable_update_mask()->add_paths(path);
    bad.mutable_settings()->mutable_handover_window()->set_seconds(60);
    bad.mutable_settings()->set_daily_log_cutoff_minute(1440);
    bad.mutable_settings()->add_handover_roles(ev::STAFF_ROLE_GROUP_ADMIN);
    if (path != "handover_window") bad.mutable_settings()->clear_handover_window();
    if (path != "daily_log_cutoff_minute") bad.mutable_settings()->clear_daily_log_cutoff_minute();
    if (path != "handover_roles") bad.mutable_settings()->clear_handover_roles();
    EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, bad, &s)), field);
  }
  EXPECT_EQ(FireRacing(kStart + absl::Minutes(31)), 0);
  EXPECT_EQ(FireRacing(kStart + absl::Minutes(61)), 1);
}

// 000_… 二.2 "每位員工每天有上班日志,記錄接待服務業主情況" (−10 for each missing): the day's
// tickets and orders come from events, the person writes the rest; a day on duty without a
// log by the cut-off (10:00 the next morning, estate time) is published once.
TEST_F(HandoverTest, TheDailyLogIsFilledFromEventsAndMissingOnesArePublishedOnce) {
  pb::CheckInRequest in;  // a day on duty by check-in: the agent's
  in.set_request_id("in");
  in.set_estate_id(estate_);
  in.set_role(ev::STAFF_ROLE_AGENT);
  pb::Attendance a;
  ASSERT_TRUE(Call(&Stub::CheckIn, agent_tok_, in, &a).ok());
  Shift(supervisor_, kStart - absl::Hours(8), kStart);  // by the roster: the supervisor's
  // A shift the roster took back is no day on duty.
  ev::ShiftChanged gone;
  gone.set_shift_id(Shift(manager_, kStart - absl::Hours(8), kStart));
  gone.set_estate_id(estate_);
  gone.set_staff_id(manager_);
  *gone.mutable_start_time() = ToProtoTime(kStart - absl::Hours(8));
  *gone.mutable_end_time() = ToProtoTime(kStart);
  gone.set_deleted(true);
  ASSERT_TRUE(Deliver("directory.shift.deleted", group_, gone, estate_).ok());
  const std::string ticket = Ticket(agent_, ev::TICKET_STATE_RECEIVED);
  const ev::CivilDate today = Day(2026, 3, 2);  // 17:00 in Shanghai

  pb::GetDailyLogRequest get;
  get.set_estate_id(estate_);
  *get.mutable_day() = today;
  pb::DailyLog log;
  ASSERT_TRUE(Call(&Stub::GetDailyLog, agent_tok_, get, &log).ok());
  EXPECT_EQ(log.staff_id(), agent_);
  ASSERT_EQ(log.served_refs_size(), 1);
  EXPECT_EQ(log.served_refs(0), "ticket/" + ticket);
  EXPECT_TRUE(log.notes().empty());

  pb::UpdateDailyLogRequest up;
  up.set_request_id("log-1");
  up.mutable_daily_log()->set_estate_id(estate_);
  *up.mutable_daily_log()->mutable_day() = today;
  up.mutable_daily_log()->set_notes("received 1 resident about the lift; ticket open");
  up.mutable_update_mask()->add_paths("served_refs");
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, up, &log)), "update_mask");
  up.mutable_update_mask()->set_paths(0, "notes");
  pb::UpdateDailyLogRequest bad = up;
  bad.mutable_daily_log()->clear_day();
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log)), "daily_log.day");
  *bad.mutable_daily_log()->mutable_day() = Day(2026, 2, 30);
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log)), "daily_log.day");
  *bad.mutable_daily_log()->mutable_day() = Day(2026, 3, 3);  // tomorrow, estate time
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log)), "daily_log.day");
  bad = up;
  bad.mutable_daily_log()->set_notes("");
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log)), "daily_log.notes");
  bad.mutable_daily_log()->set_notes("owner 11010519491231002X asked about fees");
  EXPECT_EQ(Field(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log)), "daily_log.notes");
  bad = up;
  bad.mutable_daily_log()->set_staff_id(supervisor_);  // nobody writes another's log
  EXPECT_EQ(Call(&Stub::UpdateDailyLog, agent_tok_, bad, &log).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("daily_logs"), 0);

  ASSERT_TRUE(Call(&Stub::UpdateDailyLog, agent_tok_, up, &log).ok());
  EXPECT_EQ(log.notes(), up.daily_log().notes());
  EXPECT_EQ(log.served_refs_size(), 1);
  pb::DailyLog again;
  ASSERT_TRUE(Call(&Stub::UpdateDailyLog, agent_tok_, up, &again).ok());
  EXPECT_EQ(again.update_time().seconds(), log.update_time().seconds());
  EXPECT_EQ(Count("daily_logs"), 1);

  // The team lead reads anyone's; a colleague only their own.
  get.set_staff_id(agent_);
  ASSERT_TRUE(Call(&Stub::GetDailyLog, lead_tok_, get, &log).ok());
  EXPECT_EQ(log.notes(), up.daily_log().notes());
  get.set_staff_id(supervisor_);
  EXPECT_EQ(Call(&Stub::GetDailyLog, agent_tok_, get, &log).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.clear_day();
  EXPECT_EQ(Field(Call(&Stub::GetDailyLog, lead_tok_, get, &log)), "day");

  // 10:00 on the 3rd in Shanghai is 02:00 UTC: kStart + 17 h.
  FireRacing(kStart + absl::Hours(17) - absl::Minutes(1));
  EXPECT_EQ(Count("wuye_outbox WHERE type = 'duty.daily_log.missing'"), 0);
  FireRacing(kStart + absl::Hours(17));
  FireRacing(kStart + absl::Hours(18));
  auto missing = Published<ev::DailyLogMissing>("duty.daily_log.missing");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].staff_id(), supervisor_);
  EXPECT_EQ(missing[0].estate_id(), estate_);
  EXPECT_EQ(missing[0].day().day(), 2);
}

// Issue 27 §2: a work-order pause asked without the resident's agreement reaches the
// supervisor on duty, once, named by the pause's id; the decision closes it, and so does the
// order closed before anyone decided.
TEST_F(DutyServiceTest, APauseRequestReachesTheSupervisorOnDutyUntilItIsDecided) {
  Shift(supervisor_, kStart - absl::Hours(1), kStart + absl::Hours(8));
  ev::WorkOrderChanged o = Order(0);
  o.set_pause_id(NewId(absl::Now()));
  o.set_pause_reason_code("RESIDENT_BUYS_PART");
  o.set_reason("等住户自购配件");
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_requested", group_, o, estate_, "pr-1").ok());
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_requested", group_, o, estate_, "pr-1").ok());
  std::vector<pb::Task> tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind(), ev::TASK_KIND_PAUSE_REQUEST);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(tasks[0].subject_ref(), absl::StrCat("pause/", o.pause_id()));
  ASSERT_EQ(tasks[0].assignee_ids_size(), 1);
  EXPECT_EQ(tasks[0].assignee_ids(0), supervisor_);
  EXPECT_EQ(FromProtoTime(tasks[0].ack_due_time()), kStart + absl::Minutes(30));
  // Approved in dispatch ("paused"): done.
  ASSERT_TRUE(Deliver("dispatch.work_order.paused", group_, o, estate_).ok());
  tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_DONE);

  // Another request, the order cancelled before a decision: done too.
  ev::WorkOrderChanged other = Order(0);
  other.set_pause_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_requested", group_, other, estate_).ok());
  ASSERT_TRUE(Deliver("dispatch.work_order.cancelled", group_, other, estate_).ok());
  for (const auto& t : Tasks(supervisor_tok_)) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE kind = ", ev::TASK_KIND_PAUSE_REQUEST)), 2);
}

// Issue 27 §2 (the seeds are silent on pauses; the rule: a pause never runs unseen):
// an order still paused at its look-at time reaches the supervisor on duty, once per pause
// however often the event comes (a republication under a new envelope too); the order's
// resume closes it, and a later pause of the order past its time is a task of its own.
TEST_F(DutyServiceTest, APausePastItsTimeReachesTheSupervisorOnDutyUntilTheOrderResumes) {
  Shift(supervisor_, kStart - absl::Hours(1), kStart + absl::Hours(8));
  ev::WorkOrderChanged o = Order(0);
  o.set_pause_id(NewId(absl::Now()));
  o.set_pause_reason_code("NOT_HOME");
  o.set_reason("住户不在家");
  o.set_sla_paused(true);
  *o.mutable_pause_look_at_time() = ToProtoTime(kStart);
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_overdue", group_, o, estate_, "po-1").ok());
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_overdue", group_, o, estate_, "po-1").ok());
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_overdue", group_, o, estate_, "po-2").ok());
  std::vector<pb::Task> tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind(), ev::TASK_KIND_PAUSE_OVERDUE);
  EXPECT_EQ(tasks[0].role(), ev::STAFF_ROLE_SUPERVISOR);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_OPEN);
  EXPECT_EQ(tasks[0].subject_ref(), absl::StrCat("pause_overdue/", o.pause_id()));
  ASSERT_EQ(tasks[0].assignee_ids_size(), 1);
  EXPECT_EQ(tasks[0].assignee_ids(0), supervisor_);
  EXPECT_EQ(FromProtoTime(tasks[0].ack_due_time()), kStart + absl::Minutes(30));
  EXPECT_EQ(tasks[0].title().find("住户"), std::string::npos);  // no words of the resident
  // On site with the clock still paused (it stops at work done) leaves it open; the resume
  // closes it.
  ASSERT_TRUE(Deliver("dispatch.work_order.on_site", group_, o, estate_).ok());
  tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_OPEN);
  o.set_sla_paused(false);
  ASSERT_TRUE(Deliver("dispatch.work_order.resumed", group_, o, estate_).ok());
  tasks = Tasks(supervisor_tok_);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state(), ev::TASK_STATE_DONE);

  // The order's next pause, past its time too: a task of its own, closed by the order
  // completed.
  o.set_pause_id(NewId(absl::Now()));
  o.set_sla_paused(true);
  ASSERT_TRUE(Deliver("dispatch.work_order.pause_overdue", group_, o, estate_).ok());
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE kind = ", ev::TASK_KIND_PAUSE_OVERDUE,
                               " AND state = ", ev::TASK_STATE_OPEN)),
            1);
  o.set_sla_paused(false);
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, o, estate_).ok());
  for (const auto& t : Tasks(supervisor_tok_)) EXPECT_EQ(t.state(), ev::TASK_STATE_DONE);
  EXPECT_EQ(Count(absl::StrCat("tasks WHERE kind = ", ev::TASK_KIND_PAUSE_OVERDUE)), 2);
}

}  // namespace
}  // namespace wuye::duty
