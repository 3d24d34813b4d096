// The working calendar through the directory's API (issue 27 §1), over real gRPC against a
// real PostgreSQL database of its own: imports, withdrawals, the layers, the deadlines and
// their reasons, and the refusals.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/directory/directory.h"
#include "services/directory/directory_service.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/work_calendar.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::directory {
namespace {

using Stub = v1::DirectoryService::Stub;
using ::wuye::testing::TestToken;
namespace ev = ::wuye::events::v1;

// The notice the shipped 2026 year follows (shared/calendars/cn-2026.txt).
constexpr char kNotice2026[] = "国务院办公厅关于2026年部分节假日安排的通知";

// A group's own 2027 (an example, not the State Council's: tests need a year it has not
// shipped), with a comment and days given one by one that normalising merges.
constexpr char kGroup2027[] =
    "# 集团2027年工作日历（测试用）\n"
    "year 2027\n"
    "source 集团行政部通知（测试）\n"
    "off 2027-01-01 元旦\n"
    "off 2027-02-08 春节\n"
    "off 2027-02-09 春节\n"
    "work 2027-02-13 春节调休上班\n";

class CalendarServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(directory_migrations());
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<DirectoryServiceImpl>(*db_, *verifier_, SystemClock());
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.directory.v1.DirectoryService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = v1::DirectoryService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_->port()), grpc::InsecureChannelCredentials()));
    platform_ = TestToken("", {}, {"platform_admin"});
    group_ = MakeGroup("Acme Property");
    admin_ = TestToken(group_, {"*"}, {"group_admin"});
    estate_ = MakeEstate(admin_, "Sunny Gardens", "Asia/Shanghai");
  }

  std::string MakeGroup(const std::string& name) {
    v1::CreateGroupRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_group()->set_name(name);
    v1::Group group;
    EXPECT_TRUE(Call(&Stub::CreateGroup, platform_, req, &group).ok());
    return group.id();
  }

  std::string MakeEstate(const std::string& token, const std::string& name,
                         const std::string& zone) {
    v1::CreateEstateRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_estate()->set_name(name);
    req.mutable_estate()->set_time_zone(zone);
    req.mutable_estate()->set_management_fee_fen_per_m2(150);
    req.mutable_estate()->set_household_count(350);
    v1::Estate estate;
    grpc::Status st = Call(&Stub::CreateEstate, token, req, &estate);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return estate.id();
  }

  grpc::Status Import(const std::string& token, const std::string& estate, const std::string& text,
                      v1::WorkCalendarChange* out, std::string request_id = "") {
    v1::ImportWorkCalendarRequest req;
    req.set_request_id(request_id.empty() ? NewId(absl::Now()) : request_id);
    req.set_estate_id(estate);
    req.set_calendar(text);
    return Call(&Stub::ImportWorkCalendar, token, req, out);
  }
  grpc::Status Withdraw(const std::string& token, const std::string& estate, int year,
                        v1::WorkCalendarChange* out) {
    v1::WithdrawWorkCalendarRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_estate_id(estate);
    req.set_year(year);
    return Call(&Stub::WithdrawWorkCalendar, token, req, out);
  }
  grpc::Status Get(const std::string& token, const std::string& estate, int year,
                   v1::WorkCalendarYear* out) {
    v1::GetWorkCalendarRequest req;
    req.set_estate_id(estate);
    req.set_year(year);
    return Call(&Stub::GetWorkCalendar, token, req, out);
  }
  // A deadline of `amount` on `clock` from `start` (local civil time in `zone`).
  grpc::Status Explain(const std::string& token, const std::string& estate, absl::CivilMinute start,
                       const char* zone, absl::Duration amount, common::v1::SlaClock clock,
                       v1::ExplainDeadlineResponse* out) {
    absl::TimeZone tz;
    EXPECT_TRUE(absl::LoadTimeZone(zone, &tz));
    v1::ExplainDeadlineRequest req;
    req.set_estate_id(estate);
    *req.mutable_start_time() = ToProtoTime(absl::FromCivil(start, tz));
    req.mutable_amount()->set_seconds(absl::ToInt64Seconds(amount));
    req.set_clock(clock);
    return Call(&Stub::ExplainDeadline, token, req, out);
  }
  v1::ExplainDeadlineResponse MustExplain(const std::string& estate, absl::CivilMinute start,
                                          const char* zone, absl::Duration amount,
                                          common::v1::SlaClock clock) {
    v1::ExplainDeadlineResponse out;
    grpc::Status st = Explain(admin_, estate, start, zone, amount, clock, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  // The shipped 2026 year with `extra` days of an estate or group of its own, as a file.
  static std::string National2026With(std::vector<CalendarDay> extra, const std::string& source) {
    CalendarYear year;
    for (const CalendarYear& y : NationalCalendarYears()) {
      if (y.year == 2026) year = y;
    }
    EXPECT_EQ(year.year, 2026);
    year.source = source;
    for (CalendarDay& d : extra) year.days.push_back(std::move(d));
    std::sort(year.days.begin(), year.days.end(),
              [](const CalendarDay& a, const CalendarDay& b) { return a.day < b.day; });
    return FormatCalendarYear(year);
  }

  int Count(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }
  int CalendarEvents() {
    return Count("SELECT count(*) FROM wuye_outbox WHERE type = 'directory.calendar.changed'");
  }
  // Every table a calendar call could write, for "nothing changed" checks.
  std::string Snapshot() {
    return absl::StrCat(
        "calendars=", Count("SELECT count(*) FROM wuye_work_calendars"),
        " versions=", Count("SELECT coalesce(sum(version), 0) FROM wuye_work_calendars"),
        " outbox=", Count("SELECT count(*) FROM wuye_outbox"),
        " idempotency=", Count("SELECT count(*) FROM wuye_idempotency"));
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Day(const v1::Date& d) {
    return absl::FormatCivilTime(absl::CivilDay(d.year(), d.month(), d.day()));
  }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<DirectoryServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  std::string platform_, group_, admin_, estate_;
};

constexpr auto kWorkingDays = common::v1::SLA_CLOCK_WORKING_DAYS;
constexpr auto kOfficeHours = common::v1::SLA_CLOCK_OFFICE_HOURS;
constexpr auto kElapsed = common::v1::SLA_CLOCK_ELAPSED;
constexpr absl::Duration kWorkingDay = absl::Hours(24);

// ---- Layers, imports, withdrawals ------------------------------------------------------

TEST_F(CalendarServiceTest, LayersStackEstateOverGroupOverTheStateCouncil) {
  // 2026 as shipped: the State Council's notice, every exception day of it.
  v1::WorkCalendarYear year;
  ASSERT_TRUE(Get(admin_, estate_, 2026, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_NATIONAL);
  EXPECT_TRUE(absl::StrContains(year.source(), kNotice2026)) << year.source();
  EXPECT_EQ(year.days_size(), 39);
  EXPECT_EQ(year.office_hours_size(), 2);
  EXPECT_EQ(year.office_hours(0).start_minute(), 9 * 60);
  EXPECT_EQ(year.office_hours(1).end_minute(), 17 * 60 + 30);
  EXPECT_TRUE(absl::StrContains(year.calendar(), "off 2026-02-15..2026-02-23 春节"));
  EXPECT_TRUE(absl::StrContains(year.calendar(), "work 2026-02-28 春节调休上班"));
  // A year nobody arranged: Monday to Friday, said so, less the holidays of fixed dates
  // (全国年节及纪念日放假办法 第二条: 元旦, 劳动节 1–2 May, 国庆节 1–3 October).
  ASSERT_TRUE(Get(admin_, "", 2031, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_NONE);
  ASSERT_EQ(year.days_size(), 6);
  EXPECT_EQ(Day(year.days(0).day()), "2031-01-01");
  EXPECT_EQ(year.days(0).name(), "元旦（法定）");
  EXPECT_FALSE(year.days(0).working());
  EXPECT_EQ(Day(year.days(2).day()), "2031-05-02");
  EXPECT_EQ(Day(year.days(5).day()), "2031-10-03");
  EXPECT_EQ(year.calendar(),
            "year 2031\noff 2031-01-01 元旦（法定）\noff 2031-05-01..2031-05-02 劳动节（法定）\n"
            "off 2031-10-01..2031-10-03 国庆节（法定）\n");

  // The group's 2027, stored normalised, version 1; the estate sees it.
  v1::WorkCalendarChange change;
  ASSERT_TRUE(Import(admin_, "", kGroup2027, &change).ok());
  EXPECT_TRUE(change.changed());
  EXPECT_EQ(change.version(), 1);
  EXPECT_EQ(change.year(), 2027);
  EXPECT_TRUE(absl::StrContains(change.calendar(), "off 2027-02-08..2027-02-09 春节\n"));
  EXPECT_FALSE(absl::StrContains(change.calendar(), "#"));
  ASSERT_TRUE(Get(admin_, estate_, 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_GROUP);
  EXPECT_EQ(year.version(), 1);
  EXPECT_EQ(year.calendar(), change.calendar());
  ASSERT_EQ(year.days_size(), 4);
  EXPECT_EQ(Day(year.days(3).day()), "2027-02-13");
  EXPECT_TRUE(year.days(3).working());

  // The estate's own 2027 over it (its manager may), then withdrawn: the group's again.
  std::string manager = TestToken(group_, {estate_}, {"estate_manager"});
  ASSERT_TRUE(Import(manager, estate_,
                     "year 2027\nsource 管理处通知\noffice 08:30-12:00 13:00-17:00\n", &change)
                  .ok());
  ASSERT_TRUE(Get(manager, estate_, 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_ESTATE);
  EXPECT_EQ(year.office_hours(0).start_minute(), 8 * 60 + 30);
  ASSERT_TRUE(Get(admin_, "", 2027, &year).ok());  // the group's own is untouched
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_GROUP);
  ASSERT_TRUE(Withdraw(manager, estate_, 2027, &change).ok());
  EXPECT_EQ(change.version(), 2);
  EXPECT_TRUE(change.calendar().empty());
  ASSERT_TRUE(Get(admin_, estate_, 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_GROUP);
  // Nothing left to withdraw there.
  EXPECT_EQ(Withdraw(manager, estate_, 2027, &change).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Withdraw(admin_, "", 2026, &change).error_code(), grpc::StatusCode::NOT_FOUND);
  // Imported again after a withdrawal: the next version.
  ASSERT_TRUE(Import(manager, estate_, "year 2027\n", &change).ok());
  EXPECT_EQ(change.version(), 3);
}

TEST_F(CalendarServiceTest, EachChangePublishesOnceAndAnIdenticalImportNothing) {
  v1::WorkCalendarChange first, again, replay;
  ASSERT_TRUE(Import(admin_, estate_, kGroup2027, &first, "cal-import-1").ok());
  ASSERT_EQ(CalendarEvents(), 1);
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    auto row =
        tx.exec1("SELECT envelope FROM wuye_outbox WHERE type = 'directory.calendar.changed'");
    ev::Event event;
    ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[0]).str()));
    EXPECT_EQ(event.group_id(), group_);
    EXPECT_EQ(event.estate_id(), estate_);
    EXPECT_EQ(event.subject(), absl::StrCat(group_, "/", estate_, "/2027"));
    EXPECT_EQ(event.subject_version(), 1);
    ev::CalendarChanged payload;
    ASSERT_TRUE(event.payload().UnpackTo(&payload));
    EXPECT_EQ(payload.year(), 2027);
    EXPECT_EQ(payload.version(), 1);
    EXPECT_EQ(payload.calendar(), first.calendar());
  }
  // The same request again: the first answer, nothing more.
  ASSERT_TRUE(Import(admin_, estate_, kGroup2027, &replay, "cal-import-1").ok());
  EXPECT_EQ(replay.version(), 1);
  EXPECT_TRUE(replay.changed());
  EXPECT_EQ(CalendarEvents(), 1);
  // The same id for another file: refused.
  grpc::Status reused = Import(admin_, estate_, "year 2027\n", &replay, "cal-import-1");
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(reused), "request_id");
  // A new request with the identical year, written differently (the normalised form):
  // nothing changes, nothing is published.
  ASSERT_TRUE(Import(admin_, estate_, first.calendar(), &again).ok());
  EXPECT_FALSE(again.changed());
  EXPECT_EQ(again.version(), 1);
  EXPECT_EQ(CalendarEvents(), 1);
  EXPECT_EQ(Count("SELECT coalesce(sum(version), 0) FROM wuye_work_calendars"), 1);
  // A withdrawal publishes the year empty.
  ASSERT_TRUE(Withdraw(admin_, estate_, 2027, &again).ok());
  EXPECT_EQ(CalendarEvents(), 2);
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  auto row = tx.exec1(
      "SELECT envelope FROM wuye_outbox WHERE type = 'directory.calendar.changed'"
      " ORDER BY id DESC LIMIT 1");
  ev::Event event;
  ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[0]).str()));
  ev::CalendarChanged payload;
  ASSERT_TRUE(event.payload().UnpackTo(&payload));
  EXPECT_TRUE(payload.calendar().empty());
  EXPECT_EQ(payload.version(), 2);
  EXPECT_EQ(event.subject_version(), 2);
  std::cout << "FIGURE calendar_events_for_import_replay_identical_withdraw " << CalendarEvents()
            << "\n";
}

// Issue 27 §1, calendars "all through the API": a withdrawal retried with its request_id
// returns the first answer and withdraws nothing more (one version, one event), even after
// the year was imported again; the same id for another withdrawal is refused
// (REQUEST_ID_REUSED) and changes nothing.
TEST_F(CalendarServiceTest, AWithdrawalRetriedReplaysTheFirstAnswerAndReuseIsRefused) {
  v1::WorkCalendarChange imported, first, replay;
  ASSERT_TRUE(Import(admin_, estate_, kGroup2027, &imported).ok());
  ASSERT_TRUE(Import(admin_, "", kGroup2027, &imported).ok());
  ASSERT_EQ(CalendarEvents(), 2);
  v1::WithdrawWorkCalendarRequest req;
  req.set_request_id("cal-withdraw-1");
  req.set_estate_id(estate_);
  req.set_year(2027);
  ASSERT_TRUE(Call(&Stub::WithdrawWorkCalendar, admin_, req, &first).ok());
  EXPECT_TRUE(first.changed());
  EXPECT_EQ(first.version(), 2);
  EXPECT_EQ(CalendarEvents(), 3);
  // The estate's year imported again: the retry still answers the withdrawal it
  // made and does not withdraw the new one.
  ASSERT_TRUE(Import(admin_, estate_, kGroup2027, &imported).ok());
  EXPECT_TRUE(imported.changed());
  std::string before = Snapshot();
  ASSERT_TRUE(Call(&Stub::WithdrawWorkCalendar, admin_, req, &replay).ok());
  EXPECT_EQ(first.SerializeAsString(), replay.SerializeAsString());
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(CalendarEvents(), 4);
  v1::WorkCalendarYear year;
  ASSERT_TRUE(Get(admin_, estate_, 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_ESTATE);
  EXPECT_EQ(year.version(), imported.version());
  // The same id for the group's year: refused, and the group's year stays.
  v1::WithdrawWorkCalendarRequest other = req;
  other.set_estate_id("");
  grpc::Status st = Call(&Stub::WithdrawWorkCalendar, admin_, other, &replay);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(ErrorReason(FromGrpcStatus(st)), "REQUEST_ID_REUSED");
  EXPECT_EQ(Snapshot(), before);
  ASSERT_TRUE(Get(admin_, "", 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_GROUP);
}

// Two first imports of one year at once (two replicas, two operators): each gets its own
// version, and each version is published once.
TEST_F(CalendarServiceTest, ConcurrentFirstImportsTakeVersionsOneAfterTheOther) {
  v1::WorkCalendarChange a, b;
  auto first = std::async(std::launch::async, [&] {
    return Import(admin_, estate_, "year 2028\nsource A\n", &a).ok();
  });
  auto second = std::async(std::launch::async, [&] {
    return Import(admin_, estate_, "year 2028\nsource B\n", &b).ok();
  });
  ASSERT_TRUE(first.get());
  ASSERT_TRUE(second.get());
  EXPECT_NE(a.version(), b.version());
  EXPECT_EQ(std::max(a.version(), b.version()), 2);
  EXPECT_EQ(CalendarEvents(), 2);
  v1::WorkCalendarYear year;
  ASSERT_TRUE(Get(admin_, estate_, 2028, &year).ok());
  EXPECT_EQ(year.version(), 2);
  EXPECT_EQ(year.source(), a.version() == 2 ? "A" : "B");
}

// ---- Refusals ------------------------------------------------------------------------------

TEST_F(CalendarServiceTest, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  const std::string before = Snapshot();
  v1::WorkCalendarChange change;
  // A bad file: its line named.
  grpc::Status st = Import(admin_, "", "year 2027\nsource 通知\noff 2027-02-30 春节\n", &change);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "calendar");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "line 3:")) << st.error_message();
  st = Import(admin_, "", "year 2027\nwork 2027-03-03 调休\n", &change);  // a Wednesday
  EXPECT_EQ(Field(st), "calendar");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "line 2:")) << st.error_message();
  st = Import(admin_, "", "holiday 2027-01-01\n", &change);
  EXPECT_EQ(Field(st), "calendar");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "line 1:")) << st.error_message();
  EXPECT_EQ(Field(Import(admin_, "", "", &change)), "calendar");
  EXPECT_EQ(Field(Import(admin_, "", std::string(kMaxCalendarFileBytes + 1, '#'), &change)),
            "calendar");
  // Bad years.
  v1::WorkCalendarYear year;
  for (int bad : {0, 1999, 2101}) {
    st = Withdraw(admin_, "", bad, &change);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Field(st), "year");
    EXPECT_EQ(Field(Get(admin_, "", bad, &year)), "year");
  }
  st = Import(admin_, "", "year 1999\n", &change);
  EXPECT_EQ(Field(st), "calendar");
  // Bad deadlines.
  v1::ExplainDeadlineResponse due;
  EXPECT_EQ(Field(Explain(admin_, estate_, absl::CivilMinute(2026, 2, 12, 10, 0), "Asia/Shanghai",
                          absl::ZeroDuration(), kWorkingDays, &due)),
            "amount");
  EXPECT_EQ(Field(Explain(admin_, estate_, absl::CivilMinute(2026, 2, 12, 10, 0), "Asia/Shanghai",
                          -absl::Hours(1), kWorkingDays, &due)),
            "amount");
  EXPECT_EQ(Field(Explain(admin_, estate_, absl::CivilMinute(2026, 2, 12, 10, 0), "Asia/Shanghai",
                          absl::Hours(24 * 400), kWorkingDays, &due)),
            "amount");
  EXPECT_EQ(Field(Explain(admin_, estate_, absl::CivilMinute(1970, 1, 1, 10, 0), "UTC",
                          absl::Hours(1), kWorkingDays, &due)),
            "start_time");
  EXPECT_EQ(Field(Explain(admin_, estate_, absl::CivilMinute(2026, 2, 12, 10, 0), "UTC",
                          absl::Hours(1), static_cast<common::v1::SlaClock>(17), &due)),
            "clock");
  v1::ExplainDeadlineRequest no_start;
  no_start.set_estate_id(estate_);
  no_start.mutable_amount()->set_seconds(60);
  EXPECT_EQ(Field(Call(&Stub::ExplainDeadline, admin_, no_start, &due)), "start_time");
  EXPECT_EQ(Field(Explain(admin_, "", absl::CivilMinute(2026, 2, 12, 10, 0), "UTC", absl::Hours(1),
                          kWorkingDays, &due)),
            "estate_id");
  EXPECT_EQ(Snapshot(), before);
  // An estate that does not exist, or is another group's: NOT_FOUND, nothing stored.
  std::string other_group = MakeGroup("Other Property");
  std::string other_admin = TestToken(other_group, {"*"}, {"group_admin"});
  std::string theirs = MakeEstate(other_admin, "Their Estate", "Asia/Shanghai");
  const std::string with_their_estate = Snapshot();
  st = Import(admin_, theirs, kGroup2027, &change);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StartsWith(st.error_message(), "estate_id: ")) << st.error_message();
  EXPECT_EQ(Import(admin_, NewId(absl::Now()), kGroup2027, &change).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Withdraw(admin_, theirs, 2027, &change).error_code(), grpc::StatusCode::NOT_FOUND);
  // Refusals hold no request_id either: each kept nothing.
  EXPECT_EQ(Snapshot(), with_their_estate);
  EXPECT_EQ(CalendarEvents(), 0);
}

TEST_F(CalendarServiceTest, OnlyAdminsAndTheEstatesManagersChangeACalendar) {
  v1::WorkCalendarChange change;
  v1::WorkCalendarYear year;
  std::string agent = TestToken(group_, {estate_}, {"agent"});
  std::string supervisor = TestToken(group_, {estate_}, {"supervisor"});
  std::string manager = TestToken(group_, {estate_}, {"estate_manager"});
  std::string technician = TestToken(group_, {estate_}, {"technician"});
  std::string second = MakeEstate(admin_, "Second Gardens", "Asia/Shanghai");
  std::string second_manager = TestToken(group_, {second}, {"estate_manager"});
  const std::string after_estate = Snapshot();
  // The desk and its supervisor cannot import or withdraw; a manager not the group's.
  EXPECT_EQ(Import(agent, estate_, kGroup2027, &change).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Import(supervisor, "", kGroup2027, &change).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Import(manager, "", kGroup2027, &change).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Another estate's manager: not this estate's override.
  EXPECT_EQ(Import(second_manager, estate_, kGroup2027, &change).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Withdraw(agent, estate_, 2026, &change).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Snapshot(), after_estate);
  // The estate's manager may; its desk reads the result; a technician does not.
  ASSERT_TRUE(Import(manager, estate_, kGroup2027, &change).ok());
  ASSERT_TRUE(Get(agent, estate_, 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_ESTATE);
  EXPECT_EQ(Get(technician, estate_, 2027, &year).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A reader whose token does not name the estate.
  EXPECT_EQ(Get(TestToken(group_, {second}, {"agent"}), estate_, 2027, &year).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ExplainDeadlineResponse due;
  EXPECT_TRUE(Explain(agent, estate_, absl::CivilMinute(2027, 2, 5, 10, 0), "Asia/Shanghai",
                      kWorkingDay, kWorkingDays, &due)
                  .ok());
  EXPECT_EQ(Explain(technician, estate_, absl::CivilMinute(2027, 2, 5, 10, 0), "Asia/Shanghai",
                    kWorkingDay, kWorkingDays, &due)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CalendarServiceTest, AnotherGroupNeverSeesTheCalendar) {
  v1::WorkCalendarChange change;
  ASSERT_TRUE(Import(admin_, "", kGroup2027, &change).ok());
  ASSERT_TRUE(Import(admin_, estate_, "year 2026\nsource 管理处通知\n", &change).ok());
  std::string other_group = MakeGroup("Other Property");
  std::string other_admin = TestToken(other_group, {"*"}, {"group_admin"});
  // Its own group calendar of 2027: nobody's (not ours); of 2026: the State Council's.
  v1::WorkCalendarYear year;
  ASSERT_TRUE(Get(other_admin, "", 2027, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_NONE);
  EXPECT_FALSE(absl::StrContains(year.calendar(), "集团"));
  ASSERT_TRUE(Get(other_admin, "", 2026, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_NATIONAL);
  // Our estate: not there for them.
  grpc::Status st = Get(other_admin, estate_, 2026, &year);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ExplainDeadlineResponse due;
  EXPECT_EQ(Explain(other_admin, estate_, absl::CivilMinute(2026, 2, 12, 10, 0), "Asia/Shanghai",
                    kWorkingDay, kWorkingDays, &due)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Withdraw(other_admin, estate_, 2026, &change).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Their own import of 2027 does not touch ours.
  ASSERT_TRUE(Import(other_admin, "", "year 2027\nsource 他们的通知\n", &change).ok());
  EXPECT_EQ(change.version(), 1);
  ASSERT_TRUE(Get(admin_, "", 2027, &year).ok());
  EXPECT_EQ(year.source(), "集团行政部通知（测试）");
}

// ---- Deadlines ----------------------------------------------------------------------------

// 国务院办公厅关于2026年部分节假日安排的通知: 春节 2月15日至23日放假调休，共9天；2月14日（周六）、
// 2月28日（周六）上班. A reply due in 7 working days from Thursday 12 February 10:00 counts
// Thursday, Friday, the make-up Saturday the 14th, skips the nine days of the holiday, and
// ends on the make-up Saturday the 28th.
TEST_F(CalendarServiceTest, SevenWorkingDaysAcrossTheSpringFestivalOfTheNotice) {
  v1::ExplainDeadlineResponse due = MustExplain(estate_, absl::CivilMinute(2026, 2, 12, 10, 0),
                                                "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-02-28T10:00:00+08:00");
  EXPECT_EQ(due.time_zone(), "Asia/Shanghai");
  ASSERT_GE(due.skipped_size(), 1);
  EXPECT_EQ(Day(due.skipped(0).first()), "2026-02-15");
  EXPECT_EQ(Day(due.skipped(0).last()), "2026-02-23");
  EXPECT_EQ(due.skipped(0).name(), "春节");
  // The make-up Saturdays are not skipped; nothing else is.
  EXPECT_EQ(due.skipped_size(), 1);
  EXPECT_TRUE(absl::StrContains(due.explanation(), "2026-02-28（周六）10:00 到期"))
      << due.explanation();
  EXPECT_TRUE(absl::StrContains(due.explanation(), "2026-02-15至2026-02-23 春节"));
  std::cout << "FIGURE calendar_spring_festival_7_working_days_due " << due.due_local() << " "
            << due.explanation() << "\n";
}

// The same notice: 七、国庆节：10月1日至7日放假调休，共7天；9月20日（周日）、10月10日（周六）
// 上班 (中秋节 is its own holiday this year, 9月25日至27日). Office hours 09:00-12:00 and
// 13:30-17:30 (7 hours a working day).
TEST_F(CalendarServiceTest, OfficeHoursAcrossNationalDayOfTheNotice) {
  // 16:00 on Wednesday 30 September: 1.5 hours that day, the holiday skipped, 6.5 hours of
  // Thursday 8 October.
  v1::ExplainDeadlineResponse due = MustExplain(estate_, absl::CivilMinute(2026, 9, 30, 16, 0),
                                                "Asia/Shanghai", absl::Hours(8), kOfficeHours);
  EXPECT_EQ(due.due_local(), "2026-10-08T17:00:00+08:00");
  ASSERT_EQ(due.skipped_size(), 1);
  EXPECT_EQ(Day(due.skipped(0).first()), "2026-10-01");
  EXPECT_EQ(Day(due.skipped(0).last()), "2026-10-07");
  EXPECT_EQ(due.skipped(0).name(), "国庆节");
  EXPECT_TRUE(absl::StrContains(due.explanation(), "只计办公时间 09:00-12:00 13:30-17:30"));
  // From there 14 office hours: half an hour, Friday the 9th, and the make-up Saturday 10th.
  due = MustExplain(estate_, absl::CivilMinute(2026, 10, 8, 17, 0), "Asia/Shanghai",
                    absl::Hours(14), kOfficeHours);
  EXPECT_EQ(due.due_local(), "2026-10-10T17:00:00+08:00");
  EXPECT_EQ(due.skipped_size(), 0);
  // On the clock, the holiday counts like any day.
  due = MustExplain(estate_, absl::CivilMinute(2026, 9, 30, 16, 0), "Asia/Shanghai", absl::Hours(8),
                    kElapsed);
  EXPECT_EQ(due.due_local(), "2026-10-01T00:00:00+08:00");
  EXPECT_EQ(due.skipped_size(), 0);
  std::cout << "FIGURE calendar_national_day_8_office_hours_due 2026-10-08T17:00:00+08:00\n";
}

// New York's clocks go forward on Sunday 8 March 2026 (02:00 → 03:00). The estate there
// imports that Sunday as a make-up working day (a stocktake); the deadline is counted in its
// zone, across the change.
TEST_F(CalendarServiceTest, AcrossADaylightSavingChangeWithAnImportedWorkingSunday) {
  std::string ny = MakeEstate(admin_, "Hudson Yards Office", "America/New_York");
  const absl::CivilMinute saturday(2026, 3, 7, 10, 0);
  // Before the import: Sunday rests; 3 office hours end Monday 12:00, now in EDT (UTC-4).
  v1::ExplainDeadlineResponse due =
      MustExplain(ny, saturday, "America/New_York", absl::Hours(3), kOfficeHours);
  EXPECT_EQ(due.due_local(), "2026-03-09T12:00:00-04:00");
  EXPECT_EQ(due.time_zone(), "America/New_York");
  v1::WorkCalendarChange change;
  ASSERT_TRUE(Import(admin_, ny,
                     "year 2026\nsource Hudson Yards office notice\n"
                     "work 2026-03-08 stocktake Sunday\n",
                     &change)
                  .ok());
  // The working Sunday's office hours count: due Sunday 12:00 EDT, 16:00 UTC.
  due = MustExplain(ny, saturday, "America/New_York", absl::Hours(3), kOfficeHours);
  EXPECT_EQ(due.due_local(), "2026-03-08T12:00:00-04:00");
  EXPECT_EQ(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(due.due_time()), absl::UTCTimeZone()),
      "2026-03-08T16:00:00Z");
  ASSERT_EQ(due.skipped_size(), 1);
  EXPECT_EQ(due.skipped(0).name(), "周末");  // the Saturday only
  EXPECT_EQ(Day(due.skipped(0).last()), "2026-03-07");
  // A working day is the whole local day: that Sunday has 23 hours, so one working day from
  // Saturday ends at 01:00 on Monday.
  due = MustExplain(ny, saturday, "America/New_York", kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-09T01:00:00-04:00");
  // 24 hours on the clock from Saturday 10:00 EST end Sunday 11:00 EDT.
  due = MustExplain(ny, saturday, "America/New_York", absl::Hours(24), kElapsed);
  EXPECT_EQ(due.due_local(), "2026-03-08T11:00:00-04:00");
  // The Shanghai estate of the same group keeps the State Council's year.
  due = MustExplain(estate_, absl::CivilMinute(2026, 3, 7, 10, 0), "Asia/Shanghai", absl::Hours(3),
                    kOfficeHours);
  EXPECT_EQ(due.due_local(), "2026-03-09T12:00:00+08:00");
  std::cout << "FIGURE calendar_dst_working_sunday_3_office_hours_due 2026-03-08T16:00:00Z\n";
}

// 国务院办公厅关于2026年部分节假日安排的通知, with the estate's office closed on Friday 27
// February (imported between two calls): the same deadline moves a working day on, and back
// when the override is withdrawn.
TEST_F(CalendarServiceTest, ACalendarEditedBetweenTwoCallsMovesTheDeadline) {
  const absl::CivilMinute start(2026, 2, 12, 10, 0);
  v1::ExplainDeadlineResponse due =
      MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-02-28T10:00:00+08:00");
  v1::WorkCalendarChange change;
  ASSERT_TRUE(Import(admin_, estate_,
                     National2026With({{absl::CivilDay(2026, 2, 27), false, "管理处闭门盘点"}},
                                      "国务院办公厅关于2026年部分节假日安排的通知；管理处通知"),
                     &change)
                  .ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-02T10:00:00+08:00");
  ASSERT_EQ(due.skipped_size(), 3);
  EXPECT_EQ(due.skipped(1).name(), "管理处闭门盘点");
  EXPECT_EQ(due.skipped(2).name(), "周末");  // 1 March, a Sunday
  // The group's own 2026 does not reach an estate with its own year.
  ASSERT_TRUE(Import(admin_, "", "year 2026\nsource 集团通知\n", &change).ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-02T10:00:00+08:00");
  // Withdrawn: the group's year applies, which has no Spring Festival at all.
  ASSERT_TRUE(Withdraw(admin_, estate_, 2026, &change).ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-02-23T10:00:00+08:00");
  // And the group's withdrawn too: the State Council's again.
  ASSERT_TRUE(Withdraw(admin_, "", 2026, &change).ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-02-28T10:00:00+08:00");
  std::cout << "FIGURE calendar_edited_mid_deadline_due 2026-03-02T10:00:00+08:00\n";
}

// Issue 27 §1 (estate overrides): an estate's office closes one extra day by importing just
// that day as an overlay; the group's and the State Council's days stay beneath it, and a
// group that changes its year later still reaches the estate.
TEST_F(CalendarServiceTest, AnEstatesOverlayClosesOneDayAndKeepsTheLayersBelow) {
  v1::WorkCalendarChange change;
  ASSERT_TRUE(Import(admin_, estate_,
                     "year 2026\nmode overlay\nsource 管理处通知\noff 2026-02-27 管理处闭门盘点\n",
                     &change)
                  .ok());
  EXPECT_EQ(change.calendar(),
            "year 2026\nmode overlay\nsource 管理处通知\noff 2026-02-27 管理处闭门盘点\n");
  v1::WorkCalendarYear year;
  ASSERT_TRUE(Get(admin_, estate_, 2026, &year).ok());
  EXPECT_EQ(year.layer(), v1::CALENDAR_LAYER_ESTATE);
  EXPECT_TRUE(year.overlay());
  EXPECT_EQ(year.days_size(), 40);  // the notice's 39 and the stocktake
  EXPECT_TRUE(absl::StrContains(year.source(), kNotice2026)) << year.source();
  EXPECT_TRUE(absl::StrContains(year.source(), "管理处通知")) << year.source();
  EXPECT_EQ(year.calendar(), change.calendar());  // what the operator edits is the overlay
  const absl::CivilMinute start(2026, 2, 12, 10, 0);
  v1::ExplainDeadlineResponse due =
      MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-02T10:00:00+08:00");
  ASSERT_EQ(due.skipped_size(), 3);
  EXPECT_EQ(due.skipped(0).name(), "春节");
  EXPECT_EQ(due.skipped(1).name(), "管理处闭门盘点");
  // The group moves a day of its own later: the estate's overlay lies on the group's year.
  ASSERT_TRUE(Import(admin_, "",
                     "year 2026\nmode overlay\nsource 集团通知\noff 2026-02-13 集团年会\n", &change)
                  .ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-03T10:00:00+08:00");
  ASSERT_TRUE(Get(admin_, estate_, 2026, &year).ok());
  EXPECT_EQ(year.days_size(), 41);
  // The estate's overlay withdrawn: only the group's day stays.
  ASSERT_TRUE(Withdraw(admin_, estate_, 2026, &change).ok());
  due = MustExplain(estate_, start, "Asia/Shanghai", 7 * kWorkingDay, kWorkingDays);
  EXPECT_EQ(due.due_local(), "2026-03-02T10:00:00+08:00");
  std::cout << "FIGURE calendar_overlay_due 2026-03-03T10:00:00+08:00\n";
}

}  // namespace
}  // namespace wuye::directory
