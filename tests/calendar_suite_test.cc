// A working calendar edited mid-deadline, end to end (issue 27, "Must hold": deadlines
// "across a calendar edited mid-deadline ... all through the API").
//
// directory, intake and dispatch run as processes, each on its own database, on a Redis of
// the test's own with their real bus. The directory is given a group and an estate in
// Shanghai; dispatch's group policy counts a small repair's 72 hours on working days. A
// common-area repair comes in through intake's CreateTicket (dispatch makes its work order
// of intake's event) and a complaint through CreateTicket (its written reply is due in the
// default 3 working days); both were received three hours ago, so time is already spent.
// Then the group imports through the directory's ImportWorkCalendar an edited year, as an
// overlay on the State Council's: the next working day is a day off (停电检修). Each service
// learns of it from directory.calendar.changed, and the test reads through their APIs that
// the order's and the complaint's deadlines moved forward by that day — to where the rest of
// the window runs on the edited calendar from the old deadline, which is what keeping the
// time already spent gives — and that the order's spent time is what the old calendar
// counted. The timers firing once at the moved time are proved in dispatch_service_test
// (SlaCalendarTest.ACalendarEditedMidDeadline…) on a fake clock: here they would be a day
// away. No timing assertions. The windows are three working days so that, received three
// hours ago (yesterday, between midnight and 03:00), each still ends after the day made
// off; the test is skipped in the last ten minutes of a Shanghai day, when "the next working
// day" could begin while it runs.
//
// Two more flows of issue 27 across the same processes and duty's (the seeds are silent on
// 12345 and on pauses; the clauses are the issue's):
// - §3 and §1, "the 12345 flow end to end: import, routing, reply export, government
//   callback import, the monthly report": a city's order imported through intake's
//   ImportHotlineOrders reaches the supervisor on duty as duty's task; the group's calendar
//   edited mid-deadline moves its reply deadline forward keeping the time spent (GetTicket,
//   and the directory's ExplainDeadline agreeing); the reply recorded closes the task and is
//   exported; the government's unsatisfied callback gives the supervisor a task, a later
//   satisfied one closes it; GetHotlineReport shows the order, replied in time, and the
//   satisfaction.
// - §2, "pauses ... all through the API": a pause asked without the resident's agreement
//   reaches the supervisor on duty; the one who asked cannot approve it; a supervisor's
//   approval closes the task and stops the clock from the approval; ResumeWorkOrder runs it
//   again with the pause added to the deadline; GetSlaReport shows the time paused.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/work_calendar.h"
#include "tests/service_process.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/duty/v1/duty.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

namespace wuye {
namespace {

namespace cpb = ::wuye::common::v1;
namespace dir = ::wuye::directory::v1;
namespace dpb = ::wuye::dispatch::v1;
namespace dut = ::wuye::duty::v1;
namespace ev = ::wuye::events::v1;
namespace ipb = ::wuye::intake::v1;

using ::wuye::testing::PrivateServers;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::ServiceProcessOptions;
using ::wuye::testing::TestDatabase;
using ::wuye::testing::TestToken;
using ::wuye::testing::WaitFor;

// How long a consumer may take to learn of an event (three processes on two shared cores).
constexpr absl::Duration kSettle = absl::Seconds(60);

// Duty too: the 12345 order and the pause reach the supervisor on duty through it.
const char* const kServices[] = {"directory", "intake", "dispatch", "duty"};

template <class Stub, class Req, class Resp>
grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const std::string& token, const Req& req, Resp* resp) {
  return ::wuye::testing::CallWithDeadline(stub, method, token, req, resp, absl::Seconds(30));
}

// Again while the service has not learnt of the estate from the bus (NOT_FOUND).
template <class Stub, class Req, class Resp>
grpc::Status CallWhenKnown(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                           const std::string& token, const Req& req, Resp* resp) {
  return ::wuye::testing::CallUntilSettled(
      stub, method, token, req, resp, kSettle, absl::Seconds(30),
      [](const grpc::Status& st) { return st.error_code() == grpc::StatusCode::NOT_FOUND; });
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string Local(absl::Time t, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", t, tz);
}

std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

absl::TimeZone Shanghai() {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &tz));
  return tz;
}

// The last ten minutes of a Shanghai day: "the next working day" could begin while a test
// that makes it a day off runs.
bool NearShanghaiMidnight() {
  const absl::TimeZone sh = Shanghai();
  return absl::ToCivilDay(absl::Now() + absl::Minutes(10), sh) != absl::ToCivilDay(absl::Now(), sh);
}

class CalendarSuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::map<std::string, std::string> built;
    for (const auto& [name, binary] : testing::BuiltServices()) built[name] = binary;
    for (const char* name : kServices) {
      if (built.count(name) == 0) GTEST_SKIP() << name << " is not built";
    }
    ASSERT_EQ(servers_.Run("up redis"), 0) << "the private redis-server did not start";
    for (const char* name : kServices) {
      dbs_.push_back(std::make_unique<TestDatabase>());
      ServiceProcessOptions o;
      o.name = name;
      o.binary = built.at(name);
      o.pg_url = dbs_.back()->url();
      o.redis_addr = servers_.RedisAddr();
      o.env = testing::ServiceTestEnv(name);
      auto p = std::make_unique<ServiceProcess>(o);
      ASSERT_TRUE(p->Start()) << name << " did not start";
      procs_[name] = std::move(p);
    }
    directory_ = dir::DirectoryService::NewStub(procs_.at("directory")->channel());
    intake_ = ipb::IntakeService::NewStub(procs_.at("intake")->channel());
    dispatch_ = dpb::DispatchService::NewStub(procs_.at("dispatch")->channel());
    duty_ = dut::DutyService::NewStub(procs_.at("duty")->channel());
  }

  std::string Logs() const {
    std::string out;
    for (const auto& [name, p] : procs_) absl::StrAppend(&out, "\n  ", name, ": ", p->log_path());
    return out;
  }
  std::string As(const std::string& role) const {
    return TestToken(group_, {"*"}, {role}, absl::StrCat("csuite-", role));
  }

  // ---- the directory ----

  // A group and its estate in Shanghai; `tag` keeps each test's request ids apart.
  void CreateGroupAndEstate(const std::string& tag, const std::string& group_name,
                            const std::string& estate_name) {
    {
      dir::CreateGroupRequest req;
      req.set_request_id(absl::StrCat(tag, "-group"));
      req.mutable_group()->set_name(group_name);
      dir::Group g;
      grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::CreateGroup,
                             TestToken("", {}, {"platform_admin"}, "csuite-platform"), req, &g);
      ASSERT_TRUE(st.ok()) << st.error_message();
      group_ = g.id();
    }
    dir::CreateEstateRequest req;
    req.set_request_id(absl::StrCat(tag, "-estate"));
    dir::Estate* e = req.mutable_estate();
    e->set_name(estate_name);
    e->set_kind(dir::ESTATE_KIND_RESIDENTIAL);
    e->set_time_zone("Asia/Shanghai");
    e->set_management_fee_fen_per_m2(150);
    e->set_household_count(100);
    dir::Estate out;
    grpc::Status st =
        Call(*directory_, &dir::DirectoryService::Stub::CreateEstate, As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    estate_ = out.id();
  }

  // A staff member of the estate whose roster shift covers now (on duty) or is later today.
  void AddStaff(const std::string& key, const std::string& name, dir::StaffRole role,
                const std::string& role_name, bool on_duty) {
    dir::CreateStaffRequest req;
    req.set_request_id(absl::StrCat(group_, "-staff-", key));
    dir::Staff* s = req.mutable_staff();
    s->set_name(name);
    s->add_roles(role);
    s->add_home_estate_ids(estate_);
    s->mutable_start_date()->set_year(2024);
    s->mutable_start_date()->set_month(1);
    s->mutable_start_date()->set_day(1);
    dir::Staff out;
    grpc::Status st =
        Call(*directory_, &dir::DirectoryService::Stub::CreateStaff, As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << key << ": " << st.error_message();
    staff_[key] = {out.id(), role_name};
    const absl::Time now = absl::Now();
    dir::CreateShiftRequest shift;
    shift.set_request_id(absl::StrCat(group_, "-shift-", key));
    shift.mutable_shift()->set_estate_id(estate_);
    shift.mutable_shift()->set_staff_id(out.id());
    *shift.mutable_shift()->mutable_start_time() =
        ToProtoTime(on_duty ? now - absl::Hours(1) : now + absl::Hours(6));
    *shift.mutable_shift()->mutable_end_time() =
        ToProtoTime(on_duty ? now + absl::Hours(5) : now + absl::Hours(10));
    dir::Shift made;
    st = Call(*directory_, &dir::DirectoryService::Stub::CreateShift, As("group_admin"), shift,
              &made);
    ASSERT_TRUE(st.ok()) << key << ": " << st.error_message();
    if (on_duty) on_duty_.insert(out.id());
  }
  const std::string& Id(const std::string& key) const { return staff_.at(key).first; }
  // The token of a staff member: their role, their id as the subject.
  std::string AsStaff(const std::string& key) const {
    return TestToken(group_, {"*"}, {staff_.at(key).second}, Id(key));
  }

  // The group's edited year as an overlay on the State Council's: the next working day after
  // today is a day off (停电检修). Returns that day and the calendar as edited.
  absl::CivilDay ImportDayOff(const std::string& rid, WorkCalendar* edited) {
    const absl::TimeZone sh = Shanghai();
    const WorkCalendar national = WorkCalendar::National();
    absl::CivilDay off = absl::ToCivilDay(absl::Now(), sh) + 1;
    while (!national.IsWorkingDay(off)) ++off;
    const std::string edit = absl::StrFormat(
        "year %d\nmode overlay\nsource 日历物业集团通知（停电检修）\noff %s 停电检修\n", off.year(),
        absl::FormatCivilTime(off));
    dir::ImportWorkCalendarRequest req;
    req.set_request_id(rid);
    req.set_calendar(edit);
    dir::WorkCalendarChange out;
    grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::ImportWorkCalendar,
                           As("group_admin"), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(out.changed());
    *edited = national;
    edited->SetYear(*ParseCalendarYear(edit));
    edit_ = edit;
    return off;
  }

  // ---- the duty desk ----

  // Waits until duty has learnt the roster over the bus: everyone on duty now, in the estate.
  void AwaitOnDuty() {
    std::set<std::string> seen;
    bool known = WaitFor(
        [&] {
          dut::ListOnDutyRequest req;
          req.set_estate_id(estate_);
          req.set_page_size(100);
          dut::ListOnDutyResponse resp;
          if (!Call(*duty_, &dut::DutyService::Stub::ListOnDuty, As("estate_manager"), req, &resp)
                   .ok()) {
            return false;
          }
          seen.clear();
          for (const dut::OnDuty& d : resp.on_duty()) seen.insert(d.staff_id());
          return seen == on_duty_;
        },
        kSettle);
    ASSERT_TRUE(known) << "duty does not know the roster: " << seen.size() << " of "
                       << on_duty_.size() << " on duty" << Logs();
  }

  // The estate's tasks of `kind` about `ref` ("hotline/<ticket id>", ...).
  std::vector<dut::Task> TasksAbout(ev::TaskKind kind, const std::string& ref) {
    std::vector<dut::Task> out;
    dut::ListTasksRequest req;
    req.set_estate_id(estate_);
    req.set_kind(kind);
    req.set_page_size(100);
    dut::ListTasksResponse resp;
    if (!Call(*duty_, &dut::DutyService::Stub::ListTasks, As("estate_manager"), req, &resp).ok()) {
      return out;
    }
    for (const dut::Task& t : resp.tasks()) {
      if (t.subject_ref() == ref) out.push_back(t);
    }
    return out;
  }

  // Waits for the task of `kind` about `ref` and checks that it reached the supervisor on
  // duty, and only them (the second supervisor's shift is later today).
  dut::Task AwaitSupervisorTask(ev::TaskKind kind, const std::string& ref) {
    dut::Task found;
    bool seen = WaitFor(
        [&] {
          std::vector<dut::Task> tasks = TasksAbout(kind, ref);
          if (tasks.empty()) return false;
          found = tasks[0];
          return true;
        },
        kSettle);
    EXPECT_TRUE(seen) << "no " << ev::TaskKind_Name(kind) << " task about " << ref << Logs();
    if (!seen) return found;
    EXPECT_EQ(TasksAbout(kind, ref).size(), 1u) << "raised once";
    EXPECT_EQ(found.state(), ev::TASK_STATE_OPEN);
    EXPECT_EQ(found.role(), ev::STAFF_ROLE_SUPERVISOR);
    EXPECT_EQ(std::vector<std::string>(found.assignee_ids().begin(), found.assignee_ids().end()),
              std::vector<std::string>{Id("sup")});
    return found;
  }

  // Waits until the task of `kind` about `ref` is closed.
  bool AwaitClosed(ev::TaskKind kind, const std::string& ref) {
    bool done = WaitFor(
        [&] {
          std::vector<dut::Task> tasks = TasksAbout(kind, ref);
          return !tasks.empty() && tasks[0].state() == ev::TASK_STATE_DONE;
        },
        kSettle);
    EXPECT_TRUE(done) << ev::TaskKind_Name(kind) << " about " << ref << " not closed" << Logs();
    return done;
  }

  // ---- intake and dispatch ----

  ipb::Ticket CreateTicketAt(ipb::Ticket t, const std::string& rid, absl::Time received) {
    ipb::CreateTicketRequest req;
    req.set_request_id(rid);
    t.set_estate_id(estate_);
    t.set_channel(cpb::CHANNEL_WALK_IN);
    *t.mutable_received_time() = ToProtoTime(received);
    *req.mutable_ticket() = t;
    ipb::Ticket out;
    grpc::Status st =
        CallWhenKnown(*intake_, &ipb::IntakeService::Stub::CreateTicket, As("agent"), req, &out);
    EXPECT_TRUE(st.ok()) << rid << ": " << st.error_message() << Logs();
    return out;
  }

  // The work order dispatch made of intake's event for a repair ticket.
  dpb::WorkOrder AwaitWorkOrder(const std::string& ticket_id) {
    dpb::WorkOrder order;
    bool made = WaitFor(
        [&] {
          dpb::ListWorkOrdersRequest req;
          req.set_estate_id(estate_);
          req.set_page_size(100);
          dpb::ListWorkOrdersResponse resp;
          if (!Call(*dispatch_, &dpb::DispatchService::Stub::ListWorkOrders, As("team_lead"), req,
                    &resp)
                   .ok()) {
            return false;
          }
          for (const dpb::WorkOrder& o : resp.work_orders()) {
            if (o.ticket_id() == ticket_id) order = o;
          }
          return !order.id().empty();
        },
        kSettle);
    EXPECT_TRUE(made) << "dispatch made no work order of ticket " << ticket_id << Logs();
    return order;
  }

  PrivateServers servers_;
  std::vector<std::unique_ptr<TestDatabase>> dbs_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> procs_;
  std::unique_ptr<dir::DirectoryService::Stub> directory_;
  std::unique_ptr<ipb::IntakeService::Stub> intake_;
  std::unique_ptr<dpb::DispatchService::Stub> dispatch_;
  std::unique_ptr<dut::DutyService::Stub> duty_;
  std::string group_, estate_;
  std::map<std::string, std::pair<std::string, std::string>> staff_;  // key: id, role name
  std::set<std::string> on_duty_;
  std::string edit_;  // the calendar ImportDayOff imported
};

TEST_F(CalendarSuiteTest, ACalendarImportedMidDeadlineMovesOpenDeadlinesForwardKeepingTimeSpent) {
  const absl::TimeZone sh = Shanghai();
  if (NearShanghaiMidnight()) {
    GTEST_SKIP() << "the Shanghai day ends within ten minutes: the day made off could begin "
                    "while the test runs";
  }
  // ---- the directory: a group and its estate in Shanghai ----
  CreateGroupAndEstate("csuite", "日历物业集团", "日历花园");
  ASSERT_FALSE(HasFatalFailure());
  // ---- dispatch: the group's small repairs count 72 hours of working days ----
  {
    dpb::UpdateSlaPolicyRequest req;
    req.set_request_id("csuite-policy");
    req.mutable_policy()->set_small_fix_clock(cpb::SLA_CLOCK_WORKING_DAYS);
    req.mutable_policy()->set_small_fix_hours(72);
    dpb::SlaPolicy out;
    grpc::Status st = Call(*dispatch_, &dpb::DispatchService::Stub::UpdateSlaPolicy,
                           As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // ---- intake: a repair and a complaint, both received three hours ago ----
  const absl::Time received = absl::Now() - absl::Hours(3);
  auto create_ticket = [&](const ipb::Ticket& t, const std::string& rid) {
    return CreateTicketAt(t, rid, received);
  };
  ipb::Ticket repair;
  {
    ipb::Ticket t;
    t.set_kind(cpb::TICKET_KIND_REPAIR_COMMON);
    t.mutable_location()->set_common_area("B2 车库");
    t.set_summary("车库消防管滴水");
    t.set_category(cpb::WORK_CATEGORY_PLUMBING);
    t.set_priority(cpb::PRIORITY_SMALL);
    repair = create_ticket(t, "csuite-repair");
  }
  ipb::Ticket complaint;
  {
    ipb::Ticket t;
    t.set_kind(cpb::TICKET_KIND_COMPLAINT);
    t.set_summary("晚上十点后仍有装修噪音");
    complaint = create_ticket(t, "csuite-complaint");
  }
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(complaint.has_complaint_reply());
  EXPECT_EQ(complaint.complaint_reply().clock(), cpb::SLA_CLOCK_WORKING_DAYS);
  const absl::Time reply_due = FromProtoTime(complaint.complaint_reply().due_time());

  // Dispatch makes the repair's work order of intake's event.
  const dpb::WorkOrder order = AwaitWorkOrder(repair.id());
  ASSERT_FALSE(order.id().empty());
  EXPECT_EQ(order.sla_clock_kind(), cpb::SLA_CLOCK_WORKING_DAYS);
  EXPECT_EQ(FromProtoTime(order.received_time()), FromProtoTime(repair.received_time()));
  const absl::Time order_due = FromProtoTime(order.sla_deadline());

  // The deadlines as the State Council's calendar makes them (the services count on it).
  const WorkCalendar national = WorkCalendar::National();
  EXPECT_EQ(order_due, national.Advance(received, absl::Hours(72), SlaClock::kWorkingDays, sh));
  EXPECT_EQ(reply_due, national.Advance(received, absl::Hours(72), SlaClock::kWorkingDays, sh));

  // ---- the group's edited year: the next working day after today is a day off ----
  WorkCalendar edited;
  const absl::CivilDay off = ImportDayOff("csuite-calendar", &edited);
  ASSERT_FALSE(HasFailure());
  // Both deadlines lie after it: it was a whole day of each window.
  ASSERT_LT(absl::FromCivil(off + 1, sh), order_due);
  // The rest of each window runs on the edited calendar; what was counted stays counted, so
  // each deadline is a working day of the edited calendar after the old one.
  const absl::Time order_moved =
      edited.Advance(order_due, absl::Hours(24), SlaClock::kWorkingDays, sh);
  const absl::Time reply_moved =
      edited.Advance(reply_due, absl::Hours(24), SlaClock::kWorkingDays, sh);
  std::cout << "FIGURE calendar edited mid-deadline (" << absl::FormatCivilTime(off)
            << " off): order " << Local(order_due, sh) << " → " << Local(order_moved, sh)
            << ", complaint reply " << Local(reply_due, sh) << " → " << Local(reply_moved, sh)
            << "\n";

  // ---- dispatch and intake learn of it and move their deadlines ----
  dpb::WorkOrder moved;
  bool order_done = WaitFor(
      [&] {
        dpb::GetWorkOrderRequest req;
        req.set_id(order.id());
        return Call(*dispatch_, &dpb::DispatchService::Stub::GetWorkOrder, As("team_lead"), req,
                    &moved)
                   .ok() &&
               FromProtoTime(moved.sla_deadline()) != order_due;
      },
      kSettle);
  ASSERT_TRUE(order_done) << "the order's deadline did not move" << Logs();
  EXPECT_EQ(FromProtoTime(moved.sla_deadline()), order_moved)
      << Local(FromProtoTime(moved.sla_deadline()), sh) << " " << moved.sla_due_reason();
  // The time spent until dispatch learnt of the change counted on the calendar then in force.
  const absl::Time settled = FromProtoTime(moved.sla_settled_time());
  EXPECT_LT(settled, absl::FromCivil(off, sh));
  EXPECT_EQ(FromProtoDuration(moved.sla_spent()),
            national.Counted(received, settled, SlaClock::kWorkingDays, sh));
  EXPECT_NE(moved.sla_due_reason().find("停电检修"), std::string::npos) << moved.sla_due_reason();
  EXPECT_FALSE(moved.sla_breached());

  ipb::Ticket retimed;
  bool reply_done = WaitFor(
      [&] {
        ipb::GetTicketRequest req;
        req.set_id(complaint.id());
        return Call(*intake_, &ipb::IntakeService::Stub::GetTicket, As("agent"), req, &retimed)
                   .ok() &&
               FromProtoTime(retimed.complaint_reply().due_time()) != reply_due;
      },
      kSettle);
  ASSERT_TRUE(reply_done) << "the complaint's reply deadline did not move" << Logs();
  EXPECT_EQ(FromProtoTime(retimed.complaint_reply().due_time()), reply_moved)
      << retimed.complaint_reply().due_reason();
  EXPECT_NE(retimed.complaint_reply().due_reason().find("停电检修"), std::string::npos)
      << retimed.complaint_reply().due_reason();

  // The same import again changes nothing anywhere.
  {
    dir::ImportWorkCalendarRequest req;
    req.set_request_id("csuite-calendar-again");
    req.set_calendar(edit_);
    dir::WorkCalendarChange out;
    grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::ImportWorkCalendar,
                           As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_FALSE(out.changed());
  }
  dpb::GetWorkOrderRequest get;
  get.set_id(order.id());
  dpb::WorkOrder again;
  ASSERT_TRUE(
      Call(*dispatch_, &dpb::DispatchService::Stub::GetWorkOrder, As("team_lead"), get, &again)
          .ok());
  EXPECT_EQ(again.version(), moved.version());
}

// Issue 27 §3, "the 12345 flow end to end: import, routing, reply export, government
// callback import, the monthly report", and §1, its reply deadline "across a calendar edited
// mid-deadline ... all through the API" (the seeds are silent on 12345: the clauses are the
// issue's). The order's window is three working days from three hours ago, as the complaint's
// above, so that the day made off is inside it.
TEST_F(CalendarSuiteTest, A12345OrderFromImportThroughACalendarEditToTheMonthlyReport) {
  const absl::TimeZone sh = Shanghai();
  if (NearShanghaiMidnight()) {
    GTEST_SKIP() << "the Shanghai day ends within ten minutes: the day made off could begin "
                    "while the test runs";
  }
  CreateGroupAndEstate("hsuite", "热线物业集团", "热线花园");
  ASSERT_FALSE(HasFatalFailure());
  AddStaff("agent", "王芳", dir::STAFF_ROLE_AGENT, "agent", true);
  AddStaff("sup", "赵敏", dir::STAFF_ROLE_SUPERVISOR, "supervisor", true);
  AddStaff("sup2", "钱进", dir::STAFF_ROLE_SUPERVISOR, "supervisor", false);
  ASSERT_FALSE(HasFatalFailure());
  AwaitOnDuty();
  ASSERT_FALSE(HasFatalFailure());

  // ---- import: the city's file, the estate named by its id ----
  const absl::Time received = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 3 * 3600);
  const std::string number = "SH12345-0001";
  const std::string caller_phone = "13700004521";
  const std::string file = absl::StrCat(
      "order_number,received_time,deadline_working_days,estate,category,content,caller_name,"
      "caller_phone\n",
      number, ",", absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", received, sh), ",3,", estate_,
      ",物业服务,\"小区消防通道被车辆长期占用，多次反映未处理\",市民,", caller_phone, "\n");
  ipb::ImportHotlineOrdersResponse imported;
  int attempt = 0;
  // The line is refused on `estate` (and nothing of it kept) until intake has learnt of the
  // estate from the directory's event: again, under a new request_id.
  bool taken = WaitFor(
      [&] {
        ipb::ImportHotlineOrdersRequest req;
        req.set_request_id(absl::StrCat("hsuite-import-", ++attempt));
        req.set_format("csv");
        req.set_city("shanghai");
        req.set_content(file);
        return Call(*intake_, &ipb::IntakeService::Stub::ImportHotlineOrders, AsStaff("agent"), req,
                    &imported)
                   .ok() &&
               imported.created() == 1;
      },
      kSettle);
  ASSERT_TRUE(taken) << imported.DebugString() << Logs();
  const std::string ticket_id = imported.lines(0).ticket_id();
  auto get_ticket = [&] {
    ipb::GetTicketRequest req;
    req.set_id(ticket_id);
    ipb::Ticket t;
    grpc::Status st =
        Call(*intake_, &ipb::IntakeService::Stub::GetTicket, AsStaff("agent"), req, &t);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return t;
  };
  const ipb::Ticket order = get_ticket();
  EXPECT_EQ(order.channel(), cpb::CHANNEL_GOVERNMENT_HOTLINE);
  EXPECT_EQ(order.kind(), cpb::TICKET_KIND_COMPLAINT);
  EXPECT_EQ(order.hotline().order_number(), number);
  EXPECT_EQ(order.hotline().deadline_working_days(), 3);
  // Three working days of the State Council's calendar from the hotline's receipt.
  const WorkCalendar national = WorkCalendar::National();
  const absl::Time due = FromProtoTime(order.external_due_time());
  EXPECT_EQ(due, national.Advance(received, absl::Hours(72), SlaClock::kWorkingDays, sh))
      << order.external_due_reason();

  // ---- routing: the supervisor on duty is told at once ----
  const std::string ref = absl::StrCat("hotline/", ticket_id);
  const dut::Task told = AwaitSupervisorTask(ev::TASK_KIND_HOTLINE_ORDER, ref);
  EXPECT_FALSE(absl::StrContains(told.title(), caller_phone)) << told.title();

  // ---- the group's calendar edited mid-deadline moves the reply deadline forward ----
  WorkCalendar edited;
  const absl::CivilDay off = ImportDayOff("hsuite-calendar", &edited);
  ASSERT_FALSE(HasFailure());
  ASSERT_LT(absl::FromCivil(off + 1, sh), due);
  // What was counted stays counted; the rest runs on the edited calendar: a working day of
  // it after the old deadline.
  const absl::Time moved = edited.Advance(due, absl::Hours(24), SlaClock::kWorkingDays, sh);
  ipb::Ticket retimed;
  bool retimed_seen = WaitFor(
      [&] {
        retimed = get_ticket();
        return FromProtoTime(retimed.external_due_time()) != due;
      },
      kSettle);
  ASSERT_TRUE(retimed_seen) << "the 12345 order's deadline did not move" << Logs();
  EXPECT_EQ(FromProtoTime(retimed.external_due_time()), moved)
      << Local(FromProtoTime(retimed.external_due_time()), sh) << " "
      << retimed.external_due_reason();
  EXPECT_TRUE(absl::StrContains(retimed.external_due_reason(), "停电检修"))
      << retimed.external_due_reason();
  // The directory explains the same deadline: counted from the receipt on the edited calendar
  // it falls where the retimed count does, as the days before the change are the same in both.
  {
    dir::ExplainDeadlineRequest req;
    req.set_estate_id(estate_);
    *req.mutable_start_time() = ToProtoTime(received);
    req.mutable_amount()->set_seconds(72 * 3600);
    req.set_clock(cpb::SLA_CLOCK_WORKING_DAYS);
    dir::ExplainDeadlineResponse out;
    grpc::Status st =
        Call(*directory_, &dir::DirectoryService::Stub::ExplainDeadline, AsStaff("sup"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(FromProtoTime(out.due_time()), moved) << out.explanation();
    EXPECT_TRUE(absl::StrContains(out.explanation(), "停电检修")) << out.explanation();
  }

  // ---- the reply, recorded and exported ----
  auto reply = [&](const std::string& rid, const std::string& text) {
    ipb::RecordHotlineReplyRequest req;
    req.set_request_id(rid);
    req.set_ticket_id(ticket_id);
    req.set_reply(text);
    ipb::HotlineReply out;
    grpc::Status st =
        Call(*intake_, &ipb::IntakeService::Stub::RecordHotlineReply, AsStaff("agent"), req, &out);
    EXPECT_TRUE(st.ok()) << rid << ": " << st.error_message();
    return out;
  };
  const ipb::HotlineReply first =
      reply("hsuite-reply", "已联系车主挪车，并在消防通道加装禁停标识，安排保安每日巡查。");
  // On time is judged when the reply reaches the city's platform (issue 27 §3): recorded is
  // not yet delivered, and the supervisor's task stays open until the export.
  EXPECT_FALSE(first.on_time());
  EXPECT_EQ(first.order_number(), number);
  EXPECT_EQ(first.replied_by(), Id("agent"));
  EXPECT_EQ(FromProtoTime(get_ticket().hotline().reply_time()), FromProtoTime(first.reply_time()));
  EXPECT_FALSE(get_ticket().hotline().has_delivery_time());
  auto export_replies = [&](const std::string& rid) {
    ipb::ExportHotlineRepliesRequest req;
    req.set_request_id(rid);
    req.set_format("csv");
    req.set_city("shanghai");
    ipb::ExportHotlineRepliesResponse out;
    grpc::Status st = Call(*intake_, &ipb::IntakeService::Stub::ExportHotlineReplies,
                           AsStaff("agent"), req, &out);
    EXPECT_TRUE(st.ok()) << rid << ": " << st.error_message();
    return out;
  };
  {
    ipb::ExportHotlineRepliesRequest req;
    req.set_request_id("hsuite-export");
    req.set_format("csv");
    req.set_city("shanghai");
    ipb::ExportHotlineRepliesResponse out;
    grpc::Status st = Call(*intake_, &ipb::IntakeService::Stub::ExportHotlineReplies,
                           AsStaff("agent"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(out.replies_size(), 1);
    EXPECT_EQ(out.replies(0).order_number(), number);
    EXPECT_TRUE(out.replies(0).has_export_time());
    EXPECT_TRUE(absl::StrContains(out.content(), number)) << out.content();
    EXPECT_FALSE(absl::StrContains(out.content(), caller_phone));
    // Exported once: a new export holds nothing more.
    req.set_request_id("hsuite-export-2");
    ipb::ExportHotlineRepliesResponse again;
    st = Call(*intake_, &ipb::IntakeService::Stub::ExportHotlineReplies, AsStaff("agent"), req,
              &again);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(again.replies_size(), 0);
  }
  EXPECT_TRUE(get_ticket().hotline().has_delivery_time());
  AwaitClosed(ev::TASK_KIND_HOTLINE_ORDER, ref);

  // ---- the government's callbacks ----
  auto callback = [&](const std::string& rid, const std::string& result, absl::Time at) {
    ipb::ImportHotlineCallbacksRequest req;
    req.set_request_id(rid);
    req.set_format("csv");
    req.set_city("shanghai");
    req.set_content(absl::StrCat("order_number,result,callback_time\n", number, ",", result, ",",
                                 absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", at, sh), "\n"));
    ipb::ImportHotlineCallbacksResponse out;
    grpc::Status st = Call(*intake_, &ipb::IntakeService::Stub::ImportHotlineCallbacks,
                           AsStaff("agent"), req, &out);
    EXPECT_TRUE(st.ok()) << rid << ": " << st.error_message();
    EXPECT_EQ(out.recorded(), 1) << out.DebugString();
  };
  auto report = [&] {
    ipb::GetHotlineReportRequest req;
    req.set_estate_id(estate_);
    const absl::CivilMonth month = absl::CivilMonth(absl::ToCivilSecond(received, sh));
    req.mutable_month()->set_year(static_cast<int>(month.year()));
    req.mutable_month()->set_month(month.month());
    ipb::HotlineReport out;
    grpc::Status st =
        Call(*intake_, &ipb::IntakeService::Stub::GetHotlineReport, AsStaff("sup"), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  };
  // Not satisfied (政府回访不满意): the supervisor on duty hears of it, naming the city's order.
  const absl::Time called = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 60);
  callback("hsuite-callback-1", "不满意", called);
  EXPECT_EQ(get_ticket().hotline().government_result(), ipb::HOTLINE_RESULT_UNSATISFIED);
  const std::string rating_ref = absl::StrCat("hotline_rating/", ticket_id);
  const dut::Task attention = AwaitSupervisorTask(ev::TASK_KIND_HOTLINE_ATTENTION, rating_ref);
  EXPECT_TRUE(absl::StrContains(attention.title(), number)) << attention.title();
  EXPECT_FALSE(absl::StrContains(attention.title(), caller_phone)) << attention.title();
  {
    const ipb::HotlineReport r = report();
    EXPECT_EQ(r.orders(), 1);
    EXPECT_EQ(r.replied(), 1);
    EXPECT_EQ(r.replied_on_time(), 1);
    EXPECT_EQ(r.overdue_unreplied(), 0);
    EXPECT_EQ(r.callbacks(), 1);
    EXPECT_EQ(r.unsatisfied(), 1);
    EXPECT_EQ(r.satisfaction_bp(), 0);
    EXPECT_EQ(r.on_time_bp(), 10000);
  }
  // The desk handles it again and answers the hotline: the task closes. The city calls the
  // resident again: satisfied, which replaces the first result.
  reply("hsuite-reply-2", "再次核查：已对占道车辆张贴告知书，消防通道现已畅通。");
  EXPECT_EQ(export_replies("hsuite-export-3").replies_size(), 1);
  AwaitClosed(ev::TASK_KIND_HOTLINE_ATTENTION, rating_ref);
  callback("hsuite-callback-2", "满意", called + absl::Seconds(30));
  EXPECT_EQ(get_ticket().hotline().government_result(), ipb::HOTLINE_RESULT_SATISFIED);
  const ipb::HotlineReport r = report();
  EXPECT_EQ(r.orders(), 1);
  EXPECT_EQ(r.replied(), 1);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.callbacks(), 1);
  EXPECT_EQ(r.satisfied(), 1);
  EXPECT_EQ(r.unsatisfied(), 0);
  EXPECT_EQ(r.satisfaction_bp(), 10000);
  std::cout << "FIGURE 12345 order " << number << ": due " << Local(due, sh) << " → "
            << Local(moved, sh) << "; report " << r.orders() << " order, " << r.replied()
            << " replied (" << r.replied_on_time() << " on time), satisfaction "
            << r.satisfaction_bp() << " bp\n";
}

// Issue 27 §2, "pauses ... all through the API, with durable timers that fire once" (the
// seeds are silent on pauses: the clause is the issue's). A common-area repair has no
// resident to agree to a pause: the team lead asks for one (waiting for a part, a reason of
// the group's own list), the supervisor on duty is given the request, the one who asked
// cannot approve it, a supervisor does — the clock stops from the approval, not the
// request — and the order is resumed with the pause added to its deadline; the month's SLA
// report shows the time paused.
TEST_F(CalendarSuiteTest, APauseWithoutAgreementWaitsForASupervisorAndShowsInTheSlaReport) {
  const absl::TimeZone sh = Shanghai();
  CreateGroupAndEstate("psuite", "暂停物业集团", "暂停花园");
  ASSERT_FALSE(HasFatalFailure());
  AddStaff("lead", "李强", dir::STAFF_ROLE_TEAM_LEAD, "team_lead", true);
  AddStaff("sup", "赵敏", dir::STAFF_ROLE_SUPERVISOR, "supervisor", true);
  AddStaff("sup2", "钱进", dir::STAFF_ROLE_SUPERVISOR, "supervisor", false);
  ASSERT_FALSE(HasFatalFailure());
  {  // Small repairs count 72 elapsed hours, so that the pause moves the deadline by itself.
    dpb::UpdateSlaPolicyRequest req;
    req.set_request_id("psuite-policy");
    req.mutable_policy()->set_small_fix_clock(cpb::SLA_CLOCK_ELAPSED);
    req.mutable_policy()->set_small_fix_hours(72);
    dpb::SlaPolicy out;
    grpc::Status st = Call(*dispatch_, &dpb::DispatchService::Stub::UpdateSlaPolicy,
                           As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  {  // The group's list of pause reasons, with one of its own.
    dpb::UpdatePauseReasonsRequest req;
    req.set_request_id("psuite-reasons");
    dpb::PauseReason* r = req.add_reasons();
    r->set_code("NOT_HOME");
    r->set_label("住户不在家");
    r = req.add_reasons();
    r->set_code("WAITING_PARTS");
    r->set_label("等配件到货");
    dpb::PauseReasons out;
    grpc::Status st = Call(*dispatch_, &dpb::DispatchService::Stub::UpdatePauseReasons,
                           As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  AwaitOnDuty();
  ASSERT_FALSE(HasFatalFailure());

  ipb::Ticket repair;
  {
    ipb::Ticket t;
    t.set_kind(cpb::TICKET_KIND_REPAIR_COMMON);
    t.mutable_location()->set_common_area("3号楼电梯厅");
    t.set_summary("电梯厅消防喷淋头渗水");
    t.set_category(cpb::WORK_CATEGORY_PLUMBING);
    t.set_priority(cpb::PRIORITY_SMALL);
    repair = CreateTicketAt(t, "psuite-repair", absl::Now() - absl::Hours(1));
  }
  ASSERT_FALSE(HasFailure());
  const dpb::WorkOrder order = AwaitWorkOrder(repair.id());
  ASSERT_FALSE(order.id().empty());
  ASSERT_EQ(order.sla_clock_kind(), cpb::SLA_CLOCK_ELAPSED);
  const absl::Time order_due = FromProtoTime(order.sla_deadline());

  // ---- the team lead asks, without an agreement: the clock keeps running ----
  dpb::WorkOrder asked;
  {
    dpb::PauseWorkOrderRequest req;
    req.set_request_id("psuite-pause");
    req.set_id(order.id());
    req.set_reason_code("WAITING_PARTS");
    req.set_note("喷淋头型号需厂家发货");
    grpc::Status st =
        Call(*dispatch_, &dpb::DispatchService::Stub::PauseWorkOrder, AsStaff("lead"), req, &asked);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(asked.pauses_size(), 1);
  const dpb::Pause& requested = asked.pauses(0);
  EXPECT_EQ(requested.state(), dpb::PAUSE_STATE_REQUESTED);
  EXPECT_EQ(requested.reason_label(), "等配件到货");
  EXPECT_FALSE(asked.sla_paused());
  EXPECT_EQ(FromProtoTime(asked.sla_deadline()), order_due);

  // ---- the supervisor on duty is given it ----
  const std::string ref = absl::StrCat("pause/", requested.id());
  AwaitSupervisorTask(ev::TASK_KIND_PAUSE_REQUEST, ref);

  // ---- the team lead who asked cannot approve (below a supervisor); the supervisor does ----
  auto decide = [&](const std::string& who, const std::string& rid, dpb::WorkOrder* out) {
    dpb::DecidePauseRequest req;
    req.set_request_id(rid);
    req.set_id(order.id());
    req.set_approve(true);
    req.set_note("同意，配件到货后恢复");
    return Call(*dispatch_, &dpb::DispatchService::Stub::DecidePause, AsStaff(who), req, out);
  };
  dpb::WorkOrder approved;
  grpc::Status st = decide("lead", "psuite-self-approve", &approved);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = decide("sup", "psuite-approve", &approved);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(approved.pauses_size(), 1);
  const dpb::Pause& active = approved.pauses(0);
  EXPECT_EQ(active.state(), dpb::PAUSE_STATE_ACTIVE);
  EXPECT_EQ(active.decision().decided_by().subject(), Id("sup"));
  EXPECT_TRUE(approved.sla_paused());
  // The clock stopped from the approval, not from the request.
  EXPECT_EQ(FromProtoTime(active.paused_at()), FromProtoTime(active.decision().decided_at()));
  EXPECT_GT(FromProtoTime(active.paused_at()), FromProtoTime(active.requested_at()));
  AwaitClosed(ev::TASK_KIND_PAUSE_REQUEST, ref);

  // ---- resumed: the clock runs again, the pause added to the deadline ----
  dpb::WorkOrder resumed;
  {
    dpb::ResumeWorkOrderRequest req;
    req.set_request_id("psuite-resume");
    req.set_id(order.id());
    st = Call(*dispatch_, &dpb::DispatchService::Stub::ResumeWorkOrder, AsStaff("lead"), req,
              &resumed);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(resumed.pauses_size(), 1);
  EXPECT_EQ(resumed.pauses(0).state(), dpb::PAUSE_STATE_RESUMED);
  EXPECT_FALSE(resumed.sla_paused());
  const absl::Time paused_at = FromProtoTime(resumed.pauses(0).paused_at());
  const absl::Duration paused = FromProtoTime(resumed.pauses(0).resumed_at()) - paused_at;
  EXPECT_GT(paused, absl::ZeroDuration());
  EXPECT_EQ(FromProtoTime(resumed.sla_deadline()), order_due + paused) << resumed.sla_due_reason();

  // ---- the month's SLA report: the pause and its time ----
  dpb::GetSlaReportRequest req;
  req.set_estate_id(estate_);
  const absl::CivilMonth month = absl::CivilMonth(absl::ToCivilSecond(paused_at, sh));
  req.set_year(static_cast<int>(month.year()));
  req.set_month(month.month());
  dpb::SlaReport report;
  st = Call(*dispatch_, &dpb::DispatchService::Stub::GetSlaReport, AsStaff("sup"), req, &report);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(report.estates_size(), 1) << report.DebugString();
  const dpb::SlaFigures& f = report.estates(0).figures();
  EXPECT_EQ(f.pauses(), 1);
  // The report counts the pauses' table, kept in microseconds; the order's times carry the
  // nanoseconds of the moment.
  EXPECT_LE(absl::AbsDuration(FromProtoDuration(f.paused()) - paused), absl::Microseconds(1))
      << FromProtoDuration(f.paused()) << " " << paused;
  EXPECT_EQ(f.open(), 1);
  EXPECT_EQ(f.open_paused(), 0);
  EXPECT_EQ(f.open_missed(), 0);
  EXPECT_EQ(f.open_missed_unpaused(), 0);
}

}  // namespace
}  // namespace wuye
