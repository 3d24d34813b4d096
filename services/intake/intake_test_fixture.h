// What intake's service tests share (intake_service_test, hotline_test,
// complaint_reply_test): a PostgreSQL database of the test's own with intake's migrations,
// the service over real gRPC on a loopback port under a fake clock, the consumers' handler
// to deliver events through, a group with two estates' ids, and the database and outbox
// read back. Each test file adds its tokens, requests and checks.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/intake/consumers.h"
#include "services/intake/intake_jobs.h"
#include "services/intake/intake_service.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::intake {

// The phone key the tests' service hashes callers' numbers with.
inline constexpr char kTestPhoneKey[] = "intake-test-phone-key-0123456789abcdef";

class IntakeTestBase : public ::testing::Test,
                       protected ::wuye::testing::StubCaller<v1::IntakeService::Stub> {
 protected:
  // A database of its own, the service serving at `now` (FakeClock), the handler; new ids
  // for group_, estate_ and other_estate_ (the estates are not known to intake yet), and
  // agent_, the token of estate_'s agent ("agent-1").
  void StartIntake(absl::Time now) {
    db_ = tdb_.Open(intake_migrations());
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    clock_ = std::make_unique<FakeClock>(now);
    service_ = std::make_unique<IntakeServiceImpl>(*db_, *verifier_, *clock_, kTestPhoneKey);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.intake.v1.IntakeService");
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::IntakeService::NewStub(channel_);
    handler_ = MakeHandler(*db_, *clock_);
    group_ = NewId(absl::Now());
    estate_ = NewId(absl::Now());
    other_estate_ = NewId(absl::Now());
    agent_ = ::wuye::testing::TestToken(group_, {estate_}, {"agent"}, "agent-1");
  }

  // The ticket as GetTicket shows it to the estate's agent (or `token`'s holder).
  v1::Ticket Get(const std::string& id, const std::string& token = "") {
    v1::GetTicketRequest req;
    req.set_id(id);
    v1::Ticket t;
    grpc::Status st =
        Call(&v1::IntakeService::Stub::GetTicket, token.empty() ? agent_ : token, req, &t);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return t;
  }

  // An event of the group (or `group`) at the clock's time, as another service publishes it.
  ::wuye::events::v1::Event Envelope(const std::string& type,
                                     const google::protobuf::Message& payload, int64_t version,
                                     const std::string& group = "") {
    ::wuye::events::v1::Event e =
        ::wuye::testing::TestEvent(type, group.empty() ? group_ : group, payload);
    e.set_subject_version(version);
    *e.mutable_occurred_at() = ToProtoTime(clock_->Now());
    return e;
  }
  // Delivers `e` through intake's consumers, as the bus would.
  void Apply(const ::wuye::events::v1::Event& e) {
    ASSERT_TRUE(::wuye::testing::Deliver(*db_, handler_, e).ok());
  }

  int Query(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }
  int Outbox(const std::string& type) {
    return Query("SELECT count(*) FROM wuye_outbox WHERE type = '" + type + "'");
  }
  // The payloads of the outbox's events of `type`, oldest first.
  template <class T>
  std::vector<T> Events(const std::string& type) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<T> out;
    for (const auto& r :
         tx.exec_params("SELECT envelope FROM wuye_outbox WHERE type = $1 ORDER BY id", type)) {
      ::wuye::events::v1::Event e;
      e.ParseFromString(pqxx::binarystring(r[0]).str());
      T payload;
      e.payload().UnpackTo(&payload);
      out.push_back(payload);
    }
    return out;
  }
  // Two replicas' timers racing: `job` run 20 times on each of `a` and `b` at once (each
  // over its own pool on the same database); the total of what the runs published.
  static int Race(IntakeJobs& a, IntakeJobs& b,
                  const std::function<absl::StatusOr<int>(IntakeJobs&)>& job) {
    std::atomic<int> total{0};
    auto run = [&](IntakeJobs& jobs) {
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<int> n = job(jobs);
        ASSERT_TRUE(n.ok()) << n.status();
        total += *n;
      }
    };
    std::thread ta([&] { run(a); }), tb([&] { run(b); });
    ta.join();
    tb.join();
    return total.load();
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<IntakeServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  EventHandler handler_;
  std::string group_, estate_, other_estate_;
  std::string agent_;
};

}  // namespace wuye::intake
