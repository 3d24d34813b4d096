// Duty's notification outlet through a crash of the duty process (issue #22 §5: "each task
// notified once through a crash of duty mid-way"). The task is raised in duty's database by
// duty's own handler, as the bus would feed it; the process sends it to a real HTTP
// receiver, is killed with SIGKILL while the receiver holds the answer, and started again:
// the row comes due again after its lease and is sent with the same Idempotency-Key, so
// the receiver, which drops repeats, acts on it once; the row ends SENT.
#include <gtest/gtest.h>
#include <signal.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/duty/consumers.h"
#include "services/duty/duty_store.h"
#include "services/duty/gateway_receiver_testing.h"
#include "shared/clock.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/testing/events.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"
#include "wuye/events/v1/eldercare_events.pb.h"

namespace wuye {
namespace {

namespace ev = ::wuye::events::v1;
using ::wuye::duty::testing::GatewayKeyOf;
using ::wuye::duty::testing::Receiver;
using ::wuye::testing::WaitFor;

constexpr char kSecret[] = "duty-gateway-process-test-secret-0123456789";

struct RowState {
  int state = 0, attempts = 0;
};

RowState ReadRow(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  pqxx::result r = tx.exec("SELECT state, attempts FROM notifications");
  if (r.size() != 1) return {};
  return {r[0][0].as<int>(), r[0][1].as<int>()};
}

TEST(DutyNotifyProcess, ANotificationOutlivesACrashMidPostAndIsActedOnOnce) {
  ::wuye::testing::TestDatabase tdb;
  std::unique_ptr<Db> db = tdb.Open(duty_migrations(), 2);
  EventHandler handler = duty::MakeHandler(*db, SystemClock());
  const std::string group = NewId(absl::Now());
  const std::string estate = NewId(absl::Now());
  auto deliver = [&](const std::string& type, const google::protobuf::Message& payload,
                     const std::string& estate_id) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
    e.set_estate_id(estate_id);
    e.set_subject_version(1);
    *e.mutable_occurred_at() = ToProtoTime(absl::Now());
    return ::wuye::testing::Deliver(*db, handler, e);
  };
  // The estate stays unknown to the desk (its zone falls back to Asia/Shanghai): a known
  // 24-hour desk with nobody checked in would raise a desk-gap task of its own, a second
  // notification this test is not about.

  Receiver gw(GatewayKeyOf(kSecret, group));
  gw.AnswerAfter(absl::Minutes(5));  // holds the first POST until the receiver goes
  ASSERT_TRUE(db->Transact([&](pqxx::work& tx) {
                  duty::DutyStore store(*db);
                  duty::pb::Settings s;
                  s.set_notification_gateway_url(gw.Url());
                  store.PutSettings(tx, group, s, absl::Now());
                  return absl::OkStatus();
                }).ok());
  ev::SafetyCheckRaised check;
  check.set_check_id(NewId(absl::Now()));
  check.set_estate_id(estate);
  ASSERT_TRUE(deliver("eldercare.safety_check.raised", check, estate).ok());
  ASSERT_EQ(ReadRow(tdb.url()).state, 1);  // queued with the task

  ::wuye::testing::ServiceProcess duty_process({.name = "duty",
                                                .binary = WUYE_DUTY_BINARY,
                                                .pg_url = tdb.url(),
                                                .env = {{"WUYE_DUTY_GATEWAY_SECRET", kSecret},
                                                        {"WUYE_DUTY_GATEWAY_ALLOW_HTTP", "true"},
                                                        {"WUYE_DUTY_GATEWAY_CONNECT_TIMEOUT", "1s"},
                                                        {"WUYE_DUTY_GATEWAY_TIMEOUT", "3s"}}});
  ASSERT_TRUE(duty_process.Start());
  ASSERT_TRUE(WaitFor([&] { return gw.Count() == 1; }, absl::Seconds(60)))
      << "the first POST never came; log: " << duty_process.log_path();
  // Mid-POST: the request is at the gateway, its answer not back, the row not marked.
  duty_process.Kill(SIGKILL);
  duty_process.Wait(absl::Seconds(10));
  RowState claimed = ReadRow(tdb.url());
  EXPECT_EQ(claimed.state, 1);
  EXPECT_EQ(claimed.attempts, 1);

  gw.AnswerAfter(absl::ZeroDuration());
  ASSERT_TRUE(duty_process.Start());
  // The lease (twice the 3 s timeout plus 10 s) runs out, and the restarted duty sends it.
  ASSERT_TRUE(WaitFor([&] { return ReadRow(tdb.url()).state == 2; }, absl::Seconds(90)))
      << "not sent after the restart; log: " << duty_process.log_path();
  EXPECT_EQ(ReadRow(tdb.url()).attempts, 2);
  ASSERT_EQ(gw.Count(), 2);
  EXPECT_EQ(gw.Unique(), 1);  // the same Idempotency-Key: the gateway acts once
  for (const Receiver::Delivery& d : gw.Deliveries()) EXPECT_TRUE(d.signed_ok);
  EXPECT_EQ(gw.Deliveries()[0].body, gw.Deliveries()[1].body);
}

}  // namespace
}  // namespace wuye
