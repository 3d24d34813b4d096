// Performance over real gRPC against a real PostgreSQL database of its own. Other services'
// events are fed through performance's own handler, as the bus would feed them; the clock
// is a FakeClock so that appeal windows open and close on cue.
#include "services/performance/performance_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/performance/consumers.h"
#include "services/performance/evidence_flow.h"
#include "shared/bus.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/redis.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/zone.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/duty_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/events/v1/performance_events.pb.h"

namespace wuye::performance {
namespace {

using Stub = pb::PerformanceService::Stub;
using ::wuye::testing::TestToken;
namespace ev = ::wuye::events::v1;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}

class PerformanceServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(performance_migrations(), 8);
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<PerformanceServiceImpl>(*db_, *verifier_, clock_);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.performance.v1.PerformanceService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = pb::PerformanceService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_->port()), grpc::InsecureChannelCredentials()));
    handler_ = MakeHandler(*db_);
    group_ = NewId(absl::Now());
    estate_ = Estate(group_);
    manager_ = Staff({ev::STAFF_ROLE_ESTATE_MANAGER}, estate_);
    inspector_ = Staff({ev::STAFF_ROLE_QUALITY_INSPECTOR}, estate_);
    agent_ = Staff({ev::STAFF_ROLE_AGENT}, estate_);
    tech_ = Staff({ev::STAFF_ROLE_TECHNICIAN}, estate_);
    admin_tok_ = TestToken(group_, {"*"}, {"group_admin"}, "admin-1");
    manager_tok_ = TestToken(group_, {estate_}, {"estate_manager"}, manager_);
    inspector_tok_ = TestToken(group_, {estate_}, {"quality_inspector"}, inspector_);
    agent_tok_ = TestToken(group_, {estate_}, {"agent"}, agent_);
    tech_tok_ = TestToken(group_, {estate_}, {"technician"}, tech_);
  }

  // Applies an event of another service through performance's handler.
  absl::Status Deliver(const std::string& type, const std::string& group,
                       const google::protobuf::Message& payload, const std::string& estate = "",
                       std::string event_id = "", int64_t version = 1) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
    if (!event_id.empty()) e.set_event_id(event_id);
    e.set_estate_id(estate);
    e.set_subject_version(version);
    *e.mutable_occurred_at() = ToProtoTime(clock_.Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  }

  std::string Estate(const std::string& group) {
    ev::EstateChanged e;
    e.set_estate_id(NewId(absl::Now()));
    e.set_time_zone("Asia/Shanghai");
    e.set_version(1);
    EXPECT_TRUE(Deliver("directory.estate.created", group, e, e.estate_id()).ok());
    return e.estate_id();
  }

  std::string Staff(std::vector<ev::StaffRole> roles, const std::string& estate,
                    const std::string& group = "") {
    ev::StaffChanged s;
    s.set_staff_id(NewId(absl::Now()));
    for (auto r : roles) s.add_roles(r);
    s.add_home_estate_ids(estate);
    s.set_active(true);
    s.set_version(1);
    EXPECT_TRUE(Deliver("directory.staff.created", group.empty() ? group_ : group, s).ok());
    return s.staff_id();
  }

  // A verified complaint against `staff` (−20), as intake sends it.
  std::string Complaint(const std::string& staff, absl::Time at, const std::string& id = "") {
    ev::ComplaintVerified c;
    c.set_ticket_id(NewId(absl::Now()));
    c.set_estate_id(estate_);
    c.set_staff_id(staff);
    *c.mutable_verified_at() = ToProtoTime(at);
    std::string event_id = id.empty() ? NewId(absl::Now()) : id;
    EXPECT_TRUE(Deliver("intake.complaint.verified", group_, c, estate_, event_id).ok());
    return event_id;
  }

  // A shift of the roster, as the directory publishes it.
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

  // intake's finding of a call in the carrier's log nobody recorded; `resident` unset
  // when intake did not say.
  std::string UnrecordedCall(absl::Time at, std::optional<bool> resident) {
    ev::UnrecordedCall u;
    u.set_finding_id(NewId(absl::Now()));
    u.set_estate_id(estate_);
    *u.mutable_call_at() = ToProtoTime(at);
    u.set_duration_seconds(90);
    if (resident) u.set_caller_is_resident(*resident);
    EXPECT_TRUE(Deliver("intake.call.unrecorded", group_, u, estate_).ok());
    return u.finding_id();
  }

  pb::QualityLedger Ledger(int year, int month, const std::string& token = "") {
    pb::GetQualityLedgerRequest req;
    req.set_estate_id(estate_);
    *req.mutable_period() = MakeMonth(year, month);
    pb::QualityLedger out;
    grpc::Status st =
        Call(&Stub::GetQualityLedger, token.empty() ? manager_tok_ : token, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  std::vector<pb::CallFinding> Findings(int year, int month) {
    pb::ListCallFindingsRequest req;
    req.set_estate_id(estate_);
    *req.mutable_period() = MakeMonth(year, month);
    pb::ListCallFindingsResponse out;
    grpc::Status st = Call(&Stub::ListCallFindings, manager_tok_, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {out.findings().begin(), out.findings().end()};
  }

  grpc::Status Dismiss(const std::string& token, const std::string& finding, pb::CallFinding* out,
                       const std::string& reason = "the caller was a courier") {
    pb::DismissCallFindingRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_finding_id(finding);
    req.set_reason(reason);
    return Call(&Stub::DismissCallFinding, token, req, out);
  }

  grpc::Status Confirm(const std::string& token, const std::string& quality_line,
                       pb::QualityLine* out, const std::string& ref = "监督委员会 2026-10 纪要 3") {
    pb::ConfirmQualityLineRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_quality_line_id(quality_line);
    req.set_confirmation_ref(ref);
    return Call(&Stub::ConfirmQualityLine, token, req, out);
  }

  // The group sets a form item's points.
  void FormPoints(const std::string& code, int32_t points) {
    pb::UpdateFormItemRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_item()->set_code(code);
    req.mutable_item()->set_points(points);
    pb::FormItem out;
    grpc::Status st = Call(&Stub::UpdateFormItem, admin_tok_, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  pb::CreateManualEntryRequest Entry(const std::string& staff, const std::string& rule,
                                     absl::Time at) {
    pb::CreateManualEntryRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_staff_id(staff);
    req.set_rule(rule);
    req.set_note("seen on patrol at gate 2");
    *req.mutable_occurred_at() = ToProtoTime(at);
    return req;
  }

  pb::Sheet Sheet(const std::string& staff, int year, int month, const std::string& token = "") {
    pb::GetSheetRequest req;
    req.set_staff_id(staff);
    *req.mutable_period() = MakeMonth(year, month);
    pb::Sheet sheet;
    grpc::Status st = Call(&Stub::GetSheet, token.empty() ? admin_tok_ : token, req, &sheet);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return sheet;
  }

  grpc::Status Appeal(const std::string& token, const std::string& line, pb::Appeal* out) {
    pb::CreateAppealRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_line_id(line);
    req.set_reason("the resident withdrew the complaint");
    return Call(&Stub::CreateAppeal, token, req, out);
  }

  grpc::Status Decide(const std::string& token, const std::string& appeal, pb::Decision d,
                      pb::Appeal* out) {
    pb::DecideAppealRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_appeal_id(appeal);
    req.set_decision(d);
    req.set_reason("checked the call recording");
    return Call(&Stub::DecideAppeal, token, req, out);
  }

  // The estate office's appeal against a line of its quality ledger.
  grpc::Status QualityAppeal(const std::string& token, const std::string& quality_line,
                             pb::Appeal* out, const std::string& request_id = "") {
    pb::CreateAppealRequest req;
    req.set_request_id(request_id.empty() ? NewId(absl::Now()) : request_id);
    req.set_quality_line_id(quality_line);
    req.set_reason("the resident's complaint concerned the developer, not the office");
    return Call(&Stub::CreateAppeal, token, req, out);
  }

  // The supervisory committee's decision of an office appeal, recorded with its reference.
  grpc::Status CommitteeDecides(const std::string& token, const std::string& appeal, pb::Decision d,
                                pb::Appeal* out,
                                const std::string& ref = "监督委员会 2026-11 纪要 7",
                                const std::string& request_id = "") {
    pb::DecideAppealRequest req;
    req.set_request_id(request_id.empty() ? NewId(absl::Now()) : request_id);
    req.set_appeal_id(appeal);
    req.set_decision(d);
    req.set_reason("the committee heard the office and the resident");
    req.set_decision_ref(ref);
    return Call(&Stub::DecideAppeal, token, req, out);
  }

  // The office line of `item` in the ledger of October 2026.
  pb::QualityLine OfficeLine(const std::string& item, const std::string& estate = "") {
    pb::GetQualityLedgerRequest req;
    req.set_estate_id(estate.empty() ? estate_ : estate);
    *req.mutable_period() = MakeMonth(2026, 10);
    pb::QualityLedger ledger;
    EXPECT_TRUE(Call(&Stub::GetQualityLedger, admin_tok_, req, &ledger).ok());
    for (const auto& l : ledger.lines()) {
      if (l.item() == item) return l;
    }
    ADD_FAILURE() << "no office line " << item;
    return {};
  }

  grpc::Status Close(const std::string& token, const std::string& estate, int y, int m,
                     pb::CloseMonthResponse* out, const std::string& request_id = "") {
    pb::CloseMonthRequest req;
    req.set_request_id(request_id.empty() ? NewId(absl::Now()) : request_id);
    req.set_estate_id(estate);
    *req.mutable_period() = MakeMonth(y, m);
    return Call(&Stub::CloseMonth, token, req, out);
  }

  int64_t Query(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  std::string Snapshot() {
    std::string out;
    for (const char* t :
         {"rule_overrides", "settings", "sheets", "lines", "facts", "team_kpis", "appeals",
          "wuye_outbox", "wuye_idempotency", "quality_lines", "form_items", "call_findings"}) {
      absl::StrAppend(&out, t, "=", Query(absl::StrCat("SELECT count(*) FROM ", t)), " ");
    }
    return out;
  }
  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  FakeClock clock_{Utc(2026, 10, 15, 4)};
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<PerformanceServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  EventHandler handler_;
  std::string group_, estate_, manager_, inspector_, agent_, tech_;
  std::string admin_tok_, manager_tok_, inspector_tok_, agent_tok_, tech_tok_;
};

// ---- rules and settings -------------------------------------------------------------------------

TEST_F(PerformanceServiceTest, RulesAndSettingsBelongToTheGroupAdmin) {
  pb::ListRulesResponse rules;
  ASSERT_TRUE(Call(&Stub::ListRules, agent_tok_, pb::ListRulesRequest(), &rules).ok());
  ASSERT_EQ(rules.rules_size(), 14);

  pb::UpdateRuleRequest up;
  up.set_request_id(NewId(absl::Now()));
  up.set_code("work_unsigned");
  up.set_points(-30);
  pb::Rule rule;
  EXPECT_EQ(Call(&Stub::UpdateRule, manager_tok_, up, &rule).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string before = Snapshot();
  up.set_code("no_such_rule");
  EXPECT_EQ(Field(Call(&Stub::UpdateRule, admin_tok_, up, &rule)), "code");
  up.set_code("work_unsigned");
  up.set_points(5);  // a deduction cannot become a reward
  EXPECT_EQ(Field(Call(&Stub::UpdateRule, admin_tok_, up, &rule)), "points");
  pb::UpdateSettingsRequest us;
  us.set_request_id(NewId(absl::Now()));
  us.mutable_settings()->set_base_score(0);
  us.mutable_settings()->set_appeal_window_days(5);
  pb::Settings settings;
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, us, &settings)), "settings.base_score");
  us.mutable_settings()->set_base_score(101);  // a form is of 100 points (002_…, 第七章)
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, us, &settings)), "settings.base_score");
  up.set_points(-30);
  up.set_form_item("no_such_item");
  EXPECT_EQ(Field(Call(&Stub::UpdateRule, admin_tok_, up, &rule)), "form_item");
  up.set_code("arrears_above_baseline");
  up.set_points(-1000);
  up.set_form_item("quarrel");  // the team's arrears move onto nobody's form
  EXPECT_EQ(Field(Call(&Stub::UpdateRule, admin_tok_, up, &rule)), "form_item");
  up.set_code("work_unsigned");
  up.clear_form_item();
  EXPECT_EQ(Snapshot(), before);  // nothing written

  up.set_points(-30);
  ASSERT_TRUE(Call(&Stub::UpdateRule, admin_tok_, up, &rule).ok());
  EXPECT_EQ(rule.points(), -30);
  EXPECT_EQ(rule.default_points(), -20);
  EXPECT_EQ(rule.form_item(), "work_unsigned");
  EXPECT_EQ(rule.clause(), "000_… 二.5");
  // The estate inherits the group's points: the next missing signature costs the office
  // 30 (000_…, 二.5); the worker's form loses the form item's points (002_…, 第七章).
  ev::WorkOrderChanged w;
  w.set_work_order_id(NewId(absl::Now()));
  w.set_estate_id(estate_);
  w.add_worker_ids(tech_);
  ASSERT_TRUE(Deliver("dispatch.work_order.signature_missing", group_, w, estate_).ok());
  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  EXPECT_EQ(ledger.lines(0).points(), -30);
  EXPECT_EQ(ledger.score(), -30);
  pb::Sheet s = Sheet(tech_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  EXPECT_EQ(s.lines(0).points(), -2);
  EXPECT_EQ(s.lines(0).quality_line_id(), ledger.lines(0).id());
  EXPECT_EQ(s.score(), 98);

  pb::Settings got;
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, pb::GetSettingsRequest(), &got).ok());
  EXPECT_EQ(got.base_score(), 100);
  EXPECT_EQ(got.appeal_window_days(), 5);
}

// ---- manual entries
// -------------------------------------------------------------------------------

TEST_F(PerformanceServiceTest, ManualEntryBadInputNamesTheFieldAndWritesNothing) {
  absl::Time at = Utc(2026, 10, 14);
  std::string before = Snapshot();
  struct Case {
    std::function<void(pb::CreateManualEntryRequest&)> mutate;
    std::string field;
  } cases[] = {
      {[](auto& r) { r.set_staff_id(""); }, "staff_id"},
      {[](auto& r) { r.set_staff_id("not-an-id"); }, "staff_id"},
      {[](auto& r) { r.set_rule("made_up"); }, "rule"},
      {[](auto& r) { r.set_rule("call_unrecorded"); }, "rule"},  // counted from events
      {[](auto& r) { r.set_note(""); }, "note"},
      {[](auto& r) { r.set_note(std::string(2001, 'x')); }, "note"},
      {[](auto& r) { r.clear_occurred_at(); }, "occurred_at"},
      {[&](auto& r) { *r.mutable_occurred_at() = ToProtoTime(clock_.Now() + absl::Hours(2)); },
       "occurred_at"},
      // An absurd year is refused here, never by PostgreSQL (INTERNAL, "error 22007").
      {[](auto& r) { r.mutable_occurred_at()->set_seconds(-62198755200); }, "occurred_at"},
      {[](auto& r) { r.mutable_occurred_at()->set_seconds(-1); }, "occurred_at"},
      {[](auto& r) { r.mutable_occurred_at()->set_nanos(-5); }, "occurred_at"},
      // Privacy: the note holds no phone or ID number.
      {[](auto& r) { r.set_note("the resident (138 0013 8000) saw it"); }, "note"},
      {[](auto& r) { r.set_request_id(""); }, "request_id"},
  };
  for (const auto& c : cases) {
    pb::CreateManualEntryRequest req = Entry(agent_, "no_daily_log", at);
    c.mutate(req);
    pb::Line line;
    grpc::Status st = Call(&Stub::CreateManualEntry, inspector_tok_, req, &line);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(Field(st), c.field);
  }
  pb::Line line;
  EXPECT_EQ(Call(&Stub::CreateManualEntry, inspector_tok_,
                 Entry(NewId(absl::Now()), "no_daily_log", at), &line)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(PerformanceServiceTest, StaffCannotEnterPointsNorForThemselves) {
  absl::Time at = Utc(2026, 10, 14);
  pb::Line line;
  // An agent or technician enters nothing.
  EXPECT_EQ(Call(&Stub::CreateManualEntry, agent_tok_, Entry(tech_, "dress_code", at), &line)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nobody enters points on their own sheet, not even a reward.
  EXPECT_EQ(Call(&Stub::CreateManualEntry, inspector_tok_,
                 Entry(inspector_, "housing_claim_help", at), &line)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A team lead of another estate cannot enter points here.
  std::string other_estate = Estate(group_);
  std::string lead_elsewhere = TestToken(group_, {other_estate}, {"team_lead"}, NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::CreateManualEntry, lead_elsewhere, Entry(agent_, "dress_code", at), &line)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Query("SELECT count(*) FROM lines"), 0);

  ASSERT_TRUE(
      Call(&Stub::CreateManualEntry, inspector_tok_, Entry(agent_, "dress_code", at), &line).ok());
  EXPECT_EQ(line.points(), -1);  // the form item's points; the office's −10 is its ledger's
  EXPECT_EQ(line.entered_by(), inspector_);
  EXPECT_EQ(line.note(), "seen on patrol at gate 2");
  EXPECT_FALSE(line.quality_line_id().empty());
  ASSERT_TRUE(
      Call(&Stub::CreateManualEntry, manager_tok_, Entry(agent_, "housing_claim_help", at), &line)
          .ok());
  EXPECT_TRUE(line.pending());
  pb::Sheet s = Sheet(agent_, 2026, 10, agent_tok_);  // the staff member reads their own
  EXPECT_EQ(s.score(), 99);  // the reward waits for the committee's confirmation
  EXPECT_EQ(s.grade(), "excellent");
  EXPECT_EQ(s.lines_size(), 2);
  // Another staff member cannot read it.
  pb::GetSheetRequest req;
  req.set_staff_id(agent_);
  *req.mutable_period() = MakeMonth(2026, 10);
  EXPECT_EQ(Call(&Stub::GetSheet, tech_tok_, req, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PerformanceServiceTest, RequestIdRetryAndReuse) {
  pb::CreateManualEntryRequest req = Entry(agent_, "quarrel", Utc(2026, 10, 14));
  pb::Line first, again;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_, req, &again).ok());
  EXPECT_EQ(first.id(), again.id());
  EXPECT_EQ(Query("SELECT count(*) FROM lines"), 1);
  req.set_rule("uncivil_language");
  grpc::Status st = Call(&Stub::CreateManualEntry, inspector_tok_, req, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Query("SELECT count(*) FROM lines"), 1);
}

TEST_F(PerformanceServiceTest, ConcurrentRetriesWriteOneLine) {
  pb::CreateManualEntryRequest req = Entry(agent_, "no_daily_log", Utc(2026, 10, 14));
  std::vector<std::thread> threads;
  std::vector<pb::Line> lines(8);
  std::vector<grpc::Status> status(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { status[i] = Call(&Stub::CreateManualEntry, inspector_tok_, req, &lines[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(status[i].ok()) << status[i].error_message();
    EXPECT_EQ(lines[i].id(), lines[0].id());
  }
  EXPECT_EQ(Query("SELECT count(*) FROM lines"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM sheets"), 1);
}

TEST_F(PerformanceServiceTest, AnotherGroupSeesNothing) {
  std::string line_event = Complaint(agent_, Utc(2026, 10, 10));
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  pb::Appeal appeal;
  ASSERT_TRUE(Appeal(agent_tok_, s.lines(0).id(), &appeal).ok());

  std::string other = NewId(absl::Now());
  std::string other_admin = TestToken(other, {"*"}, {"group_admin"}, "admin-2");
  std::string other_manager = TestToken(other, {"*"}, {"estate_manager"}, "mgr-2");
  std::string other_agent = TestToken(other, {"*"}, {"agent", "estate_manager"}, agent_);
  std::string before = Snapshot();

  pb::GetSheetRequest get;
  get.set_staff_id(agent_);
  *get.mutable_period() = MakeMonth(2026, 10);
  EXPECT_EQ(Call(&Stub::GetSheet, other_admin, get, &s).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::Line line;
  EXPECT_EQ(Call(&Stub::CreateManualEntry, other_manager,
                 Entry(agent_, "quarrel", Utc(2026, 10, 9)), &line)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::Appeal a;
  // Even a token with the same subject but of another group cannot appeal the line.
  EXPECT_EQ(Appeal(other_agent, s.lines(0).id(), &a).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Decide(other_manager, appeal.id(), pb::DECISION_UPHOLD, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::ListRankingsRequest rank;
  rank.set_estate_id(estate_);
  *rank.mutable_period() = MakeMonth(2026, 10);
  pb::ListRankingsResponse ranks;
  ASSERT_TRUE(Call(&Stub::ListRankings, other_admin, rank, &ranks).ok());
  EXPECT_EQ(ranks.rankings_size(), 0);
  pb::ExportSheetsRequest exp;
  exp.set_estate_id(estate_);
  *exp.mutable_period() = MakeMonth(2026, 10);
  pb::ExportSheetsResponse csv;
  ASSERT_TRUE(Call(&Stub::ExportSheets, other_admin, exp, &csv).ok());
  EXPECT_EQ(std::count(csv.csv().begin(), csv.csv().end(), '\n'), 1);  // the header only
  EXPECT_EQ(Snapshot(), before);
  clock_.Set(Utc(2026, 11, 20));
  pb::CloseMonthResponse closed;
  ASSERT_TRUE(Close(other_admin, "", 2026, 10, &closed).ok());
  EXPECT_EQ(closed.sheets_closed(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM sheets WHERE state = 2"), 0);
  // Tokens without a token, or for other estates.
  EXPECT_EQ(Call(&Stub::GetSheet, "", get, &s).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string elsewhere = TestToken(group_, {Estate(group_)}, {"estate_manager"}, "mgr-3");
  EXPECT_EQ(Call(&Stub::GetSheet, elsewhere, get, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::ListRankings, elsewhere, rank, &ranks).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// ---- evidence
// ---------------------------------------------------------------------------------------

TEST_F(PerformanceServiceTest, TheSameEvidenceEventTwiceCountsOnce) {
  std::string id = NewId(absl::Now());
  Complaint(agent_, Utc(2026, 10, 10), id);
  Complaint(agent_, Utc(2026, 10, 10), id);  // redelivered past the inbox
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  EXPECT_EQ(s.lines(0).evidence_ref(), id);
  EXPECT_EQ(s.lines(0).rule(), "complaint_verified");
  EXPECT_EQ(s.score(), 98);
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 1);

  // The batch path too: the same callback twice in one batch and once more after.
  ev::CallbackRecorded c;
  c.set_callback_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.set_satisfaction(wuye::common::v1::SATISFACTION_UNSATISFIED);
  c.add_worker_ids(tech_);
  ev::Event e = ::wuye::testing::TestEvent("intake.callback.recorded", group_, c);
  *e.mutable_occurred_at() = ToProtoTime(Utc(2026, 10, 11));
  PerformanceStore store(*db_);
  std::map<std::string, int32_t> rule_points;
  for (const RuleDef& r : Catalogue()) rule_points[std::string(r.code)] = r.default_points;
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) -> absl::Status {
                     std::vector<Evidence> batch;
                     for (int i = 0; i < 2; ++i) {
                       WUYE_ASSIGN_OR_RETURN(Evidence evidence,
                                             EvidenceOf(e, rule_points, EstateZone("")));
                       batch.push_back(std::move(evidence));
                     }
                     return EvidenceFlow(store).Apply(tx, group_, std::move(batch));
                   })
                    .ok());
  }
  pb::Sheet t = Sheet(tech_, 2026, 10);
  ASSERT_EQ(t.lines_size(), 1);
  EXPECT_EQ(t.score(), 98);
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 2);
  EXPECT_EQ(Ledger(2026, 10).score(), -40);
}

// docs/events.md (consumers): an event whose payload is not the message its type carries is
// refused (it reaches the dead letters), where it used to count as no evidence; a type
// performance does not route is nothing to do. Neither writes anything.
TEST_F(PerformanceServiceTest, AnEventWithAnotherPayloadIsRefusedNotSkipped) {
  ev::CallbackRecorded c;
  c.set_estate_id(estate_);
  c.set_satisfaction(wuye::common::v1::SATISFACTION_UNSATISFIED);
  c.add_worker_ids(tech_);
  for (const char* type : {"intake.complaint.verified", "dispatch.work_order.signature_missing",
                           "directory.shift.created", "billing.collection.reported"}) {
    EXPECT_EQ(Deliver(type, group_, c, estate_).code(), absl::StatusCode::kInvalidArgument) << type;
  }
  EXPECT_TRUE(Deliver("intake.complaint.major", group_, c, estate_).ok());
  EXPECT_EQ(Sheet(tech_, 2026, 10).lines_size(), 0);
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 0);
}

// ---- two ledgers: the office's quality score, people's 100-point forms -------------------------

// 000_…, 二 (服务质量标准分值: −10/−20/−50, +100 for a housing claim confirmed by the
// supervisory committee, 二.11) is the office's ledger; 002_…, 第七章 grades a person's
// 100-point monthly form (98+, 91–97, 86–90, ≤ 85). One −50 no longer fails a person and one
// +100 no longer gives them 200.
TEST_F(PerformanceServiceTest, OfficeQualityScoreAndPeoplesFormsAreTwoLedgers) {
  absl::Time at = Utc(2026, 10, 14);
  pb::Line line;
  ASSERT_TRUE(
      Call(&Stub::CreateManualEntry, inspector_tok_, Entry(agent_, "physical_conflict", at), &line)
          .ok());
  EXPECT_EQ(line.points(), -5);
  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  EXPECT_EQ(ledger.lines(0).item(), "physical_conflict");
  EXPECT_EQ(ledger.lines(0).points(), -50);
  EXPECT_EQ(ledger.lines(0).state(), pb::QUALITY_LINE_STATE_COUNTED);
  ASSERT_EQ(ledger.lines(0).responsible_staff_ids_size(), 1);
  EXPECT_EQ(ledger.lines(0).responsible_staff_ids(0), agent_);  // who caused it
  EXPECT_EQ(ledger.lines(0).entered_by(), inspector_);
  EXPECT_EQ(ledger.score(), -50);
  EXPECT_EQ(line.quality_line_id(), ledger.lines(0).id());
  pb::Sheet s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(s.score(), 95);
  EXPECT_EQ(s.grade(), "good");  // not failed by one −50

  // A housing claim: +100 for the office and +10 on the helper's form, only once the
  // committee's confirmation is recorded.
  ASSERT_TRUE(
      Call(&Stub::CreateManualEntry, manager_tok_, Entry(tech_, "housing_claim_help", at), &line)
          .ok());
  EXPECT_TRUE(line.pending());
  ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 2);
  pb::QualityLine claim;
  for (const auto& l : ledger.lines()) {
    if (l.item() == "housing_claim_help") claim = l;
  }
  EXPECT_EQ(claim.id(), line.quality_line_id());
  EXPECT_EQ(claim.state(), pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION);
  EXPECT_EQ(ledger.awaiting_confirmation(), 1);
  EXPECT_EQ(ledger.score(), -50);  // not counted yet
  ASSERT_TRUE(
      Call(&Stub::CreateManualEntry, inspector_tok_, Entry(tech_, "physical_conflict", at), &line)
          .ok());
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 95);

  // Who records it and bad input.
  std::string before = Snapshot();
  pb::QualityLine confirmed;
  EXPECT_EQ(Confirm(inspector_tok_, claim.id(), &confirmed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Field(Confirm(manager_tok_, claim.id(), &confirmed, "")), "confirmation_ref");
  EXPECT_EQ(Field(Confirm(manager_tok_, "nope", &confirmed)), "quality_line_id");
  EXPECT_EQ(Confirm(manager_tok_, NewId(absl::Now()), &confirmed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  std::string elsewhere = TestToken(group_, {Estate(group_)}, {"estate_manager"}, "mgr-9");
  EXPECT_EQ(Confirm(elsewhere, claim.id(), &confirmed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string other_group = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, "admin-9");
  EXPECT_EQ(Confirm(other_group, claim.id(), &confirmed).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);

  ASSERT_TRUE(Confirm(manager_tok_, claim.id(), &confirmed).ok());
  EXPECT_EQ(confirmed.state(), pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_EQ(confirmed.confirmed_by(), manager_);
  EXPECT_EQ(confirmed.confirmation_ref(), "监督委员会 2026-10 纪要 3");
  EXPECT_EQ(Reason(Confirm(manager_tok_, claim.id(), &confirmed)), "NOT_AWAITING_CONFIRMATION");
  ledger = Ledger(2026, 10);
  EXPECT_EQ(ledger.score(), -50 + 100 - 50);
  EXPECT_EQ(ledger.awaiting_confirmation(), 0);
  s = Sheet(tech_, 2026, 10);
  EXPECT_EQ(s.score(), 100);  // 95 + 10, never above 100
  EXPECT_EQ(s.grade(), "excellent");

  // Never below 0: the group's own heavy form item, three times.
  FormPoints("quarrel", -40);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Call(&Stub::CreateManualEntry, inspector_tok_, Entry(agent_, "quarrel", at), &line).ok());
  }
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 0);
  EXPECT_EQ(Ledger(2026, 10).score(), -50 + 100 - 50 - 60);

  // Rankings, the team sheet and the export read the forms; the team sheet shows the
  // office's score apart.
  pb::ListRankingsRequest rank;
  rank.set_estate_id(estate_);
  *rank.mutable_period() = MakeMonth(2026, 10);
  pb::ListRankingsResponse ranks;
  ASSERT_TRUE(Call(&Stub::ListRankings, manager_tok_, rank, &ranks).ok());
  ASSERT_EQ(ranks.rankings_size(), 4);
  EXPECT_EQ(ranks.rankings(0).score(), 100);
  EXPECT_EQ(ranks.rankings(3).staff_id(), agent_);
  EXPECT_EQ(ranks.rankings(3).score(), 0);
  pb::GetTeamSheetRequest treq;
  treq.set_estate_id(estate_);
  *treq.mutable_period() = MakeMonth(2026, 10);
  pb::TeamSheet team;
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, treq, &team).ok());
  EXPECT_EQ(team.quality_score(), -60);
  EXPECT_EQ(team.average_score(), (100 + 100 + 100 + 0) / 4);
  // The ledger is for managers of the estate.
  pb::GetQualityLedgerRequest lreq;
  lreq.set_estate_id(estate_);
  *lreq.mutable_period() = MakeMonth(2026, 10);
  pb::QualityLedger out;
  EXPECT_EQ(Call(&Stub::GetQualityLedger, agent_tok_, lreq, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetQualityLedger, elsewhere, lreq, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::GetQualityLedger, other_group, lreq, &out).ok());
  EXPECT_EQ(out.lines_size(), 0);
  lreq.mutable_period()->set_month(0);
  EXPECT_EQ(Field(Call(&Stub::GetQualityLedger, manager_tok_, lreq, &out)), "period.month");

  // Closing grades the forms within 0..100.
  clock_.Set(Utc(2026, 11, 20));
  pb::CloseMonthResponse closed;
  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &closed).ok());
  EXPECT_EQ(closed.excellent(), 3);
  EXPECT_EQ(closed.fail(), 1);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 0);
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 100);
}

// 002_…, 第七章: the form's items and points are the group's; the office item moves onto the
// responsible person's form by the group's mapping (000_… items → form items).
TEST_F(PerformanceServiceTest, FormItemsAndTheirMappingAreTheGroups) {
  pb::ListFormItemsResponse items;
  ASSERT_TRUE(Call(&Stub::ListFormItems, agent_tok_, pb::ListFormItemsRequest(), &items).ok());
  ASSERT_EQ(items.items_size(), 12);
  EXPECT_EQ(items.items(0).code(), "handover_not_recorded");
  EXPECT_EQ(items.items(0).points(), -1);

  pb::UpdateFormItemRequest req;
  req.set_request_id(NewId(absl::Now()));
  req.mutable_item()->set_code("late_to_work");
  req.mutable_item()->set_points(-3);
  pb::FormItem item;
  std::string before = Snapshot();
  EXPECT_EQ(Call(&Stub::UpdateFormItem, manager_tok_, req, &item).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, req, &item)), "item.name");  // new
  req.mutable_item()->set_name("late to work");
  req.mutable_item()->set_points(-300);
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, req, &item)), "item.points");
  req.mutable_item()->set_points(-3);
  req.mutable_item()->set_code("Late");
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, req, &item)), "item.code");
  req.mutable_item()->set_code("arrears_above_baseline");
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, req, &item)), "item.code");
  EXPECT_EQ(Snapshot(), before);
  req.mutable_item()->set_code("late_to_work");
  ASSERT_TRUE(Call(&Stub::UpdateFormItem, admin_tok_, req, &item).ok());
  EXPECT_TRUE(item.custom());
  EXPECT_EQ(item.points(), -3);

  // The group's own item: the form only, no office line.
  pb::Line line;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(agent_, "late_to_work", Utc(2026, 10, 14)), &line)
                  .ok());
  EXPECT_EQ(line.points(), -3);
  EXPECT_TRUE(line.quality_line_id().empty());
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 0);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 97);

  // The office's "quarrel" now moves onto the form as "late_to_work"; then onto nothing.
  pb::UpdateRuleRequest up;
  up.set_request_id(NewId(absl::Now()));
  up.set_code("quarrel");
  up.set_points(-20);
  up.set_form_item("late_to_work");
  pb::Rule rule;
  ASSERT_TRUE(Call(&Stub::UpdateRule, admin_tok_, up, &rule).ok());
  EXPECT_EQ(rule.form_item(), "late_to_work");
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "quarrel", Utc(2026, 10, 14)), &line)
                  .ok());
  EXPECT_EQ(line.rule(), "late_to_work");
  EXPECT_EQ(line.points(), -3);
  up.set_request_id(NewId(absl::Now()));
  up.set_form_item("");
  ASSERT_TRUE(Call(&Stub::UpdateRule, admin_tok_, up, &rule).ok());
  EXPECT_EQ(rule.form_item(), "");
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "quarrel", Utc(2026, 10, 14)), &line)
                  .ok());
  EXPECT_TRUE(line.id().empty());  // the office line only
  EXPECT_FALSE(line.quality_line_id().empty());
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 97);
  EXPECT_EQ(Ledger(2026, 10).score(), -40);
  // A points-only update keeps the mapping.
  up.set_request_id(NewId(absl::Now()));
  up.clear_form_item();
  up.set_points(-25);
  ASSERT_TRUE(Call(&Stub::UpdateRule, admin_tok_, up, &rule).ok());
  EXPECT_EQ(rule.form_item(), "");
}

// ---- unrecorded calls (000_…, 二.5) ------------------------------------------------------------

// "有业主通话记录而物业公司未记录的,每条扣服务质量标准分值20分" (000_…, 二.5): an owner's call in
// the carrier's log that the office did not record costs the office 20, and it is the
// agent (or agents) on duty at the call's time by the shift roster who caused it — not
// every agent of the estate. A number of no resident is a finding to review.
TEST_F(PerformanceServiceTest, UnrecordedCallCostsTheAgentOnDutyOnlyForResidentsCalls) {
  std::string agent2 = Staff({ev::STAFF_ROLE_AGENT}, estate_);
  std::string agent3 = Staff({ev::STAFF_ROLE_AGENT}, estate_);
  Shift(agent_, Utc(2026, 10, 3, 0), Utc(2026, 10, 3, 8));
  Shift(agent2, Utc(2026, 10, 3, 8), Utc(2026, 10, 3, 16));
  Shift(tech_, Utc(2026, 10, 3, 0), Utc(2026, 10, 3, 16));  // on duty, not at the desk

  std::string resident = UnrecordedCall(Utc(2026, 10, 3, 2), true);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);
  EXPECT_EQ(Sheet(agent2, 2026, 10).score(), 100);  // not on duty then
  EXPECT_EQ(Sheet(agent3, 2026, 10).score(), 100);  // no shift that day
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 100);   // not the desk
  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  EXPECT_EQ(ledger.lines(0).item(), "call_unrecorded");
  EXPECT_EQ(ledger.lines(0).points(), -20);  // once for the office, not per agent
  EXPECT_EQ(ledger.lines(0).responsible_staff_ids(0), agent_);

  // A number of no resident, or one intake could not place: findings to review.
  std::string stranger = UnrecordedCall(Utc(2026, 10, 3, 9), false);
  std::string unknown = UnrecordedCall(Utc(2026, 10, 3, 10), std::nullopt);
  EXPECT_EQ(Sheet(agent2, 2026, 10).score(), 100);
  EXPECT_EQ(Ledger(2026, 10).score(), -20);
  // At the hand-over both are on duty; at night nobody: the office still loses 20.
  Shift(agent3, Utc(2026, 10, 3, 7), Utc(2026, 10, 3, 9));
  UnrecordedCall(Utc(2026, 10, 3, 7, 30), true);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 96);
  EXPECT_EQ(Sheet(agent3, 2026, 10).score(), 98);
  UnrecordedCall(Utc(2026, 10, 3, 20), true);
  EXPECT_EQ(Ledger(2026, 10).score(), -60);

  std::vector<pb::CallFinding> found = Findings(2026, 10);
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[0].id(), resident);
  EXPECT_EQ(found[0].caller(), pb::CALLER_KIND_RESIDENT);
  EXPECT_EQ(found[0].state(), pb::FINDING_STATE_DEDUCTED);
  ASSERT_EQ(found[0].charged_staff_ids_size(), 1);
  EXPECT_EQ(found[0].charged_staff_ids(0), agent_);
  EXPECT_EQ(found[0].duration_seconds(), 90);
  EXPECT_EQ(found[1].charged_staff_ids_size(), 2);  // 07:30, at the hand-over
  EXPECT_EQ(found[2].id(), stranger);
  EXPECT_EQ(found[2].caller(), pb::CALLER_KIND_NOT_RESIDENT);
  EXPECT_EQ(found[2].state(), pb::FINDING_STATE_TO_REVIEW);
  EXPECT_EQ(found[2].charged_staff_ids_size(), 0);
  EXPECT_TRUE(found[2].quality_line_id().empty());
  EXPECT_EQ(found[3].id(), unknown);
  EXPECT_EQ(found[3].caller(), pb::CALLER_KIND_UNSPECIFIED);
  EXPECT_EQ(found[3].state(), pb::FINDING_STATE_TO_REVIEW);
  EXPECT_EQ(found[4].state(), pb::FINDING_STATE_DEDUCTED);  // 20:00, nobody on duty
  EXPECT_EQ(found[4].charged_staff_ids_size(), 0);
  EXPECT_EQ(Ledger(2026, 10).findings_to_review(), 2);

  // A shift published after the call still charges its agent, once.
  std::string agent4 = Staff({ev::STAFF_ROLE_AGENT}, estate_);
  Shift(agent4, Utc(2026, 10, 3, 19), Utc(2026, 10, 3, 23));
  Shift(agent4, Utc(2026, 10, 3, 19), Utc(2026, 10, 3, 23));
  EXPECT_EQ(Sheet(agent4, 2026, 10).score(), 98);
  EXPECT_EQ(Findings(2026, 10)[4].charged_staff_ids_size(), 1);
  EXPECT_EQ(Ledger(2026, 10).score(), -60);

  // The team sheet counts every finding; no finding carries a phone number.
  pb::GetTeamSheetRequest req;
  req.set_estate_id(estate_);
  *req.mutable_period() = MakeMonth(2026, 10);
  pb::TeamSheet team;
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, req, &team).ok());
  EXPECT_EQ(team.unrecorded_calls(), 5);
  // Findings are for managers of the estate.
  pb::ListCallFindingsRequest lreq;
  lreq.set_estate_id(estate_);
  *lreq.mutable_period() = MakeMonth(2026, 10);
  pb::ListCallFindingsResponse lout;
  EXPECT_EQ(Call(&Stub::ListCallFindings, agent_tok_, lreq, &lout).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string other = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, "admin-2");
  ASSERT_TRUE(Call(&Stub::ListCallFindings, other, lreq, &lout).ok());
  EXPECT_EQ(lout.findings_size(), 0);
}

// 000_…, 二.5: a supervisor reviews a finding and may dismiss it with a reason; the reason
// is kept and a deduction it made is withdrawn once.
TEST_F(PerformanceServiceTest, DismissingAFindingWithdrawsItsDeductionOnce) {
  std::string supervisor = Staff({ev::STAFF_ROLE_SUPERVISOR}, estate_);
  std::string sup_tok = TestToken(group_, {estate_}, {"supervisor"}, supervisor);
  Shift(agent_, Utc(2026, 10, 3, 0), Utc(2026, 10, 3, 8));
  std::string deducted = UnrecordedCall(Utc(2026, 10, 3, 2), true);
  std::string stranger = UnrecordedCall(Utc(2026, 10, 3, 3), false);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);

  pb::CallFinding out;
  std::string before = Snapshot();
  EXPECT_EQ(Dismiss(agent_tok_, deducted, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Field(Dismiss(sup_tok, deducted, &out, "")), "reason");
  EXPECT_EQ(Field(Dismiss(sup_tok, "x", &out)), "finding_id");
  EXPECT_EQ(Dismiss(sup_tok, NewId(absl::Now()), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  std::string other = TestToken(NewId(absl::Now()), {"*"}, {"supervisor"}, "sup-2");
  EXPECT_EQ(Dismiss(other, deducted, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  std::string elsewhere = TestToken(group_, {Estate(group_)}, {"supervisor"}, "sup-3");
  EXPECT_EQ(Dismiss(elsewhere, deducted, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Snapshot(), before);

  pb::DismissCallFindingRequest req;
  req.set_request_id(NewId(absl::Now()));
  req.set_finding_id(deducted);
  req.set_reason("the call was the carrier's test line");
  ASSERT_TRUE(Call(&Stub::DismissCallFinding, sup_tok, req, &out).ok());
  EXPECT_EQ(out.state(), pb::FINDING_STATE_DISMISSED);
  EXPECT_EQ(out.dismiss_reason(), "the call was the carrier's test line");
  EXPECT_EQ(out.dismissed_by(), supervisor);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 100);
  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  EXPECT_EQ(ledger.lines(0).state(), pb::QUALITY_LINE_STATE_WITHDRAWN);
  EXPECT_EQ(ledger.score(), 0);
  // Once: the retry replays, a second dismissal is refused.
  pb::CallFinding again;
  ASSERT_TRUE(Call(&Stub::DismissCallFinding, sup_tok, req, &again).ok());
  EXPECT_EQ(again.dismiss_time().seconds(), out.dismiss_time().seconds());
  EXPECT_EQ(Reason(Dismiss(manager_tok_, deducted, &again)), "ALREADY_DISMISSED");
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 100);

  // A finding to review is dismissed with its reason; nothing was deducted.
  ASSERT_TRUE(Dismiss(sup_tok, stranger, &out).ok());
  EXPECT_EQ(out.state(), pb::FINDING_STATE_DISMISSED);
  EXPECT_EQ(Ledger(2026, 10).findings_to_review(), 0);

  // Dismissed after the agent's month closed: the closed form stays as graded, and the
  // deduction is given back in the next open month, referring to its own.
  std::string late = UnrecordedCall(Utc(2026, 10, 3, 4), true);
  clock_.Set(Utc(2026, 11, 20));
  pb::CloseMonthResponse closed;
  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &closed).ok());
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);
  ASSERT_TRUE(Dismiss(manager_tok_, late, &out).ok());
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);
  pb::Sheet nov = Sheet(agent_, 2026, 11);
  ASSERT_EQ(nov.lines_size(), 1);
  EXPECT_EQ(nov.lines(0).points(), 2);
  EXPECT_EQ(nov.lines(0).carried_from().month(), 10);
  EXPECT_EQ(nov.score(), 100);
  EXPECT_EQ(Ledger(2026, 10).score(), 0);
}

TEST_F(PerformanceServiceTest, FiguresTeamKpiRankingsAndExport) {
  // Figures: a closed ticket, callbacks, SLA.
  ev::TicketChanged t;
  t.set_ticket_id(NewId(absl::Now()));
  t.set_estate_id(estate_);
  t.set_owner_id(agent_);
  t.set_state(ev::TICKET_STATE_CLOSED);
  t.set_previous_state(ev::TICKET_STATE_CALLBACK_DUE);
  ASSERT_TRUE(Deliver("intake.ticket.changed", group_, t, estate_).ok());
  ev::CallbackRecorded c;
  c.set_estate_id(estate_);
  c.set_agent_id(agent_);
  c.add_worker_ids(tech_);
  c.set_satisfaction(wuye::common::v1::SATISFACTION_SATISFIED);
  ASSERT_TRUE(Deliver("intake.callback.recorded", group_, c, estate_).ok());
  ev::WorkOrderChanged w;
  w.set_estate_id(estate_);
  w.add_worker_ids(tech_);
  *w.mutable_sla_deadline() = ToProtoTime(clock_.Now());
  w.set_sla_met(true);
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, w, estate_).ok());
  ASSERT_TRUE(Deliver("dispatch.sla.breached", group_, w, estate_).ok());
  pb::Sheet a = Sheet(agent_, 2026, 10);
  EXPECT_EQ(a.figures().tickets_closed(), 1);
  EXPECT_EQ(a.figures().callbacks_made(), 1);
  EXPECT_EQ(a.figures().callback_coverage_bp(), 10000);
  pb::Sheet tech = Sheet(tech_, 2026, 10);
  EXPECT_EQ(tech.figures().requests_handled(), 1);
  EXPECT_EQ(tech.figures().sla_hits(), 1);
  EXPECT_EQ(tech.figures().sla_misses(), 1);
  EXPECT_EQ(tech.figures().callbacks_satisfied(), 1);

  // The arrears KPI (000_… 二.10 "每超過一個百分點扣…1000分", whole points): 26.5 % → −1000,
  // then a newer report at 24 % → +1000; an older one is ignored.
  ev::CollectionReported r;
  r.set_estate_id(estate_);
  *r.mutable_period() = MakeMonth(2026, 10);
  r.set_arrears_share_bp(2650);
  r.set_collection_rate_bp(9100);
  ASSERT_TRUE(Deliver("billing.collection.reported", group_, r, estate_, "", 1).ok());
  pb::GetTeamSheetRequest treq;
  treq.set_estate_id(estate_);
  *treq.mutable_period() = MakeMonth(2026, 10);
  pb::TeamSheet team;
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, treq, &team).ok());
  EXPECT_TRUE(team.arrears_reported());
  EXPECT_EQ(team.team_points(), -1000);
  r.set_arrears_share_bp(2400);
  ASSERT_TRUE(Deliver("billing.collection.reported", group_, r, estate_, "", 3).ok());
  r.set_arrears_share_bp(2500);
  ASSERT_TRUE(Deliver("billing.collection.reported", group_, r, estate_, "", 2).ok());
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, treq, &team).ok());
  EXPECT_EQ(team.team_points(), 1000);
  EXPECT_EQ(team.arrears_share_bp(), 2400);
  EXPECT_EQ(team.staff_count(), 4);
  EXPECT_EQ(team.figures().sla_hits(), 1);
  EXPECT_EQ(team.figures().tickets_closed(), 1);

  // Rankings: equal scores share a rank (RANK()).
  Complaint(agent_, Utc(2026, 10, 12));
  pb::ListRankingsRequest rank;
  rank.set_estate_id(estate_);
  *rank.mutable_period() = MakeMonth(2026, 10);
  pb::ListRankingsResponse ranks;
  ASSERT_TRUE(Call(&Stub::ListRankings, manager_tok_, rank, &ranks).ok());
  ASSERT_EQ(ranks.rankings_size(), 4);
  EXPECT_EQ(ranks.rankings(0).rank(), 1);
  EXPECT_EQ(ranks.rankings(2).rank(), 1);
  EXPECT_EQ(ranks.rankings(3).rank(), 4);
  EXPECT_EQ(ranks.rankings(3).staff_id(), agent_);
  EXPECT_EQ(ranks.rankings(3).score(), 98);
  rank.set_role("agent");
  ASSERT_TRUE(Call(&Stub::ListRankings, manager_tok_, rank, &ranks).ok());
  ASSERT_EQ(ranks.rankings_size(), 1);
  EXPECT_EQ(ranks.rankings(0).rank(), 1);
  rank.set_role("Agent!");
  EXPECT_EQ(Field(Call(&Stub::ListRankings, manager_tok_, rank, &ranks)), "role");
  // Roles are checked before input: an agent learns nothing, not even that the input is bad.
  EXPECT_EQ(Call(&Stub::ListRankings, agent_tok_, rank, &ranks).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  rank.set_role("");
  EXPECT_EQ(Call(&Stub::ListRankings, agent_tok_, rank, &ranks).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  pb::ExportSheetsRequest exp;
  exp.set_estate_id(estate_);
  *exp.mutable_period() = MakeMonth(2026, 10);
  pb::ExportSheetsResponse csv;
  ASSERT_TRUE(Call(&Stub::ExportSheets, manager_tok_, exp, &csv).ok());
  std::vector<std::string> rows = absl::StrSplit(csv.csv(), '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].substr(0, 14), "rank,staff_id,");
  EXPECT_NE(rows[4].find(agent_), std::string::npos);
  EXPECT_NE(rows[4].find(",98,"), std::string::npos) << rows[4];
  // issue 20.18: no cell starts with a spreadsheet formula character.
  for (const std::string& row : rows) {
    for (absl::string_view cell : absl::StrSplit(row, ',')) {
      EXPECT_TRUE(cell.empty() ||
                  absl::string_view("=+-@\t\r").find(cell[0]) == absl::string_view::npos)
          << row;
    }
  }
  // The team sheet shows the office's quality score apart from the people's forms:
  // −20 for the complaint (000_…, 二.6) and +1000 for arrears one point under 25 %.
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, treq, &team).ok());
  EXPECT_EQ(team.quality_score(), 980);
  EXPECT_EQ(team.average_score(), (100 + 100 + 100 + 98) / 4);
}

// Issue 27 §2 ("pausing cannot hide misses"); the time kept is the standard's or the one agreed
// with the resident (004_… 5.2.4; 002_… 第八节 有偿服务标准作业规程, 室内维修 1 "与业主预约维修
// 时间", 3 "按预约时间提前5-10分钟到达维修现场"), so a hit counting the pauses stays a hit and
// the score does not move; the sheet, the team sheet and the export show beside the hits how
// many were met only thanks to a pause.
TEST_F(PerformanceServiceTest, TheSheetShowsTheHitsMetOnlyThanksToAPause) {
  ev::WorkOrderChanged w;
  w.set_estate_id(estate_);
  w.add_worker_ids(tech_);
  *w.mutable_sla_deadline() = ToProtoTime(clock_.Now());
  w.set_sla_met(true);
  w.set_sla_met_unpaused(true);
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, w, estate_).ok());
  w.set_sla_met_unpaused(false);
  w.mutable_paused_time()->set_seconds(30 * 3600);
  ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, w, estate_).ok());
  pb::Sheet tech = Sheet(tech_, 2026, 10);
  EXPECT_EQ(tech.figures().requests_handled(), 2);
  EXPECT_EQ(tech.figures().sla_hits(), 2);
  EXPECT_EQ(tech.figures().sla_hits_paused_only(), 1);
  EXPECT_EQ(tech.figures().sla_misses(), 0);
  EXPECT_EQ(tech.score(), 100);
  EXPECT_EQ(tech.lines_size(), 0);

  pb::GetTeamSheetRequest treq;
  treq.set_estate_id(estate_);
  *treq.mutable_period() = MakeMonth(2026, 10);
  pb::TeamSheet team;
  ASSERT_TRUE(Call(&Stub::GetTeamSheet, manager_tok_, treq, &team).ok());
  EXPECT_EQ(team.figures().sla_hits(), 2);
  EXPECT_EQ(team.figures().sla_hits_paused_only(), 1);

  pb::ExportSheetsRequest exp;
  exp.set_estate_id(estate_);
  *exp.mutable_period() = MakeMonth(2026, 10);
  pb::ExportSheetsResponse csv;
  ASSERT_TRUE(Call(&Stub::ExportSheets, manager_tok_, exp, &csv).ok());
  std::vector<std::string> rows = absl::StrSplit(csv.csv(), '\n', absl::SkipEmpty());
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(absl::EndsWith(rows[0], ",sla_hits_paused_only")) << rows[0];
  bool exported = false;
  for (const std::string& row : rows) {
    if (row.find(tech_) == std::string::npos) continue;
    exported = true;
    EXPECT_TRUE(absl::EndsWith(row, ",1")) << row;
  }
  EXPECT_TRUE(exported);
}

// ---- appeals and closing
// --------------------------------------------------------------------------

TEST_F(PerformanceServiceTest, AppealsAreDecidedByAnotherManagerAndKept) {
  Complaint(agent_, Utc(2026, 10, 10));
  Complaint(agent_, Utc(2026, 10, 11));
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 2);
  EXPECT_EQ(s.score(), 96);

  pb::Appeal a1, a2, out;
  // Not somebody else's line; bad input names the field.
  EXPECT_EQ(Appeal(tech_tok_, s.lines(0).id(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::CreateAppealRequest bad;
  bad.set_request_id(NewId(absl::Now()));
  bad.set_line_id(s.lines(0).id());
  EXPECT_EQ(Field(Call(&Stub::CreateAppeal, agent_tok_, bad, &out)), "reason");
  ASSERT_TRUE(Appeal(agent_tok_, s.lines(0).id(), &a1).ok());
  ASSERT_TRUE(Appeal(agent_tok_, s.lines(1).id(), &a2).ok());
  EXPECT_EQ(a1.state(), pb::APPEAL_STATE_PENDING);
  EXPECT_EQ(Reason(Appeal(agent_tok_, s.lines(0).id(), &out)), "ALREADY_APPEALED");

  // A staff member cannot decide; a manager cannot decide an appeal of their own line.
  EXPECT_EQ(Decide(agent_tok_, a1.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::Line own;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(manager_, "uncivil_language", Utc(2026, 10, 12)), &own)
                  .ok());
  pb::Appeal mine;
  ASSERT_TRUE(Appeal(manager_tok_, own.id(), &mine).ok());
  EXPECT_EQ(Decide(manager_tok_, mine.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::DecideAppealRequest nodecision;
  nodecision.set_request_id(NewId(absl::Now()));
  nodecision.set_appeal_id(a1.id());
  nodecision.set_reason("x");
  EXPECT_EQ(Field(Call(&Stub::DecideAppeal, manager_tok_, nodecision, &out)), "decision");

  ASSERT_TRUE(Decide(manager_tok_, a1.id(), pb::DECISION_UPHOLD, &out).ok());
  EXPECT_EQ(out.state(), pb::APPEAL_STATE_UPHELD);
  EXPECT_EQ(out.decided_by(), manager_);
  EXPECT_EQ(Reason(Decide(manager_tok_, a1.id(), pb::DECISION_REJECT, &out)), "ALREADY_DECIDED");
  ASSERT_TRUE(Decide(manager_tok_, a2.id(), pb::DECISION_REJECT, &out).ok());
  ASSERT_TRUE(Decide(admin_tok_, mine.id(), pb::DECISION_REJECT, &out).ok());
  s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(s.score(), 98);  // one line voided
  EXPECT_TRUE(s.lines(0).voided());
  EXPECT_FALSE(s.lines(1).voided());
  ASSERT_EQ(s.appeals_size(), 2);  // both kept, with their reasons
  EXPECT_EQ(s.appeals(1).state(), pb::APPEAL_STATE_REJECTED);
  EXPECT_EQ(s.appeals(1).decision_reason(), "checked the call recording");
  EXPECT_EQ(Reason(Appeal(agent_tok_, s.lines(0).id(), &out)), "LINE_VOIDED");
  EXPECT_EQ(Reason(Appeal(agent_tok_, s.lines(1).id(), &out)), "ALREADY_APPEALED");

  // After the window (5 days after 31 October, Shanghai time) nothing more is appealed.
  Complaint(agent_, Utc(2026, 10, 20));
  clock_.Set(Utc(2026, 11, 5, 16));
  s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(Reason(Appeal(agent_tok_, s.lines(2).id(), &out)), "APPEAL_WINDOW_CLOSED");
}

// 000_…, 二: the office's service quality score (服务质量标准分值) is the owners' supervisory
// committee's assessment — owners complain to it and it verifies (二.6, 二.13: "向监督会投诉,
// 经查实"), it confirms the housing claims (二.11: "经监督委员会确认"). Neither 000_… nor 002_…
// 第七章 names an appeal against it; the reading (docs/api/performance.md): the office,
// through its estate manager, appeals a line of its ledger, and the committee decides,
// recorded by a group admin with the committee's reference. Upheld, the line leaves the
// office's score and the form line it put on the person responsible (002_…, 第七章, by the
// group's mapping) is voided, exactly once; rejected, nothing changes.
TEST_F(PerformanceServiceTest, OfficeAppealsAQualityLineAndTheCommitteeDecides) {
  pb::Line quarrel, dress, claim;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(agent_, "quarrel", Utc(2026, 10, 14)), &quarrel)
                  .ok());
  Complaint(tech_, Utc(2026, 10, 12));
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "dress_code", Utc(2026, 10, 13)), &dress)
                  .ok());
  EXPECT_EQ(Ledger(2026, 10).score(), -20 - 20 - 10);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 97);
  const std::string office_line = quarrel.quality_line_id();
  ASSERT_FALSE(office_line.empty());

  // Who may appeal for the office, and bad input: refused, nothing written.
  std::string elsewhere = TestToken(group_, {Estate(group_)}, {"estate_manager"}, "mgr-9");
  std::string other_group = TestToken(NewId(absl::Now()), {"*"}, {"estate_manager"}, "mgr-8");
  std::string manager2 = Staff({ev::STAFF_ROLE_ESTATE_MANAGER}, estate_);
  std::string manager2_tok = TestToken(group_, {estate_}, {"estate_manager"}, manager2);
  std::string named_admin = TestToken(group_, {"*"}, {"group_admin"}, agent_);
  std::string before = Snapshot();
  pb::Appeal out;
  for (const std::string& tok : {agent_tok_, inspector_tok_, admin_tok_}) {
    EXPECT_EQ(QualityAppeal(tok, office_line, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(QualityAppeal(elsewhere, office_line, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(QualityAppeal(other_group, office_line, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(QualityAppeal(manager_tok_, NewId(absl::Now()), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Field(QualityAppeal(manager_tok_, "nope", &out)), "quality_line_id");
  pb::CreateAppealRequest bad;
  bad.set_request_id(NewId(absl::Now()));
  bad.set_quality_line_id(office_line);
  EXPECT_EQ(Field(Call(&Stub::CreateAppeal, manager_tok_, bad, &out)), "reason");
  bad.set_reason("not ours");
  bad.set_line_id(quarrel.id());
  EXPECT_EQ(Field(Call(&Stub::CreateAppeal, manager_tok_, bad, &out)), "line_id");
  EXPECT_EQ(Snapshot(), before);

  // The office appeals; a retry answers the same appeal; one appeal per line.
  std::string rid = NewId(absl::Now());
  pb::Appeal appeal, again;
  ASSERT_TRUE(QualityAppeal(manager_tok_, office_line, &appeal, rid).ok());
  EXPECT_EQ(appeal.state(), pb::APPEAL_STATE_PENDING);
  EXPECT_EQ(appeal.quality_line_id(), office_line);
  EXPECT_TRUE(appeal.line_id().empty());
  EXPECT_TRUE(appeal.staff_id().empty());
  EXPECT_EQ(appeal.appealed_by(), manager_);
  EXPECT_EQ(appeal.estate_id(), estate_);
  EXPECT_EQ(appeal.period().month(), 10);
  ASSERT_TRUE(QualityAppeal(manager_tok_, office_line, &again, rid).ok());
  EXPECT_EQ(again.id(), appeal.id());
  EXPECT_EQ(Query("SELECT count(*) FROM appeals"), 1);
  EXPECT_EQ(Reason(QualityAppeal(manager2_tok, office_line, &out)), "ALREADY_APPEALED");

  // While pending, the line is marked under appeal and still counts.
  pb::QualityLedger ledger = Ledger(2026, 10);
  EXPECT_EQ(ledger.under_appeal(), 1);
  EXPECT_EQ(ledger.score(), -50);
  ASSERT_EQ(ledger.appeals_size(), 1);
  EXPECT_EQ(ledger.appeals(0).id(), appeal.id());
  pb::QualityLine marked = OfficeLine("quarrel");
  EXPECT_TRUE(marked.under_appeal());
  EXPECT_EQ(marked.appeal_id(), appeal.id());
  EXPECT_EQ(Sheet(agent_, 2026, 10).appeals_size(), 0);  // the office's, not the agent's
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);

  // Who records the committee's decision, and bad input: refused, nothing written.
  before = Snapshot();
  EXPECT_EQ(CommitteeDecides(manager_tok_, appeal.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // who appealed
  EXPECT_EQ(CommitteeDecides(manager2_tok, appeal.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // the office does not judge itself
  EXPECT_EQ(CommitteeDecides(inspector_tok_, appeal.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CommitteeDecides(named_admin, appeal.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // the line names them
  std::string other_admin = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, "admin-9");
  EXPECT_EQ(CommitteeDecides(other_admin, appeal.id(), pb::DECISION_UPHOLD, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Field(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &out, "")),
            "decision_ref");
  EXPECT_EQ(Field(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UNSPECIFIED, &out)),
            "decision");
  EXPECT_EQ(Field(CommitteeDecides(admin_tok_, "x", pb::DECISION_UPHOLD, &out)), "appeal_id");
  EXPECT_EQ(
      CommitteeDecides(admin_tok_, NewId(absl::Now()), pb::DECISION_UPHOLD, &out).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);

  // Upheld: the office line is withdrawn and the agent's form line voided.
  rid = NewId(absl::Now());
  pb::Appeal upheld;
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &upheld,
                               "监督委员会 2026-11 纪要 7", rid)
                  .ok());
  EXPECT_EQ(upheld.state(), pb::APPEAL_STATE_UPHELD);
  EXPECT_EQ(upheld.decided_by(), "admin-1");
  EXPECT_EQ(upheld.decision_ref(), "监督委员会 2026-11 纪要 7");
  pb::QualityLine withdrawn = OfficeLine("quarrel");
  EXPECT_EQ(withdrawn.state(), pb::QUALITY_LINE_STATE_WITHDRAWN);
  EXPECT_FALSE(withdrawn.under_appeal());
  EXPECT_EQ(withdrawn.withdraw_reason().rfind("appeal upheld: ", 0), 0u);
  EXPECT_EQ(Ledger(2026, 10).score(), -30);
  pb::Sheet s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(s.score(), 100);
  ASSERT_EQ(s.lines_size(), 1);
  EXPECT_TRUE(s.lines(0).voided());
  // Once: the retry replays the answer, a second decision is refused, nothing moves again.
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &again,
                               "监督委员会 2026-11 纪要 7", rid)
                  .ok());
  EXPECT_EQ(again.decide_time().seconds(), upheld.decide_time().seconds());
  EXPECT_EQ(Reason(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_REJECT, &out)),
            "ALREADY_DECIDED");
  EXPECT_EQ(Sheet(agent_, 2026, 10).lines_size(), 1);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 100);
  EXPECT_EQ(Ledger(2026, 10).score(), -30);

  // The person's own appeal upheld before the office's: the form line is voided once.
  s = Sheet(tech_, 2026, 10);
  std::string complaint_line;
  for (const auto& l : s.lines()) {
    if (l.rule() == "complaint_verified") complaint_line = l.id();
  }
  pb::Appeal own;
  ASSERT_TRUE(Appeal(tech_tok_, complaint_line, &own).ok());
  ASSERT_TRUE(Decide(manager_tok_, own.id(), pb::DECISION_UPHOLD, &out).ok());
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 99);
  pb::QualityLine complaint = OfficeLine("complaint_verified");
  EXPECT_EQ(complaint.state(), pb::QUALITY_LINE_STATE_COUNTED);  // still the office's
  ASSERT_TRUE(QualityAppeal(manager_tok_, complaint.id(), &appeal).ok());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &out).ok());
  s = Sheet(tech_, 2026, 10);
  EXPECT_EQ(s.score(), 99);
  EXPECT_EQ(s.lines_size(), 2);
  EXPECT_EQ(Ledger(2026, 10).score(), -10);

  // Rejected: the line counts as before.
  ASSERT_TRUE(QualityAppeal(manager_tok_, dress.quality_line_id(), &appeal).ok());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_REJECT, &out).ok());
  EXPECT_EQ(out.state(), pb::APPEAL_STATE_REJECTED);
  EXPECT_EQ(out.decision_reason(), "the committee heard the office and the resident");
  pb::QualityLine kept = OfficeLine("dress_code");
  EXPECT_EQ(kept.state(), pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_FALSE(kept.under_appeal());
  EXPECT_EQ(kept.appeal_id(), appeal.id());
  ledger = Ledger(2026, 10);
  EXPECT_EQ(ledger.score(), -10);
  EXPECT_EQ(ledger.under_appeal(), 0);
  EXPECT_EQ(ledger.appeals_size(), 3);
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 99);

  // A housing claim awaiting the committee's confirmation (二.11) counts nothing yet.
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, manager_tok_,
                   Entry(tech_, "housing_claim_help", Utc(2026, 10, 14)), &claim)
                  .ok());
  EXPECT_EQ(Reason(QualityAppeal(manager_tok_, claim.quality_line_id(), &out)),
            "AWAITING_CONFIRMATION");
}

// 002_…, 第七章 grades each month's forms once; an office line's appeal keeps the month-close
// rules of a person's (000_…, 二 lines): made within the appeal window, it blocks the close of
// its estate's month while pending; a line withdrawn before (a dismissed finding, 二.5) is
// appealed no more; upheld after the responsible person's form closed, the deduction is
// given back once in their next open month.
TEST_F(PerformanceServiceTest, OfficeAppealsKeepTheMonthCloseRules) {
  std::string estate_b = Estate(group_);
  std::string roamer = Staff({ev::STAFF_ROLE_AGENT}, estate_b);  // complained of in estate_
  Complaint(roamer, Utc(2026, 10, 12));
  Complaint(agent_, Utc(2026, 10, 13));
  Shift(agent_, Utc(2026, 10, 3, 0), Utc(2026, 10, 3, 8));
  std::string call = UnrecordedCall(Utc(2026, 10, 3, 2), true);
  pb::CallFinding finding;
  ASSERT_TRUE(Dismiss(manager_tok_, call, &finding).ok());
  pb::Appeal out;
  EXPECT_EQ(Reason(QualityAppeal(manager_tok_, finding.quality_line_id(), &out)), "LINE_WITHDRAWN");

  // A call nobody was on duty for: the office's 20 only. Upheld, a shift published later
  // charges nobody for the withdrawn line.
  std::string unmanned = UnrecordedCall(Utc(2026, 10, 4, 2), true);
  std::string unmanned_line;
  for (const auto& f : Findings(2026, 10)) {
    if (f.id() == unmanned) unmanned_line = f.quality_line_id();
  }
  ASSERT_TRUE(QualityAppeal(manager_tok_, unmanned_line, &out).ok());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, out.id(), pb::DECISION_UPHOLD, &out).ok());
  Shift(agent_, Utc(2026, 10, 4, 0), Utc(2026, 10, 4, 8));
  EXPECT_EQ(Sheet(agent_, 2026, 10).lines_size(), 2);  // the complaint, the dismissed call

  std::string roamer_line, agent_line;
  pb::QualityLedger ledger = Ledger(2026, 10);
  for (const auto& l : ledger.lines()) {
    if (l.item() != "complaint_verified") continue;
    (l.responsible_staff_ids(0) == roamer ? roamer_line : agent_line) = l.id();
  }
  pb::Appeal appeal;
  ASSERT_TRUE(QualityAppeal(manager_tok_, roamer_line, &appeal).ok());
  EXPECT_EQ(Sheet(roamer, 2026, 10).score(), 98);

  // The window closes 5 days after the month's end, Shanghai time.
  clock_.Set(Utc(2026, 11, 5, 16));
  EXPECT_EQ(Reason(QualityAppeal(manager_tok_, agent_line, &out)), "APPEAL_WINDOW_CLOSED");
  // The roamer's own estate closes; the office line's estate waits for the decision.
  pb::CloseMonthResponse closed;
  ASSERT_TRUE(Close(admin_tok_, estate_b, 2026, 10, &closed).ok());
  EXPECT_EQ(Sheet(roamer, 2026, 10).score(), 98);
  EXPECT_EQ(Reason(Close(manager_tok_, estate_, 2026, 10, &closed)), "APPEALS_PENDING");
  EXPECT_EQ(Reason(Close(admin_tok_, "", 2026, 10, &closed)), "APPEALS_PENDING");

  // Upheld: the closed form stays as graded; the deduction comes back once, in November.
  std::string rid = NewId(absl::Now());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &out,
                               "监督委员会 2026-11 纪要 9", rid)
                  .ok());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &out,
                               "监督委员会 2026-11 纪要 9", rid)
                  .ok());
  EXPECT_EQ(Reason(CommitteeDecides(admin_tok_, appeal.id(), pb::DECISION_UPHOLD, &out)),
            "ALREADY_DECIDED");
  EXPECT_EQ(Sheet(roamer, 2026, 10).score(), 98);
  pb::Sheet nov = Sheet(roamer, 2026, 11);
  ASSERT_EQ(nov.lines_size(), 1);
  EXPECT_EQ(nov.lines(0).points(), 2);
  EXPECT_EQ(nov.lines(0).carried_from().month(), 10);
  EXPECT_EQ(nov.score(), 100);
  EXPECT_EQ(Ledger(2026, 10).score(), -20);  // the agent's complaint still counts
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 98);

  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &closed).ok());
  EXPECT_EQ(Reason(QualityAppeal(manager_tok_, agent_line, &out)), "APPEAL_WINDOW_CLOSED");
}

TEST_F(PerformanceServiceTest, CloseMonthGradesSetBasedAndPublishes) {
  // The group sets its form's points (002_…, 第七章): a verified complaint −20, a missing
  // log or handover −10. agent 100 − 20 = 80 (fail); tech 100 − 10 = 90 (pass); manager
  // 100 − 10 = 90 (pass, appeal rejected); inspector 100 (excellent).
  FormPoints("complaint_verified", -20);
  FormPoints("no_daily_log", -10);
  FormPoints("handover_not_recorded", -10);
  FormPoints("dress_code", -10);
  Complaint(agent_, Utc(2026, 10, 10));
  pb::Line line;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "no_daily_log", Utc(2026, 10, 9)), &line)
                  .ok());
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(manager_, "handover_not_recorded", Utc(2026, 10, 9)), &line)
                  .ok());
  pb::Appeal appeal;
  ASSERT_TRUE(Appeal(manager_tok_, line.id(), &appeal).ok());

  pb::CloseMonthResponse out;
  EXPECT_EQ(Close(agent_tok_, estate_, 2026, 10, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Close(manager_tok_, "", 2026, 10, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // the whole group: admins only
  EXPECT_EQ(Field(Close(manager_tok_, estate_, 2026, 13, &out)), "period.month");
  EXPECT_EQ(Reason(Close(manager_tok_, estate_, 2026, 10, &out)), "APPEAL_WINDOW_OPEN");
  clock_.Set(Utc(2026, 11, 5, 15));  // one hour before the window closes
  EXPECT_EQ(Reason(Close(manager_tok_, estate_, 2026, 10, &out)), "APPEAL_WINDOW_OPEN");
  clock_.Set(Utc(2026, 11, 5, 16));
  EXPECT_EQ(Reason(Close(manager_tok_, estate_, 2026, 10, &out)), "APPEALS_PENDING");
  EXPECT_EQ(Query("SELECT count(*) FROM sheets WHERE state = 2"), 0);
  pb::Appeal decided;
  ASSERT_TRUE(Decide(admin_tok_, appeal.id(), pb::DECISION_REJECT, &decided).ok());

  std::string rid = NewId(absl::Now());
  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &out, rid).ok());
  EXPECT_EQ(out.sheets_closed(), 4);  // every active staff member, lines or not
  EXPECT_EQ(out.excellent(), 1);
  EXPECT_EQ(out.pass(), 2);
  EXPECT_EQ(out.fail(), 1);
  pb::CloseMonthResponse again;
  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &again, rid).ok());
  EXPECT_EQ(again.sheets_closed(), 4);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'performance.sheet.closed'"), 4);

  pb::Sheet s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(s.state(), pb::SHEET_STATE_CLOSED);
  EXPECT_EQ(s.score(), 80);
  EXPECT_EQ(s.grade(), "fail");
  EXPECT_EQ(s.pay_percent(), 0);
  s = Sheet(tech_, 2026, 10);
  EXPECT_EQ(s.grade(), "pass");
  EXPECT_EQ(s.pay_percent(), 80);

  // The event of the agent's sheet.
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  pqxx::result rows = tx.exec(
      "SELECT envelope FROM wuye_outbox WHERE type = 'performance.sheet.closed' ORDER BY id");
  bool found = false;
  for (const auto& row : rows) {
    pqxx::binarystring bytes(row[0]);
    ev::Event e;
    ASSERT_TRUE(e.ParseFromString(bytes.str()));
    ev::SheetClosed sc;
    ASSERT_TRUE(e.payload().UnpackTo(&sc));
    EXPECT_EQ(e.subject(), sc.sheet_id());
    if (sc.staff_id() != agent_) continue;
    found = true;
    EXPECT_EQ(sc.score(), 80);
    EXPECT_EQ(sc.grade(), "fail");
    EXPECT_EQ(sc.pay_percent(), 0);
    EXPECT_EQ(sc.period().month(), 10);
    EXPECT_EQ(sc.estate_id(), estate_);
  }
  EXPECT_TRUE(found);

  // Evidence of October arriving now goes to November, referring back; October stays.
  Complaint(agent_, Utc(2026, 10, 28));
  s = Sheet(agent_, 2026, 10);
  EXPECT_EQ(s.score(), 80);
  EXPECT_EQ(s.lines_size(), 1);
  pb::Sheet nov = Sheet(agent_, 2026, 11);
  ASSERT_EQ(nov.lines_size(), 1);
  EXPECT_EQ(nov.lines(0).carried_from().month(), 10);
  EXPECT_EQ(nov.score(), 80);
  // A manual entry for a closed month is refused (it would change the closed month's office
  // score and could never be appealed): ManualEntriesGoOnlyToAMonthStillOpenToAppeal.
  grpc::Status st = Call(&Stub::CreateManualEntry, inspector_tok_,
                         Entry(tech_, "dress_code", Utc(2026, 10, 30)), &line);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "MONTH_CLOSED");
}

TEST_F(PerformanceServiceTest, EvidenceArrivesAndSheetsLeaveThroughTheBus) {
  // A stand-in intake: its own database and outbox, relayed to a stream of the test's.
  static const MigrationSet kNone{"bustest", {}};
  ::wuye::testing::TestDatabase peer_db;
  auto peer = peer_db.Open(kNone);
  std::atomic<int> closed{0};
  ::wuye::testing::TestBus bus;
  std::string intake_stream = bus.Stream("i");
  std::string perf_stream = bus.Stream("p");
  const RedisOptions& redis = bus.redis();
  bus.Relay(peer_db.url(), intake_stream);
  bus.Relay(tdb_.url(), perf_stream);
  bus.Consume(*db_, "performance", intake_stream, "intake", MakeHandler(*db_));
  bus.Consume(*peer, "payroll", perf_stream, "performance", [&](pqxx::work&, const ev::Event& e) {
    if (e.type() == "performance.sheet.closed") ++closed;
    return absl::OkStatus();
  });

  ev::ComplaintVerified c;
  c.set_ticket_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.set_staff_id(agent_);
  *c.mutable_verified_at() = ToProtoTime(Utc(2026, 10, 10));
  Outbox intake_outbox(*peer, "intake");
  ev::Event sent;
  ASSERT_TRUE(peer->Transact([&](pqxx::work& tx) {
                    sent = intake_outbox.Append(
                        tx, {"intake.complaint.verified", group_, estate_, c.ticket_id(), 0, &c},
                        absl::Now(), "trace");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(::wuye::testing::WaitFor([&] { return Query("SELECT count(*) FROM lines") == 1; },
                                       absl::Seconds(20)));
  // The same envelope on the stream again (a relay that crashed before marking it sent).
  RedisConnection conn(redis);
  ASSERT_TRUE(conn.Command({"XADD", intake_stream, "*", "type", sent.type(), "env",
                            sent.SerializeAsString()})
                  .ok());
  ASSERT_TRUE(::wuye::testing::WaitFor(
      [&] { return Query("SELECT count(*) FROM wuye_inbox") == 1; }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(500));  // the second delivery is applied (a no-op)
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  EXPECT_EQ(s.lines(0).evidence_ref(), sent.event_id());
  EXPECT_EQ(s.score(), 98);
  EXPECT_EQ(s.figures().complaints_against(), 1);

  clock_.Set(Utc(2026, 11, 20));
  pb::CloseMonthResponse out;
  ASSERT_TRUE(Close(admin_tok_, "", 2026, 10, &out).ok());
  EXPECT_EQ(out.sheets_closed(), 4);
  EXPECT_TRUE(::wuye::testing::WaitFor([&] { return closed == 4; }, absl::Seconds(20)));
  bus.Stop();
  (void)conn.Command({"DEL", intake_stream, perf_stream});
}

// ---- Update masks and paging (API v1 hygiene) -----------------------------------------------

TEST_F(PerformanceServiceTest, AnUpdateMaskChangesOnlyItsFieldsOfTheSettings) {
  pb::UpdateSettingsRequest whole;
  whole.set_request_id("settings-whole");
  whole.mutable_settings()->set_base_score(90);
  whole.mutable_settings()->set_appeal_window_days(7);
  pb::Settings settings;
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, whole, &settings).ok());

  pb::UpdateSettingsRequest masked;
  masked.set_request_id("settings-mask");
  masked.mutable_settings()->set_appeal_window_days(10);
  masked.mutable_update_mask()->add_paths("appeal_window_days");
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, masked, &settings).ok());
  EXPECT_EQ(settings.appeal_window_days(), 10);
  EXPECT_EQ(settings.base_score(), 90);
  pb::Settings stored;
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, pb::GetSettingsRequest(), &stored).ok());
  EXPECT_EQ(stored.base_score(), 90);
  EXPECT_EQ(stored.appeal_window_days(), 10);

  // The same request_id with another mask is another request.
  masked.mutable_update_mask()->add_paths("base_score");
  grpc::Status reused = Call(&Stub::UpdateSettings, admin_tok_, masked, &settings);
  EXPECT_EQ(Field(reused), "request_id");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");

  // A bad path, or a merged result that fails the check (base_score 0), changes nothing.
  const std::string before = Snapshot();
  pb::UpdateSettingsRequest bad;
  bad.set_request_id(NewId(absl::Now()));
  bad.mutable_update_mask()->add_paths("base");
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, bad, &settings)), "update_mask");
  bad.set_request_id(NewId(absl::Now()));
  bad.clear_update_mask();
  bad.mutable_update_mask()->add_paths("base_score");
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, bad, &settings)), "settings.base_score");
  EXPECT_EQ(Snapshot(), before);
  pb::Settings after;
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, pb::GetSettingsRequest(), &after).ok());
  EXPECT_EQ(after.SerializeAsString(), stored.SerializeAsString());

  // Without a mask the settings are replaced whole, as before.
  whole.set_request_id("settings-whole-2");
  whole.mutable_settings()->set_base_score(100);
  whole.mutable_settings()->set_appeal_window_days(0);
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, whole, &settings).ok());
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, pb::GetSettingsRequest(), &after).ok());
  EXPECT_EQ(after.base_score(), 100);
  EXPECT_EQ(after.appeal_window_days(), 0);
}

TEST_F(PerformanceServiceTest, RulesAndRankingsPageEveryItemOnce) {
  pb::ListRulesResponse all_rules;
  ASSERT_TRUE(Call(&Stub::ListRules, agent_tok_, pb::ListRulesRequest(), &all_rules).ok());
  ASSERT_EQ(all_rules.rules_size(), 14);
  EXPECT_EQ(all_rules.next_page_token(), "");
  pb::ListRulesRequest rules_req;
  rules_req.set_page_size(4);
  std::vector<std::string> seen;
  for (int page = 0; page < 20; ++page) {
    pb::ListRulesResponse rules;
    ASSERT_TRUE(Call(&Stub::ListRules, agent_tok_, rules_req, &rules).ok());
    EXPECT_LE(rules.rules_size(), 4);
    for (const auto& r : rules.rules()) seen.push_back(r.code());
    if (rules.next_page_token().empty()) break;
    rules_req.set_page_token(rules.next_page_token());
  }
  std::vector<std::string> codes;
  for (const auto& r : all_rules.rules()) codes.push_back(r.code());
  EXPECT_EQ(seen, codes);
  rules_req.set_page_token("not-a-token");
  pb::ListRulesResponse rules;
  EXPECT_EQ(Field(Call(&Stub::ListRules, agent_tok_, rules_req, &rules)), "page_token");

  // Rankings: three more agents, two complaints (two ranks below a tie of five at 100).
  for (int i = 0; i < 3; ++i) Staff({ev::STAFF_ROLE_AGENT}, estate_);
  Complaint(agent_, Utc(2026, 10, 10));
  Complaint(tech_, Utc(2026, 10, 11));
  Complaint(tech_, Utc(2026, 10, 12));
  pb::ListRankingsRequest rank;
  rank.set_estate_id(estate_);
  *rank.mutable_period() = MakeMonth(2026, 10);
  pb::ListRankingsResponse whole;
  ASSERT_TRUE(Call(&Stub::ListRankings, manager_tok_, rank, &whole).ok());
  ASSERT_EQ(whole.rankings_size(), 7);
  EXPECT_EQ(whole.next_page_token(), "");
  std::vector<std::pair<int, std::string>> expected;
  for (const auto& r : whole.rankings()) expected.emplace_back(r.rank(), r.staff_id());
  EXPECT_TRUE(std::is_sorted(expected.begin(), expected.end()));
  EXPECT_EQ(expected.back().second, tech_);
  rank.set_page_size(2);
  std::vector<std::pair<int, std::string>> walked;
  std::string first_token;
  for (int page = 0; page < 20; ++page) {
    pb::ListRankingsResponse ranks;
    ASSERT_TRUE(Call(&Stub::ListRankings, manager_tok_, rank, &ranks).ok());
    EXPECT_LE(ranks.rankings_size(), 2);
    for (const auto& r : ranks.rankings()) walked.emplace_back(r.rank(), r.staff_id());
    if (page == 0) first_token = ranks.next_page_token();
    if (ranks.next_page_token().empty()) break;
    rank.set_page_token(ranks.next_page_token());
  }
  EXPECT_EQ(walked, expected);
  // A token is for its estate, month and role only.
  rank.set_page_token(first_token);
  rank.set_role("agent");
  pb::ListRankingsResponse ranks;
  grpc::Status st = Call(&Stub::ListRankings, manager_tok_, rank, &ranks);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "page_token");
  rank.clear_role();
  *rank.mutable_period() = MakeMonth(2026, 9);
  EXPECT_EQ(Field(Call(&Stub::ListRankings, manager_tok_, rank, &ranks)), "page_token");
  rank.clear_page_token();
  rank.set_page_size(1001);
  EXPECT_EQ(Field(Call(&Stub::ListRankings, manager_tok_, rank, &ranks)), "page_size");
}

TEST_F(PerformanceServiceTest, AnUpdateMaskChangesOnlyItsFieldsOfAFormItem) {
  auto find = [&](const std::string& code) {
    pb::ListFormItemsResponse items;
    EXPECT_TRUE(Call(&Stub::ListFormItems, agent_tok_, pb::ListFormItemsRequest(), &items).ok());
    for (const auto& f : items.items()) {
      if (f.code() == code) return f;
    }
    return pb::FormItem();
  };
  const pb::FormItem handover = find("handover_not_recorded");
  ASSERT_EQ(handover.points(), -1);

  // Rename a default item without knowing its points.
  pb::UpdateFormItemRequest rename;
  rename.set_request_id("item-mask-1");
  rename.mutable_item()->set_code("handover_not_recorded");
  rename.mutable_item()->set_name("handover book not kept");
  rename.mutable_update_mask()->add_paths("name");
  pb::FormItem item;
  ASSERT_TRUE(Call(&Stub::UpdateFormItem, admin_tok_, rename, &item).ok());
  EXPECT_EQ(item.name(), "handover book not kept");
  EXPECT_EQ(item.points(), -1);
  // Then its points: the new name stays.
  pb::UpdateFormItemRequest points;
  points.set_request_id("item-mask-2");
  points.mutable_item()->set_code("handover_not_recorded");
  points.mutable_item()->set_points(-2);
  points.mutable_update_mask()->add_paths("points");
  ASSERT_TRUE(Call(&Stub::UpdateFormItem, admin_tok_, points, &item).ok());
  EXPECT_EQ(find("handover_not_recorded").name(), "handover book not kept");
  EXPECT_EQ(find("handover_not_recorded").points(), -2);

  // The same request_id with another mask is another request.
  points.mutable_update_mask()->add_paths("name");
  grpc::Status reused = Call(&Stub::UpdateFormItem, admin_tok_, points, &item);
  EXPECT_EQ(Field(reused), "request_id");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");

  // Bad paths, and a merge that fails the checks (a new item needs a name), change nothing.
  const std::string before = Snapshot();
  int n = 0;
  for (const char* path : {"code", "default_points", "custom", "nope"}) {
    pb::UpdateFormItemRequest bad;
    bad.set_request_id(absl::StrCat("item-mask-bad-", ++n));
    bad.mutable_item()->set_code("handover_not_recorded");
    bad.mutable_update_mask()->add_paths(path);
    grpc::Status st = Call(&Stub::UpdateFormItem, admin_tok_, bad, &item);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_EQ(Field(st), "update_mask") << path;
  }
  pb::UpdateFormItemRequest fresh;
  fresh.set_request_id("item-mask-new");
  fresh.mutable_item()->set_code("late_to_work");
  fresh.mutable_item()->set_name("late to work");  // not in the mask
  fresh.mutable_item()->set_points(-3);
  fresh.mutable_update_mask()->add_paths("points");
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, fresh, &item)), "item.name");
  pb::UpdateFormItemRequest too_much;
  too_much.set_request_id("item-mask-range");
  too_much.mutable_item()->set_code("handover_not_recorded");
  too_much.mutable_item()->set_points(-300);
  too_much.mutable_update_mask()->add_paths("points");
  EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, too_much, &item)), "item.points");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(find("handover_not_recorded").points(), -2);
  EXPECT_EQ(find("late_to_work").code(), "");

  // Without a mask name and points are replaced, as before: an empty name is the default's.
  pb::UpdateFormItemRequest whole;
  whole.set_request_id("item-whole");
  whole.mutable_item()->set_code("handover_not_recorded");
  whole.mutable_item()->set_points(-5);
  ASSERT_TRUE(Call(&Stub::UpdateFormItem, admin_tok_, whole, &item).ok());
  EXPECT_EQ(find("handover_not_recorded").name(), handover.name());
  EXPECT_EQ(find("handover_not_recorded").points(), -5);
}

// ---- duty's evidence --------------------------------------------------------------------------

// 000_… 二.1 "所有值班和交接班必須記錄、存檔" (−10 for each handover missing, abnormal or
// incomplete) and 二.2 "每位員工每天有上班日志" (−10 for each missing log): duty's timer
// events are lines of the office's quality ledger naming who failed, with their form lines
// (by default −1); the same event twice counts once.
TEST_F(PerformanceServiceTest, DutysMissingHandoverAndLogCostTenOnceNamingWhoFailed) {
  ev::HandoverMissing h;
  h.set_shift_id(NewId(absl::Now()));
  h.set_estate_id(estate_);
  h.set_staff_id(agent_);
  h.set_acknowledging(true);
  *h.mutable_shift_end() = ToProtoTime(Utc(2026, 10, 9, 10));
  const std::string handover_event = NewId(absl::Now());
  ASSERT_TRUE(Deliver("duty.handover.missing", group_, h, estate_, handover_event).ok());
  ASSERT_TRUE(Deliver("duty.handover.missing", group_, h, estate_, handover_event).ok());
  ev::DailyLogMissing d;
  d.set_staff_id(tech_);
  d.set_estate_id(estate_);
  d.mutable_day()->set_year(2026);
  d.mutable_day()->set_month(10);
  d.mutable_day()->set_day(31);  // the month is the day's, in the estate's zone
  const std::string log_event = NewId(absl::Now());
  ASSERT_TRUE(Deliver("duty.daily_log.missing", group_, d, estate_, log_event).ok());
  ASSERT_TRUE(Deliver("duty.daily_log.missing", group_, d, estate_, log_event).ok());

  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 2);
  EXPECT_EQ(ledger.score(), -20);
  for (const pb::QualityLine& l : ledger.lines()) {
    EXPECT_EQ(l.points(), -10);
    ASSERT_EQ(l.responsible_staff_ids_size(), 1);
    if (l.item() == "handover_not_recorded") {
      EXPECT_EQ(l.responsible_staff_ids(0), agent_);
      EXPECT_EQ(l.evidence_ref(), handover_event);
      EXPECT_EQ(l.note(), "handover not acknowledged by the incoming person");
    } else {
      EXPECT_EQ(l.item(), "no_daily_log");
      EXPECT_EQ(l.responsible_staff_ids(0), tech_);
      EXPECT_EQ(l.evidence_ref(), log_event);
    }
  }
  pb::Sheet agent = Sheet(agent_, 2026, 10);
  ASSERT_EQ(agent.lines_size(), 1);
  EXPECT_EQ(agent.lines(0).rule(), "handover_not_recorded");
  EXPECT_EQ(agent.score(), 99);
  pb::Sheet tech = Sheet(tech_, 2026, 10);
  ASSERT_EQ(tech.lines_size(), 1);
  EXPECT_EQ(tech.lines(0).rule(), "no_daily_log");

  // Naming nobody, it is nobody's; a payload of another message is refused.
  ev::HandoverMissing nobody = h;
  nobody.clear_staff_id();
  ASSERT_TRUE(Deliver("duty.handover.missing", group_, nobody, estate_).ok());
  EXPECT_EQ(Deliver("duty.daily_log.missing", group_, h, estate_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 2);
}

// Issue #22 §2: the appeal to decide reaches the estate manager on duty, and the
// unrecorded call's review task closes when its finding is dismissed, from performance's own
// events. Each is published once, through the outbox, with ids only (never the reason).
TEST_F(PerformanceServiceTest, AppealsAndDismissalsArePublishedOnceForTheDutyDesk) {
  auto payloads = [&](const std::string& type) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<ev::Event> out;
    for (const auto& row : tx.exec(absl::StrCat("SELECT envelope FROM wuye_outbox WHERE type = '",
                                                type, "' ORDER BY id"))) {
      pqxx::binarystring bytes(row[0]);
      ev::Event e;
      EXPECT_TRUE(e.ParseFromString(bytes.str()));
      out.push_back(e);
    }
    return out;
  };
  Complaint(agent_, Utc(2026, 10, 10));
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  pb::CreateAppealRequest req;
  req.set_request_id(NewId(absl::Now()));
  req.set_line_id(s.lines(0).id());
  // A reason holding a phone number is refused (NoFreeTextHoldsAPhoneOrIdNumber); none is
  // ever published.
  req.set_reason("the resident at 13800138000 withdrew the complaint");
  pb::Appeal a, again;
  EXPECT_EQ(Field(Call(&Stub::CreateAppeal, agent_tok_, req, &a)), "reason");
  req.set_reason("the resident at gate 7 withdrew the complaint");
  ASSERT_TRUE(Call(&Stub::CreateAppeal, agent_tok_, req, &a).ok());
  ASSERT_TRUE(Call(&Stub::CreateAppeal, agent_tok_, req, &again).ok());  // a retry
  EXPECT_EQ(Reason(Appeal(agent_tok_, s.lines(0).id(), &again)), "ALREADY_APPEALED");
  std::vector<ev::Event> created = payloads("performance.appeal.created");
  ASSERT_EQ(created.size(), 1u);
  ev::AppealChanged p;
  ASSERT_TRUE(created[0].payload().UnpackTo(&p));
  EXPECT_EQ(created[0].subject(), a.id());
  EXPECT_EQ(created[0].estate_id(), estate_);
  EXPECT_EQ(p.appeal_id(), a.id());
  EXPECT_EQ(p.staff_id(), agent_);
  EXPECT_FALSE(p.office());
  EXPECT_EQ(created[0].DebugString().find("withdrew"), std::string::npos);

  ASSERT_TRUE(Decide(manager_tok_, a.id(), pb::DECISION_UPHOLD, &again).ok());
  EXPECT_EQ(Reason(Decide(manager_tok_, a.id(), pb::DECISION_REJECT, &again)), "ALREADY_DECIDED");
  std::vector<ev::Event> decided = payloads("performance.appeal.decided");
  ASSERT_EQ(decided.size(), 1u);
  ASSERT_TRUE(decided[0].payload().UnpackTo(&p));
  EXPECT_TRUE(p.upheld());
  EXPECT_EQ(decided[0].subject_version(), 2);

  std::string stranger = UnrecordedCall(Utc(2026, 10, 3, 3), false);
  pb::CallFinding f;
  EXPECT_EQ(Field(Dismiss(manager_tok_, stranger, &f, "a courier, call 13800138000")), "reason");
  ASSERT_TRUE(Dismiss(manager_tok_, stranger, &f, "a courier at the east gate").ok());
  EXPECT_EQ(Reason(Dismiss(manager_tok_, stranger, &f)), "ALREADY_DISMISSED");
  std::vector<ev::Event> dismissed = payloads("performance.call_finding.dismissed");
  ASSERT_EQ(dismissed.size(), 1u);
  ev::CallFindingDismissed d;
  ASSERT_TRUE(dismissed[0].payload().UnpackTo(&d));
  EXPECT_EQ(d.finding_id(), stranger);
  EXPECT_EQ(d.estate_id(), estate_);
  EXPECT_EQ(dismissed[0].DebugString().find("courier"), std::string::npos);
}

// ---- the counter's evidence (issue #25) --------------------------------------------------------

// 000_… 二.7–9 "定期或不定期进行检查,如发现未处理…每发现一件扣服务质量标准分值50分": the
// counter's inspection that found a case not handled is −50 on the estate office's ledger
// once per inspection (its event is the evidence), and by the group's mapping the form item
// (−5 by default) on the form of the staff member who owns the case. Another group's event
// touches nothing of this group.
TEST_F(PerformanceServiceTest, ACaseFoundUnhandledCostsTheOfficeFiftyOnTheOwnersForm) {
  ev::CaseFoundUnhandled c;
  c.set_case_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.set_inspection_id(NewId(absl::Now()));
  c.set_owner_staff_id(agent_);
  c.set_inspector_staff_id(inspector_);
  *c.mutable_at() = ToProtoTime(Utc(2026, 10, 12, 2));
  const std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", group_, c, estate_, event_id).ok());
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", group_, c, estate_, event_id).ok());

  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  const pb::QualityLine& line = ledger.lines(0);
  EXPECT_EQ(line.item(), "violation_not_handled");
  EXPECT_EQ(line.points(), -50);
  EXPECT_EQ(line.state(), pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_EQ(line.evidence_ref(), event_id);
  EXPECT_EQ(line.entered_by(), inspector_);
  ASSERT_EQ(line.responsible_staff_ids_size(), 1);
  EXPECT_EQ(line.responsible_staff_ids(0), agent_);
  EXPECT_EQ(ledger.score(), -50);
  // On the owner's form, by the mapping: −5, the line of the office line.
  pb::Sheet owner = Sheet(agent_, 2026, 10);
  ASSERT_EQ(owner.lines_size(), 1);
  EXPECT_EQ(owner.lines(0).rule(), "violation_not_handled");
  EXPECT_EQ(owner.lines(0).points(), -5);
  EXPECT_EQ(owner.lines(0).quality_line_id(), line.id());
  EXPECT_EQ(owner.lines(0).evidence_ref(), event_id);
  EXPECT_EQ(owner.score(), 95);
  EXPECT_EQ(Sheet(inspector_, 2026, 10).lines_size(), 0);  // who found it is not charged

  // The group's mapping decides the form's points of a later inspection's finding.
  FormPoints("violation_not_handled", -8);
  ev::CaseFoundUnhandled again = c;
  again.set_inspection_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", group_, again, estate_).ok());
  EXPECT_EQ(Ledger(2026, 10).score(), -100);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 87);

  // Another group's event (the same ids) is that group's alone.
  std::string other = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.case.found_unhandled", other, c, estate_).ok());
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 2);
  EXPECT_EQ(Sheet(agent_, 2026, 10).score(), 87);
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM quality_lines WHERE group_id = '", group_,
                               "'")),
            2);
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM quality_lines WHERE group_id = '", other,
                               "'")),
            1);
  // A payload of another message is refused (the bus dead-letters it), nothing written.
  std::string before = Snapshot();
  EXPECT_EQ(Deliver("counter.case.found_unhandled", group_, ev::SurveyClosed(), estate_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
}

// 000_… 二.11 "每成功协助业主进行一次房屋质量维权奖励服务质量标准分值100分,以所作记录并经监督委员
// 会确认的次数为准": the counter's defect claim helped to success is +100 awaiting the
// supervisory committee's confirmation — counted on neither ledger (the helper's +10 form
// line pending) until ConfirmQualityLine records it, as a manual entry of the item is.
TEST_F(PerformanceServiceTest, AClaimHelpedToSuccessCountsOnceTheCommitteeConfirmsIt) {
  pb::Line line;
  for (int i = 0; i < 2; ++i) {  // the helper's form at 90, so that +10 shows
    ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                     Entry(tech_, "physical_conflict", Utc(2026, 10, 14)), &line)
                    .ok());
  }
  ev::DefectClaimSucceeded d;
  d.set_defect_id(NewId(absl::Now()));
  d.set_estate_id(estate_);
  d.set_unit_id(NewId(absl::Now()));
  d.set_staff_id(tech_);
  *d.mutable_at() = ToProtoTime(Utc(2026, 10, 15, 2));
  const std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.defect.claim_succeeded", group_, d, estate_, event_id).ok());
  ASSERT_TRUE(Deliver("counter.defect.claim_succeeded", group_, d, estate_, event_id).ok());

  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 3);
  pb::QualityLine claim = OfficeLine("housing_claim_help");
  EXPECT_EQ(claim.state(), pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION);
  EXPECT_EQ(claim.points(), 100);
  EXPECT_EQ(claim.evidence_ref(), event_id);
  ASSERT_EQ(claim.responsible_staff_ids_size(), 1);
  EXPECT_EQ(claim.responsible_staff_ids(0), tech_);
  EXPECT_EQ(ledger.awaiting_confirmation(), 1);
  EXPECT_EQ(ledger.score(), -100);  // not counted yet
  pb::Sheet s = Sheet(tech_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 3);
  pb::Line reward;
  for (const pb::Line& l : s.lines()) {
    if (l.rule() == "housing_claim_help") reward = l;
  }
  EXPECT_TRUE(reward.pending());
  EXPECT_EQ(reward.points(), 10);
  EXPECT_EQ(reward.quality_line_id(), claim.id());
  EXPECT_EQ(s.score(), 90);
  // The office cannot appeal it, nor anyone but the estate manager or an admin confirm it.
  pb::Appeal appeal;
  EXPECT_EQ(Reason(QualityAppeal(manager_tok_, claim.id(), &appeal)), "AWAITING_CONFIRMATION");
  pb::QualityLine confirmed;
  std::string before = Snapshot();
  EXPECT_EQ(Confirm(inspector_tok_, claim.id(), &confirmed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string other_group = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, "admin-9");
  EXPECT_EQ(Confirm(other_group, claim.id(), &confirmed).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);

  ASSERT_TRUE(Confirm(manager_tok_, claim.id(), &confirmed).ok());
  EXPECT_EQ(confirmed.state(), pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_EQ(confirmed.confirmed_by(), manager_);
  EXPECT_EQ(Reason(Confirm(manager_tok_, claim.id(), &confirmed)), "NOT_AWAITING_CONFIRMATION");
  ledger = Ledger(2026, 10);
  EXPECT_EQ(ledger.score(), 0);
  EXPECT_EQ(ledger.awaiting_confirmation(), 0);
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 100);
  // Redelivered after the confirmation: still one line, still counted, once.
  ASSERT_TRUE(Deliver("counter.defect.claim_succeeded", group_, d, estate_, event_id).ok());
  EXPECT_EQ(OfficeLine("housing_claim_help").state(), pb::QUALITY_LINE_STATE_COUNTED);
  EXPECT_EQ(Ledger(2026, 10).score(), 0);
  EXPECT_EQ(Sheet(tech_, 2026, 10).lines_size(), 3);

  // Another group's claim (the same staff id) is nothing of this group's.
  ASSERT_TRUE(Deliver("counter.defect.claim_succeeded", NewId(absl::Now()), d, estate_).ok());
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 3);
  EXPECT_EQ(Sheet(tech_, 2026, 10).lines_size(), 3);
}

// Issue #25 §5 ("满意度调查 … as a figure for the office"): the counter's closed surveys are
// the office's satisfaction figure of the month — on the team sheet and the quality ledger,
// never in its score; each survey once, in the month of its close (estate time).
TEST_F(PerformanceServiceTest, ClosedSurveysAreTheOfficesSatisfactionFigureOfTheMonth) {
  auto team = [&](int month) {
    pb::GetTeamSheetRequest req;
    req.set_estate_id(estate_);
    *req.mutable_period() = MakeMonth(2026, month);
    pb::TeamSheet out;
    grpc::Status st = Call(&Stub::GetTeamSheet, manager_tok_, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  };
  auto survey = [&](int answered, int households, int bp, absl::Time at) {
    ev::SurveyClosed v;
    v.set_survey_id(NewId(absl::Now()));
    v.set_estate_id(estate_);
    v.set_households_answered(answered);
    v.set_households(households);
    v.set_satisfied_bp(bp);
    *v.mutable_at() = ToProtoTime(at);
    return v;
  };
  EXPECT_EQ(team(10).satisfaction().surveys(), 0);

  ev::SurveyClosed first = survey(180, 240, 8650, Utc(2026, 10, 20, 8));
  const std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.survey.closed", group_, first, estate_, event_id).ok());
  ASSERT_TRUE(Deliver("counter.survey.closed", group_, first, estate_, event_id).ok());
  // The same survey under another envelope: kept once.
  ASSERT_TRUE(Deliver("counter.survey.closed", group_, first, estate_).ok());
  ASSERT_TRUE(
      Deliver("counter.survey.closed", group_, survey(20, 60, 5000, Utc(2026, 10, 3)), estate_)
          .ok());
  // 2026-10-31 16:30 UTC is 1 November in Shanghai: November's.
  ASSERT_TRUE(Deliver("counter.survey.closed", group_,
                      survey(50, 50, 10000, Utc(2026, 10, 31, 16, 30)), estate_)
                  .ok());
  // Another group's survey of an estate with the same id: not this group's.
  ASSERT_TRUE(Deliver("counter.survey.closed", NewId(absl::Now()),
                      survey(1, 1, 0, Utc(2026, 10, 20)), estate_)
                  .ok());
  // A survey whose figures cannot be is not kept.
  ASSERT_TRUE(
      Deliver("counter.survey.closed", group_, survey(61, 60, 5000, Utc(2026, 10, 3)), estate_)
          .ok());

  pb::TeamSheet october = team(10);
  EXPECT_EQ(october.satisfaction().surveys(), 2);
  EXPECT_EQ(october.satisfaction().households_answered(), 200);
  EXPECT_EQ(october.satisfaction().households(), 300);
  // Weighted by the households that answered: (8650 × 180 + 5000 × 20) / 200.
  EXPECT_EQ(october.satisfaction().satisfied_bp(), 8285);
  EXPECT_EQ(october.quality_score(), 0);  // a figure, not points
  pb::QualityLedger ledger = Ledger(2026, 10);
  EXPECT_EQ(ledger.satisfaction().DebugString(), october.satisfaction().DebugString());
  EXPECT_EQ(ledger.score(), 0);
  EXPECT_EQ(ledger.lines_size(), 0);
  pb::TeamSheet november = team(11);
  EXPECT_EQ(november.satisfaction().surveys(), 1);
  EXPECT_EQ(november.satisfaction().satisfied_bp(), 10000);
  EXPECT_EQ(Query("SELECT count(*) FROM surveys"), 4);
}

// ---- audited defects ----------------------------------------------------------------------------

// 002_…, 3.2 (保密性: 客服前台要保证客户信息的保密性,不得泄露客户隐私), and STYLE.md (no personal
// data; shared/text.h CheckNoPersonalNumbers, as duty and the counter check): no free text a
// person writes in performance may hold a phone or ID number — a manual entry's note, an
// appeal's reason (form line and office line), a decision's reason and the committee's
// reference, the committee's confirmation reference, a finding's dismissal reason, a form
// item's name. Each is INVALID_ARGUMENT naming the field, and writes nothing.
TEST_F(PerformanceServiceTest, NoFreeTextHoldsAPhoneOrIdNumber) {
  // What there is to appeal, decide, confirm and dismiss.
  Complaint(agent_, Utc(2026, 10, 10));
  pb::Sheet s = Sheet(agent_, 2026, 10);
  ASSERT_EQ(s.lines_size(), 1);
  pb::Appeal appeal;
  ASSERT_TRUE(Appeal(agent_tok_, s.lines(0).id(), &appeal).ok());
  pb::Line claim;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "housing_claim_help", Utc(2026, 10, 14)), &claim)
                  .ok());
  std::string finding = UnrecordedCall(Utc(2026, 10, 11), true);
  const std::string office_line = OfficeLine("complaint_verified").id();

  const std::vector<std::string> numbers = {
      "the resident (138 0013 8000) called",  // a mobile number, spaced
      "call 010-6914 0000",                   // a fixed line
      "ID 11010119900307123X",                // an ID number
      "电话１３８００１３８０００",           // full-width digits
  };
  std::string before = Snapshot();
  for (const std::string& text : numbers) {
    pb::CreateManualEntryRequest entry = Entry(tech_, "dress_code", Utc(2026, 10, 14));
    entry.set_note(text);
    pb::Line line;
    grpc::Status st = Call(&Stub::CreateManualEntry, inspector_tok_, entry, &line);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << text;
    EXPECT_EQ(Field(st), "note") << text;
    EXPECT_EQ(st.error_message().find(text), std::string::npos);  // never repeated

    pb::CreateAppealRequest form_appeal;
    form_appeal.set_request_id(NewId(absl::Now()));
    form_appeal.set_line_id(s.lines(0).id());
    form_appeal.set_reason(text);
    pb::Appeal out;
    EXPECT_EQ(Field(Call(&Stub::CreateAppeal, agent_tok_, form_appeal, &out)), "reason") << text;

    pb::CreateAppealRequest office_appeal;
    office_appeal.set_request_id(NewId(absl::Now()));
    office_appeal.set_quality_line_id(office_line);
    office_appeal.set_reason(text);
    EXPECT_EQ(Field(Call(&Stub::CreateAppeal, manager_tok_, office_appeal, &out)), "reason")
        << text;

    pb::DecideAppealRequest decide;
    decide.set_request_id(NewId(absl::Now()));
    decide.set_appeal_id(appeal.id());
    decide.set_decision(pb::DECISION_REJECT);
    decide.set_reason(text);
    EXPECT_EQ(Field(Call(&Stub::DecideAppeal, admin_tok_, decide, &out)), "reason") << text;
    decide.set_reason("checked the call recording");
    decide.set_decision_ref(text);
    EXPECT_EQ(Field(Call(&Stub::DecideAppeal, admin_tok_, decide, &out)), "decision_ref") << text;

    pb::QualityLine confirmed;
    EXPECT_EQ(Field(Confirm(manager_tok_, claim.quality_line_id(), &confirmed, text)),
              "confirmation_ref")
        << text;

    pb::CallFinding dismissed;
    EXPECT_EQ(Field(Dismiss(manager_tok_, finding, &dismissed, text)), "reason") << text;

    pb::UpdateFormItemRequest item;
    item.set_request_id(NewId(absl::Now()));
    item.mutable_item()->set_code("late_to_work");
    item.mutable_item()->set_name(text);
    item.mutable_item()->set_points(-3);
    pb::FormItem f;
    EXPECT_EQ(Field(Call(&Stub::UpdateFormItem, admin_tok_, item, &f)), "item.name") << text;
  }
  EXPECT_EQ(Snapshot(), before);

  // Dates and short numbers are no personal numbers: the texts go through.
  pb::QualityLine confirmed;
  ASSERT_TRUE(
      Confirm(manager_tok_, claim.quality_line_id(), &confirmed, "监督委员会 2026-10-20 纪要 3")
          .ok());
  pb::CallFinding dismissed;
  ASSERT_TRUE(Dismiss(manager_tok_, finding, &dismissed, "the caller was a courier, gate 2").ok());
}

// CreateManualEntry.occurred_at decides the month a line lands in. A line only goes to a
// month still open to appeal: never into a closed month (it would change the office score of
// a month already graded, 000_…, 二, and could never be appealed), nor after the month's
// appeal window — so every line can be appealed in its window. FAILED_PRECONDITION naming
// occurred_at and the month.
TEST_F(PerformanceServiceTest, ManualEntriesGoOnlyToAMonthStillOpenToAppeal) {
  // 15 October: September's window closed on 5 October 16:00 UTC (6 October, Shanghai).
  pb::Line line;
  std::string before = Snapshot();
  grpc::Status st = Call(&Stub::CreateManualEntry, inspector_tok_,
                         Entry(agent_, "quarrel", Utc(2026, 9, 20)), &line);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "APPEAL_WINDOW_CLOSED");
  EXPECT_TRUE(absl::StartsWith(st.error_message(), "occurred_at: ")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "2026-09")) << st.error_message();
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Ledger(2026, 9).lines_size(), 0);

  // 3 November: October's window is open; a line of 31 October goes in and can be appealed.
  clock_.Set(Utc(2026, 11, 3));
  pb::Line late;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(agent_, "quarrel", Utc(2026, 10, 31, 1)), &late)
                  .ok());
  EXPECT_EQ(late.period().month(), 10);
  pb::Appeal appeal;
  ASSERT_TRUE(Appeal(agent_tok_, late.id(), &appeal).ok());
  pb::Appeal decided;
  ASSERT_TRUE(Decide(manager_tok_, appeal.id(), pb::DECISION_REJECT, &decided).ok());
  pb::Appeal office;
  ASSERT_TRUE(QualityAppeal(manager_tok_, late.quality_line_id(), &office).ok());
  ASSERT_TRUE(CommitteeDecides(admin_tok_, office.id(), pb::DECISION_REJECT, &decided).ok());

  // 6 November, Shanghai: October's window has closed, the month not yet.
  clock_.Set(Utc(2026, 11, 5, 16));
  st = Call(&Stub::CreateManualEntry, inspector_tok_, Entry(tech_, "dress_code", Utc(2026, 10, 20)),
            &line);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "APPEAL_WINDOW_CLOSED");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "2026-10")) << st.error_message();
  pb::CloseMonthResponse closed;
  ASSERT_TRUE(Close(manager_tok_, estate_, 2026, 10, &closed).ok());
  const int32_t october = Ledger(2026, 10).score();
  EXPECT_EQ(october, -20);

  // Closed: refused, also with a window the group widened since; the closed month's office
  // score and the person's form stay as graded.
  pb::UpdateSettingsRequest wider;
  wider.set_request_id(NewId(absl::Now()));
  wider.mutable_settings()->set_base_score(100);
  wider.mutable_settings()->set_appeal_window_days(30);
  pb::Settings settings;
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, wider, &settings).ok());
  before = Snapshot();
  for (const char* rule : {"physical_conflict", "housing_claim_help"}) {
    st = Call(&Stub::CreateManualEntry, inspector_tok_, Entry(tech_, rule, Utc(2026, 10, 20)),
              &line);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << rule;
    EXPECT_EQ(Reason(st), "MONTH_CLOSED") << rule;
    EXPECT_TRUE(absl::StartsWith(st.error_message(), "occurred_at: ")) << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "2026-10")) << st.error_message();
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Ledger(2026, 10).score(), october);
  EXPECT_EQ(Sheet(tech_, 2026, 10).lines_size(), 0);
  EXPECT_EQ(Sheet(tech_, 2026, 11).lines_size(), 0);  // nor carried to November

  // November is open: its lines go in.
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(tech_, "dress_code", Utc(2026, 11, 4)), &line)
                  .ok());
  EXPECT_EQ(line.period().month(), 11);
  EXPECT_FALSE(line.has_carried_from());
}

// 000_… 二.5 "在上門服務中業主對其服務態度進行評估,非有償服務的條目中,評估為不滿意的,每次扣服務質量
// 標準分值20分": only an on-site service (上門服務) rated unsatisfied costs the office 20. A
// callback of a ticket settled at the desk (no worker, no work order), or whose work orders
// were all cancelled (no worker went), rates no visit: no line on either ledger.
TEST_F(PerformanceServiceTest, AnUnsatisfiedCallbackCostsTheOfficeOnlyForAnOnSiteService) {
  ev::CallbackRecorded c;
  c.set_callback_id(NewId(absl::Now()));
  c.set_ticket_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  c.set_agent_id(agent_);
  c.set_satisfaction(wuye::common::v1::SATISFACTION_UNSATISFIED);
  *c.mutable_called_at() = ToProtoTime(Utc(2026, 10, 12));
  ASSERT_TRUE(Deliver("intake.callback.recorded", group_, c, estate_).ok());
  c.set_callback_id(NewId(absl::Now()));
  c.add_work_order_ids(NewId(absl::Now()));  // its only order cancelled
  ASSERT_TRUE(Deliver("intake.callback.recorded", group_, c, estate_).ok());
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 0);
  EXPECT_EQ(Ledger(2026, 10).score(), 0);
  EXPECT_EQ(Sheet(agent_, 2026, 10).figures().callbacks_made(), 2);  // the calls still count
  EXPECT_EQ(Sheet(agent_, 2026, 10).lines_size(), 0);

  // A worker went: −20 for the office, naming the worker, whose form loses the item's points.
  c.set_callback_id(NewId(absl::Now()));
  c.add_worker_ids(tech_);
  ASSERT_TRUE(Deliver("intake.callback.recorded", group_, c, estate_).ok());
  pb::QualityLedger ledger = Ledger(2026, 10);
  ASSERT_EQ(ledger.lines_size(), 1);
  EXPECT_EQ(ledger.lines(0).item(), "service_unsatisfied");
  EXPECT_EQ(ledger.lines(0).points(), -20);
  ASSERT_EQ(ledger.lines(0).responsible_staff_ids_size(), 1);
  EXPECT_EQ(ledger.lines(0).responsible_staff_ids(0), tech_);
  EXPECT_EQ(ledger.score(), -20);
  EXPECT_EQ(Sheet(tech_, 2026, 10).score(), 98);
  // Paid work is not deducted, on-site or not.
  c.set_callback_id(NewId(absl::Now()));
  c.set_paid(true);
  ASSERT_TRUE(Deliver("intake.callback.recorded", group_, c, estate_).ok());
  EXPECT_EQ(Ledger(2026, 10).lines_size(), 1);
}

// 000_… 二.11 "每成功協助業主進行一次房屋質量維權獎勵服務質量標準分值100分,以所作記錄並經監督委員會
// 確認的次數為準": the count is the committee's. Whoever a housing-claim line names (their own
// +10, and for an estate manager the office's +100) never records its confirmation —
// PERMISSION_DENIED, as an office appeal is never decided by a person the line names.
TEST_F(PerformanceServiceTest, NobodyTheLineNamesRecordsTheCommitteesConfirmation) {
  // The estate manager helped: an inspector's entry, and the counter's event.
  pb::Line entry;
  ASSERT_TRUE(Call(&Stub::CreateManualEntry, inspector_tok_,
                   Entry(manager_, "housing_claim_help", Utc(2026, 10, 14)), &entry)
                  .ok());
  ev::DefectClaimSucceeded d;
  d.set_defect_id(NewId(absl::Now()));
  d.set_estate_id(estate_);
  d.set_unit_id(NewId(absl::Now()));
  d.set_staff_id(manager_);
  *d.mutable_at() = ToProtoTime(Utc(2026, 10, 14, 2));
  const std::string event_id = NewId(absl::Now());
  ASSERT_TRUE(Deliver("counter.defect.claim_succeeded", group_, d, estate_, event_id).ok());
  std::string from_event;
  const pb::QualityLedger awaiting = Ledger(2026, 10);
  for (const auto& l : awaiting.lines()) {
    if (l.evidence_ref() == event_id) from_event = l.id();
  }
  ASSERT_FALSE(from_event.empty());

  std::string named_admin = TestToken(group_, {"*"}, {"group_admin"}, manager_);
  std::string before = Snapshot();
  pb::QualityLine confirmed;
  for (const std::string& line : {entry.quality_line_id(), from_event}) {
    for (const std::string& tok : {manager_tok_, named_admin}) {
      grpc::Status st = Confirm(tok, line, &confirmed);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    }
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Ledger(2026, 10).score(), 0);  // neither counts
  EXPECT_EQ(Ledger(2026, 10).awaiting_confirmation(), 2);

  // Another estate manager of the estate, or a group admin, records it.
  std::string manager2 = Staff({ev::STAFF_ROLE_ESTATE_MANAGER}, estate_);
  std::string manager2_tok = TestToken(group_, {estate_}, {"estate_manager"}, manager2);
  ASSERT_TRUE(Confirm(manager2_tok, entry.quality_line_id(), &confirmed).ok());
  EXPECT_EQ(confirmed.confirmed_by(), manager2);
  ASSERT_TRUE(Confirm(admin_tok_, from_event, &confirmed).ok());
  EXPECT_EQ(Ledger(2026, 10).score(), 200);
  EXPECT_EQ(Sheet(manager_, 2026, 10).score(), 100);
}

}  // namespace
}  // namespace wuye::performance
