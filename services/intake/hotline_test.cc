// The 12345 government hotline (issue 27 §3) through intake's API, against a real
// PostgreSQL database of its own: orders imported through the "csv" format, the deadline
// on the estate's working calendar across the 2026 National Day and its make-up day, the
// reply, its export, the government's callback, the monthly report; duplicates, bad lines,
// roles, tenancy, request_id replays, the timers firing once, and the caller's number
// nowhere but as its hash.
#include "services/intake/hotline.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <microhttpd.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "services/intake/consumers.h"
#include "services/intake/hotline_format.h"
#include "services/intake/hotline_http.h"
#include "services/intake/intake_jobs.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_test_fixture.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/proto_time.h"
#include "shared/sealing.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/zone.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
using Stub = v1::IntakeService::Stub;
using Line = v1::HotlineLineResult;
using ::wuye::testing::TestToken;

constexpr const char* kPhoneKey = kTestPhoneKey;  // intake_test_fixture.h
// The caller's number in the city's file, and the same digits as any byte string would hold
// them.
constexpr char kPhone[] = "139 1234 5678";
constexpr char kPhoneDigits[] = "13912345678";
constexpr char kCallerName[] = "王秀英";
constexpr char kComplaint[] = "楼道灯坏了两周，物业一直没人来修";

absl::Time Beijing(int y, int m, int d, int hh, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), EstateZone("Asia/Shanghai"));
}

class HotlineTest : public IntakeTestBase {
 protected:
  void SetUp() override {
    // The day after the hotline received the order, before the National Day holiday.
    StartIntake(Beijing(2026, 9, 30, 11));
    supervisor_ = TestToken(group_, {"*"}, {"supervisor"}, "sup-1");
    manager_ = TestToken(group_, {estate_}, {"estate_manager"}, "mgr-1");
    outsider_ = TestToken(NewId(absl::Now()), {"*"}, {"supervisor", "agent"}, "sup-9");
    elsewhere_ = TestToken(group_, {other_estate_}, {"agent", "supervisor"}, "agent-9");
    Estate(estate_);
    Estate(other_estate_);
  }

  void Estate(const std::string& id) {
    ev::EstateChanged e;
    e.set_estate_id(id);
    e.set_household_count(200);
    e.set_desk_24h(true);
    e.set_time_zone("Asia/Shanghai");
    Apply(Envelope("directory.estate.updated", e, 1));
  }
  // A file of the csv format: the header, then `rows` as given.
  static std::string Csv(const std::vector<std::string>& rows) {
    std::string out =
        "order_number,received_time,deadline_working_days,due_time,estate,unit_id,category,"
        "content,caller_name,caller_phone\r\n";
    for (const auto& r : rows) absl::StrAppend(&out, r, "\r\n");
    return out;
  }
  // An order of the estate received 2026-09-30 10:00 Beijing time, due in `days` working days.
  std::string Order(const std::string& number, int days = 3, const std::string& estate = "") {
    return absl::StrCat(number, ",2026-09-30 10:00,", days, ",,", estate.empty() ? estate_ : estate,
                        ",,环境卫生,\"", kComplaint, "，\"\"请尽快\"\"\",", kCallerName, ",",
                        kPhone);
  }
  v1::ImportHotlineOrdersRequest ImportRequest(const std::string& content) {
    v1::ImportHotlineOrdersRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_format("csv");
    req.set_city("shenzhen");
    req.set_content(content);
    return req;
  }
  v1::ImportHotlineOrdersResponse Import(const std::string& content,
                                         const std::string& token = "") {
    v1::ImportHotlineOrdersResponse resp;
    grpc::Status st = Call(&Stub::ImportHotlineOrders, token.empty() ? agent_ : token,
                           ImportRequest(content), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }
  v1::RecordHotlineReplyRequest ReplyRequest(const std::string& ticket) {
    v1::RecordHotlineReplyRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_ticket_id(ticket);
    req.set_reply("已派电工更换楼道灯，住户确认恢复照明。");
    return req;
  }
  v1::ExportHotlineRepliesRequest ExportRequest() {
    v1::ExportHotlineRepliesRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_format("csv");
    req.set_city("shenzhen");
    return req;
  }
  v1::ImportHotlineCallbacksRequest CallbacksRequest(const std::string& content) {
    v1::ImportHotlineCallbacksRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_format("csv");
    req.set_city("shenzhen");
    req.set_content(content);
    return req;
  }
  v1::HotlineReport Report(int year, int month, const std::string& token = "") {
    v1::GetHotlineReportRequest req;
    req.set_estate_id(estate_);
    req.mutable_month()->set_year(year);
    req.mutable_month()->set_month(month);
    v1::HotlineReport out;
    grpc::Status st = Call(&Stub::GetHotlineReport, token.empty() ? manager_ : token, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  // Whether `text` (as UTF-8 bytes) is in any row of `table`'s column.
  int Holding(const std::string& table, const std::string& column, const std::string& text) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx
        .exec_params1(absl::StrCat("SELECT count(*) FROM ", table,
                                   " WHERE position(convert_to($1, "
                                   "'UTF8') in ",
                                   column, ") > 0"),
                      text)[0]
        .as<int>();
  }
  std::string Snapshot() {
    std::string out;
    for (const char* t : {"tickets", "ticket_history", "hotline_replies", "wuye_outbox"}) {
      absl::StrAppend(&out, t, "=", Query(absl::StrCat("SELECT count(*) FROM ", t)), " ");
    }
    absl::StrAppend(&out, "versions=", Query("SELECT coalesce(sum(version), 0) FROM tickets"));
    return out;
  }
  std::string supervisor_, manager_, outsider_, elsewhere_;
};

// The whole flow. An order the hotline received Wednesday 2026-09-30 10:00 with 3 working
// days: the 14 hours left of the 30th, then 1–7 October (国庆节) are skipped, the 8th and
// 9th count, and Saturday the 10th is a make-up working day (国庆节调休上班), so the reply
// is due Saturday 2026-10-10 10:00 — not the 3rd, as the clock would have it.
TEST_F(HotlineTest, AnOrderFlowsFromImportToTheMonthlyReport) {
  auto imported = Import(Csv({Order("SZ20260930-0001")}));
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  ASSERT_EQ(imported.lines_size(), 1);
  EXPECT_EQ(imported.lines(0).line(), 2);
  EXPECT_EQ(imported.lines(0).outcome(), Line::OUTCOME_CREATED);
  const std::string id = imported.lines(0).ticket_id();

  v1::Ticket t = Get(id);
  EXPECT_EQ(t.channel(), common::CHANNEL_GOVERNMENT_HOTLINE);
  EXPECT_EQ(t.kind(), common::TICKET_KIND_COMPLAINT);
  EXPECT_EQ(t.owner_id(), "agent-1");  // 首接负责制: whoever imported it owns it
  EXPECT_EQ(t.hotline().city(), "shenzhen");
  EXPECT_EQ(t.hotline().order_number(), "SZ20260930-0001");
  EXPECT_EQ(t.hotline().deadline_working_days(), 3);
  EXPECT_EQ(t.hotline().category(), "环境卫生");
  EXPECT_EQ(FromProtoTime(t.hotline().hotline_received_time()), Beijing(2026, 9, 30, 10));
  EXPECT_EQ(t.description(), absl::StrCat(kComplaint, "，\"请尽快\""));
  EXPECT_EQ(FromProtoTime(t.external_due_time()), Beijing(2026, 10, 10, 10));
  EXPECT_TRUE(absl::StrContains(t.external_due_reason(), "2026-10-10")) << t.external_due_reason();
  EXPECT_TRUE(absl::StrContains(t.external_due_reason(), "国庆节")) << t.external_due_reason();
  std::cout << "FIGURE hotline_due_reason " << t.external_due_reason() << "\n";

  // Routed like a complaint: the supervisor is told (intake.hotline.received, duty's task),
  // and once resolved it is always called back (004_… 5.5.2: every complaint).
  auto received = Events<ev::HotlineOrderEvent>("intake.hotline.received");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].ticket_id(), id);
  EXPECT_EQ(received[0].order_number(), "SZ20260930-0001");
  EXPECT_EQ(FromProtoTime(received[0].due_at()), Beijing(2026, 10, 10, 10));
  EXPECT_EQ(Outbox("intake.ticket.created"), 1);

  // The reply, on Friday the 9th: recorded, not yet on time — that is judged by its
  // delivery to the city's platform (issue 27 §3).
  clock_->Set(Beijing(2026, 10, 9, 15));
  v1::HotlineReply reply;
  grpc::Status st = Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(id), &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(reply.on_time());
  EXPECT_FALSE(reply.has_export_time());
  EXPECT_EQ(reply.replied_by(), "agent-1");
  EXPECT_EQ(reply.order_number(), "SZ20260930-0001");
  EXPECT_EQ(Outbox("intake.hotline.replied"), 1);
  EXPECT_EQ(FromProtoTime(Get(id).hotline().reply_time()), Beijing(2026, 10, 9, 15));
  EXPECT_FALSE(Get(id).hotline().has_delivery_time());

  v1::ResolveTicketRequest resolve;
  resolve.set_request_id(NewId(absl::Now()));
  resolve.set_id(id);
  resolve.set_result("已更换楼道灯");
  v1::Ticket resolved;
  st = Call(&Stub::ResolveTicket, agent_, resolve, &resolved);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resolved.state(), ev::TICKET_STATE_CALLBACK_DUE);
  EXPECT_EQ(resolved.callback_reason(), v1::CALLBACK_REASON_COMPLAINT);

  // The export holds the reply once; the next export has nothing; a replay of the first
  // returns the same file.
  auto first_export = ExportRequest();
  v1::ExportHotlineRepliesResponse exported;
  st = Call(&Stub::ExportHotlineReplies, agent_, first_export, &exported);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(exported.replies_size(), 1);
  // Exported the same afternoon: delivered in time.
  EXPECT_TRUE(exported.replies(0).on_time());
  EXPECT_EQ(FromProtoTime(exported.replies(0).export_time()), Beijing(2026, 10, 9, 15));
  EXPECT_EQ(FromProtoTime(Get(id).hotline().delivery_time()), Beijing(2026, 10, 9, 15));
  EXPECT_EQ(Outbox("intake.hotline.delivered"), 1);
  std::vector<std::string> lines = absl::StrSplit(exported.content(), "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << exported.content();
  EXPECT_EQ(lines[0], "order_number,reply_time,replied_by,reply");
  EXPECT_EQ(
      lines[1],
      "SZ20260930-0001,2026-10-09T15:00:00+08:00,agent-1,已派电工更换楼道灯，住户确认恢复照明。");
  v1::ExportHotlineRepliesResponse again;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &again).ok());
  EXPECT_EQ(again.replies_size(), 0);
  v1::ExportHotlineRepliesResponse replay;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, first_export, &replay).ok());
  EXPECT_EQ(replay.content(), exported.content());

  // The government's callback.
  clock_->Set(Beijing(2026, 10, 12, 16));
  v1::ImportHotlineCallbacksResponse cb;
  st = Call(&Stub::ImportHotlineCallbacks, agent_,
            CallbacksRequest("order_number,result,callback_time\n"
                             "SZ20260930-0001,基本满意,2026-10-12 15:00\n"),
            &cb);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cb.recorded(), 1) << cb.DebugString();
  EXPECT_EQ(Get(id).hotline().government_result(), v1::HOTLINE_RESULT_BASICALLY_SATISFIED);
  // The same result again changes nothing.
  std::string before = Snapshot();
  st = Call(&Stub::ImportHotlineCallbacks, agent_,
            CallbacksRequest("order_number,result,callback_time\n"
                             "SZ20260930-0001,basically_satisfied,2026-10-12T15:00:00+08:00\n"),
            &cb);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cb.already_imported(), 1);
  EXPECT_EQ(Snapshot(), before);
  // An older file's result, imported after, does not replace the later callback's.
  st = Call(&Stub::ImportHotlineCallbacks, agent_,
            CallbacksRequest("order_number,result,callback_time\n"
                             "SZ20260930-0001,不满意,2026-10-11 09:00\n"),
            &cb);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cb.refused(), 1) << cb.DebugString();
  EXPECT_EQ(Snapshot(), before);

  // The month the hotline received it in.
  v1::HotlineReport r = Report(2026, 9);
  EXPECT_EQ(r.orders(), 1);
  EXPECT_EQ(r.replied(), 1);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.overdue_unreplied(), 0);
  EXPECT_EQ(r.replied_undelivered(), 0);
  EXPECT_EQ(r.callbacks(), 1);
  EXPECT_EQ(r.basically_satisfied(), 1);
  EXPECT_EQ(r.on_time_bp(), 10000);
  EXPECT_EQ(r.satisfaction_bp(), 10000);
  EXPECT_EQ(Report(2026, 10).orders(), 0);
  std::cout << "FIGURE hotline_report orders=" << r.orders() << " replied=" << r.replied()
            << " on_time=" << r.replied_on_time() << " satisfaction_bp=" << r.satisfaction_bp()
            << "\n";
}

// Spring Festival: received Friday 2026-02-13 09:00 with 2 working days. Saturday the 14th
// is a make-up working day (春节调休上班), the 15th–23rd are 春节: the 13th's 15 hours and
// the 14th's 24 leave 9 hours, due Tuesday 2026-02-24 09:00. A due time the hotline set
// itself is taken as given.
TEST_F(HotlineTest, TheDeadlineSkipsTheSpringFestivalAndAGivenDueTimeIsKept) {
  clock_->Set(Beijing(2026, 2, 13, 12));
  auto imported = Import(Csv({
      absl::StrCat("SZ-SF-1,2026-02-13 09:00,2,,", estate_, ",,,门禁坏了,,"),
      absl::StrCat("SZ-SF-2,2026-02-13T09:00:00+08:00,,2026-02-27,", estate_, ",,,门禁坏了,,"),
  }));
  ASSERT_EQ(imported.created(), 2) << imported.DebugString();
  v1::Ticket t = Get(imported.lines(0).ticket_id());
  EXPECT_EQ(FromProtoTime(t.external_due_time()), Beijing(2026, 2, 24, 9));
  EXPECT_TRUE(absl::StrContains(t.external_due_reason(), "春节")) << t.external_due_reason();
  v1::Ticket given = Get(imported.lines(1).ticket_id());
  EXPECT_EQ(given.hotline().deadline_working_days(), 0);
  EXPECT_EQ(FromProtoTime(given.external_due_time()),
            Beijing(2026, 2, 27, 23, 59) + absl::Seconds(59));
}

// The estate's own calendar (directory.calendar.changed) counts: an estate that also rests
// on Thursday 8 October has its order due a working day later.
TEST_F(HotlineTest, TheEstatesCalendarFromTheDirectoryCounts) {
  ev::CalendarChanged c;
  c.set_group_id(group_);
  c.set_estate_id(estate_);
  c.set_year(2026);
  CalendarYear year;
  for (const auto& y : NationalCalendarYears()) {
    if (y.year == 2026) year = y;
  }
  year.source = "estate: 10-08 off";
  std::vector<CalendarDay> days;
  for (auto d : year.days) {
    if (d.day == absl::CivilDay(2026, 10, 8)) continue;
    days.push_back(d);
  }
  days.push_back({absl::CivilDay(2026, 10, 8), false, "物业检修日"});
  std::sort(days.begin(), days.end(),
            [](const CalendarDay& a, const CalendarDay& b) { return a.day < b.day; });
  year.days = days;
  c.set_calendar(FormatCalendarYear(year));
  c.set_version(1);
  Apply(Envelope("directory.calendar.changed", c, 1));

  auto imported = Import(Csv({Order("SZ-EST-1")}));
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  v1::Ticket t = Get(imported.lines(0).ticket_id());
  // 30th: 14 h, 9th: 24 h, Saturday 10th (make-up): 24 h, Monday 12th: 10 h.
  EXPECT_EQ(FromProtoTime(t.external_due_time()), Beijing(2026, 10, 12, 10));
  EXPECT_TRUE(absl::StrContains(t.external_due_reason(), "物业检修日")) << t.external_due_reason();
}

// Issue 27 §1, "changing the calendar re-computes open deadlines forward and never loses
// time already spent": an order received Wednesday 30 September 10:00 with 3 working days is
// due on the make-up Saturday 10 October 10:00 (国务院办公厅关于2026年部分节假日安排的通知:
// 10-01..10-07 off, 10-10 worked). On Thursday 8 October at 12:00 the estate declares Friday
// the 9th a day off: the 26 hours counted so far stay counted, the other 46 run from then on
// the new calendar — the 8th's 12, the 10th's 24, Monday the 12th's 10: due 12 October 10:00.
TEST_F(HotlineTest, ACalendarChangedMidDeadlineMovesItForwardKeepingTheTimeSpent) {
  clock_->Set(Beijing(2026, 10, 1, 9));
  auto imported = Import(Csv({Order("SZ-MOVE-1")}));
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  const std::string id = imported.lines(0).ticket_id();
  ASSERT_EQ(FromProtoTime(Get(id).external_due_time()), Beijing(2026, 10, 10, 10));

  clock_->Set(Beijing(2026, 10, 8, 12));
  ev::CalendarChanged c;
  c.set_group_id(group_);
  c.set_estate_id(estate_);
  c.set_year(2026);
  c.set_calendar(FormatCalendarYear(NationalCalendarYears().at(0)) + "off 2026-10-09 停电检修\n");
  c.set_version(1);
  Apply(Envelope("directory.calendar.changed", c, 1));
  v1::Ticket moved = Get(id);
  EXPECT_EQ(FromProtoTime(moved.external_due_time()), Beijing(2026, 10, 12, 10));
  EXPECT_TRUE(absl::StrContains(moved.external_due_reason(), "停电检修"))
      << moved.external_due_reason();
  // The same event again, or an older version, changes nothing.
  std::string before = Snapshot();
  Apply(Envelope("directory.calendar.changed", c, 1));
  EXPECT_EQ(Snapshot(), before);
  // A replied order is not re-timed once its reply reached the city's platform: its
  // deadline was judged then (issue 27 §3).
  v1::HotlineReply replied;
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(id), &replied).ok());
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 1);
  c.set_calendar(FormatCalendarYear(NationalCalendarYears().at(0)));
  c.set_version(2);
  Apply(Envelope("directory.calendar.changed", c, 2));
  EXPECT_EQ(FromProtoTime(Get(id).external_due_time()), Beijing(2026, 10, 12, 10));
}

// Issue 27 §1 ("never loses time already spent"), step by step as dispatch's clocks: an
// order received Wednesday 30 September 10:00 (3 working days, due Saturday 10 October
// 10:00). Thursday 8 October 12:00 the estate marks the 30th off after the fact: the 30th's
// 14 h and the 8th's 12 h stay spent (26 h kept, migration 011), still due the 10th 10:00.
// Friday the 9th 12:00 an unrelated change (24 December off): 50 h kept, still due the 10th
// 10:00 — counted again from receipt on the edited calendar it would be the 11th 00:00.
TEST_F(HotlineTest, TheTimeKeptByARetroactiveEditSurvivesTheNextChange) {
  clock_->Set(Beijing(2026, 10, 1, 9));
  auto imported = Import(Csv({Order("SZ-KEEP-1")}));
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  const std::string id = imported.lines(0).ticket_id();
  ASSERT_EQ(FromProtoTime(Get(id).external_due_time()), Beijing(2026, 10, 10, 10));
  auto spent_hours = [&] {
    return Query(absl::StrCat("SELECT coalesce(hotline_spent_us / 3600000000, -1) FROM tickets "
                              "WHERE id = '", id, "'"));
  };
  EXPECT_EQ(spent_hours(), -1);
  const std::string year = FormatCalendarYear(NationalCalendarYears().at(0));
  ev::CalendarChanged c;
  c.set_group_id(group_);
  c.set_estate_id(estate_);
  c.set_year(2026);
  c.set_calendar(year + "off 2026-09-30 停水\n");
  c.set_version(1);
  clock_->Set(Beijing(2026, 10, 8, 12));
  Apply(Envelope("directory.calendar.changed", c, 1));
  EXPECT_EQ(spent_hours(), 26);
  EXPECT_EQ(FromProtoTime(Get(id).external_due_time()), Beijing(2026, 10, 10, 10));
  c.set_calendar(year + "off 2026-09-30 停水\noff 2026-12-24 消防演练\n");
  c.set_version(2);
  clock_->Set(Beijing(2026, 10, 9, 12));
  Apply(Envelope("directory.calendar.changed", c, 2));
  EXPECT_EQ(spent_hours(), 50);
  v1::Ticket kept = Get(id);
  EXPECT_EQ(FromProtoTime(kept.external_due_time()), Beijing(2026, 10, 10, 10));
  std::cout << "FIGURE hotline_progress_kept spent_h=" << spent_hours() << " due="
            << absl::FormatTime("%Y-%m-%d %H:%M", FromProtoTime(kept.external_due_time()),
                                EstateZone("Asia/Shanghai"))
            << "\n";
}

TEST_F(HotlineTest, ADuplicateImportChangesNothing) {
  std::string file = Csv({Order("SZ-DUP-1"), Order("SZ-DUP-2")});
  auto first = Import(file);
  ASSERT_EQ(first.created(), 2);
  std::string before = Snapshot();
  // The same orders in a new file (another request): reported, nothing written.
  auto second = Import(Csv({Order("SZ-DUP-2"), Order("SZ-DUP-1")}));
  EXPECT_EQ(second.created(), 0);
  EXPECT_EQ(second.already_imported(), 2);
  EXPECT_EQ(second.lines(0).ticket_id(), first.lines(1).ticket_id());
  EXPECT_EQ(second.lines(1).ticket_id(), first.lines(0).ticket_id());
  EXPECT_EQ(Snapshot(), before);
  // Within one file, the second line of the same order is the first's.
  auto within = Import(Csv({Order("SZ-DUP-3"), Order("SZ-DUP-3")}));
  EXPECT_EQ(within.created(), 1);
  EXPECT_EQ(within.already_imported(), 1);
  EXPECT_EQ(within.lines(0).ticket_id(), within.lines(1).ticket_id());
  // Another city's order of the same number is another order.
  auto req = ImportRequest(Csv({Order("SZ-DUP-1")}));
  req.set_city("dongguan");
  v1::ImportHotlineOrdersResponse other;
  ASSERT_TRUE(Call(&Stub::ImportHotlineOrders, agent_, req, &other).ok());
  EXPECT_EQ(other.created(), 1);
  EXPECT_EQ(Outbox("intake.hotline.received"), 4);
}

TEST_F(HotlineTest, BadLinesAreRefusedOneByOneAndBadFilesWhole) {
  std::string before = Snapshot();
  auto r = Import(Csv({
      absl::StrCat("SZ-BAD-1,yesterday,3,,", estate_, ",,,text,,"),                     // 2
      absl::StrCat("SZ-BAD-2,2026-09-30 10:00,3,2026-10-09,", estate_, ",,,text,,"),    // 3
      absl::StrCat("SZ-BAD-3,2026-09-30 10:00,99,,", estate_, ",,,text,,"),             // 4
      "SZ-BAD-4,2026-09-30 10:00,3,,no-such-estate,,,text,,",                           // 5
      absl::StrCat("SZ-BAD-5,2026-09-30 10:00,3,,", estate_, ",,,text,,12ab"),          // 6
      absl::StrCat("SZ-BAD-6,2026-09-30 10:00,3,,", estate_, ",,,,,"),                  // 7
      "SZ-BAD-7,2026-09-30 10:00,3",                                                    // 8
      absl::StrCat("SZ BAD 8,2026-09-30 10:00,3,,", estate_, ",,,text,,"),              // 9
      absl::StrCat("SZ-BAD-9,2026-10-30 10:00,3,,", estate_, ",,,text,,"),              // 10
      absl::StrCat("SZ-BAD-10,2026-09-30 10:00,3,,", NewId(absl::Now()), ",,,text,,"),  // 11
      Order("SZ-GOOD-1"),                                                               // 12
  }));
  EXPECT_EQ(r.created(), 1);
  EXPECT_EQ(r.refused(), 10);
  ASSERT_EQ(r.lines_size(), 11);
  auto expect = [&](int i, int line, const std::string& field) {
    EXPECT_EQ(r.lines(i).line(), line);
    EXPECT_EQ(r.lines(i).outcome(), Line::OUTCOME_REFUSED) << line;
    EXPECT_EQ(r.lines(i).field(), field) << line << " " << r.lines(i).reason();
    EXPECT_FALSE(r.lines(i).reason().empty());
  };
  expect(0, 2, "received_time");
  expect(1, 3, "deadline_working_days");
  expect(2, 4, "deadline_working_days");
  expect(3, 5, "estate");
  expect(4, 6, "caller_phone");
  expect(5, 7, "content");
  expect(6, 8, "");
  expect(7, 9, "order_number");
  expect(8, 10, "received_time");  // in the future
  expect(9, 11, "estate");         // an id, but no estate of the group
  EXPECT_EQ(r.lines(10).outcome(), Line::OUTCOME_CREATED);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets"), 1);
  EXPECT_EQ(Outbox("intake.hotline.received"), 1);
  (void)before;

  // Whole files: nothing is written.
  std::string after = Snapshot();
  struct Case {
    std::string format, city, content, field;
  } cases[] = {
      {"xml", "shenzhen", Csv({Order("X-1")}), "format"},
      {"csv", "Shen Zhen", Csv({Order("X-1")}), "city"},
      {"csv", "shenzhen", "", "content"},
      {"csv", "shenzhen", "order_number,received_time\nX-1,2026-09-30 10:00\n", "content"},
      {"csv", "shenzhen", absl::StrCat(Csv({Order("X-1")}), "\"unclosed"), "content"},
      {"csv", "shenzhen", std::string("order_number\xff,x\n"), "content"},
  };
  for (const auto& c : cases) {
    auto req = ImportRequest(c.content);
    req.set_format(c.format);
    req.set_city(c.city);
    v1::ImportHotlineOrdersResponse resp;
    grpc::Status st = Call(&Stub::ImportHotlineOrders, agent_, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(Field(st), c.field) << st.error_message();
  }
  auto mapped = ImportRequest(Csv({Order("X-1", 3, "BAD-MAP")}));
  (*mapped.mutable_estate_refs())["BAD-MAP"] = "not-an-id";
  v1::ImportHotlineOrdersResponse resp;
  EXPECT_EQ(Field(Call(&Stub::ImportHotlineOrders, agent_, mapped, &resp)), "estate_refs");
  EXPECT_EQ(Snapshot(), after);

  // A reply to a ticket that is no 12345 order, or before the hotline had the order.
  v1::CreateTicketRequest plain;
  plain.set_request_id(NewId(absl::Now()));
  plain.mutable_ticket()->set_estate_id(estate_);
  plain.mutable_ticket()->set_channel(common::CHANNEL_WALK_IN);
  plain.mutable_ticket()->set_kind(common::TICKET_KIND_COMPLAINT);
  plain.mutable_ticket()->set_summary("noise");
  v1::Ticket walk_in;
  ASSERT_TRUE(Call(&Stub::CreateTicket, agent_, plain, &walk_in).ok());
  v1::HotlineReply reply;
  grpc::Status st = Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(walk_in.id()), &reply);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_A_HOTLINE_ORDER");
  auto early = ReplyRequest(r.lines(10).ticket_id());
  *early.mutable_reply_time() = ToProtoTime(Beijing(2026, 9, 29, 10));
  EXPECT_EQ(Field(Call(&Stub::RecordHotlineReply, agent_, early, &reply)), "reply_time");
  // Nor dated back to before the order was imported (so judged on time after its deadline).
  v1::Ticket imported = Get(r.lines(10).ticket_id());
  auto backdated = ReplyRequest(imported.id());
  *backdated.mutable_reply_time() =
      ToProtoTime(FromProtoTime(imported.create_time()) - absl::Seconds(1));
  EXPECT_EQ(Field(Call(&Stub::RecordHotlineReply, agent_, backdated, &reply)), "reply_time");
  auto empty = ReplyRequest(r.lines(10).ticket_id());
  empty.set_reply(" ");
  EXPECT_EQ(Field(Call(&Stub::RecordHotlineReply, agent_, empty, &reply)), "reply");
  // CreateTicket does not take the channel: orders come through the port.
  plain.set_request_id(NewId(absl::Now()));
  plain.mutable_ticket()->set_channel(common::CHANNEL_GOVERNMENT_HOTLINE);
  EXPECT_EQ(Field(Call(&Stub::CreateTicket, agent_, plain, &walk_in)), "ticket.channel");

  // Callback lines: unknown order, bad result, bad time.
  v1::ImportHotlineCallbacksResponse cb;
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, agent_,
                   CallbacksRequest("order_number,result,callback_time\n"
                                    "SZ-NONE,满意,2026-10-01 10:00\n"
                                    "SZ-GOOD-1,so-so,2026-10-01 10:00\n"
                                    "SZ-GOOD-1,满意,soon\n"
                                    "SZ-GOOD-1,满意,2026-09-01 10:00\n"),
                   &cb)
                  .ok());
  ASSERT_EQ(cb.refused(), 4);
  EXPECT_EQ(cb.lines(0).field(), "order_number");
  EXPECT_EQ(cb.lines(1).field(), "result");
  EXPECT_EQ(cb.lines(2).field(), "callback_time");
  EXPECT_EQ(cb.lines(3).field(), "callback_time");
}

TEST_F(HotlineTest, RolesAndTenancy) {
  auto mine = Import(Csv({Order("SZ-MINE-1")}));
  ASSERT_EQ(mine.created(), 1);
  const std::string id = mine.lines(0).ticket_id();
  std::string before = Snapshot();

  // Managers read the report, they do not import; the desk does not read the report.
  v1::ImportHotlineOrdersResponse resp;
  EXPECT_EQ(Call(&Stub::ImportHotlineOrders, manager_, ImportRequest(Csv({Order("SZ-X")})), &resp)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::HotlineReply reply;
  EXPECT_EQ(Call(&Stub::RecordHotlineReply, manager_, ReplyRequest(id), &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetHotlineReportRequest report;
  report.set_estate_id(estate_);
  report.mutable_month()->set_year(2026);
  report.mutable_month()->set_month(9);
  v1::HotlineReport out;
  EXPECT_EQ(Call(&Stub::GetHotlineReport, agent_, report, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Report(2026, 9, supervisor_).orders(), 1);

  // Another group: our estate is no estate of theirs, our order no order of theirs.
  auto theirs = Import(Csv({Order("SZ-MINE-1")}), outsider_);
  ASSERT_EQ(theirs.refused(), 1);
  EXPECT_EQ(theirs.lines(0).field(), "estate");
  EXPECT_EQ(Call(&Stub::RecordHotlineReply, outsider_, ReplyRequest(id), &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ImportHotlineCallbacksResponse cb;
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, outsider_,
                   CallbacksRequest("order_number,result,callback_time\n"
                                    "SZ-MINE-1,不满意,2026-09-30 10:30\n"),
                   &cb)
                  .ok());
  EXPECT_EQ(cb.refused(), 1);
  EXPECT_EQ(Call(&Stub::GetHotlineReport, outsider_, report, &out).error_code(),
            grpc::StatusCode::OK);
  EXPECT_EQ(out.orders(), 0);

  // The group's desk at another estate: the estate is not theirs.
  auto elsewhere = Import(Csv({Order("SZ-ELSE-1")}), elsewhere_);
  ASSERT_EQ(elsewhere.refused(), 1);
  EXPECT_EQ(elsewhere.lines(0).field(), "estate");
  EXPECT_EQ(Call(&Stub::RecordHotlineReply, elsewhere_, ReplyRequest(id), &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, elsewhere_,
                   CallbacksRequest("order_number,result,callback_time\n"
                                    "SZ-MINE-1,不满意,2026-09-30 10:30\n"),
                   &cb)
                  .ok());
  EXPECT_EQ(cb.refused(), 1);
  EXPECT_EQ(Snapshot(), before);

  // A reply of our estate is exported by our desk, not by the other estate's.
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(id), &reply).ok());
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, elsewhere_, ExportRequest(), &exported).ok());
  EXPECT_EQ(exported.replies_size(), 0);
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, outsider_, ExportRequest(), &exported).ok());
  EXPECT_EQ(exported.replies_size(), 0);
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  EXPECT_EQ(exported.replies_size(), 1);
}

TEST_F(HotlineTest, ARequestIdReplaysItsFirstAnswer) {
  auto req = ImportRequest(Csv({Order("SZ-RID-1")}));
  v1::ImportHotlineOrdersResponse first, second;
  ASSERT_TRUE(Call(&Stub::ImportHotlineOrders, agent_, req, &first).ok());
  std::string before = Snapshot();
  ASSERT_TRUE(Call(&Stub::ImportHotlineOrders, agent_, req, &second).ok());
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(second.created(), 1);  // the first answer, not "already imported"
  EXPECT_EQ(Snapshot(), before);
  req.set_content(Csv({Order("SZ-RID-2")}));
  grpc::Status st = Call(&Stub::ImportHotlineOrders, agent_, req, &second);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");

  auto reply = ReplyRequest(first.lines(0).ticket_id());
  v1::HotlineReply a, b;
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, reply, &a).ok());
  before = Snapshot();
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, reply, &b).ok());
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(Snapshot(), before);

  auto cb = CallbacksRequest("order_number,result,callback_time\nSZ-RID-1,满意,2026-09-30 10:40\n");
  v1::ImportHotlineCallbacksResponse c1, c2;
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, agent_, cb, &c1).ok());
  before = Snapshot();
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, agent_, cb, &c2).ok());
  EXPECT_EQ(c2.SerializeAsString(), c1.SerializeAsString());
  EXPECT_EQ(Snapshot(), before);
}

// The timers: due soon one working day before (Friday 9 October 10:00 for an order due
// Saturday the 10th at 10:00), overdue past the due time; each once, with two replicas
// racing; an order whose reply reached the city's platform is neither (issue 27 §3).
TEST_F(HotlineTest, TheTimersFireOnceEachWithTwoReplicas) {
  auto imported = Import(Csv({Order("SZ-T-1"), Order("SZ-T-2")}));
  ASSERT_EQ(imported.created(), 2);
  auto other_db = tdb_.Open(intake_migrations());
  IntakeJobs a(*db_), b(*other_db);

  auto race = [&](bool overdue, absl::Time now) {
    return Race(a, b, [&](IntakeJobs& jobs) { return overdue ? jobs.HotlinesOverdue(now) : jobs.HotlinesDueSoon(now); });
  };
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 9, 59)), 0);  // before the warn time
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 10, 1)), 2);
  EXPECT_EQ(race(false, Beijing(2026, 10, 9, 11)), 0);
  auto soon = Events<ev::HotlineOrderEvent>("intake.hotline.due_soon");
  ASSERT_EQ(soon.size(), 2u);
  EXPECT_EQ(FromProtoTime(soon[0].due_at()), Beijing(2026, 10, 10, 10));

  // One is replied to and exported on time; the other is late.
  clock_->Set(Beijing(2026, 10, 9, 16));
  v1::HotlineReply reply;
  ASSERT_TRUE(
      Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(imported.lines(0).ticket_id()), &reply)
          .ok());
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 1);
  EXPECT_EQ(race(true, Beijing(2026, 10, 10, 9, 59)), 0);
  EXPECT_EQ(race(true, Beijing(2026, 10, 10, 10, 1)), 1);
  EXPECT_EQ(race(true, Beijing(2026, 10, 12, 10)), 0);
  auto overdue = Events<ev::HotlineOrderEvent>("intake.hotline.overdue");
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].ticket_id(), imported.lines(1).ticket_id());
  EXPECT_EQ(overdue[0].order_number(), "SZ-T-2");

  clock_->Set(Beijing(2026, 10, 12, 10));
  v1::HotlineReport r = Report(2026, 9);
  EXPECT_EQ(r.orders(), 2);
  EXPECT_EQ(r.replied(), 1);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.overdue_unreplied(), 1);
  EXPECT_EQ(r.on_time_bp(), 5000);
  // A late reply counts as replied, not on time.
  ASSERT_TRUE(
      Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(imported.lines(1).ticket_id()), &reply)
          .ok());
  EXPECT_FALSE(reply.on_time());
  r = Report(2026, 9);
  EXPECT_EQ(r.replied(), 2);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.overdue_unreplied(), 0);
  EXPECT_EQ(r.replied_undelivered(), 1);
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 1);
  EXPECT_FALSE(exported.replies(0).on_time());
  r = Report(2026, 9);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.replied_undelivered(), 0);
  EXPECT_EQ(r.on_time_bp(), 5000);
}

// Issue 27 §3 (the seeds are silent on 12345; the rule is the issue's): a desk that replies
// late cannot date its reply back into time. The stated reply_time may lie at most the
// group's CallbackSettings.hotline_reply_backdate_hours (default 24) before it is recorded;
// further back is INVALID_ARGUMENT on reply_time and changes nothing. Widened by the group
// admin, a stated time before the due time is taken, yet the order is judged on time only by
// when its reply reached the city's platform.
TEST_F(HotlineTest, AReplyBackdatedBeyondTheGroupsHoursIsRefused) {
  auto imported = Import(Csv({Order("SZ-B-1")}));
  ASSERT_EQ(imported.created(), 1);
  const std::string id = imported.lines(0).ticket_id();
  ASSERT_EQ(FromProtoTime(Get(id).external_due_time()), Beijing(2026, 10, 10, 10));

  // Monday the 12th, two days late, the desk says it replied Saturday 09:00.
  clock_->Set(Beijing(2026, 10, 12, 10));
  auto backdated = ReplyRequest(id);
  *backdated.mutable_reply_time() = ToProtoTime(Beijing(2026, 10, 10, 9));
  std::string before = Snapshot();
  v1::HotlineReply reply;
  grpc::Status st = Call(&Stub::RecordHotlineReply, agent_, backdated, &reply);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "reply_time");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "24 hours")) << st.error_message();
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(Get(id).hotline().has_reply_time());
  // Within the 24 hours it is taken as stated.
  auto yesterday = ReplyRequest(id);
  *yesterday.mutable_reply_time() = ToProtoTime(Beijing(2026, 10, 11, 11));
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, yesterday, &reply).ok());
  EXPECT_EQ(FromProtoTime(reply.reply_time()), Beijing(2026, 10, 11, 11));

  // The setting: 1..720 hours, the group admin's; widened to 72 hours, Saturday 09:00 is
  // taken — and still not on time: the file goes to the platform on Monday.
  const std::string admin = TestToken(group_, {"*"}, {"group_admin"}, "admin-1");
  v1::UpdateCallbackSettingsRequest upd;
  upd.set_request_id(NewId(absl::Now()));
  upd.mutable_settings()->set_hotline_reply_backdate_hours(721);
  upd.mutable_update_mask()->add_paths("hotline_reply_backdate_hours");
  v1::CallbackSettings settings;
  EXPECT_EQ(Field(Call(&Stub::UpdateCallbackSettings, admin, upd, &settings)),
            "settings.hotline_reply_backdate_hours");
  upd.set_request_id(NewId(absl::Now()));
  upd.mutable_settings()->set_hotline_reply_backdate_hours(72);
  ASSERT_TRUE(Call(&Stub::UpdateCallbackSettings, admin, upd, &settings).ok());
  EXPECT_EQ(settings.hotline_reply_backdate_hours(), 72);
  EXPECT_EQ(settings.complaint_reply_hours(), 72);  // the others kept
  backdated.set_request_id(NewId(absl::Now()));
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, backdated, &reply).ok());
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 2);
  for (const auto& r : exported.replies()) EXPECT_FALSE(r.on_time()) << r.DebugString();
  v1::Ticket t = Get(id);
  EXPECT_EQ(FromProtoTime(t.hotline().delivery_time()), Beijing(2026, 10, 12, 10));
  v1::HotlineReport r = Report(2026, 9);
  EXPECT_EQ(r.replied(), 1);
  EXPECT_EQ(r.replied_on_time(), 0);
}

// Issue 27 §3 (the seeds are silent on 12345; the rule is the issue's): "on time" is when
// the reply reached the city's platform, not when the desk recorded it. Order A recorded
// and exported Friday 09:00 is on time; order B recorded Friday 09:30 but not exported still
// needs action — due soon and overdue reach the person on duty (once each, two replicas
// racing), the report shows it replied, not yet delivered — and exported Saturday 11:00,
// after its 10:00 due time, it is late.
TEST_F(HotlineTest, AReplyRecordedInTimeButExportedLateIsNotOnTime) {
  auto imported = Import(Csv({Order("SZ-D-A"), Order("SZ-D-B")}));
  ASSERT_EQ(imported.created(), 2);
  const std::string a = imported.lines(0).ticket_id(), b = imported.lines(1).ticket_id();
  auto other_db = tdb_.Open(intake_migrations());
  IntakeJobs one(*db_), two(*other_db);

  clock_->Set(Beijing(2026, 10, 9, 9));
  v1::HotlineReply reply;
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(a), &reply).ok());
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 1);
  EXPECT_TRUE(exported.replies(0).on_time());
  clock_->Set(Beijing(2026, 10, 9, 9, 30));
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(b), &reply).ok());
  EXPECT_FALSE(reply.on_time());

  EXPECT_EQ(
      Race(one, two, [](IntakeJobs& j) { return j.HotlinesDueSoon(Beijing(2026, 10, 9, 10, 1)); }),
      1);
  auto soon = Events<ev::HotlineOrderEvent>("intake.hotline.due_soon");
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(soon[0].ticket_id(), b);
  EXPECT_EQ(FromProtoTime(soon[0].replied_at()), Beijing(2026, 10, 9, 9, 30));  // 答复未报送
  EXPECT_EQ(
      Race(one, two, [](IntakeJobs& j) { return j.HotlinesOverdue(Beijing(2026, 10, 10, 10, 1)); }),
      1);
  auto overdue = Events<ev::HotlineOrderEvent>("intake.hotline.overdue");
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].ticket_id(), b);

  clock_->Set(Beijing(2026, 10, 10, 11));
  v1::Ticket t = Get(b);
  EXPECT_EQ(FromProtoTime(t.hotline().reply_time()), Beijing(2026, 10, 9, 9, 30));
  EXPECT_FALSE(t.hotline().has_delivery_time());
  v1::HotlineReport r = Report(2026, 9);
  EXPECT_EQ(r.orders(), 2);
  EXPECT_EQ(r.replied(), 2);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.replied_undelivered(), 1);
  EXPECT_EQ(r.overdue_unreplied(), 0);
  EXPECT_EQ(Outbox("intake.hotline.delivered"), 1);

  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  ASSERT_EQ(exported.replies_size(), 1);
  EXPECT_EQ(exported.replies(0).ticket_id(), b);
  EXPECT_FALSE(exported.replies(0).on_time());
  EXPECT_EQ(FromProtoTime(exported.replies(0).export_time()), Beijing(2026, 10, 10, 11));
  t = Get(b);
  EXPECT_EQ(FromProtoTime(t.hotline().delivery_time()), Beijing(2026, 10, 10, 11));
  EXPECT_EQ(FromProtoTime(Get(a).hotline().delivery_time()), Beijing(2026, 10, 9, 9));
  auto delivered = Events<ev::HotlineOrderEvent>("intake.hotline.delivered");
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(delivered[1].ticket_id(), b);
  EXPECT_EQ(FromProtoTime(delivered[1].delivered_at()), Beijing(2026, 10, 10, 11));
  r = Report(2026, 9);
  EXPECT_EQ(r.replied_on_time(), 1);
  EXPECT_EQ(r.replied_undelivered(), 0);
  EXPECT_EQ(r.on_time_bp(), 5000);
  // Delivered, the timers are done with it.
  EXPECT_EQ(
      Race(one, two, [](IntakeJobs& j) { return j.HotlinesOverdue(Beijing(2026, 10, 12, 10)); }),
      0);
  std::cout << "FIGURE hotline_delivery replied=" << r.replied()
            << " on_time=" << r.replied_on_time() << " undelivered=" << r.replied_undelivered()
            << "\n";
}

// The caller's name and number and the complaint's text: the number only as its hash, the
// name nowhere; none of the three in an event, a log line, an answer or an error.
TEST_F(HotlineTest, TheCallersNumberIsNowhereButAsItsHash) {
  SetLogLevel(LogLevel::kDebug);
  ::testing::internal::CaptureStderr();
  auto imported = Import(Csv({Order("SZ-P-1")}));
  ASSERT_EQ(imported.created(), 1);
  // A bad number is refused without quoting it.
  auto bad = Import(Csv({absl::StrCat("SZ-P-2,2026-09-30 10:00,3,,", estate_, ",,,text,",
                                      kCallerName, ",", kPhoneDigits, "0000000")}));
  ASSERT_EQ(bad.refused(), 1);
  // An error of a whole file does not quote it either.
  auto req = ImportRequest(Csv({Order("SZ-P-3")}) + "\"" + kPhoneDigits);
  v1::ImportHotlineOrdersResponse resp;
  grpc::Status st = Call(&Stub::ImportHotlineOrders, agent_, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::HotlineReply reply;
  ASSERT_TRUE(
      Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(imported.lines(0).ticket_id()), &reply)
          .ok());
  Import(Csv({Order("SZ-P-1")}));  // already imported
  std::string logs = ::testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kInfo);

  for (const std::string& secret : {std::string(kPhoneDigits), std::string("1234 5678"),
                                    std::string(kCallerName), std::string(kComplaint)}) {
    EXPECT_FALSE(absl::StrContains(logs, secret)) << secret;
    EXPECT_FALSE(absl::StrContains(st.error_message(), secret));
    EXPECT_FALSE(absl::StrContains(bad.DebugString(), secret));
    EXPECT_FALSE(absl::StrContains(imported.DebugString(), secret));
    EXPECT_EQ(Holding("wuye_outbox", "envelope", secret), 0) << secret;
    EXPECT_EQ(Holding("wuye_idempotency", "response", secret), 0) << secret;
  }
  // The ticket keeps the complaint (its description) but never the caller.
  for (const std::string& secret : {std::string(kPhoneDigits), std::string(kCallerName)}) {
    EXPECT_EQ(Holding("tickets", "body", secret), 0) << secret;
  }
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE caller_hash = decode('" +
                  [] {
                    std::string hex;
                    for (unsigned char ch : HashPhone(kPhoneKey, kPhoneDigits)) {
                      absl::StrAppend(&hex, absl::Hex(ch, absl::kZeroPad2));
                    }
                    return hex;
                  }() +
                  "', 'hex')"),
            1);
}

// 002_…, 3.2 (保密性: 不得泄露客户隐私) and docs/events.md (no event carries a phone or ID
// number): a 12345 order's words come from outside and cannot be refused, so a phone or ID
// number in its content or category is masked (MaskPersonalNumbers: each digit '*') before
// they become the ticket's summary and description — the text any event of the ticket
// would carry. The city's order number, dates and short numbers stay; the caller's own
// number is still kept as its hash; none of the numbers is in a ticket, an event, an answer
// or a log line.
TEST_F(HotlineTest, NumbersInAnOrdersWordsAreMaskedBeforeTheyBecomeTheTickets) {
  SetLogLevel(LogLevel::kDebug);
  ::testing::internal::CaptureStderr();
  const std::string content =
      "楼道灯坏了，邻居电话 137 0000 2222，身份证11010519491231002X，2026-09-28报过，3-201室";
  auto imported = Import(
      Csv({absl::StrCat("SZ20260930-0009,2026-09-30 10:00,3,,", estate_, ",,噪音138-0000-3333,\"",
                        content, "\",", kCallerName, ",", kPhone)}));
  std::string logs = ::testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kInfo);
  ASSERT_EQ(imported.created(), 1) << imported.DebugString();
  v1::Ticket t = Get(imported.lines(0).ticket_id());
  EXPECT_EQ(
      t.description(),
      "楼道灯坏了，邻居电话 *** **** ****，身份证*****************X，2026-09-28报过，3-201室");
  EXPECT_EQ(t.hotline().category(), "噪音***-****-****");
  EXPECT_EQ(t.summary(), "12345 SZ20260930-0009 噪音***-****-****");
  EXPECT_EQ(t.hotline().order_number(), "SZ20260930-0009");
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE caller_hash IS NOT NULL"), 1);
  EXPECT_EQ(Outbox("intake.ticket.created"), 1);
  EXPECT_EQ(Outbox("intake.hotline.received"), 1);
  for (const std::string& secret :
       {std::string("137 0000 2222"), std::string("11010519491231002X"),
        std::string("138-0000-3333"), std::string(kPhoneDigits), std::string("1234 5678")}) {
    EXPECT_EQ(Holding("tickets", "body", secret), 0) << secret;
    EXPECT_EQ(Holding("wuye_outbox", "envelope", secret), 0) << secret;
    EXPECT_EQ(Holding("wuye_idempotency", "response", secret), 0) << secret;
    EXPECT_FALSE(absl::StrContains(logs, secret)) << secret;
    EXPECT_FALSE(absl::StrContains(t.DebugString(), secret)) << secret;
  }
}

// ---- The 12345 government hotline over HTTP ----------------------------------------------

// Issue 27 §3: an unsatisfied government callback (政府回访不满意) reopens the matter, as
// our own callback's does ("An unsatisfied answer reopens the matter", DOMAIN.md; 002_…
// 2.3.5 "进行回访，了解客户对信息处理的满意度，解决不满意的问题"), and publishes intake.hotline.rated for the
// supervisor's task — once: the same file again changes nothing. A rating while the matter
// is still being worked on only notes it.
TEST_F(HotlineTest, AnUnsatisfiedGovernmentCallbackReopensTheMatterOnce) {
  auto imported = Import(Csv({Order("SZ-U-1"), Order("SZ-U-2")}));
  ASSERT_EQ(imported.created(), 2);
  const std::string id = imported.lines(0).ticket_id(), open = imported.lines(1).ticket_id();
  clock_->Set(Beijing(2026, 10, 9, 15));
  v1::HotlineReply reply;
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(id), &reply).ok());
  v1::ResolveTicketRequest resolve;
  resolve.set_request_id(NewId(absl::Now()));
  resolve.set_id(id);
  resolve.set_result("已更换楼道灯");
  v1::Ticket resolved;
  ASSERT_TRUE(Call(&Stub::ResolveTicket, agent_, resolve, &resolved).ok());
  ASSERT_EQ(resolved.state(), ev::TICKET_STATE_CALLBACK_DUE);

  clock_->Set(Beijing(2026, 10, 12, 16));
  const std::string file =
      "order_number,result,callback_time\n"
      "SZ-U-1,不满意,2026-10-12 15:00\n"
      "SZ-U-2,unsatisfied,2026-10-12 15:05\n";
  v1::ImportHotlineCallbacksResponse cb;
  grpc::Status st = Call(&Stub::ImportHotlineCallbacks, agent_, CallbacksRequest(file), &cb);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cb.recorded(), 2) << cb.DebugString();
  v1::Ticket t = Get(id);
  EXPECT_EQ(t.state(), ev::TICKET_STATE_REOPENED);
  EXPECT_EQ(t.hotline().government_result(), v1::HOTLINE_RESULT_UNSATISFIED);
  EXPECT_EQ(Get(open).state(), ev::TICKET_STATE_RECEIVED);  // still being worked on
  auto rated = Events<ev::HotlineOrderEvent>("intake.hotline.rated");
  ASSERT_EQ(rated.size(), 2u);
  EXPECT_EQ(rated[0].ticket_id(), id);
  EXPECT_EQ(rated[0].order_number(), "SZ-U-1");
  EXPECT_EQ(rated[0].rating(), ev::HOTLINE_RATING_UNSATISFIED);
  EXPECT_TRUE(rated[0].reopened());
  EXPECT_EQ(FromProtoTime(rated[0].callback_at()), Beijing(2026, 10, 12, 15));
  EXPECT_FALSE(rated[1].reopened());
  // The same file again: nothing changes, no second event.
  std::string before = Snapshot();
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, agent_, CallbacksRequest(file), &cb).ok());
  EXPECT_EQ(cb.already_imported(), 2);
  EXPECT_EQ(Snapshot(), before);
  // A later, satisfied callback is recorded and published (duty closes the task with it).
  ASSERT_TRUE(Call(&Stub::ImportHotlineCallbacks, agent_,
                   CallbacksRequest("order_number,result,callback_time\n"
                                    "SZ-U-1,满意,2026-10-12 15:30\n"),
                   &cb)
                  .ok());
  rated = Events<ev::HotlineOrderEvent>("intake.hotline.rated");
  ASSERT_EQ(rated.size(), 3u);
  EXPECT_EQ(rated[2].rating(), ev::HOTLINE_RATING_SATISFIED);
  EXPECT_FALSE(rated[2].reopened());
  std::cout << "FIGURE hotline_rated_events " << rated.size() << "\n";
}

constexpr char kPlatformToken[] = "platform-token-S3CRET-0123456789";

// A city's 12345 platform as a real HTTP server on a loopback port (libmicrohttpd): its
// orders and callbacks are lists; a cursor is how many of them a fetch has been given (the
// next fetch gets the rest); the replies posted to it are kept. It can fail every request
// (503) until told otherwise. It checks the bearer token itself.
class Platform {
 public:
  struct Post {
    std::string key;
    std::string body;
  };

  Platform() {
    port_ = ::wuye::testing::FreePort();
    daemon_ =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                         static_cast<uint16_t>(port_), nullptr, nullptr, &Platform::Access, this,
                         MHD_OPTION_NOTIFY_COMPLETED, &Platform::Completed, this, MHD_OPTION_END);
    EXPECT_NE(daemon_, nullptr) << "the platform did not start on port " << port_;
  }
  ~Platform() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_, "/api/12345"); }

  void AddOrder(const std::string& line) {
    absl::MutexLock l(&mu_);
    orders_.push_back(line);
  }
  void AddCallback(const std::string& line) {
    absl::MutexLock l(&mu_);
    callbacks_.push_back(line);
  }
  void Fail(bool fail) {
    absl::MutexLock l(&mu_);
    fail_ = fail;
  }
  std::vector<Post> Posts() const {
    absl::MutexLock l(&mu_);
    return posts_;
  }
  // Orders given out (counted once per line handed over): each exactly once if the
  // cursor is kept.
  int OrdersGiven() const {
    absl::MutexLock l(&mu_);
    return orders_given_;
  }
  int Requests() const {
    absl::MutexLock l(&mu_);
    return requests_;
  }
  // Called (outside the platform's lock) while an orders request is being answered.
  void OnOrders(std::function<void()> hook) {
    absl::MutexLock l(&mu_);
    on_orders_ = std::move(hook);
  }
  int BadTokens() const {
    absl::MutexLock l(&mu_);
    return bad_tokens_;
  }

 private:
  static MHD_Result Answer(MHD_Connection* c, int status, const std::string& body,
                           const std::string& cursor) {
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                      MHD_RESPMEM_MUST_COPY);
    if (!cursor.empty()) MHD_add_response_header(r, "X-Hotline-Cursor", cursor.c_str());
    MHD_add_response_header(r, "Content-Type", "text/csv");
    MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(status), r);
    MHD_destroy_response(r);
    return ret;
  }

  static MHD_Result Access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char*, const char* upload, size_t* upload_size, void** state) {
    auto* self = static_cast<Platform*>(cls);
    if (*state == nullptr) {
      *state = new std::string;
      return MHD_YES;
    }
    auto* body = static_cast<std::string*>(*state);
    if (*upload_size > 0) {
      body->append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    const char* auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char* cursor_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    const char* key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    std::string path(url), verb(method);
    if (verb == "GET" && path == "/api/12345/orders") {
      std::function<void()> hook;
      {
        absl::MutexLock l(&self->mu_);
        hook = self->on_orders_;
      }
      if (hook) hook();
    }
    absl::MutexLock l(&self->mu_);
    ++self->requests_;
    if (auth == nullptr || std::string(auth) != absl::StrCat("Bearer ", kPlatformToken)) {
      ++self->bad_tokens_;
      return Answer(c, 401, "", "");
    }
    if (self->fail_) return Answer(c, 503, "", "");
    size_t from = 0;
    if (cursor_arg != nullptr) {
      int n = 0;
      if (absl::SimpleAtoi(absl::string_view(cursor_arg).substr(1), &n)) from = n;
    }
    if (verb == "GET" && path == "/api/12345/orders") {
      std::string out =
          "order_number,received_time,deadline_working_days,due_time,estate,unit_id,category,"
          "content,caller_name,caller_phone\r\n";
      for (size_t i = from; i < self->orders_.size(); ++i) {
        absl::StrAppend(&out, self->orders_[i], "\r\n");
        ++self->orders_given_;
      }
      std::string next = absl::StrCat("o", self->orders_.size());
      return from >= self->orders_.size() ? Answer(c, 204, "", next) : Answer(c, 200, out, next);
    }
    if (verb == "GET" && path == "/api/12345/callbacks") {
      std::string out = "order_number,result,callback_time\r\n";
      for (size_t i = from; i < self->callbacks_.size(); ++i) {
        absl::StrAppend(&out, self->callbacks_[i], "\r\n");
      }
      std::string next = absl::StrCat("c", self->callbacks_.size());
      return from >= self->callbacks_.size() ? Answer(c, 204, "", next) : Answer(c, 200, out, next);
    }
    if (verb == "POST" && path == "/api/12345/replies") {
      self->posts_.push_back({key == nullptr ? "" : key, *body});
      return Answer(c, 200, "ok", "");
    }
    return Answer(c, 404, "", "");
  }

  static void Completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    delete static_cast<std::string*>(*state);
    *state = nullptr;
  }

  int port_ = 0;
  MHD_Daemon* daemon_ = nullptr;
  mutable absl::Mutex mu_;
  std::vector<std::string> orders_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> callbacks_ ABSL_GUARDED_BY(mu_);
  std::vector<Post> posts_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_orders_ ABSL_GUARDED_BY(mu_);
  int orders_given_ ABSL_GUARDED_BY(mu_) = 0;
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
  int bad_tokens_ ABSL_GUARDED_BY(mu_) = 0;
};

class HotlineHttpTest : public HotlineTest {
 protected:
  void SetUp() override {
    HotlineTest::SetUp();
    keys_ = std::make_unique<Keyring>(
        *Keyring::Parse("intake", absl::StrCat("k1:", absl::Base64Escape(std::string(32, 'k'))),
                        absl::Base64Escape(std::string(32, 'l'))));
    service_->set_hotline_keyring(keys_.get());
    admin_ = TestToken(group_, {"*"}, {"group_admin"}, "admin-1");
  }
  v1::SetHotlineEndpointRequest SetRequest(const std::string& url) {
    v1::SetHotlineEndpointRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* e = req.mutable_endpoint();
    e->set_city("shenzhen");
    e->set_base_url(url);
    e->set_format("csv");
    e->set_token(kPlatformToken);
    e->mutable_poll_interval()->set_seconds(300);
    return req;
  }
  grpc::Status Set(const v1::SetHotlineEndpointRequest& req, v1::HotlineEndpoint* out,
                   const std::string& token = "") {
    return Call(&Stub::SetHotlineEndpoint, token.empty() ? admin_ : token, req, out);
  }
  v1::HotlineEndpoint Endpoint() {
    v1::GetHotlineEndpointRequest req;
    req.set_city("shenzhen");
    v1::HotlineEndpoint out;
    grpc::Status st = Call(&Stub::GetHotlineEndpoint, admin_, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  std::unique_ptr<Keyring> keys_;
  std::string admin_;
};

// Issue 27 §3 ("an import of orders and an export of replies, as files or an HTTP endpoint
// the group configures"): the orders a city's platform has are fetched once and become
// tickets, even with two replicas' jobs racing; the cursor is kept; the government's
// callbacks come the same way (an unsatisfied one reopening the matter); a reply is posted
// once, and marked exported only once the platform took it.
TEST_F(HotlineHttpTest, OrdersAreFetchedOnceAndRepliesPostedOnceWithTwoReplicas) {
  Platform platform;
  platform.AddOrder(Order("SZ-H-1"));
  platform.AddOrder(Order("SZ-H-2"));
  v1::HotlineEndpoint set;
  grpc::Status st = Set(SetRequest(platform.Url()), &set);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(set.token_set());
  EXPECT_TRUE(set.token().empty());

  auto other_db = tdb_.Open(intake_migrations());
  IntakeServiceImpl other(*other_db, *verifier_, *clock_, kPhoneKey);
  other.set_hotline_keyring(keys_.get());
  auto race = [&](absl::Time now) {
    std::atomic<int> total{0};
    auto run = [&](IntakeServiceImpl& s) {
      for (int i = 0; i < 5; ++i) {
        auto n = s.ExchangeHotline(now);
        ASSERT_TRUE(n.ok()) << n.status();
        total += *n;
      }
    };
    std::thread ta([&] { run(*service_); }), tb([&] { run(other); });
    ta.join();
    tb.join();
    return total.load();
  };
  EXPECT_EQ(race(clock_->Now()), 1);  // one exchange: the next is 5 minutes away
  EXPECT_EQ(platform.OrdersGiven(), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order LIKE 'SZ-H-%'"), 2);
  EXPECT_EQ(Outbox("intake.hotline.received"), 2);
  v1::HotlineEndpoint e = Endpoint();
  EXPECT_EQ(e.orders_cursor(), "o2");
  EXPECT_EQ(e.callbacks_cursor(), "c0");
  EXPECT_EQ(e.failures(), 0);
  EXPECT_EQ(FromProtoTime(e.last_success_time()), clock_->Now());
  EXPECT_EQ(FromProtoTime(e.next_exchange_time()), clock_->Now() + absl::Minutes(5));
  auto received = Events<ev::HotlineOrderEvent>("intake.hotline.received");
  std::string id = received[0].ticket_id();
  EXPECT_EQ(Get(id).owner_id(), "hotline:shenzhen");

  // Not yet time: nothing asked. Then one more order; the cursor takes only it.
  EXPECT_EQ(race(clock_->Now() + absl::Minutes(4)), 0);
  platform.AddOrder(Order("SZ-H-3"));
  clock_->Set(clock_->Now() + absl::Minutes(5));
  v1::HotlineReply reply;
  ASSERT_TRUE(Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(id), &reply).ok());
  EXPECT_FALSE(Get(id).hotline().has_delivery_time());
  // The reply is posted by the exchange, not by a file; the accepted post is its delivery
  // (issue 27 §3): on time by then.
  EXPECT_EQ(race(clock_->Now()), 1);
  EXPECT_EQ(FromProtoTime(Get(id).hotline().delivery_time()), clock_->Now());
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_replies WHERE on_time"), 1);
  EXPECT_EQ(Outbox("intake.hotline.delivered"), 1);
  EXPECT_EQ(platform.OrdersGiven(), 3);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order LIKE 'SZ-H-%'"), 3);
  std::vector<Platform::Post> posts = platform.Posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_TRUE(absl::StrContains(posts[0].body, "order_number,reply_time,replied_by,reply"));
  EXPECT_TRUE(absl::StrContains(posts[0].body, "已派电工更换楼道灯"));
  EXPECT_FALSE(posts[0].key.empty());
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_replies WHERE exported_at IS NULL"), 0);
  v1::ExportHotlineRepliesResponse exported;
  ASSERT_TRUE(Call(&Stub::ExportHotlineReplies, agent_, ExportRequest(), &exported).ok());
  EXPECT_EQ(exported.replies_size(), 0);  // sent already

  // The government's callback, unsatisfied, by the same exchange: the supervisor's event.
  platform.AddCallback("SZ-H-1,不满意,2026-09-30 10:30");
  clock_->Set(clock_->Now() + absl::Minutes(5));
  EXPECT_EQ(race(clock_->Now()), 1);
  EXPECT_EQ(platform.Posts().size(), 1u);  // nothing more to post
  auto rated = Events<ev::HotlineOrderEvent>("intake.hotline.rated");
  ASSERT_EQ(rated.size(), 1u);
  EXPECT_EQ(rated[0].rating(), ev::HOTLINE_RATING_UNSATISFIED);
  EXPECT_EQ(rated[0].order_number(), "SZ-H-1");
  EXPECT_EQ(Endpoint().callbacks_cursor(), "c1");
  EXPECT_EQ(platform.BadTokens(), 0);
  std::cout << "FIGURE hotline_http_requests " << platform.Requests() << " orders_given "
            << platform.OrdersGiven() << " posts " << platform.Posts().size() << "\n";
}

// A platform that fails: retried with backoff (never later than the poll interval), the
// replies kept until it takes them, a metric counted by city, and past the endpoint's
// alert_after a duty task (intake.hotline.endpoint_failing, once per estate) — closed
// (endpoint_recovered) when it works again. Neither the token nor the URL is in a log line,
// an answer, an event or the idempotency store.
TEST_F(HotlineHttpTest, AFailingPlatformIsRetriedAndAPersonHearsOfIt) {
  SetLogLevel(LogLevel::kDebug);
  ::testing::internal::CaptureStderr();
  Platform platform;
  platform.AddOrder(Order("SZ-F-1"));
  platform.Fail(true);
  v1::SetHotlineEndpointRequest req = SetRequest(platform.Url());
  req.mutable_endpoint()->add_estate_ids(estate_);
  req.mutable_endpoint()->mutable_alert_after()->set_seconds(3600);
  v1::HotlineEndpoint set;
  ASSERT_TRUE(Set(req, &set).ok());
  const int64_t failed_before = Metrics::Global().Counter(
      "wuye_intake_hotline_exchanges_total{city=\"shenzhen\",outcome=\"failed\"}");

  absl::Time start = clock_->Now();
  ASSERT_EQ(*service_->ExchangeHotline(start), 1);
  v1::HotlineEndpoint e = Endpoint();
  EXPECT_EQ(e.failures(), 1);
  EXPECT_EQ(e.last_error(), "orders: HTTP 503");
  EXPECT_EQ(FromProtoTime(e.failing_since()), start);
  EXPECT_EQ(FromProtoTime(e.next_exchange_time()), start + absl::Minutes(1));
  EXPECT_EQ(e.orders_cursor(), "");
  // Backoff: 1, 2, 4 minutes, then the poll interval (5 minutes) at most.
  absl::Time t = start + absl::Minutes(1);
  for (absl::Duration want :
       {absl::Minutes(2), absl::Minutes(4), absl::Minutes(5), absl::Minutes(5)}) {
    ASSERT_EQ(*service_->ExchangeHotline(t), 1);
    EXPECT_EQ(FromProtoTime(Endpoint().next_exchange_time()), t + want);
    t += want;
  }
  EXPECT_EQ(Outbox("intake.hotline.endpoint_failing"), 0);  // not an hour yet
  EXPECT_EQ(Metrics::Global().Counter(
                "wuye_intake_hotline_exchanges_total{city=\"shenzhen\",outcome=\"failed\"}") -
                failed_before,
            5);
  // An hour of failures: the estate's manager hears of it, once.
  t = start + absl::Hours(1);
  ASSERT_EQ(*service_->ExchangeHotline(t), 1);
  ASSERT_EQ(*service_->ExchangeHotline(t + absl::Minutes(10)), 1);
  auto failing = Events<ev::HotlineEndpointEvent>("intake.hotline.endpoint_failing");
  ASSERT_EQ(failing.size(), 1u);
  EXPECT_EQ(failing[0].city(), "shenzhen");
  EXPECT_EQ(failing[0].estate_id(), estate_);
  EXPECT_EQ(FromProtoTime(failing[0].failing_since()), start);
  EXPECT_EQ(failing[0].last_error(), "orders: HTTP 503");
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order = 'SZ-F-1'"), 0);

  // It works again: the order comes, the task is closed, the count starts over.
  platform.Fail(false);
  t += absl::Minutes(20);
  ASSERT_EQ(*service_->ExchangeHotline(t), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order = 'SZ-F-1'"), 1);
  EXPECT_EQ(Outbox("intake.hotline.endpoint_recovered"), 1);
  e = Endpoint();
  EXPECT_EQ(e.failures(), 0);
  EXPECT_FALSE(e.has_failing_since());
  EXPECT_EQ(e.last_error(), "");

  // A reply the platform refuses stays unexported and is posted again later.
  auto received = Events<ev::HotlineOrderEvent>("intake.hotline.received");
  clock_->Set(t);
  v1::HotlineReply reply;
  ASSERT_TRUE(
      Call(&Stub::RecordHotlineReply, agent_, ReplyRequest(received[0].ticket_id()), &reply).ok());
  platform.Fail(true);
  t += absl::Minutes(5);
  ASSERT_EQ(*service_->ExchangeHotline(t), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_replies WHERE exported_at IS NULL"), 1);
  platform.Fail(false);
  t += absl::Minutes(1);
  ASSERT_EQ(*service_->ExchangeHotline(t), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_replies WHERE exported_at IS NULL"), 0);
  EXPECT_EQ(platform.Posts().size(), 1u);
  std::string logs = ::testing::internal::GetCapturedStderr();
  SetLogLevel(LogLevel::kInfo);
  // The URL is the admin's own setting (GetHotlineEndpoint shows it), but no log line, event
  // or metric holds it; the token is nowhere but sealed.
  for (const std::string& secret : {std::string(kPlatformToken), platform.Url()}) {
    EXPECT_FALSE(absl::StrContains(logs, secret)) << secret;
    EXPECT_EQ(Holding("wuye_outbox", "envelope", secret), 0) << secret;
    EXPECT_FALSE(absl::StrContains(Metrics::Global().PrometheusText(), secret));
  }
  EXPECT_FALSE(absl::StrContains(Endpoint().DebugString(), kPlatformToken));
  EXPECT_EQ(Holding("wuye_idempotency", "response", kPlatformToken), 0);
  EXPECT_EQ(Holding("hotline_endpoints", "token_sealed", kPlatformToken), 0);
  EXPECT_EQ(Holding("hotline_endpoints", "body", kPlatformToken), 0);
  EXPECT_TRUE(absl::StrContains(logs, "intake.hotline.exchange_failed"));
}

// The endpoint's RPCs: group admins only; a group sees only its own; bad input is
// INVALID_ARGUMENT naming the field and changes nothing; a request_id replays.
TEST_F(HotlineHttpTest, TheEndpointIsTheGroupAdminsAndChecked) {
  Platform platform;
  v1::HotlineEndpoint out;
  for (const std::string& token : {agent_, supervisor_, manager_}) {
    EXPECT_EQ(Set(SetRequest(platform.Url()), &out, token).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::GetHotlineEndpointRequest get;
  get.set_city("shenzhen");
  EXPECT_EQ(Call(&Stub::GetHotlineEndpoint, supervisor_, get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetHotlineEndpoint, admin_, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  struct Bad {
    std::function<void(v1::HotlineEndpoint*)> spoil;
    std::string field;
  };
  const std::vector<Bad> bad = {
      {[](auto* e) { e->set_city("Shen Zhen"); }, "endpoint.city"},
      {[](auto* e) { e->set_base_url("http://platform.example.gov.cn/api"); }, "endpoint.base_url"},
      {[](auto* e) { e->set_base_url("ftp://127.0.0.1/api"); }, "endpoint.base_url"},
      {[](auto* e) { e->set_base_url("https://u:p@platform.example.gov.cn/api"); },
       "endpoint.base_url"},
      {[](auto* e) { e->set_base_url("https://platform.example.gov.cn/api?x=1"); },
       "endpoint.base_url"},
      {[](auto* e) { e->set_base_url(""); }, "endpoint.base_url"},
      {[](auto* e) { e->set_format("xml"); }, "endpoint.format"},
      {[](auto* e) { e->set_token("short"); }, "endpoint.token"},
      {[](auto* e) { e->set_token("has a space in it, sixteen+"); }, "endpoint.token"},
      {[](auto* e) { e->mutable_poll_interval()->set_seconds(10); }, "endpoint.poll_interval"},
      {[](auto* e) { e->mutable_poll_interval()->set_seconds(2 * 86400); },
       "endpoint.poll_interval"},
      {[](auto* e) { e->mutable_alert_after()->set_seconds(60); }, "endpoint.alert_after"},
      {[](auto* e) { e->add_estate_ids("not-an-id"); }, "endpoint.estate_ids"},
      {[](auto* e) { (*e->mutable_estate_refs())["SZ-NS-01"] = "nope"; }, "endpoint.estate_refs"},
      {[](auto* e) { e->set_failures(3); }, "endpoint"},
  };
  for (const Bad& b : bad) {
    v1::SetHotlineEndpointRequest req = SetRequest(platform.Url());
    b.spoil(req.mutable_endpoint());
    grpc::Status st = Set(req, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.field;
    EXPECT_EQ(Field(st), b.field) << st.error_message();
    EXPECT_FALSE(absl::StrContains(st.error_message(), kPlatformToken));
  }
  v1::SetHotlineEndpointRequest unknown_estate = SetRequest(platform.Url());
  unknown_estate.mutable_endpoint()->add_estate_ids(NewId(absl::Now()));
  EXPECT_EQ(Set(unknown_estate, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::SetHotlineEndpointRequest no_token = SetRequest(platform.Url());
  no_token.mutable_endpoint()->clear_token();
  EXPECT_EQ(Field(Set(no_token, &out)), "endpoint.token");  // a new endpoint needs one
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_endpoints"), 0);

  // Set; a replay answers the same and changes nothing; the same id for another request is
  // refused.
  v1::SetHotlineEndpointRequest first = SetRequest(platform.Url());
  ASSERT_TRUE(Set(first, &out).ok());
  EXPECT_EQ(out.poll_interval().seconds(), 300);
  EXPECT_EQ(out.base_url(), platform.Url());
  v1::HotlineEndpoint replay;
  ASSERT_TRUE(Set(first, &replay).ok());
  EXPECT_EQ(replay.DebugString(), out.DebugString());
  v1::SetHotlineEndpointRequest reused = first;
  reused.mutable_endpoint()->mutable_poll_interval()->set_seconds(600);
  EXPECT_EQ(Field(Set(reused, &out)), "request_id");
  EXPECT_EQ(Endpoint().poll_interval().seconds(), 300);
  // Changed without the token: the stored one is kept.
  v1::SetHotlineEndpointRequest slower = SetRequest(platform.Url());
  slower.mutable_endpoint()->clear_token();
  slower.mutable_endpoint()->mutable_poll_interval()->set_seconds(600);
  ASSERT_TRUE(Set(slower, &out).ok());
  EXPECT_TRUE(out.token_set());
  ASSERT_EQ(*service_->ExchangeHotline(clock_->Now()), 1);
  EXPECT_EQ(platform.BadTokens(), 0);
  EXPECT_EQ(Endpoint().failures(), 0);

  // Another group sees none of it and cannot remove it.
  std::string other_admin = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, "admin-9");
  EXPECT_EQ(Call(&Stub::GetHotlineEndpoint, other_admin, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RemoveHotlineEndpointRequest remove;
  remove.set_request_id(NewId(absl::Now()));
  remove.set_city("shenzhen");
  v1::RemoveHotlineEndpointResponse removed;
  EXPECT_EQ(Call(&Stub::RemoveHotlineEndpoint, other_admin, remove, &removed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::RemoveHotlineEndpoint, supervisor_, remove, &removed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::RemoveHotlineEndpoint, admin_, remove, &removed).ok());
  ASSERT_TRUE(Call(&Stub::RemoveHotlineEndpoint, admin_, remove, &removed).ok());  // replay
  EXPECT_EQ(Query("SELECT count(*) FROM hotline_endpoints"), 0);
  EXPECT_EQ(*service_->ExchangeHotline(clock_->Now() + absl::Hours(1)), 0);

  // Without sealing keys no endpoint can be set.
  service_->set_hotline_keyring(nullptr);
  grpc::Status st = Set(SetRequest(platform.Url()), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NO_SEALING_KEYS");
}

// Issue 27 §3 (orders come from the city's platform): a platform whose clock runs a little
// ahead does not lose its orders — a received time up to kHotlineClockSkew (5 minutes)
// ahead is taken as received now; further ahead the line is refused.
TEST_F(HotlineTest, AReceivedTimeAFewMinutesAheadIsTakenAsNow) {
  auto r = Import(Csv({
      absl::StrCat("SZ-SKEW-1,2026-09-30 11:02,3,,", estate_, ",,,text,,"),  // 2 minutes ahead
      absl::StrCat("SZ-SKEW-2,2026-09-30 11:06,3,,", estate_, ",,,text,,"),  // 6 minutes ahead
  }));
  EXPECT_EQ(r.created(), 1);
  EXPECT_EQ(r.refused(), 1);
  ASSERT_EQ(r.lines_size(), 2);
  EXPECT_EQ(r.lines(0).outcome(), Line::OUTCOME_CREATED);
  EXPECT_EQ(r.lines(1).outcome(), Line::OUTCOME_REFUSED);
  EXPECT_EQ(r.lines(1).field(), "received_time");
  v1::Ticket t = Get(r.lines(0).ticket_id());
  EXPECT_EQ(FromProtoTime(t.hotline().hotline_received_time()), clock_->Now());
  EXPECT_EQ(Query("SELECT count(*) FROM tickets"), 1);
}

// Issue 27 §3: an order the platform gives that cannot be imported yet (the city's estate
// reference not mapped) is not skipped: the orders cursor stays, the same batch is fetched
// again (the lines imported already change nothing), the endpoint shows failing with the
// refused lines' field names only, a person hears of it past alert_after, and once the
// admin maps the reference the order comes in and the endpoint recovers by itself.
TEST_F(HotlineHttpTest, ARefusedOrderIsFetchedAgainUntilItImports) {
  Platform platform;
  platform.AddOrder(Order("SZ-R-1"));
  platform.AddOrder(Order("SZ-R-2", 3, "SZ-NS-01"));  // the city's own estate reference
  v1::SetHotlineEndpointRequest req = SetRequest(platform.Url());
  req.mutable_endpoint()->mutable_alert_after()->set_seconds(600);
  v1::HotlineEndpoint set;
  ASSERT_TRUE(Set(req, &set).ok());

  const absl::Time start = clock_->Now();
  ASSERT_EQ(*service_->ExchangeHotline(start), 1);
  EXPECT_EQ(platform.OrdersGiven(), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order LIKE 'SZ-R-%'"), 1);
  v1::HotlineEndpoint e = Endpoint();
  EXPECT_EQ(e.orders_cursor(), "");  // not moved past the refused line
  EXPECT_EQ(e.failures(), 1);
  EXPECT_EQ(e.last_error(), "1 order refused: estate");
  EXPECT_EQ(FromProtoTime(e.failing_since()), start);
  EXPECT_EQ(FromProtoTime(e.next_exchange_time()), start + absl::Minutes(1));

  // Still not mapped: the same batch again, nothing new; past alert_after the alert.
  ASSERT_EQ(*service_->ExchangeHotline(start + absl::Minutes(1)), 1);
  EXPECT_EQ(platform.OrdersGiven(), 4);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order LIKE 'SZ-R-%'"), 1);
  EXPECT_EQ(Outbox("intake.hotline.received"), 1);
  EXPECT_EQ(Endpoint().orders_cursor(), "");
  EXPECT_EQ(Outbox("intake.hotline.endpoint_failing"), 0);
  ASSERT_EQ(*service_->ExchangeHotline(start + absl::Minutes(10)), 1);
  auto failing = Events<ev::HotlineEndpointEvent>("intake.hotline.endpoint_failing");
  ASSERT_FALSE(failing.empty());
  EXPECT_EQ(failing[0].last_error(), "1 order refused: estate");
  EXPECT_EQ(Holding("wuye_outbox", "envelope", "SZ-NS-01"), 0);

  // The government's callback of the refused order waits with it (the callbacks cursor does
  // not move past a callback of an order not here), and is recorded once the order is.
  platform.AddCallback("SZ-R-2,不满意,2026-09-30 10:30");
  const std::string callbacks_cursor = Endpoint().callbacks_cursor();
  ASSERT_EQ(*service_->ExchangeHotline(FromProtoTime(Endpoint().next_exchange_time())), 1);
  EXPECT_EQ(Endpoint().callbacks_cursor(), callbacks_cursor);  // not moved past it
  EXPECT_EQ(Endpoint().last_error(), "1 order refused: estate; 1 callback refused: order_number");
  EXPECT_EQ(Outbox("intake.hotline.rated"), 0);

  // The admin maps the reference: the order comes, the cursor moves, it recovers.
  v1::SetHotlineEndpointRequest mapped = SetRequest(platform.Url());
  mapped.mutable_endpoint()->mutable_alert_after()->set_seconds(600);
  (*mapped.mutable_endpoint()->mutable_estate_refs())["SZ-NS-01"] = estate_;
  ASSERT_TRUE(Set(mapped, &set).ok());
  ASSERT_EQ(*service_->ExchangeHotline(start + absl::Minutes(15)), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order LIKE 'SZ-R-%'"), 2);
  EXPECT_EQ(Outbox("intake.hotline.received"), 2);
  e = Endpoint();
  EXPECT_EQ(e.orders_cursor(), "o2");
  EXPECT_EQ(e.callbacks_cursor(), "c1");
  EXPECT_EQ(Outbox("intake.hotline.rated"), 1);
  EXPECT_EQ(e.failures(), 0);
  EXPECT_EQ(e.last_error(), "");
  EXPECT_EQ(Outbox("intake.hotline.endpoint_recovered"), static_cast<int>(failing.size()));
  // And then only what is new.
  ASSERT_EQ(*service_->ExchangeHotline(start + absl::Minutes(25)), 1);
  EXPECT_EQ(platform.OrdersGiven(), 10);
  std::cout << "FIGURE hotline_refused_refetches orders_given " << platform.OrdersGiven() << "\n";
}

// Issue 27 §3 (the endpoint's failure is a duty task for each estate it covers, closed when
// it works again): the admin changing the endpoint's estates while its failure is told leaves
// no task stranded — an estate it stops covering is told it recovered, one it comes to cover
// is told it is failing (again, for an estate it covered before), and its recovery or its
// removal tells the estates it covers then. Counted per estate in the outbox: every
// "failing" an estate was told is followed by a "recovered" (duty closes estate by estate).
TEST_F(HotlineHttpTest, AnEndpointsEstatesChangedWhileItFailsLeaveNoTaskStranded) {
  Platform platform;
  platform.Fail(true);
  auto set = [&](std::vector<std::string> estates) {
    v1::SetHotlineEndpointRequest req = SetRequest(platform.Url());
    for (const std::string& e : estates) req.mutable_endpoint()->add_estate_ids(e);
    req.mutable_endpoint()->mutable_alert_after()->set_seconds(600);
    v1::HotlineEndpoint out;
    grpc::Status st = Set(req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  };
  // Per estate: "failing" told minus "recovered" told (1: a task open, 0: none).
  auto open = [&](const std::string& estate) {
    int n = 0;
    for (const auto& e : Events<ev::HotlineEndpointEvent>("intake.hotline.endpoint_failing")) {
      n += e.estate_id() == estate;
    }
    for (const auto& e : Events<ev::HotlineEndpointEvent>("intake.hotline.endpoint_recovered")) {
      n -= e.estate_id() == estate;
    }
    return n;
  };
  set({estate_});
  absl::Time t = clock_->Now();
  ASSERT_EQ(*service_->ExchangeHotline(t), 1);
  ASSERT_EQ(*service_->ExchangeHotline(t + absl::Minutes(10)), 1);
  ASSERT_EQ(open(estate_), 1);
  ASSERT_EQ(open(other_estate_), 0);

  // Moved to the other estate mid-failure: estate_'s task closes, other_estate_ hears of it
  // with the failure's own start and error.
  set({other_estate_});
  EXPECT_EQ(open(estate_), 0);
  EXPECT_EQ(open(other_estate_), 1);
  auto failing = Events<ev::HotlineEndpointEvent>("intake.hotline.endpoint_failing");
  ASSERT_EQ(failing.size(), 2u);
  EXPECT_EQ(failing[1].estate_id(), other_estate_);
  EXPECT_EQ(FromProtoTime(failing[1].failing_since()), t);
  EXPECT_EQ(failing[1].last_error(), "orders: HTTP 503");
  // Set again with the same estates, or failing on: nothing more told.
  set({other_estate_});
  ASSERT_EQ(*service_->ExchangeHotline(t + absl::Minutes(20)), 1);
  EXPECT_EQ(Outbox("intake.hotline.endpoint_failing"), 2);
  EXPECT_EQ(Outbox("intake.hotline.endpoint_recovered"), 1);
  // Every estate of the group (no list): estate_ hears of it again.
  set({});
  EXPECT_EQ(open(estate_), 1);
  EXPECT_EQ(open(other_estate_), 1);
  // It works again: both close.
  platform.Fail(false);
  ASSERT_EQ(*service_->ExchangeHotline(t + absl::Minutes(30)), 1);
  EXPECT_EQ(open(estate_), 0);
  EXPECT_EQ(open(other_estate_), 0);

  // A second failure, the estates narrowed, then the endpoint removed: nothing left open.
  platform.Fail(true);
  const absl::Time t2 = t + absl::Hours(2);
  ASSERT_EQ(*service_->ExchangeHotline(t2), 1);
  ASSERT_EQ(*service_->ExchangeHotline(t2 + absl::Minutes(15)), 1);
  EXPECT_EQ(open(estate_), 1);
  EXPECT_EQ(open(other_estate_), 1);
  set({estate_});
  EXPECT_EQ(open(estate_), 1);
  EXPECT_EQ(open(other_estate_), 0);
  v1::RemoveHotlineEndpointRequest remove;
  remove.set_request_id(NewId(absl::Now()));
  remove.set_city("shenzhen");
  v1::RemoveHotlineEndpointResponse removed;
  ASSERT_TRUE(Call(&Stub::RemoveHotlineEndpoint, admin_, remove, &removed).ok());
  EXPECT_EQ(open(estate_), 0);
  EXPECT_EQ(open(other_estate_), 0);
  std::cout << "FIGURE hotline_endpoint_estates_changed failing_told "
            << Outbox("intake.hotline.endpoint_failing") << " recovered_told "
            << Outbox("intake.hotline.endpoint_recovered") << "\n";
}

// An endpoint claimed by a replica that died mid-exchange is not exchanged by another while
// its lease runs (kHotlineLease), and is taken again once it has run out.
TEST_F(HotlineHttpTest, AClaimedEndpointWaitsForItsLease) {
  Platform platform;
  platform.AddOrder(Order("SZ-L-1"));
  v1::HotlineEndpoint set;
  ASSERT_TRUE(Set(SetRequest(platform.Url()), &set).ok());
  const absl::Time start = clock_->Now();
  // A claim as the job makes it, never followed by its exchange.
  ASSERT_EQ(Query(absl::StrCat("WITH c AS (UPDATE hotline_endpoints SET next_at = "
                               "to_timestamp(",
                               absl::ToUnixSeconds(start + kHotlineLease),
                               ") RETURNING 1) SELECT count(*) FROM c")),
            1);
  EXPECT_EQ(*service_->ExchangeHotline(start + kHotlineLease - absl::Seconds(1)), 0);
  EXPECT_EQ(platform.Requests(), 0);
  ASSERT_EQ(*service_->ExchangeHotline(start + kHotlineLease), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order = 'SZ-L-1'"), 1);
}

// No transaction is open while a request is out: while the platform answers, another
// session can lock the endpoint's row at once (NOWAIT), so neither the row nor, through the
// import, the group's calendar lock and tickets wait on the network.
TEST_F(HotlineHttpTest, NoRowIsHeldWhileThePlatformAnswers) {
  Platform platform;
  platform.AddOrder(Order("SZ-T-1"));
  std::atomic<int> checks{0}, lockable{-1};
  platform.OnOrders([&] {
    pqxx::connection conn(tdb_.url());
    pqxx::work tx(conn);
    try {
      lockable = tx.exec1("SELECT count(*) FROM (SELECT 1 FROM hotline_endpoints FOR UPDATE "
                          "NOWAIT) s")[0]
                     .as<int>();
    } catch (const std::exception&) {
      lockable = -2;  // held by the exchange
    }
    ++checks;
  });
  v1::HotlineEndpoint set;
  ASSERT_TRUE(Set(SetRequest(platform.Url()), &set).ok());
  ASSERT_EQ(*service_->ExchangeHotline(clock_->Now()), 1);
  EXPECT_EQ(checks.load(), 1);
  EXPECT_EQ(lockable.load(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM tickets WHERE hotline_order = 'SZ-T-1'"), 1);
  EXPECT_EQ(Endpoint().orders_cursor(), "o1");
}

}  // namespace
}  // namespace wuye::intake
