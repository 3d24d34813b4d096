// The notification outlet (notifier.h) against a real PostgreSQL database and real HTTP
// receivers: libmicrohttpd servers on free ports of the test's own that check each POST's
// signature on their own (OpenSSL, not the code under test), count deliveries and their
// Idempotency-Keys, and can answer 5xx, redirect or answer slowly. Tasks are raised from
// events through the desk's own handler, as the bus would feed them; the clock is a
// FakeClock, so backoff and lease times are read from the rows, never waited for.
#include "services/duty/notifier.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "nlohmann/json.hpp"
#include "services/duty/consumers.h"
#include "services/duty/duty_jobs.h"
#include "services/duty/duty_service.h"
#include "services/duty/gateway_receiver_testing.h"
#include "services/duty/notification.h"
#include "services/duty/notification_store.h"
#include "shared/ids.h"
#include "shared/metrics.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::duty {
namespace {

using ::wuye::testing::TestToken;
using Stub = pb::DutyService::Stub;
using testing::GatewayKeyOf;
using testing::HexHmac;
using testing::Receiver;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::UTCTimeZone());
constexpr char kSecret[] = "duty-gateway-test-secret-0123456789-abcdef";

// What a group's gateway is given: the key derived for its group (docs/api/duty.md).
std::string KeyOf(const std::string& group) { return GatewayKeyOf(kSecret, group); }

// The queue-age gauge as the metrics endpoint shows it (-1 when absent).
double QueueAge() {
  std::string text = Metrics::Global().PrometheusText();
  const std::string name = "wuye_duty_notification_queue_age_seconds ";
  size_t at = text.find(name);
  if (at == std::string::npos) return -1;
  double v = -1;
  EXPECT_TRUE(
      absl::SimpleAtod(text.substr(at + name.size(), text.find('\n', at) - at - name.size()), &v));
  return v;
}

struct Row {
  std::string id, task_id, change, last_error;
  int state = 0, attempts = 0, http_status = 0;
  absl::Time next_attempt_at;
};

class NotifierTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(duty_migrations(), 8);
    handler_ = MakeHandler(*db_, clock_);
    group_ = NewId(absl::Now());
    estate_ = Estate(group_);
    guard_ = Staff(group_, estate_, ev::STAFF_ROLE_SECURITY_GUARD);
    carer_ = Staff(group_, estate_, ev::STAFF_ROLE_CARE_WORKER);
    lead_ = Staff(group_, estate_, ev::STAFF_ROLE_TEAM_LEAD);
  }

  NotifierOptions Options() {
    NotifierOptions o;
    o.secret = kSecret;
    o.http.allow_http = true;
    o.http.connect_timeout = absl::Seconds(2);
    o.http.total_timeout = absl::Seconds(10);
    o.lease = absl::Seconds(60);
    o.backoff_base = absl::Seconds(5);
    o.backoff_cap = absl::Seconds(40);
    o.max_attempts = 5;
    o.max_age = absl::Hours(24);
    return o;
  }

  absl::Status Deliver(const std::string& type, const std::string& group,
                       const google::protobuf::Message& payload, const std::string& estate) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
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

  // A staff member on the roster of the estate for the whole test day.
  std::string Staff(const std::string& group, const std::string& estate, ev::StaffRole role) {
    ev::StaffChanged s;
    s.set_staff_id(NewId(absl::Now()));
    s.add_roles(role);
    s.add_home_estate_ids(estate);
    s.set_active(true);
    s.set_version(1);
    EXPECT_TRUE(Deliver("directory.staff.created", group, s, "").ok());
    ev::ShiftChanged sh;
    sh.set_shift_id(NewId(absl::Now()));
    sh.set_estate_id(estate);
    sh.set_staff_id(s.staff_id());
    *sh.mutable_start_time() = ToProtoTime(kStart - absl::Hours(1));
    *sh.mutable_end_time() = ToProtoTime(kStart + absl::Hours(20));
    EXPECT_TRUE(Deliver("directory.shift.created", group, sh, estate).ok());
    return s.staff_id();
  }

  void SetGateway(const std::string& group, const std::string& url) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     DutyStore store(*db_);
                     pb::Settings s = store.GetSettings(tx, group);
                     s.set_notification_gateway_url(url);
                     store.PutSettings(tx, group, s, clock_.Now());
                     return absl::OkStatus();
                   })
                    .ok());
  }

  // An elder's emergency at a unit: two tasks (guard, care worker), two notifications.
  ev::ElderEmergency Emergency(const std::string& group, const std::string& estate) {
    ev::ElderEmergency em;
    em.set_emergency_id(NewId(absl::Now()));
    em.set_elder_id(NewId(absl::Now()));
    em.set_estate_id(estate);
    em.set_unit_id(NewId(absl::Now()));
    EXPECT_TRUE(Deliver("eldercare.emergency.raised", group, em, estate).ok());
    return em;
  }

  std::vector<Row> Rows(const std::string& group = "") {
    pqxx::connection conn(tdb_.url());
    pqxx::work tx(conn);
    std::vector<Row> out;
    for (const pqxx::row& r : tx.exec_params(
             "SELECT id, task_id, change, last_error, state, attempts, http_status, "
             "(extract(epoch FROM next_attempt_at) * 1000000)::bigint FROM notifications "
             "WHERE $1 = '' OR group_id = NULLIF($1, '')::uuid ORDER BY created_at, id",
             group.empty() ? group_ : group)) {
      Row x;
      x.id = r[0].as<std::string>();
      x.task_id = r[1].as<std::string>();
      x.change = r[2].as<std::string>();
      x.last_error = r[3].as<std::string>();
      x.state = r[4].as<int>();
      x.attempts = r[5].as<int>();
      x.http_status = r[6].as<int>();
      x.next_attempt_at = absl::FromUnixMicros(r[7].as<int64_t>());
      out.push_back(x);
    }
    return out;
  }

  int Run(Notifier& n) {
    absl::StatusOr<int> got = n.Deliver();
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : -1;
  }

  void StartService() {
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<DutyServiceImpl>(*db_, *verifier_, clock_, absl::Milliseconds(20));
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.duty.v1.DutyService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = pb::DutyService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                                         grpc::InsecureChannelCredentials()));
  }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  FakeClock clock_{kStart};
  EventHandler handler_;
  std::string group_, estate_, guard_, carer_, lead_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<DutyServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
};

// ---- pure rules ---------------------------------------------------------------------------

TEST(NotificationRules, OnlyRaisedAndEscalatedNotify) {
  EXPECT_EQ(NotifyingChange("duty.task.raised"), "raised");
  EXPECT_EQ(NotifyingChange("duty.task.escalated"), "escalated");
  EXPECT_FALSE(NotifyingChange("duty.task.acknowledged"));
  EXPECT_FALSE(NotifyingChange("duty.task.done"));
}

TEST(NotificationRules, GatewayUrls) {
  EXPECT_TRUE(CheckGatewayUrl("", "f", false).ok());
  EXPECT_TRUE(CheckGatewayUrl("https://sms.example.cn/hook?x=1", "f", false).ok());
  EXPECT_TRUE(CheckGatewayUrl("https://[::1]:8443/hook", "f", false).ok());
  EXPECT_TRUE(CheckGatewayUrl("http://127.0.0.1:9000/n", "f", true).ok());
  for (const char* bad : {"http://127.0.0.1:9000/n", "ftp://x.cn/", "https://",
                          "https://user:pw@x.cn/", "https://x.cn/a b", "https://x.cn/#frag",
                          "https://x.cn:port/", "x.cn/hook", "https://x_y!.cn/"}) {
    absl::Status st = CheckGatewayUrl(bad, "settings.notification_gateway_url", false);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ErrorField(st), "settings.notification_gateway_url") << bad;
  }
  EXPECT_FALSE(
      CheckGatewayUrl(absl::StrCat("https://x.cn/", std::string(1100, 'a')), "f", false).ok());
}

TEST(NotificationRules, BackoffDoublesUpToItsCap) {
  const absl::Duration base = absl::Seconds(5), cap = absl::Seconds(40);
  EXPECT_EQ(RetryDelay(1, base, cap, 0), absl::Seconds(5));
  EXPECT_EQ(RetryDelay(2, base, cap, 0), absl::Seconds(10));
  EXPECT_EQ(RetryDelay(3, base, cap, 0), absl::Seconds(20));
  EXPECT_EQ(RetryDelay(4, base, cap, 0), absl::Seconds(40));
  EXPECT_EQ(RetryDelay(30, base, cap, 0), absl::Seconds(40));
  EXPECT_EQ(RetryDelay(30, base, cap, 0.999), absl::Seconds(40) * (1 + 0.999 / 4));
}

TEST(NotificationRules, EachGroupHasItsOwnKey) {
  EXPECT_EQ(GroupGatewayKey(kSecret, "g1"), KeyOf("g1"));
  EXPECT_NE(GroupGatewayKey(kSecret, "g1"), GroupGatewayKey(kSecret, "g2"));
  EXPECT_EQ(SignatureOf("k", 1700000000, "{}"), absl::StrCat("v1=", HexHmac("k", "1700000000.{}")));
}

// ---- the outlet ---------------------------------------------------------------------------

// Issue #22 §2: an elder's emergency reaches the guard and the care worker on duty through
// the gateway, signed, once, saying "elderly-care emergency" and the place, never anything
// of the elder (004_…; DOMAIN.md §6).
TEST_F(NotifierTest, AnEmergencyIsPostedSignedOnceAndSaysNothingOfTheElder) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  ev::ElderEmergency em = Emergency(group_, estate_);
  ASSERT_EQ(Rows().size(), 2u);  // queued with the tasks, in their transaction

  Notifier n(*db_, clock_, Options());
  int64_t sent_before =
      Metrics::Global().Counter("wuye_duty_notifications_total{outcome=\"sent\"}");
  EXPECT_EQ(Run(n), 2);
  ASSERT_EQ(gw.Count(), 2);
  EXPECT_EQ(Metrics::Global().Counter("wuye_duty_notifications_total{outcome=\"sent\"}"),
            sent_before + 2);
  std::set<std::string> assignees;
  for (const Receiver::Delivery& d : gw.Deliveries()) {
    EXPECT_TRUE(d.signed_ok);
    EXPECT_EQ(d.body.find(em.elder_id()), std::string::npos);
    nlohmann::json b = nlohmann::json::parse(d.body);
    EXPECT_EQ(b["notification_id"], d.key);
    EXPECT_EQ(b["group_id"], group_);
    EXPECT_EQ(b["estate_id"], estate_);
    EXPECT_EQ(b["change"], "raised");
    EXPECT_EQ(b["kind"], "elder_emergency");
    EXPECT_TRUE(absl::StartsWith(b["title"].get<std::string>(), "elderly-care emergency"))
        << b["title"];
    EXPECT_EQ(b["location"]["unit_id"], em.unit_id());
    EXPECT_EQ(b["level"], 0);
    EXPECT_EQ(b["ack_due_time"], "2026-03-02T09:03:00Z");
    EXPECT_EQ(b["ack_due_local"], "2026-03-02 17:03");
    ASSERT_EQ(b["assignee_staff_ids"].size(), 1u);
    assignees.insert(b["assignee_staff_ids"][0].get<std::string>());
  }
  EXPECT_EQ(assignees, (std::set<std::string>{guard_, carer_}));
  for (const Row& r : Rows()) {
    EXPECT_EQ(r.state, 2);
    EXPECT_EQ(r.attempts, 1);
  }
  // Sent is sent: the next runs post nothing.
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Run(n), 0);
  EXPECT_EQ(gw.Count(), 2);
}

// A major complaint's summary quotes the resident's number; the task's title and the
// notification carry none of it.
TEST_F(NotifierTest, NoPersonalDataInTheBody) {
  Staff(group_, estate_, ev::STAFF_ROLE_SUPERVISOR);
  Staff(group_, estate_, ev::STAFF_ROLE_ESTATE_MANAGER);
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  ev::MajorComplaint m;
  m.set_ticket_id(NewId(absl::Now()));
  m.set_estate_id(estate_);
  m.set_summary("Zhang San at 13800138000, ID 110101199003074578, says his asthma is worse");
  ASSERT_TRUE(Deliver("intake.complaint.major", group_, m, estate_).ok());
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 2);
  ASSERT_EQ(gw.Count(), 2);
  for (const Receiver::Delivery& d : gw.Deliveries()) {
    for (const char* personal : {"13800138000", "Zhang", "110101199003074578", "asthma"}) {
      EXPECT_EQ(d.body.find(personal), std::string::npos) << personal;
    }
    EXPECT_EQ(nlohmann::json::parse(d.body)["kind"], "major_complaint");
  }
}

TEST_F(NotifierTest, AGroupWithoutAGatewayQueuesNothing) {
  Emergency(group_, estate_);
  EXPECT_TRUE(Rows().empty());
}

// An escalation notifies the next level (issue #22 §2: "it moves up the ladder and says
// so"); an acknowledgement does not.
TEST_F(NotifierTest, AnEscalationNotifiesTheNextLevel) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  Emergency(group_, estate_);
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 2);
  clock_.Advance(absl::Minutes(3));
  DutyJobs jobs(*db_);
  ASSERT_EQ(*jobs.Escalate(clock_.Now()), 2);  // guard and care worker → team lead
  EXPECT_EQ(Run(n), 2);
  ASSERT_EQ(gw.Count(), 4);
  for (int i = 2; i < 4; ++i) {
    nlohmann::json b = nlohmann::json::parse(gw.Deliveries()[i].body);
    EXPECT_EQ(b["change"], "escalated");
    EXPECT_EQ(b["role"], "team_lead");
    EXPECT_EQ(b["level"], 1);
    EXPECT_EQ(b["assignee_staff_ids"], nlohmann::json::array({lead_}));
    EXPECT_EQ(b["task_version"], 2);
  }
}

// A gateway answering 503 gets the same notification again (same Idempotency-Key) after a
// growing wait, until it answers 2xx.
TEST_F(NotifierTest, AFailingGatewayIsRetriedWithBackoff) {
  Receiver gw(KeyOf(group_));
  gw.FailFirst(2);
  SetGateway(group_, gw.Url());
  ev::SafetyCheckRaised c;  // one task: the care worker's
  c.set_check_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("eldercare.safety_check.raised", group_, c, estate_).ok());
  Notifier n(*db_, clock_, Options());

  EXPECT_EQ(Run(n), 1);
  std::vector<Row> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, 1);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_EQ(rows[0].last_error, "HTTP 503");
  EXPECT_EQ(rows[0].http_status, 503);
  absl::Duration wait1 = rows[0].next_attempt_at - clock_.Now();
  EXPECT_GE(wait1, absl::Seconds(5));
  EXPECT_LE(wait1, absl::Seconds(5) * 1.25);
  EXPECT_EQ(Run(n), 0);  // not due yet

  clock_.Advance(wait1);
  EXPECT_EQ(Run(n), 1);
  rows = Rows();
  EXPECT_EQ(rows[0].attempts, 2);
  // The oldest row waiting was queued at the start.
  EXPECT_NEAR(QueueAge(), absl::ToDoubleSeconds(clock_.Now() - kStart), 0.01);  // 6 digits
  absl::Duration wait2 = rows[0].next_attempt_at - clock_.Now();
  EXPECT_GE(wait2, absl::Seconds(10));  // doubled
  EXPECT_LE(wait2, absl::Seconds(10) * 1.25);

  clock_.Advance(wait2);
  EXPECT_EQ(Run(n), 1);
  rows = Rows();
  EXPECT_EQ(rows[0].state, 2);
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(QueueAge(), 0);  // nothing waits
  ASSERT_EQ(gw.Count(), 3);
  EXPECT_EQ(gw.Unique(), 1);
  for (const Receiver::Delivery& d : gw.Deliveries()) EXPECT_TRUE(d.signed_ok);
}

// Given up after max_attempts: FAILED, counted, listed for the group's admin, and sent
// again on RetryNotification. Never silently dropped.
TEST_F(NotifierTest, GivenUpAfterMaxAttemptsIntoAVisibleFailedState) {
  Receiver gw(KeyOf(group_));
  gw.AlwaysAnswer(500);
  SetGateway(group_, gw.Url());
  ev::SafetyCheckRaised c;
  c.set_check_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("eldercare.safety_check.raised", group_, c, estate_).ok());
  NotifierOptions o = Options();
  o.max_attempts = 3;
  Notifier n(*db_, clock_, o);
  int64_t failed_before =
      Metrics::Global().Counter("wuye_duty_notifications_total{outcome=\"failed\"}");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run(n), 1);
    clock_.Advance(absl::Minutes(5));
  }
  EXPECT_EQ(Run(n), 0);
  std::vector<Row> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, 3);
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(rows[0].last_error, "HTTP 500");
  EXPECT_EQ(Metrics::Global().Counter("wuye_duty_notifications_total{outcome=\"failed\"}"),
            failed_before + 1);

  StartService();
  std::string admin = TestToken(group_, {"*"}, {"group_admin"}, NewId(absl::Now()));
  pb::ListNotificationsRequest list;
  list.set_state(pb::Notification::FAILED);
  pb::ListNotificationsResponse resp;
  ASSERT_TRUE(Call(&Stub::ListNotifications, admin, list, &resp).ok());
  ASSERT_EQ(resp.notifications_size(), 1);
  EXPECT_EQ(resp.notifications(0).id(), rows[0].id);
  EXPECT_EQ(resp.notifications(0).last_error(), "HTTP 500");
  EXPECT_EQ(resp.notifications(0).attempts(), 3);
  // Not the group admin's: refused; another group's admin: sees nothing, finds nothing.
  std::string lead = TestToken(group_, {estate_}, {"team_lead"}, lead_);
  EXPECT_EQ(Call(&Stub::ListNotifications, lead, list, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string stranger = TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}, NewId(absl::Now()));
  resp.Clear();
  ASSERT_TRUE(Call(&Stub::ListNotifications, stranger, list, &resp).ok());
  EXPECT_EQ(resp.notifications_size(), 0);
  pb::RetryNotificationRequest retry;
  retry.set_request_id(NewId(absl::Now()));
  retry.set_id(rows[0].id);
  pb::Notification again;
  EXPECT_EQ(Call(&Stub::RetryNotification, stranger, retry, &again).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rows()[0].state, 3);  // nothing changed on refusal
  pb::ListNotificationsRequest bad;
  bad.set_task_id("not-an-id");
  grpc::Status st = Call(&Stub::ListNotifications, admin, bad, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The gateway fixed, the admin sends it again.
  gw.AlwaysAnswer(0);
  retry.set_request_id(NewId(absl::Now()));
  ASSERT_TRUE(Call(&Stub::RetryNotification, admin, retry, &again).ok());
  EXPECT_EQ(again.state(), pb::Notification::PENDING);
  EXPECT_EQ(again.attempts(), 0);
  EXPECT_EQ(Run(n), 1);
  EXPECT_EQ(Rows()[0].state, 2);
  retry.set_request_id(NewId(absl::Now()));
  st = Call(&Stub::RetryNotification, admin, retry, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(NotifierTest, GivenUpPastTheMaximumAgeWithoutAPost) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  Emergency(group_, estate_);
  clock_.Advance(absl::Hours(25));
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 0);
  EXPECT_EQ(gw.Count(), 0);
  for (const Row& r : Rows()) {
    EXPECT_EQ(r.state, 3);
    EXPECT_TRUE(absl::StartsWith(r.last_error, "expired")) << r.last_error;
  }
}

// A gateway that answers too slowly is a failed attempt ("timeout"), retried later with
// the same Idempotency-Key, so that the gateway can drop the repeat.
TEST_F(NotifierTest, ASlowGatewayTimesOutAndIsRetried) {
  Receiver gw(KeyOf(group_));
  gw.AnswerAfter(absl::Seconds(30));
  SetGateway(group_, gw.Url());
  ev::SafetyCheckRaised c;
  c.set_check_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("eldercare.safety_check.raised", group_, c, estate_).ok());
  NotifierOptions o = Options();
  o.http.total_timeout = absl::Milliseconds(300);
  Notifier n(*db_, clock_, o);
  EXPECT_EQ(Run(n), 1);
  std::vector<Row> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, 1);
  EXPECT_EQ(rows[0].last_error, "timeout");
  EXPECT_EQ(rows[0].http_status, 0);
  gw.AnswerAfter(absl::ZeroDuration());
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Run(n), 1);
  EXPECT_EQ(Rows()[0].state, 2);
  EXPECT_EQ(gw.Count(), 2);
  EXPECT_EQ(gw.Unique(), 1);
}

// A redirect is an answer that is not 2xx: never followed.
TEST_F(NotifierTest, RedirectsAreNotFollowed) {
  Receiver gw(KeyOf(group_));
  gw.AlwaysAnswer(302);
  SetGateway(group_, gw.Url());
  Emergency(group_, estate_);
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 2);
  EXPECT_EQ(gw.CountAt("/elsewhere"), 0);
  for (const Row& r : Rows()) {
    EXPECT_EQ(r.state, 1);
    EXPECT_EQ(r.last_error, "HTTP 302");
  }
}

// http:// only where the deployment allows it; no secret, no post: both visible failures.
TEST_F(NotifierTest, NoPostWithoutHttpsOrWithoutASecret) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  Emergency(group_, estate_);
  NotifierOptions https_only = Options();
  https_only.http.allow_http = false;
  Notifier n1(*db_, clock_, https_only);
  EXPECT_EQ(Run(n1), 2);
  for (const Row& r : Rows()) EXPECT_EQ(r.last_error, "http:// is off in this deployment");
  clock_.Advance(absl::Minutes(1));
  NotifierOptions no_secret = Options();
  no_secret.secret = "";
  Notifier n2(*db_, clock_, no_secret);
  EXPECT_EQ(Run(n2), 2);
  for (const Row& r : Rows()) EXPECT_EQ(r.last_error, "no gateway secret in this deployment");
  EXPECT_EQ(gw.Count(), 0);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// https is verified: a gateway whose certificate the client cannot verify gets nothing
// (the attempt fails "TLS: ..."); trusted (here through --duty_gateway_ca_file), it does.
TEST_F(NotifierTest, HttpsGatewaysAreVerified) {
  ASSERT_TRUE(MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES) << "libmicrohttpd without TLS";
  char tmpl[] = "/tmp/wuye-notify-tls-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  // A self-signed certificate for 127.0.0.1 (its own CA), made with the openssl CLI.
  ASSERT_EQ(std::system(
                absl::StrCat(
                    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
                    "-keyout ",
                    dir, "/key.pem -out ", dir, "/cert.pem 2>/dev/null")
                    .c_str()),
            0);
  {
    Receiver gw(KeyOf(group_), ReadAll(dir + "/cert.pem"), ReadAll(dir + "/key.pem"));
    ASSERT_TRUE(absl::StartsWith(gw.Url(), "https://"));
    SetGateway(group_, gw.Url());
    ev::SafetyCheckRaised c;
    c.set_check_id(NewId(absl::Now()));
    c.set_estate_id(estate_);
    ASSERT_TRUE(Deliver("eldercare.safety_check.raised", group_, c, estate_).ok());
    NotifierOptions o = Options();
    o.http.allow_http = false;
    Notifier untrusting(*db_, clock_, o);
    EXPECT_EQ(Run(untrusting), 1);
    std::vector<Row> rows = Rows();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].state, 1);
    EXPECT_TRUE(absl::StartsWith(rows[0].last_error, "TLS")) << rows[0].last_error;
    EXPECT_EQ(gw.Count(), 0);

    o.http.ca_file = dir + "/cert.pem";
    Notifier trusting(*db_, clock_, o);
    clock_.Advance(absl::Minutes(1));
    EXPECT_EQ(Run(trusting), 1);
    EXPECT_EQ(Rows()[0].state, 2);
    ASSERT_EQ(gw.Count(), 1);
    EXPECT_TRUE(gw.Deliveries()[0].signed_ok);
  }
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

// Two replicas' notifiers racing over the same queue: each notification is posted once.
TEST_F(NotifierTest, TwoRacingNotifiersSendEachOnce) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  for (int i = 0; i < 15; ++i) Emergency(group_, estate_);
  ASSERT_EQ(Rows().size(), 30u);
  auto db2 = tdb_.Open(duty_migrations(), 4);  // another replica's pool
  Notifier a(*db_, clock_, Options()), b(*db2, clock_, Options());
  std::atomic<int> claimed{0};
  auto run = [&](Notifier& n) {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<int> got = n.Deliver(5);
      ASSERT_TRUE(got.ok()) << got.status();
      claimed += *got;
    }
  };
  std::thread ta([&] { run(a); }), tb([&] { run(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(claimed.load(), 30);
  EXPECT_EQ(gw.Count(), 30);
  EXPECT_EQ(gw.Unique(), 30);
  for (const Row& r : Rows()) {
    EXPECT_EQ(r.state, 2);
    EXPECT_EQ(r.attempts, 1);
  }
}

// A replica that claimed a row and died (no mark): the row is not posted while its lease
// runs, then comes due again and is sent by another, with the same Idempotency-Key — the
// gateway drops the repeat if the dead one had posted it.
TEST_F(NotifierTest, ARowClaimedByAReplicaThatDiedIsSentAfterItsLease) {
  Receiver gw(KeyOf(group_));
  SetGateway(group_, gw.Url());
  ev::SafetyCheckRaised c;
  c.set_check_id(NewId(absl::Now()));
  c.set_estate_id(estate_);
  ASSERT_TRUE(Deliver("eldercare.safety_check.raised", group_, c, estate_).ok());
  std::optional<ClaimedNotification> dead;
  {
    // The dead replica: its own connection claims the row, posts it, and is gone.
    auto db2 = tdb_.Open(duty_migrations(), 1);
    NotificationStore::Prepare(*db2);
    ASSERT_TRUE(db2->Transact([&](pqxx::work& tx) {
                     dead = NotificationStore::ClaimOne(
                         tx, clock_.Now(), clock_.Now() + absl::Seconds(60), NewId(absl::Now()));
                     return absl::OkStatus();
                   })
                    .ok());
  }
  ASSERT_TRUE(dead.has_value());
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 0);  // leased
  EXPECT_EQ(gw.Count(), 0);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Run(n), 1);
  std::vector<Row> rows = Rows();
  EXPECT_EQ(rows[0].state, 2);
  EXPECT_EQ(rows[0].attempts, 2);
  ASSERT_EQ(gw.Count(), 1);
  EXPECT_EQ(gw.Deliveries()[0].key, dead->id);
  // The dead one's claim no longer marks anything.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   EXPECT_FALSE(NotificationStore::MarkFailed(tx, *dead, 0, "late", clock_.Now()));
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(Rows()[0].state, 2);
}

// Tenancy: group A's tasks go to A's gateway signed with A's key, B's to B's; neither
// gateway ever sees the other group's task.
TEST_F(NotifierTest, EachGroupsTasksGoToItsOwnGatewayOnly) {
  std::string group_b = NewId(absl::Now());
  std::string estate_b = Estate(group_b);
  Staff(group_b, estate_b, ev::STAFF_ROLE_SECURITY_GUARD);
  Receiver gw_a(KeyOf(group_)), gw_b(KeyOf(group_b));
  SetGateway(group_, gw_a.Url());
  SetGateway(group_b, gw_b.Url());
  Emergency(group_, estate_);
  Emergency(group_b, estate_b);
  Emergency(group_, estate_);
  Notifier n(*db_, clock_, Options());
  EXPECT_EQ(Run(n), 6);
  ASSERT_EQ(gw_a.Count(), 4);
  ASSERT_EQ(gw_b.Count(), 2);
  for (const Receiver::Delivery& d : gw_a.Deliveries()) {
    EXPECT_TRUE(d.signed_ok);  // under A's key
    EXPECT_EQ(nlohmann::json::parse(d.body)["group_id"], group_);
    EXPECT_EQ(d.body.find(estate_b), std::string::npos);
  }
  for (const Receiver::Delivery& d : gw_b.Deliveries()) {
    EXPECT_TRUE(d.signed_ok);  // under B's key
    EXPECT_EQ(nlohmann::json::parse(d.body)["group_id"], group_b);
    EXPECT_EQ(d.body.find(estate_), std::string::npos);
  }
}

// The setting: group admins set it by mask without touching the windows; a bad URL is
// INVALID_ARGUMENT naming the field, and changes nothing.
TEST_F(NotifierTest, TheGatewayUrlIsAGroupSetting) {
  StartService();
  std::string admin = TestToken(group_, {"*"}, {"group_admin"}, NewId(absl::Now()));
  pb::UpdateSettingsRequest up;
  up.set_request_id(NewId(absl::Now()));
  up.mutable_settings()->set_notification_gateway_url("https://sms.example.cn/wuye");
  up.mutable_update_mask()->add_paths("notification_gateway_url");
  pb::Settings got;
  grpc::Status st = Call(&Stub::UpdateSettings, admin, up, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got.notification_gateway_url(), "https://sms.example.cn/wuye");
  EXPECT_GT(got.ack_windows_size(), 0);
  for (const char* bad : {"ftp://x.cn/", "https://u:p@x.cn/", "http://x.cn/"}) {
    up.set_request_id(NewId(absl::Now()));
    up.mutable_settings()->set_notification_gateway_url(bad);
    st = Call(&Stub::UpdateSettings, admin, up, &got);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_TRUE(absl::StrContains(st.error_message(), "settings.notification_gateway_url"))
        << st.error_message();
  }
  pb::GetSettingsRequest get;
  ASSERT_TRUE(Call(&Stub::GetSettings, admin, get, &got).ok());
  EXPECT_EQ(got.notification_gateway_url(), "https://sms.example.cn/wuye");
  // A team lead may neither read nor set it.
  std::string lead = TestToken(group_, {estate_}, {"team_lead"}, lead_);
  ASSERT_TRUE(Call(&Stub::GetSettings, lead, get, &got).ok());
  EXPECT_EQ(got.notification_gateway_url(), "");
  EXPECT_GT(got.ack_windows_size(), 0);
  up.set_request_id(NewId(absl::Now()));
  up.mutable_settings()->set_notification_gateway_url("https://evil.example.com/");
  EXPECT_EQ(Call(&Stub::UpdateSettings, lead, up, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace wuye::duty
