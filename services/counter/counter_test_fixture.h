// The fixture every counter service test derives from: the counter over real gRPC against a
// fresh PostgreSQL database of its own, a FakeClock, the counter's handler for other
// services' events, and a group with an estate, a unit with its owner, and staff with their
// tokens. Test-only.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/counter/consumers.h"
#include "services/counter/counter_service.h"
#include "shared/civil_date.h"
#include "shared/clock.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/sealing.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::counter::testing {

using Stub = pb::CounterService::Stub;
using ::wuye::testing::TestToken;
namespace ev = ::wuye::events::v1;

inline absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}
// A time on the estate's clock (Asia/Shanghai, UTC+8).
inline absl::Time Shanghai(int y, int m, int d, int hh = 0, int mm = 0) {
  return Utc(y, m, d, hh, mm) - absl::Hours(8);
}
inline pb::Date MakeDate(int y, int m, int d) {
  pb::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

class CounterServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(counter_migrations(), 8);
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    keys_ = std::make_unique<Keyring>(
        *Keyring::Parse("counter", "t1:" + absl::Base64Escape(std::string(32, 'c')),
                        absl::Base64Escape(std::string(32, 'l'))));
    service_ = std::make_unique<CounterServiceImpl>(*db_, *verifier_, clock_, *keys_);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.counter.v1.CounterService");
    ASSERT_TRUE(host_->Start().ok());
    stub_ = pb::CounterService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_->port()), grpc::InsecureChannelCredentials()));
    handler_ = MakeHandler(*db_);
    group_ = NewId(absl::Now());
    other_group_ = NewId(absl::Now());
    estate_ = Estate(group_);
    other_estate_ = Estate(group_);
    foreign_estate_ = Estate(other_group_);
    unit_ = Unit(estate_, "1203");
    owner_ = Resident(unit_, estate_, ev::RESIDENT_ROLE_OWNER, absl::CivilDay(1980, 5, 17));
    agent_ = Staff(estate_);
    manager_ = Staff(estate_);
    guard_ = Staff(estate_);
    admin_tok_ = TestToken(group_, {"*"}, {"group_admin"}, "admin-1");
    manager_tok_ = TestToken(group_, {estate_}, {"estate_manager"}, manager_);
    supervisor_tok_ = TestToken(group_, {estate_}, {"supervisor"}, Staff(estate_));
    agent_tok_ = TestToken(group_, {estate_}, {"agent"}, agent_);
    guard_tok_ = TestToken(group_, {estate_}, {"security_guard"}, guard_);
    inspector_tok_ = TestToken(group_, {estate_}, {"quality_inspector"}, Staff(estate_));
    finance_tok_ = TestToken(group_, {estate_}, {"finance_clerk"}, Staff(estate_));
    tech_tok_ = TestToken(group_, {estate_}, {"technician"}, Staff(estate_));
    other_estate_tok_ = TestToken(group_, {other_estate_}, {"agent"}, Staff(other_estate_));
    foreign_tok_ = TestToken(other_group_, {"*"}, {"group_admin"}, "admin-2");
  }

  // Applies an event of another service through the counter's handler.
  absl::Status Deliver(const std::string& type, const std::string& group,
                       const google::protobuf::Message& payload, const std::string& estate = "",
                       int64_t version = 1) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
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

  // A unit as the directory publishes it; handed over on `handover` when given.
  std::string Unit(const std::string& estate, const std::string& number,
                   std::optional<absl::CivilDay> handover = std::nullopt,
                   const std::string& group = "", std::string id = "", int64_t version = 1) {
    ev::UnitChanged u;
    u.set_unit_id(id.empty() ? NewId(absl::Now()) : id);
    u.set_estate_id(estate);
    u.set_building_id(NewId(absl::Now()));
    u.set_number(number);
    u.set_building_area_m2("89.50");
    u.set_type(ev::UNIT_TYPE_APARTMENT);
    if (handover) {
      u.set_handed_over(true);
      u.set_occupancy(ev::OCCUPANCY_VACANT);
      *u.mutable_handover_date() = CivilDateOf(*handover);
    }
    u.set_version(version);
    EXPECT_TRUE(Deliver(version == 1 ? "directory.unit.created" : "directory.unit.updated",
                        group.empty() ? group_ : group, u, estate, version)
                    .ok());
    return u.unit_id();
  }

  std::string Resident(const std::string& unit, const std::string& estate, ev::ResidentRole role,
                       std::optional<absl::CivilDay> birth = std::nullopt,
                       const std::string& group = "") {
    ev::ResidentChanged r;
    r.set_resident_id(NewId(absl::Now()));
    r.set_estate_id(estate);
    r.set_unit_id(unit);
    r.set_role(role);
    if (birth) *r.mutable_date_of_birth() = CivilDateOf(*birth);
    r.set_version(1);
    EXPECT_TRUE(
        Deliver("directory.resident.created", group.empty() ? group_ : group, r, estate).ok());
    return r.resident_id();
  }

  std::string Staff(const std::string& estate, const std::string& group = "") {
    ev::StaffChanged s;
    s.set_staff_id(NewId(absl::Now()));
    s.add_roles(ev::STAFF_ROLE_AGENT);
    s.add_home_estate_ids(estate);
    s.set_active(true);
    s.set_version(1);
    EXPECT_TRUE(Deliver("directory.staff.created", group.empty() ? group_ : group, s).ok());
    return s.staff_id();
  }

  // A ticket as intake publishes it, open unless `state` says otherwise.
  std::string Ticket(const std::string& estate, ev::TicketState state = ev::TICKET_STATE_RECEIVED,
                     const std::string& group = "", std::string id = "", int64_t version = 1) {
    ev::TicketChanged t;
    t.set_ticket_id(id.empty() ? NewId(absl::Now()) : id);
    t.set_estate_id(estate);
    t.set_state(state);
    EXPECT_TRUE(Deliver(version == 1 ? "intake.ticket.created" : "intake.ticket.changed",
                        group.empty() ? group_ : group, t, estate, version)
                    .ok());
    return t.ticket_id();
  }

  // A count of rows (the "nothing changed" checks).
  int64_t Query(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  // Events the counter published of `type`, in the order written.
  std::vector<ev::Event> Published(const std::string& type) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<ev::Event> out;
    for (const auto& row :
         tx.exec_params("SELECT envelope FROM wuye_outbox WHERE type = $1 ORDER BY id", type)) {
      ev::Event e;
      e.ParseFromString(pqxx::binarystring(row[0]).str());
      out.push_back(e);
    }
    return out;
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }
  std::string Rid() { return NewId(absl::Now()); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  // Monday 9 November 2026, 09:30 on the estate's clock (before the tokens are minted: tests
  // move it forward freely, never past the real time).
  FakeClock clock_{Shanghai(2026, 11, 9, 9, 30)};
  std::unique_ptr<TokenVerifier> verifier_;
  // The counter's test keys (the ID numbers of RegisterOwner are sealed with them).
  std::unique_ptr<Keyring> keys_;
  std::unique_ptr<CounterServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  EventHandler handler_;
  std::string group_, other_group_, estate_, other_estate_, foreign_estate_, unit_, owner_;
  std::string agent_, manager_, guard_;
  std::string admin_tok_, manager_tok_, supervisor_tok_, agent_tok_, guard_tok_, inspector_tok_,
      finance_tok_, tech_tok_, other_estate_tok_, foreign_tok_;
};

}  // namespace wuye::counter::testing
