// A complaint's written reply (issue #27 §1: "a complaint's written reply" is among the
// deadlines that run on working days; DOMAIN.md §2: the resident gets the handling result)
// through intake's API, against a real PostgreSQL database of its own: the deadline on the
// estate's working calendar across the 2026 National Day and its make-up day, with the
// calendar's reason; across a daylight-saving change in New York; a calendar edited
// mid-deadline keeping the time spent; the timers firing once with two replicas; replied on
// time and late in the monthly report; the group's setting (bad input, roles, tenancy,
// request_id replays); 12345 orders keeping the city's deadline; nothing of the resident in
// the events.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/intake/complaint_reply.h"
#include "services/intake/consumers.h"
#include "services/intake/intake_jobs.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_test_fixture.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/work_calendar.h"
#include "shared/zone.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
using Stub = v1::IntakeService::Stub;
using ::wuye::testing::TestToken;

constexpr const char* kPhoneKey = kTestPhoneKey;  // intake_test_fixture.h
constexpr char kResidentName[] = "李桂兰";
constexpr char kPhone[] = "13812345678";

absl::Time Beijing(int y, int m, int d, int hh, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), EstateZone("Asia/Shanghai"));
}

class ComplaintReplyTest : public IntakeTestBase {
 protected:
  void SetUp() override {
    // Wednesday 30 September 2026, the last working day before National Day.
    StartIntake(Beijing(2026, 9, 30, 11));
    unit_ = NewId(absl::Now());
    supervisor_ = TestToken(group_, {"*"}, {"supervisor"}, "sup-1");
    manager_ = TestToken(group_, {estate_}, {"estate_manager"}, "mgr-1");
    admin_ = TestToken(group_, {"*"}, {"group_admin"}, "admin-1");
    other_group_ = NewId(absl::Now());
    other_admin_ = TestToken(other_group_, {"*"}, {"group_admin"}, "admin-9");
    ev::EstateChanged e;
    e.set_estate_id(estate_);
    e.set_household_count(200);
    e.set_desk_24h(true);
    e.set_time_zone("Asia/Shanghai");
    Apply(Envelope("directory.estate.updated", e, 1));
  }

  // The directory's event of the estate's 2026 calendar as an edit makes it: the national
  // year without the days `drop` and with `add` (source "estate edit"), at `version`.
  ev::CalendarChanged EditedCalendar2026(const std::vector<CalendarDay>& add,
                                         const std::vector<absl::CivilDay>& drop, int64_t version) {
    CalendarYear year;
    for (const auto& y : NationalCalendarYears()) {
      if (y.year == 2026) year = y;
    }
    std::vector<CalendarDay> days;
    for (const auto& d : year.days) {
      if (std::find(drop.begin(), drop.end(), d.day) == drop.end()) days.push_back(d);
    }
    days.insert(days.end(), add.begin(), add.end());
    std::sort(days.begin(), days.end(),
              [](const CalendarDay& a, const CalendarDay& b) { return a.day < b.day; });
    year.days = days;
    year.source = "estate edit";
    ev::CalendarChanged c;
    c.set_group_id(group_);
    c.set_estate_id(estate_);
    c.set_year(2026);
    c.set_calendar(FormatCalendarYear(year));
    c.set_version(version);
    return c;
  }
  // A complaint received at `received` (default: Wednesday 30 September 10:00).
  v1::Ticket Complain(absl::Time received = Beijing(2026, 9, 30, 10)) {
    v1::CreateTicketRequest req;
    req.set_request_id(NewId(absl::Now()));
    v1::Ticket* t = req.mutable_ticket();
    t->set_estate_id(estate_);
    t->mutable_location()->set_unit_id(unit_);
    t->set_channel(common::CHANNEL_HOTLINE);
    t->set_kind(common::TICKET_KIND_COMPLAINT);
    t->set_summary("楼道堆放杂物无人清理");
    t->set_description(absl::StrCat(kResidentName, "说已经反映三次了"));
    t->set_caller_phone(kPhone);
    *t->mutable_received_time() = ToProtoTime(received);
    v1::Ticket out;
    grpc::Status st = Call(&Stub::CreateTicket, agent_, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  v1::Ticket Resolve(const std::string& id) {
    v1::ResolveTicketRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_id(id);
    req.set_result("已清理楼道杂物，并书面告知住户处理结果。");
    v1::Ticket t;
    grpc::Status st = Call(&Stub::ResolveTicket, agent_, req, &t);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return t;
  }
  grpc::Status Report(const std::string& token, const std::string& estate, int year, int month,
                      v1::ComplaintReplyReport* out) {
    v1::GetComplaintReplyReportRequest req;
    req.set_estate_id(estate);
    req.mutable_month()->set_year(year);
    req.mutable_month()->set_month(month);
    return Call(&Stub::GetComplaintReplyReport, token, req, out);
  }
  v1::CallbackSettings Settings(const std::string& token) {
    v1::CallbackSettings s;
    EXPECT_TRUE(Call(&Stub::GetCallbackSettings, token, v1::GetCallbackSettingsRequest(), &s).ok());
    return s;
  }
  // An update of the complaint reply's fields only (a mask naming both).
  v1::UpdateCallbackSettingsRequest ReplySettings(int hours, common::SlaClock clock) {
    v1::UpdateCallbackSettingsRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_settings()->set_complaint_reply_hours(hours);
    req.mutable_settings()->set_complaint_reply_clock(clock);
    req.mutable_update_mask()->add_paths("complaint_reply_hours");
    req.mutable_update_mask()->add_paths("complaint_reply_clock");
    return req;
  }

  // Outbox rows of the complaint reply's events holding `text` (as UTF-8 bytes).
  int ReplyEventsHolding(const std::string& text) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx
        .exec_params1("SELECT count(*) FROM wuye_outbox WHERE type LIKE 'intake.complaint.%' "
                      "AND position(convert_to($1, 'UTF8') in envelope) > 0",
                      text)[0]
        .as<int>();
  }
  std::string Snapshot() {
    std::string out;
    for (const char* t : {"tickets", "ticket_history", "wuye_outbox", "callback_settings"}) {
      absl::StrAppend(&out, t, "=", Query(absl::StrCat("SELECT count(*) FROM ", t)), " ");
    }
    absl::StrAppend(&out, "versions=", Query("SELECT coalesce(sum(version), 0) FROM tickets"));
    return out;
  }
  std::string unit_, other_group_;
  std::string supervisor_, manager_, admin_, other_admin_;
};

// Issue #27 §1 (a complaint's written reply runs on working days; "deadlines across ...
// National Day with their make-up days"; "shown with the calendar's reason"). The brief
// names "Friday 2026-09-30": that day is a Wednesday, the last working day before the
// holiday, and is the day taken. Received 10:00 with the default window (72 h on the
// working-day clock = 3 working days): the 14 hours left of the 30th, 1–7 October (国庆节)
// skipped, the 8th and 9th count, Saturday the 10th is a make-up working day
// (国庆节调休上班): due Saturday 2026-10-10 10:00, with the reason naming the holiday.
TEST_F(ComplaintReplyTest, AComplaintBeforeNationalDayIsDueAfterTheHolidayWithTheReason) {
  v1::Ticket t = Complain();
  ASSERT_TRUE(t.has_complaint_reply()) << t.DebugString();
  EXPECT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 10, 10, 10));
  EXPECT_EQ(t.complaint_reply().clock(), common::SLA_CLOCK_WORKING_DAYS);
  EXPECT_EQ(t.complaint_reply().window_hours(), 72);
  EXPECT_FALSE(t.complaint_reply().has_reply_time());
  const std::string& reason = t.complaint_reply().due_reason();
  EXPECT_TRUE(absl::StartsWith(reason, "3个工作日：")) << reason;
  EXPECT_TRUE(absl::StrContains(reason, "国庆节")) << reason;
  EXPECT_TRUE(absl::StrContains(reason, "2026-10-10")) << reason;
  // Shown the same on a later read.
  v1::Ticket read = Get(t.id());
  EXPECT_EQ(read.complaint_reply().SerializeAsString(), t.complaint_reply().SerializeAsString());
  std::cout << "FIGURE complaint_reply_due " << reason << "\n";

  // Not a complaint: no reply deadline.
  v1::CreateTicketRequest consult;
  consult.set_request_id(NewId(absl::Now()));
  consult.mutable_ticket()->set_estate_id(estate_);
  consult.mutable_ticket()->set_channel(common::CHANNEL_WALK_IN);
  consult.mutable_ticket()->set_kind(common::TICKET_KIND_CONSULTATION);
  consult.mutable_ticket()->set_summary("物业费怎么交");
  // An output-only field sent in is ignored.
  consult.mutable_ticket()->mutable_complaint_reply()->set_window_hours(5);
  v1::Ticket c;
  ASSERT_TRUE(Call(&Stub::CreateTicket, agent_, consult, &c).ok());
  EXPECT_FALSE(c.has_complaint_reply());

  // A 12345 order keeps the city's deadline (external_due_time) and no second one.
  v1::ImportHotlineOrdersRequest imp;
  imp.set_request_id(NewId(absl::Now()));
  imp.set_format("csv");
  imp.set_city("shenzhen");
  imp.set_content(absl::StrCat(
      "order_number,received_time,deadline_working_days,due_time,estate,unit_id,category,"
      "content,caller_name,caller_phone\r\n"
      "SZ-R-1,2026-09-30 10:00,5,,",
      estate_, ",,环境卫生,楼道堆物,,\r\n"));
  v1::ImportHotlineOrdersResponse imported;
  ASSERT_TRUE(Call(&Stub::ImportHotlineOrders, agent_, imp, &imported).ok());
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  v1::Ticket order = Get(imported.lines(0).ticket_id());
  EXPECT_EQ(order.kind(), common::TICKET_KIND_COMPLAINT);
  EXPECT_TRUE(order.has_external_due_time());
  EXPECT_FALSE(order.has_complaint_reply());
}

// Issue #27 §1: "changing the calendar re-computes open deadlines forward and never loses
// time already spent". Received Wednesday 30 September 10:00, due Saturday 10 October 10:00.
// On Friday the 9th at 12:00 the estate's calendar is edited: Thursday the 8th (already
// counted) becomes a day off and Saturday the 10th is no longer a make-up day. The 50 hours
// counted on the old calendar (14 + 24 + 12) stay spent; the other 22 run on the new one
// from then: the 9th's 12, then Monday the 12th's 10 — due 12 October 10:00 (counting the
// new calendar from scratch would say 13 October 10:00).
TEST_F(ComplaintReplyTest, ACalendarEditedMidDeadlineKeepsTheTimeSpent) {
  v1::Ticket t = Complain();
  ASSERT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 10, 10, 10));
  clock_->Set(Beijing(2026, 10, 9, 12));
  ev::CalendarChanged c = EditedCalendar2026({{absl::CivilDay(2026, 10, 8), false, "停电检修"}},
                                             {absl::CivilDay(2026, 10, 10)}, 1);
  Apply(Envelope("directory.calendar.changed", c, 1));
  v1::Ticket moved = Get(t.id());
  EXPECT_EQ(FromProtoTime(moved.complaint_reply().due_time()), Beijing(2026, 10, 12, 10));
  EXPECT_TRUE(absl::StrContains(moved.complaint_reply().due_reason(), "停电检修"))
      << moved.complaint_reply().due_reason();
  std::cout << "FIGURE complaint_reply_retimed " << moved.complaint_reply().due_reason() << "\n";
  // The same event again changes nothing.
  std::string before = Snapshot();
  Apply(Envelope("directory.calendar.changed", c, 1));
  EXPECT_EQ(Snapshot(), before);
  // A complaint given its result is not re-timed: judged when it was given.
  clock_->Set(Beijing(2026, 10, 9, 15));
  v1::Ticket done = Resolve(t.id());
  EXPECT_TRUE(done.complaint_reply().on_time());
  c.set_calendar(FormatCalendarYear(NationalCalendarYears().at(0)));
  c.set_version(2);
  Apply(Envelope("directory.calendar.changed", c, 2));
  EXPECT_EQ(FromProtoTime(Get(t.id()).complaint_reply().due_time()), Beijing(2026, 10, 12, 10));
}

// Issue #27 §1 (a calendar change re-times what waits, "the time spent stays spent"): the
// progress is kept from change to change, not counted again from receipt. A complaint
// received Monday 16 November 2026 10:00 (72 h on working days: due Thursday the 19th
// 10:00). Tuesday 09:00 the estate marks that Monday off (停水): the 14 h counted on Monday
// and Tuesday's 9 h stay spent (23 h), due still Thursday 10:00. Wednesday 09:00 an
// unrelated change (a day in December off): 47 h kept, due still Thursday 10:00 — counted
// again from receipt on the edited calendar it would lose Monday's 14 h (Friday 00:00).
TEST_F(ComplaintReplyTest, TheTimeKeptByARetroactiveEditSurvivesTheNextChange) {
  clock_->Set(Beijing(2026, 11, 16, 10));
  v1::Ticket t = Complain(Beijing(2026, 11, 16, 10));
  ASSERT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 11, 19, 10));
  auto change = [&](std::vector<CalendarDay> extra, int64_t version) {
    Apply(Envelope("directory.calendar.changed", EditedCalendar2026(extra, {}, version), version));
  };
  auto spent_hours = [&] {
    return Query(absl::StrCat("SELECT coalesce(reply_spent_us / 3600000000, -1) FROM tickets "
                              "WHERE id = '", t.id(), "'"));
  };
  EXPECT_EQ(spent_hours(), -1);  // nothing settled before the first change
  const CalendarDay monday_off{absl::CivilDay(2026, 11, 16), false, "停水"};
  clock_->Set(Beijing(2026, 11, 17, 9));
  change({monday_off}, 1);
  EXPECT_EQ(spent_hours(), 23);
  EXPECT_EQ(FromProtoTime(Get(t.id()).complaint_reply().due_time()), Beijing(2026, 11, 19, 10));
  clock_->Set(Beijing(2026, 11, 18, 9));
  change({monday_off, {absl::CivilDay(2026, 12, 24), false, "消防演练"}}, 2);
  EXPECT_EQ(spent_hours(), 47);
  v1::Ticket kept = Get(t.id());
  EXPECT_EQ(FromProtoTime(kept.complaint_reply().due_time()), Beijing(2026, 11, 19, 10));
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM tickets WHERE id = '", t.id(),
                               "' AND reply_due_at = '2026-11-19 02:00:00+00'")),
            1);
  std::cout << "FIGURE complaint_reply_progress_kept spent_h=" << spent_hours() << " due="
            << absl::FormatTime("%Y-%m-%d %H:%M", FromProtoTime(kept.complaint_reply().due_time()),
                                EstateZone("Asia/Shanghai"))
            << "\n";
  // The same event again changes nothing (the copy's version is not newer).
  change({monday_off, {absl::CivilDay(2026, 12, 24), false, "消防演练"}}, 2);
  EXPECT_EQ(spent_hours(), 47);
}

// Issue #27 §1 (deadlines in the estate's local time; HELPERS "timers ... in the estate's
// local time"): when directory.estate.updated changes the zone the estate's clocks count in,
// a complaint waiting for its reply is re-timed as dispatch re-times its orders — the time
// counted in the old zone stays spent, the rest is counted in the new one. 14 office hours
// (09:00–12:00, 13:30–17:30), received Monday 16 November 2026 09:00 Beijing: due Tuesday
// 17:30 Beijing. At Monday 13:30 Beijing the estate moves to Asia/Urumqi (two hours
// behind): 3 h spent, the 11 h left counted on Urumqi's office hours from 11:30 there —
// due Tuesday 17:00 Urumqi (19:00 Beijing). An update that leaves the zone does nothing.
TEST_F(ComplaintReplyTest, AChangeOfTheEstatesZoneRetimesTheReplyKeepingTheTimeSpent) {
  v1::CallbackSettings out;
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_,
                   ReplySettings(14, common::SLA_CLOCK_OFFICE_HOURS), &out)
                  .ok());
  clock_->Set(Beijing(2026, 11, 16, 9));
  v1::Ticket t = Complain(Beijing(2026, 11, 16, 9));
  ASSERT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 11, 17, 17, 30));
  auto estate = [&](const std::string& zone, int households, int64_t version) {
    ev::EstateChanged e;
    e.set_estate_id(estate_);
    e.set_household_count(households);
    e.set_desk_24h(true);
    e.set_time_zone(zone);
    Apply(Envelope("directory.estate.updated", e, version));
  };
  auto spent_minutes = [&] {
    return Query(absl::StrCat("SELECT coalesce(reply_spent_us / 60000000, -1) FROM tickets "
                              "WHERE id = '", t.id(), "'"));
  };
  // The same zone (another household count): nothing re-timed, nothing settled.
  clock_->Set(Beijing(2026, 11, 16, 11));
  estate("Asia/Shanghai", 201, 2);
  EXPECT_EQ(spent_minutes(), -1);
  clock_->Set(Beijing(2026, 11, 16, 13, 30));
  estate("Asia/Urumqi", 201, 3);
  EXPECT_EQ(spent_minutes(), 180);
  v1::Ticket moved = Get(t.id());
  EXPECT_EQ(FromProtoTime(moved.complaint_reply().due_time()), Beijing(2026, 11, 17, 19));
  std::cout << "FIGURE complaint_reply_zone_moved due="
            << absl::FormatTime("%Y-%m-%d %H:%M %Z",
                                FromProtoTime(moved.complaint_reply().due_time()),
                                EstateZone("Asia/Urumqi"))
            << " spent_min=" << spent_minutes() << "\n";
  // An older event (version 2 again) and a replay change nothing.
  std::string before = Snapshot();
  estate("Asia/Shanghai", 201, 2);
  estate("Asia/Urumqi", 201, 3);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(FromProtoTime(Get(t.id()).complaint_reply().due_time()), Beijing(2026, 11, 17, 19));
}

// Issue #27, "Must hold": deadlines "across a daylight-saving change in a zone that has one
// ... with durable timers that fire once". An estate in New York, whose clocks go forward on
// Sunday 2026-03-08 (UTC-5 → UTC-4). A complaint received Friday 2026-03-06 10:00 EST with
// the default 3 working days: Friday's 14 hours, the weekend skipped, Monday, Tuesday, and
// Wednesday the 11th until 10:00 EDT — 14:00 UTC, 119 hours on the clock, not 120. "Due
// soon" a working day earlier, Tuesday 10:00 EDT; each fires once with two replicas.
TEST_F(ComplaintReplyTest, AcrossADaylightSavingChangeTheReplyIsDueAtItsLocalTimeAndFiresOnce) {
  const absl::TimeZone ny = EstateZone("America/New_York");
  auto NewYork = [&](int d, int h, int min = 0) {
    return absl::FromCivil(absl::CivilSecond(2026, 3, d, h, min, 0), ny);
  };
  ev::EstateChanged e;
  e.set_estate_id(estate_);
  e.set_household_count(200);
  e.set_desk_24h(true);
  e.set_time_zone("America/New_York");
  Apply(Envelope("directory.estate.updated", e, 2));
  clock_->Set(NewYork(6, 10));
  v1::Ticket t = Complain(NewYork(6, 10));
  const absl::Time due = FromProtoTime(t.complaint_reply().due_time());
  EXPECT_EQ(due, NewYork(11, 10));
  EXPECT_EQ(absl::FormatTime("%Y-%m-%dT%H:%M", due, absl::UTCTimeZone()), "2026-03-11T14:00");
  EXPECT_EQ(due - NewYork(6, 10), absl::Hours(119));
  EXPECT_EQ(t.complaint_reply().due_reason(),
            "3个工作日：2026-03-11（周三）10:00 到期；不计：2026-03-07至2026-03-08 周末")
      << t.complaint_reply().due_reason();

  auto other_db = tdb_.Open(intake_migrations());
  IntakeJobs a(*db_), b(*other_db);
  auto race = [&](bool overdue, absl::Time now) {
    return Race(a, b, [&](IntakeJobs& jobs) {
      return overdue ? jobs.RepliesOverdue(now) : jobs.RepliesDueSoon(now);
    });
  };
  EXPECT_EQ(race(false, NewYork(10, 9, 59)), 0);
  EXPECT_EQ(race(false, NewYork(10, 10, 1)), 1);
  EXPECT_EQ(race(true, NewYork(11, 9, 59)), 0);
  EXPECT_EQ(race(true, NewYork(11, 10, 1)), 1);
  EXPECT_EQ(race(true, NewYork(12, 10)), 0);
  auto soon = Events<ev::ComplaintReplyEvent>("intake.complaint.reply_due_soon");
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(FromProtoTime(soon[0].due_at()), NewYork(11, 10));
  auto overdue = Events<ev::ComplaintReplyEvent>("intake.complaint.reply_overdue");
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].ticket_id(), t.id());
}

// Issue #27 §1 (the written reply's deadline runs on the estate's working calendar; a
// calendar change re-times what waits): a calendar change committed after CreateTicket read
// the calendar and before its batched insert (the test hook) still reaches the complaint —
// the insert counts the deadline again under the calendar lock. The change: 8 October off
// (停电检修) and the make-up Saturday the 10th withdrawn, so a complaint received Wednesday
// 30 September 10:00 is due Tuesday the 13th 10:00 (14 h of the 30th, the 9th, the 12th,
// the 13th's 10 hours), not Saturday the 10th.
TEST_F(ComplaintReplyTest, ACalendarChangedBetweenTheReadAndTheInsertTimesTheComplaint) {
  ev::CalendarChanged c = EditedCalendar2026({{absl::CivilDay(2026, 10, 8), false, "停电检修"}},
                                             {absl::CivilDay(2026, 10, 10)}, 1);
  int calls = 0;
  service_->before_create_write_for_test = [&] {
    if (calls++ == 0) Apply(Envelope("directory.calendar.changed", c, 1));
  };
  v1::Ticket t = Complain();
  service_->before_create_write_for_test = nullptr;
  EXPECT_EQ(calls, 1);
  // The answer is the creation's snapshot (counted on the calendar read); the stored
  // complaint, its timers and what GetTicket shows are on the new calendar.
  EXPECT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 10, 10, 10));
  v1::Ticket stored = Get(t.id());
  EXPECT_EQ(FromProtoTime(stored.complaint_reply().due_time()), Beijing(2026, 10, 13, 10));
  EXPECT_TRUE(absl::StrContains(stored.complaint_reply().due_reason(), "停电检修"))
      << stored.complaint_reply().due_reason();
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM tickets WHERE id = '", t.id(),
                               "' AND reply_due_at = '2026-10-13 02:00:00+00'")),
            1);
  std::cout << "FIGURE complaint_reply_calendar_raced " << stored.complaint_reply().due_reason()
            << "\n";
  // Without a change in between, the insert keeps what CreateTicket counted.
  v1::Ticket calm = Complain();
  EXPECT_EQ(FromProtoTime(calm.complaint_reply().due_time()), Beijing(2026, 10, 13, 10));
  EXPECT_EQ(Get(calm.id()).complaint_reply().due_reason(), calm.complaint_reply().due_reason());
}

// Issue #27 §1 (the written reply's deadline counts in the estate's zone; a zone change
// re-times what waits): a zone change consumed after CreateTicket read the estate and before
// its batched insert (the test hook) still reaches the complaint — the insert reads the zone
// again under the calendar lock the zone change takes. 14 office hours (09:00–12:00,
// 13:30–17:30), received Monday 16 November 2026 09:00 Beijing (07:00 Urumqi): counted whole
// in Urumqi, the zone in force when it is stored — due Tuesday 17:30 Urumqi (19:30 Beijing),
// not Tuesday 17:30 Beijing as counted in the zone read.
TEST_F(ComplaintReplyTest, AZoneChangedBetweenTheReadAndTheInsertTimesTheComplaintInTheNewZone) {
  v1::CallbackSettings out;
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_,
                   ReplySettings(14, common::SLA_CLOCK_OFFICE_HOURS), &out)
                  .ok());
  clock_->Set(Beijing(2026, 11, 16, 9));
  ev::EstateChanged moved;
  moved.set_estate_id(estate_);
  moved.set_household_count(200);
  moved.set_desk_24h(true);
  moved.set_time_zone("Asia/Urumqi");
  int calls = 0;
  service_->before_create_write_for_test = [&] {
    if (calls++ == 0) Apply(Envelope("directory.estate.updated", moved, 2));
  };
  v1::Ticket t = Complain(Beijing(2026, 11, 16, 9));
  service_->before_create_write_for_test = nullptr;
  EXPECT_EQ(calls, 1);
  // The answer is the creation's snapshot (counted in the zone read); the stored complaint,
  // its timers and what GetTicket shows count in the new zone.
  EXPECT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 11, 17, 17, 30));
  v1::Ticket stored = Get(t.id());
  EXPECT_EQ(FromProtoTime(stored.complaint_reply().due_time()), Beijing(2026, 11, 17, 19, 30));
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM tickets WHERE id = '", t.id(),
                               "' AND reply_due_at = '2026-11-17 11:30:00+00' AND "
                               "reply_month = '2026-11'")),
            1);
  std::cout << "FIGURE complaint_reply_zone_raced due="
            << absl::FormatTime("%Y-%m-%d %H:%M %Z",
                                FromProtoTime(stored.complaint_reply().due_time()),
                                EstateZone("Asia/Urumqi"))
            << "\n";
  // Without a change in between, the insert keeps what CreateTicket counted (now in Urumqi).
  v1::Ticket calm = Complain(Beijing(2026, 11, 16, 9));
  EXPECT_EQ(FromProtoTime(calm.complaint_reply().due_time()), Beijing(2026, 11, 17, 19, 30));
  EXPECT_EQ(FromProtoTime(Get(calm.id()).complaint_reply().due_time()),
            Beijing(2026, 11, 17, 19, 30));
  // The month its report counts it in, too: received Tuesday 1 December 01:00 Beijing (still
  // 30 November 23:00 in Urumqi, the zone read), the estate moved back to Shanghai in between:
  // December's.
  calls = 0;
  moved.set_time_zone("Asia/Shanghai");
  service_->before_create_write_for_test = [&] {
    if (calls++ == 0) Apply(Envelope("directory.estate.updated", moved, 3));
  };
  clock_->Set(Beijing(2026, 12, 1, 1));
  v1::Ticket december = Complain(Beijing(2026, 12, 1, 1));
  service_->before_create_write_for_test = nullptr;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM tickets WHERE id = '", december.id(),
                               "' AND reply_month = '2026-12'")),
            1);
}

// Issue #27 §1 ("a complaint's written reply"); DOMAIN.md §2 (the resident gets the handling
// result); docs/api/intake.md "Given": only the desk's resolution with its result
// (ResolveTicket) or a counter notice's end gives the reply. A work order completing the
// complaint resolves it but writes nothing to the resident: no reply time, no
// intake.complaint.replied, and the deadline's timers keep running (reply_given_at empty).
TEST_F(ComplaintReplyTest, AWorkOrderCompletingTheComplaintIsNotTheWrittenReply) {
  v1::Ticket t = Complain();
  std::string order = NewId(absl::Now());
  auto work = [&](const char* type, ev::WorkOrderState state, int64_t version) {
    ev::WorkOrderChanged wo;
    wo.set_work_order_id(order);
    wo.set_ticket_id(t.id());
    wo.set_estate_id(estate_);
    wo.set_state(state);
    wo.add_worker_ids("tech-1");
    *wo.mutable_at() = ToProtoTime(clock_->Now());
    Apply(Envelope(type, wo, version));
  };
  work("dispatch.work_order.created", ev::WORK_ORDER_STATE_ASSIGNED, 1);
  clock_->Set(Beijing(2026, 10, 8, 15));
  work("dispatch.work_order.completed", ev::WORK_ORDER_STATE_COMPLETED, 2);
  v1::Ticket done = Get(t.id());
  EXPECT_NE(done.state(), ev::TICKET_STATE_DISPATCHED);
  EXPECT_NE(done.state(), ev::TICKET_STATE_RECEIVED);
  ASSERT_TRUE(done.has_complaint_reply());
  EXPECT_FALSE(done.complaint_reply().has_reply_time());
  EXPECT_FALSE(done.complaint_reply().on_time());
  EXPECT_EQ(FromProtoTime(done.complaint_reply().due_time()), Beijing(2026, 10, 10, 10));
  EXPECT_TRUE(Events<ev::ComplaintReplyEvent>("intake.complaint.replied").empty());
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM tickets WHERE id = '", t.id(),
                               "' AND reply_given_at IS NULL AND reply_due_at IS NOT NULL")),
            1);
  // Still waiting for its reply: past the due time it is open past due in the report.
  clock_->Set(Beijing(2026, 10, 12, 9));
  v1::ComplaintReplyReport r;
  ASSERT_TRUE(Report(manager_, estate_, 2026, 9, &r).ok());
  EXPECT_EQ(r.replied_on_time(), 0);
  EXPECT_EQ(r.open_past_due(), 1);
  std::cout << "FIGURE complaint_reply_after_work_order state=" << done.state()
            << " replied=" << done.complaint_reply().has_reply_time()
            << " open_past_due=" << r.open_past_due() << "\n";
  // Every complaint is called back (004_… 5.5.2): the callback tells the resident the
  // handling result, so it gives the reply — late here, once.
  ASSERT_EQ(done.state(), ev::TICKET_STATE_CALLBACK_DUE);
  v1::RecordCallbackRequest cb;
  cb.set_request_id(NewId(absl::Now()));
  cb.mutable_callback()->set_ticket_id(t.id());
  cb.mutable_callback()->set_satisfaction(common::SATISFACTION_SATISFIED);
  v1::Callback recorded;
  grpc::Status st = Call(&Stub::RecordCallback, agent_, cb, &recorded);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::Ticket called = Get(t.id());
  ASSERT_TRUE(called.complaint_reply().has_reply_time());
  EXPECT_EQ(FromProtoTime(called.complaint_reply().reply_time()), Beijing(2026, 10, 12, 9));
  EXPECT_FALSE(called.complaint_reply().on_time());
  EXPECT_EQ(Events<ev::ComplaintReplyEvent>("intake.complaint.replied").size(), 1u);
  ASSERT_TRUE(Report(manager_, estate_, 2026, 9, &r).ok());
  EXPECT_EQ(r.replied_late(), 1);
  EXPECT_EQ(r.open_past_due(), 0);
}

// Issue #27 §1 and HELPERS "timers durable ... firing once with two replicas racing": due
// soon a third of the window before, at most one working day (Friday 9 October 10:00 for a
// reply due Saturday the 10th at 10:00), overdue past the due time; each once with two
// replicas racing; a complaint given its result is neither. The events carry ids, the place
// and the times: never the resident's name or number.
TEST_F(ComplaintReplyTest, TheTimersFireOnceEachWithTwoReplicas) {
  v1::Ticket first = Complain(), second = Complain();
  auto other_db = tdb_.Open(intake_migrations());
  IntakeJobs a(*db_), b(*other_db);
  auto race = [&](bool overdue, absl::Time now) {
    return Race(a, b, [&](IntakeJobs& jobs) { return overdue ? jobs.RepliesOverdue(now) : jobs.RepliesDueSoon(now); });
  };
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 9, 59)), 0);
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 10, 1)), 2);
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 11)), 0);
  auto soon = Events<ev::ComplaintReplyEvent>("intake.complaint.reply_due_soon");
  ASSERT_EQ(soon.size(), 2u);
  EXPECT_EQ(FromProtoTime(soon[0].due_at()), Beijing(2026, 10, 10, 10));
  EXPECT_EQ(soon[0].location().unit_id(), unit_);
  EXPECT_EQ(soon[0].owner_id(), "agent-1");

  // The first is given its result on time; the second is not.
  clock_->Set(Beijing(2026, 10, 9, 16));
  Resolve(first.id());
  auto replied = Events<ev::ComplaintReplyEvent>("intake.complaint.replied");
  ASSERT_EQ(replied.size(), 1u);
  EXPECT_EQ(replied[0].ticket_id(), first.id());
  EXPECT_TRUE(replied[0].on_time());
  EXPECT_EQ(race(true, Beijing(2026, 10, 10, 9, 59)), 0);
  EXPECT_EQ(race(true, Beijing(2026, 10, 10, 10, 1)), 1);
  EXPECT_EQ(race(true, Beijing(2026, 10, 12, 10)), 0);
  auto overdue = Events<ev::ComplaintReplyEvent>("intake.complaint.reply_overdue");
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].ticket_id(), second.id());

  // Privacy: nothing of the resident in the events.
  EXPECT_EQ(ReplyEventsHolding(kResidentName), 0);
  EXPECT_EQ(ReplyEventsHolding(kPhone), 0);
  std::cout << "FIGURE complaint_reply_timer_events "
            << Query("SELECT count(*) FROM wuye_outbox WHERE type LIKE 'intake.complaint.%'")
            << "\n";
}

// Issue #27 §1 (counted in a report): per estate and month — complaints, replied on time,
// replied late, open past due. Three complaints of September: one given its result on
// Friday the 9th (in time), one on Monday the 12th (after Saturday's due time), one not at
// all; a complaint received in October counts in October. Roles and tenancy.
TEST_F(ComplaintReplyTest, RepliedOnTimeAndLateAreCountedInTheMonthlyReport) {
  v1::Ticket on_time = Complain(), late = Complain(), open = Complain();
  clock_->Set(Beijing(2026, 10, 9, 16));
  v1::Ticket r1 = Resolve(on_time.id());
  EXPECT_EQ(FromProtoTime(r1.complaint_reply().reply_time()), Beijing(2026, 10, 9, 16));
  EXPECT_TRUE(r1.complaint_reply().on_time());
  clock_->Set(Beijing(2026, 10, 12, 9));
  v1::Ticket r2 = Resolve(late.id());
  EXPECT_FALSE(r2.complaint_reply().on_time());
  Complain(Beijing(2026, 10, 12, 8));

  v1::ComplaintReplyReport r;
  ASSERT_TRUE(Report(manager_, estate_, 2026, 9, &r).ok());
  EXPECT_EQ(r.complaints(), 3);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.replied_late(), 1);
  EXPECT_EQ(r.open_past_due(), 1);
  EXPECT_EQ(r.on_time_bp(), 3333);
  std::cout << "FIGURE complaint_reply_report complaints=" << r.complaints()
            << " on_time=" << r.replied_on_time() << " late=" << r.replied_late()
            << " open_past_due=" << r.open_past_due() << "\n";
  ASSERT_TRUE(Report(supervisor_, estate_, 2026, 10, &r).ok());
  EXPECT_EQ(r.complaints(), 1);
  EXPECT_EQ(r.open_past_due(), 0);

  // Roles: the desk's agent does not read the report.
  EXPECT_EQ(Report(agent_, estate_, 2026, 9, &r).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Tenancy: another group's admin sees nothing of this group's estate.
  ASSERT_TRUE(Report(other_admin_, estate_, 2026, 9, &r).ok());
  EXPECT_EQ(r.complaints(), 0);
  // An estate manager of another estate is refused.
  std::string elsewhere = TestToken(group_, {NewId(absl::Now())}, {"estate_manager"}, "mgr-9");
  EXPECT_EQ(Report(elsewhere, estate_, 2026, 9, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Bad input names the field.
  grpc::Status bad = Report(manager_, estate_, 2026, 13, &r);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(bad), "month.month");
  bad = Report(manager_, "not-an-id", 2026, 9, &r);
  EXPECT_EQ(Field(bad), "estate_id");
}

// The group's setting (issue #27 §1: the seeds give no figure, so the window is the group's;
// docs/api/intake.md): bad input is INVALID_ARGUMENT naming the field and changes nothing;
// only a group admin changes it; a group's setting is its own; a request_id replayed
// returns the first answer, reused with another request is refused; the clock may be office
// hours or elapsed time, and a complaint received after the change takes it.
TEST_F(ComplaintReplyTest, TheGroupSetsTheWindowAndItsClock) {
  v1::CallbackSettings defaults = Settings(agent_);
  EXPECT_EQ(defaults.complaint_reply_hours(), kDefaultComplaintReplyHours);
  EXPECT_EQ(defaults.complaint_reply_clock(), common::SLA_CLOCK_WORKING_DAYS);

  const std::string before = Snapshot();
  v1::CallbackSettings out;
  struct Bad {
    int hours;
    common::SlaClock clock;
    const char* field;
  };
  for (const Bad& b : {Bad{0, common::SLA_CLOCK_WORKING_DAYS, "settings.complaint_reply_hours"},
                       Bad{2161, common::SLA_CLOCK_ELAPSED, "settings.complaint_reply_hours"},
                       Bad{-3, common::SLA_CLOCK_ELAPSED, "settings.complaint_reply_hours"},
                       Bad{8, common::SLA_CLOCK_UNSPECIFIED, "settings.complaint_reply_clock"},
                       Bad{8, static_cast<common::SlaClock>(9), "settings.complaint_reply_clock"}}) {
    grpc::Status st = Call(&Stub::UpdateCallbackSettings, admin_, ReplySettings(b.hours, b.clock),
                           &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.hours;
    EXPECT_EQ(Field(st), b.field) << b.hours << " " << b.clock;
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Settings(agent_).SerializeAsString(), defaults.SerializeAsString());

  // Roles: a supervisor or an agent may not change it.
  for (const std::string& token : {supervisor_, agent_, manager_}) {
    EXPECT_EQ(Call(&Stub::UpdateCallbackSettings, token,
                   ReplySettings(16, common::SLA_CLOCK_OFFICE_HOURS), &out)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Snapshot(), before);

  // 16 office hours (the default office hours 09:00–12:00 and 13:30–17:30), replayed with
  // the same request_id: one change, the same answer.
  v1::UpdateCallbackSettingsRequest office = ReplySettings(16, common::SLA_CLOCK_OFFICE_HOURS);
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_, office, &out).ok());
  EXPECT_EQ(out.complaint_reply_hours(), 16);
  EXPECT_EQ(out.complaint_reply_clock(), common::SLA_CLOCK_OFFICE_HOURS);
  EXPECT_EQ(out.new_staff_days(), defaults.new_staff_days());
  v1::CallbackSettings again;
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_, office, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), out.SerializeAsString());
  office.mutable_settings()->set_complaint_reply_hours(20);
  grpc::Status reused = Call(&Stub::UpdateCallbackSettings, admin_, office, &again);
  EXPECT_EQ(Field(reused), "request_id");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");
  EXPECT_EQ(Settings(agent_).complaint_reply_hours(), 16);
  // Tenancy: the other group keeps the default.
  EXPECT_EQ(Settings(other_admin_).complaint_reply_hours(), kDefaultComplaintReplyHours);
  EXPECT_EQ(Settings(other_admin_).complaint_reply_clock(), common::SLA_CLOCK_WORKING_DAYS);

  // Received Wednesday 30 September 10:00: 6 office hours that day (10:00–12:00,
  // 13:30–17:30), the holiday skipped, 7 on the 8th, and 3 on the 9th: due Friday 9 October
  // 12:00.
  v1::Ticket t = Complain();
  EXPECT_EQ(FromProtoTime(t.complaint_reply().due_time()), Beijing(2026, 10, 9, 12));
  EXPECT_TRUE(absl::StartsWith(t.complaint_reply().due_reason(), "16个办公小时："))
      << t.complaint_reply().due_reason();
  EXPECT_EQ(t.complaint_reply().clock(), common::SLA_CLOCK_OFFICE_HOURS);

  // Elapsed: 48 hours straight through the holiday.
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_,
                   ReplySettings(48, common::SLA_CLOCK_ELAPSED), &out)
                  .ok());
  v1::Ticket e = Complain();
  EXPECT_EQ(FromProtoTime(e.complaint_reply().due_time()), Beijing(2026, 10, 2, 10));
  EXPECT_TRUE(absl::StartsWith(e.complaint_reply().due_reason(), "48小时："))
      << e.complaint_reply().due_reason();
  // The earlier complaint keeps the window it came in with.
  EXPECT_EQ(Get(t.id()).complaint_reply().window_hours(), 16);

  // A whole replacement from a client that predates the fields (no mask, the fields 0)
  // takes the defaults.
  v1::UpdateCallbackSettingsRequest whole;
  whole.set_request_id(NewId(absl::Now()));
  whole.mutable_settings()->set_new_staff_days(90);
  whole.mutable_settings()->set_new_contract_days(30);
  whole.mutable_settings()->set_new_item_days(90);
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin_, whole, &out).ok());
  EXPECT_EQ(out.complaint_reply_hours(), kDefaultComplaintReplyHours);
  EXPECT_EQ(out.complaint_reply_clock(), common::SLA_CLOCK_WORKING_DAYS);
}

}  // namespace
}  // namespace wuye::intake
