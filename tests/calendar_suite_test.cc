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
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/proto_time.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/work_calendar.h"
#include "tests/service_process.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

namespace wuye {
namespace {

namespace cpb = ::wuye::common::v1;
namespace dir = ::wuye::directory::v1;
namespace dpb = ::wuye::dispatch::v1;
namespace ipb = ::wuye::intake::v1;

using ::wuye::testing::PrivateServers;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::ServiceProcessOptions;
using ::wuye::testing::TestDatabase;
using ::wuye::testing::TestToken;
using ::wuye::testing::WaitFor;

// How long a consumer may take to learn of an event (three processes on two shared cores).
constexpr absl::Duration kSettle = absl::Seconds(60);

const char* const kServices[] = {"directory", "intake", "dispatch"};

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
  }

  std::string Logs() const {
    std::string out;
    for (const auto& [name, p] : procs_) absl::StrAppend(&out, "\n  ", name, ": ", p->log_path());
    return out;
  }
  std::string As(const std::string& role) const {
    return TestToken(group_, {"*"}, {role}, absl::StrCat("csuite-", role));
  }

  PrivateServers servers_;
  std::vector<std::unique_ptr<TestDatabase>> dbs_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> procs_;
  std::unique_ptr<dir::DirectoryService::Stub> directory_;
  std::unique_ptr<ipb::IntakeService::Stub> intake_;
  std::unique_ptr<dpb::DispatchService::Stub> dispatch_;
  std::string group_, estate_;
};

TEST_F(CalendarSuiteTest, ACalendarImportedMidDeadlineMovesOpenDeadlinesForwardKeepingTimeSpent) {
  const absl::TimeZone sh = [] {
    absl::TimeZone tz;
    EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &tz));
    return tz;
  }();
  if (absl::ToCivilDay(absl::Now() + absl::Minutes(10), sh) != absl::ToCivilDay(absl::Now(), sh)) {
    GTEST_SKIP() << "the Shanghai day ends within ten minutes: the day made off could begin "
                    "while the test runs";
  }
  // ---- the directory: a group and its estate in Shanghai ----
  {
    dir::CreateGroupRequest req;
    req.set_request_id("csuite-group");
    req.mutable_group()->set_name("日历物业集团");
    dir::Group g;
    grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::CreateGroup,
                           TestToken("", {}, {"platform_admin"}, "csuite-platform"), req, &g);
    ASSERT_TRUE(st.ok()) << st.error_message();
    group_ = g.id();
  }
  {
    dir::CreateEstateRequest req;
    req.set_request_id("csuite-estate");
    dir::Estate* e = req.mutable_estate();
    e->set_name("日历花园");
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
  auto create_ticket = [&](ipb::Ticket t, const std::string& rid) {
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
  dpb::WorkOrder order;
  ASSERT_TRUE(WaitFor(
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
          if (o.ticket_id() == repair.id()) order = o;
        }
        return !order.id().empty();
      },
      kSettle))
      << "dispatch made no work order of the repair ticket" << Logs();
  EXPECT_EQ(order.sla_clock_kind(), cpb::SLA_CLOCK_WORKING_DAYS);
  EXPECT_EQ(FromProtoTime(order.received_time()), FromProtoTime(repair.received_time()));
  const absl::Time order_due = FromProtoTime(order.sla_deadline());

  // The deadlines as the State Council's calendar makes them (the services count on it).
  const WorkCalendar national = WorkCalendar::National();
  EXPECT_EQ(order_due, national.Advance(received, absl::Hours(72), SlaClock::kWorkingDays, sh));
  EXPECT_EQ(reply_due, national.Advance(received, absl::Hours(72), SlaClock::kWorkingDays, sh));

  // ---- the group's edited year: the next working day after today is a day off ----
  absl::CivilDay off = absl::ToCivilDay(absl::Now(), sh) + 1;
  while (!national.IsWorkingDay(off)) ++off;
  // Both deadlines lie after it: it was a whole day of each window.
  ASSERT_LT(absl::FromCivil(off + 1, sh), order_due);
  const std::string edit = absl::StrFormat(
      "year %d\nmode overlay\nsource 日历物业集团通知（停电检修）\noff %s 停电检修\n", off.year(),
      absl::FormatCivilTime(off));
  {
    dir::ImportWorkCalendarRequest req;
    req.set_request_id("csuite-calendar");
    req.set_calendar(edit);
    dir::WorkCalendarChange out;
    grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::ImportWorkCalendar,
                           As("group_admin"), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  WorkCalendar edited = national;
  edited.SetYear(*ParseCalendarYear(edit));
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
    req.set_calendar(edit);
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

}  // namespace
}  // namespace wuye
