// PostgreSQL failover with a real standby (issue #26 §2), every service as a process.
//
// A private PostgreSQL primary with a synchronous streaming standby (scripts/servers.sh
// `up standby`: pg_basebackup, synchronous_standby_names, synchronous_commit = on) and a
// private Redis. Every built service runs on its own database, created on the primary,
// reached through libpq's multi-host URL naming both servers (ConnectionUrl adds
// target_session_attrs=read-write). The directory is given a group, an estate, a unit,
// a resident and four staff; then one thread per service writes in a loop through one
// cheap mutating RPC of that service, each write with a request_id of its own, retried
// with that same request_id on UNAVAILABLE, DEADLINE_EXCEEDED and ABORTED.
//
// While they write, the primary is SIGKILLed with all its processes (`kill pg`), and a
// second later (the time a failover manager takes to decide) the standby is promoted
// (`promote standby`). No service is restarted. The test prints, per service, the time
// from the primary's death to the first write begun after it that succeeded, and when the
// promotion was done:
//
//   FIGURE pg_failover <service> first_write_ms=<n>
//   FIGURE pg_failover promoted_ms=<n>
//
// and then checks, on the new primary: every write answered OK is there (its request_id
// in wuye_idempotency, and the entity its answer named in the service's own table), and
// none was applied twice (the table holds exactly the entities answered, one each); every
// service reports SERVING again, its outbox relay empties the outbox on the new primary,
// and duty's LISTEN connection (PgListener) is there. No timing assertions: the figures
// are printed, not judged.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/id_number.h"
#include "shared/proto_time.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"
#include "wuye/billing/v1/billing.grpc.pb.h"
#include "wuye/counter/v1/counter.grpc.pb.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/duty/v1/duty.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"
#include "wuye/performance/v1/performance.grpc.pb.h"

namespace wuye {
namespace {

namespace bpb = ::wuye::billing::v1;
namespace cnt = ::wuye::counter::v1;
namespace cpb = ::wuye::common::v1;
namespace dir = ::wuye::directory::v1;
namespace dpb = ::wuye::dispatch::v1;
namespace dut = ::wuye::duty::v1;
namespace epb = ::wuye::eldercare::v1;
namespace ev = ::wuye::events::v1;
namespace ipb = ::wuye::intake::v1;
namespace ppb = ::wuye::performance::v1;

using ::wuye::testing::PrivateServers;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::ServiceProcessOptions;
using ::wuye::testing::TestToken;

// How long a service may take to learn of the directory's objects over the bus, and how
// long one write may keep retrying before the test gives up on it.
constexpr absl::Duration kSettle = absl::Seconds(60);
constexpr absl::Duration kWriteBudget = absl::Seconds(60);
// Between two writes of one service, and between two attempts of one write.
constexpr absl::Duration kPace = absl::Milliseconds(50);

template <class Stub, class Req, class Resp>
grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const std::string& token, const Req& req, Resp* resp) {
  return ::wuye::testing::CallWithDeadline(stub, method, token, req, resp, absl::Seconds(5));
}

// Again while the service has not learnt from the bus of what the request names (NOT_FOUND,
// or PERMISSION_DENIED for a person whose roles it does not know yet), or while the database
// is unavailable.
template <class Stub, class Req, class Resp>
grpc::Status CallWhenKnown(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                           const std::string& token, const Req& req, Resp* resp) {
  return ::wuye::testing::CallUntilSettled(stub, method, token, req, resp, kSettle,
                                           absl::Seconds(5),
                                           [](const grpc::Status& st) { return !st.ok(); });
}

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED;
}

// A mainland ID number (GB 11643) with its check character, for the elder's enrolment.
std::string IdNumber(const std::string& first17) { return first17 + IdCheckCharacter(first17); }

// ---- one service's writes -------------------------------------------------------------

struct Write {
  std::string request_id;
  absl::Time begun, answered;
  std::string key;  // what the answer named (an id, a price's code); "" names nothing new
};

// Writes through one RPC of one service in a loop until told to stop: write `i` is
// `write(i, request_id, &key)`, retried with the same request_id while the failure is
// transient. Anything else ends the loop, as an error the test reports.
class Writer {
 public:
  using Fn = std::function<grpc::Status(int i, const std::string& request_id, std::string* key)>;
  // `entities`: SQL on the service's database giving the key of every entity of the kind the
  // writes make (the test's database: nobody else makes them).
  Writer(std::string service, std::string entities, Fn write)
      : service_(std::move(service)), entities_(std::move(entities)), write_(std::move(write)) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string& service() const { return service_; }
  const std::string& entities() const { return entities_; }
  int answered() {
    std::lock_guard lock(mu_);
    return static_cast<int>(writes_.size());
  }
  // The first write begun at or after `t` that was answered OK, if any.
  std::optional<Write> FirstBegunAfter(absl::Time t) {
    std::lock_guard lock(mu_);
    for (const Write& w : writes_) {
      if (w.begun >= t) return w;
    }
    return std::nullopt;
  }
  std::vector<Write> writes() {
    std::lock_guard lock(mu_);
    return writes_;
  }
  std::string error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  int retries() const { return retries_.load(); }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      Write w;
      w.request_id = absl::StrCat("pgfail-", service_, "-", i);
      w.begun = absl::Now();
      const absl::Time give_up = w.begun + (i == 0 ? kSettle : kWriteBudget);
      for (;;) {
        grpc::Status st = write_(i, w.request_id, &w.key);
        if (st.ok()) break;
        // The first write waits for the service to learn the directory's objects.
        const bool settling = i == 0 && (st.error_code() == grpc::StatusCode::NOT_FOUND ||
                                         st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        if ((!Transient(st.error_code()) && !settling) || absl::Now() > give_up) {
          std::lock_guard lock(mu_);
          error_ = absl::StrCat(w.request_id, ": code ", st.error_code(), " ", st.error_message());
          return;
        }
        ++retries_;
        absl::SleepFor(settling ? absl::Milliseconds(250) : kPace);
      }
      w.answered = absl::Now();
      {
        std::lock_guard lock(mu_);
        writes_.push_back(std::move(w));
      }
      absl::SleepFor(kPace);
    }
  }

  const std::string service_, entities_;
  const Fn write_;
  std::atomic<bool> stop_{false};
  std::atomic<int> retries_{0};
  std::mutex mu_;
  std::vector<Write> writes_;
  std::string error_;
  std::thread thread_;
};

// ---- the test -------------------------------------------------------------------------

class PgFailoverTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& w : writers_) w->Stop();
  }

  bool StartServers() {
    if (servers_.Run("up pg") != 0) return false;
    if (servers_.Run("up standby") != 0) return false;
    return servers_.Run("up redis") == 0;
  }

  bool StartServices() {
    pqxx::connection admin(servers_.PgUrl("postgres"));
    for (const auto& [name, binary] : testing::BuiltServices()) {
      const std::string db = "wuye_" + name;
      pqxx::nontransaction(admin).exec("CREATE DATABASE " + db);
      ServiceProcessOptions o;
      o.name = name;
      o.binary = binary;
      o.pg_url = servers_.FailoverUrl(db);
      o.redis_addr = servers_.RedisAddr();
      o.env = testing::ServiceTestEnv(name);
      auto p = std::make_unique<ServiceProcess>(o);
      if (!p->Start()) {
        ADD_FAILURE() << name << " did not start";
        return false;
      }
      procs_[name] = std::move(p);
    }
    return true;
  }

  bool Has(const std::string& name) const { return procs_.count(name) > 0; }
  std::shared_ptr<grpc::Channel> Channel(const std::string& name) {
    return procs_.at(name)->channel();
  }

  std::string Platform() const { return TestToken("", {}, {"platform_admin"}, "pgfail-platform"); }
  std::string Admin() const { return TestToken(group_, {"*"}, {"group_admin"}, "pgfail-admin"); }
  std::string As(const std::string& role, const std::string& staff) const {
    return TestToken(group_, {estate_}, {role}, staff);
  }

  std::string CreateStaff(const std::string& name, const std::string& phone, dir::StaffRole role) {
    dir::CreateStaffRequest req;
    req.set_request_id("pgfail-staff-" + phone);
    dir::Staff* s = req.mutable_staff();
    s->set_name(name);
    s->set_phone(phone);
    s->add_roles(role);
    s->add_home_estate_ids(estate_);
    s->mutable_start_date()->set_year(2024);
    s->mutable_start_date()->set_month(1);
    s->mutable_start_date()->set_day(1);
    dir::Staff out;
    grpc::Status st = CallWhenKnown(*directory_, &dir::DirectoryService::Stub::CreateStaff,
                                    Admin(), req, &out);
    EXPECT_TRUE(st.ok()) << name << ": " << st.error_message();
    return out.id();
  }

  // The group, its estate, a building with a unit, a resident (the elder) and the staff
  // who write: an agent, a care worker, a team lead and the technician the lead scores.
  void BuildDirectory() {
    directory_ = dir::DirectoryService::NewStub(Channel("directory"));
    {
      dir::CreateGroupRequest req;
      req.set_request_id("pgfail-group");
      req.mutable_group()->set_name("故障切换物业");
      dir::Group g;
      grpc::Status st = CallWhenKnown(*directory_, &dir::DirectoryService::Stub::CreateGroup,
                                      Platform(), req, &g);
      ASSERT_TRUE(st.ok()) << st.error_message();
      group_ = g.id();
    }
    {
      dir::CreateEstateRequest req;
      req.set_request_id("pgfail-estate");
      dir::Estate* e = req.mutable_estate();
      e->set_name("切换花园");
      e->set_kind(dir::ESTATE_KIND_RESIDENTIAL);
      e->set_time_zone("Asia/Shanghai");
      e->set_management_fee_fen_per_m2(150);
      e->set_household_count(1);
      dir::Estate out;
      grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::CreateEstate, Admin(), req,
                             &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
      estate_ = out.id();
    }
    std::string building;
    {
      dir::CreateBuildingRequest req;
      req.set_request_id("pgfail-building");
      req.mutable_building()->set_estate_id(estate_);
      req.mutable_building()->set_name("1栋");
      req.mutable_building()->set_floors(18);
      dir::Building out;
      grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::CreateBuilding, Admin(),
                             req, &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
      building = out.id();
    }
    {
      dir::CreateUnitRequest req;
      req.set_request_id("pgfail-unit");
      dir::Unit* u = req.mutable_unit();
      u->set_building_id(building);
      u->set_number("1201");
      u->set_building_area_m2("89.5");
      u->set_type(dir::UNIT_TYPE_APARTMENT);
      u->set_occupancy(dir::OCCUPANCY_SELF_OCCUPIED);
      u->set_handed_over(true);
      u->set_floor(12);
      dir::Unit out;
      grpc::Status st =
          Call(*directory_, &dir::DirectoryService::Stub::CreateUnit, Admin(), req, &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
      unit_ = out.id();
    }
    {
      dir::CreateResidentRequest req;
      req.set_request_id("pgfail-resident");
      dir::Resident* r = req.mutable_resident();
      r->set_unit_id(unit_);
      r->set_name("刘淑珍");
      r->set_phone("13700137005");
      r->set_role(dir::RESIDENT_ROLE_OWNER);
      r->mutable_date_of_birth()->set_year(1950);
      r->mutable_date_of_birth()->set_month(5);
      r->mutable_date_of_birth()->set_day(20);
      dir::Resident out;
      grpc::Status st =
          Call(*directory_, &dir::DirectoryService::Stub::CreateResident, Admin(), req, &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
      resident_ = out.id();
    }
    agent_ = CreateStaff("王芳", "13812340001", dir::STAFF_ROLE_AGENT);
    care_ = CreateStaff("郑丽", "13812340008", dir::STAFF_ROLE_CARE_WORKER);
    lead_ = CreateStaff("李强", "13812340002", dir::STAFF_ROLE_TEAM_LEAD);
    tech_ = CreateStaff("吴军", "13812340007", dir::STAFF_ROLE_TECHNICIAN);
  }

  // One writer per service this test knows how to write to.
  void MakeWriters() {
    if (Has("directory")) {
      writers_.push_back(std::make_unique<Writer>(
          "directory", "SELECT id::text FROM buildings WHERE name LIKE 'pgfail-%'",
          [this](int, const std::string& rid, std::string* key) {
            dir::CreateBuildingRequest req;
            req.set_request_id(rid);
            req.mutable_building()->set_estate_id(estate_);
            req.mutable_building()->set_name(rid);
            req.mutable_building()->set_floors(6);
            dir::Building out;
            grpc::Status st = Call(*directory_, &dir::DirectoryService::Stub::CreateBuilding,
                                   Admin(), req, &out);
            *key = out.id();
            return st;
          }));
    }
    if (Has("intake")) {
      auto stub = std::shared_ptr(ipb::IntakeService::NewStub(Channel("intake")));
      writers_.push_back(std::make_unique<Writer>(
          "intake", "SELECT id::text FROM tickets",
          [this, stub](int, const std::string& rid, std::string* key) {
            ipb::CreateTicketRequest req;
            req.set_request_id(rid);
            ipb::Ticket* t = req.mutable_ticket();
            t->set_estate_id(estate_);
            t->mutable_location()->set_unit_id(unit_);
            t->set_resident_id(resident_);
            t->set_channel(cpb::CHANNEL_WALK_IN);
            t->set_kind(cpb::TICKET_KIND_CONSULTATION);
            t->set_summary("停车场开放时间");
            req.set_answer("早六点到晚十点");
            ipb::Ticket out;
            grpc::Status st = Call(*stub, &ipb::IntakeService::Stub::CreateTicket,
                                   As("agent", agent_), req, &out);
            *key = out.id();
            return st;
          }));
    }
    if (Has("dispatch")) {
      auto stub = std::shared_ptr(dpb::DispatchService::NewStub(Channel("dispatch")));
      writers_.push_back(std::make_unique<Writer>(
          "dispatch", "SELECT id::text FROM work_orders",
          [this, stub](int, const std::string& rid, std::string* key) {
            dpb::CreateWorkOrderRequest req;
            req.set_request_id(rid);
            dpb::WorkOrder* o = req.mutable_work_order();
            o->mutable_location()->set_estate_id(estate_);
            o->mutable_location()->set_unit_id(unit_);
            o->set_category(cpb::WORK_CATEGORY_PLUMBING);
            o->set_priority(cpb::PRIORITY_BIG);
            o->set_description("厨房水龙头滴水");
            dpb::WorkOrder out;
            grpc::Status st = Call(*stub, &dpb::DispatchService::Stub::CreateWorkOrder,
                                   As("agent", agent_), req, &out);
            *key = out.id();
            return st;
          }));
    }
    if (Has("billing")) {
      auto stub = std::shared_ptr(bpb::BillingService::NewStub(Channel("billing")));
      writers_.push_back(std::make_unique<Writer>(
          "billing", "SELECT item_code FROM standard_prices WHERE item_code LIKE 'PGF%'",
          [this, stub](int i, const std::string& rid, std::string* key) {
            bpb::SetStandardPriceRequest req;
            req.set_request_id(rid);
            req.mutable_price()->set_item_code(absl::StrCat("PGF", i));
            req.mutable_price()->set_name(absl::StrCat("上门服务 ", i));
            req.mutable_price()->set_price_fen(1000 + i);
            req.mutable_price()->set_per("job");
            bpb::StandardPrice out;
            grpc::Status st =
                Call(*stub, &bpb::BillingService::Stub::SetStandardPrice, Admin(), req, &out);
            *key = out.item_code();
            return st;
          }));
    }
    if (Has("performance")) {
      auto stub = std::shared_ptr(ppb::PerformanceService::NewStub(Channel("performance")));
      writers_.push_back(std::make_unique<Writer>(
          "performance",
          "SELECT id::text FROM lines WHERE note LIKE 'pgfail-%' AND rule = 'dress_code'",
          [this, stub](int i, const std::string& rid, std::string* key) {
            ppb::CreateManualEntryRequest req;
            req.set_request_id(rid);
            req.set_staff_id(tech_);
            req.set_rule("dress_code");
            req.set_note(rid);
            *req.mutable_occurred_at() =
                ToProtoTime(start_ - absl::Minutes(1) + absl::Milliseconds(i));
            ppb::Line out;
            grpc::Status st = Call(*stub, &ppb::PerformanceService::Stub::CreateManualEntry,
                                   As("team_lead", lead_), req, &out);
            *key = out.id();
            return st;
          }));
    }
    if (Has("eldercare")) {
      auto stub = std::shared_ptr(epb::ElderCareService::NewStub(Channel("eldercare")));
      writers_.push_back(std::make_unique<Writer>(
          "eldercare", "SELECT id::text FROM visits",
          [this, stub](int i, const std::string& rid, std::string* key) {
            if (elder_.empty()) {  // the first write enrols the elder it visits
              epb::EnrolElderRequest req;
              req.set_request_id("pgfail-enrol");
              req.set_resident_id(resident_);
              req.set_id_number(IdNumber("11010119500520123"));
              epb::Consent* c = req.mutable_consent();
              c->set_scope("home elderly care and health records");
              c->set_version("2026-01");
              *c->mutable_signed_at() = ToProtoTime(start_ - absl::Hours(24));
              c->set_signed_by("刘淑珍");
              epb::FamilyContact* f = req.add_family_contacts();
              f->set_name("刘明");
              f->set_relation("son");
              f->set_phone("13600136006");
              epb::Elder elder;
              grpc::Status st = Call(*stub, &epb::ElderCareService::Stub::EnrolElder,
                                     As("agent", agent_), req, &elder);
              if (!st.ok()) return st;
              elder_ = elder.id();
            }
            epb::RecordVisitRequest req;
            req.set_request_id(rid);
            req.set_elder_id(elder_);
            *req.mutable_visited_at() =
                ToProtoTime(start_ - absl::Seconds(10) + absl::Milliseconds(i));
            req.set_observations("精神好,血压正常");
            req.set_care_plan_followed(true);
            epb::Visit out;
            grpc::Status st = Call(*stub, &epb::ElderCareService::Stub::RecordVisit,
                                   As("care_worker", care_), req, &out);
            *key = out.id();
            return st;
          }));
    }
    if (Has("duty")) {
      // In and out by turns: write 2k checks the agent in (an attendance), 2k+1 out.
      auto stub = std::shared_ptr(dut::DutyService::NewStub(Channel("duty")));
      writers_.push_back(std::make_unique<Writer>(
          "duty", "SELECT id::text FROM attendances",
          [this, stub](int i, const std::string& rid, std::string* key) {
            dut::Attendance out;
            grpc::Status st;
            if (i % 2 == 0) {
              dut::CheckInRequest req;
              req.set_request_id(rid);
              req.set_estate_id(estate_);
              req.set_role(ev::STAFF_ROLE_AGENT);
              req.set_note("到岗");
              st = Call(*stub, &dut::DutyService::Stub::CheckIn, As("agent", agent_), req, &out);
              *key = out.id();
            } else {
              dut::CheckOutRequest req;
              req.set_request_id(rid);
              req.set_estate_id(estate_);
              req.set_note("离岗");
              st = Call(*stub, &dut::DutyService::Stub::CheckOut, As("agent", agent_), req, &out);
              key->clear();  // the same attendance, closed
            }
            return st;
          }));
    }
    if (Has("counter")) {
      auto stub = std::shared_ptr(cnt::CounterService::NewStub(Channel("counter")));
      writers_.push_back(std::make_unique<Writer>(
          "counter", "SELECT id::text FROM register_entries",
          [this, stub](int, const std::string& rid, std::string* key) {
            cnt::CreateRegisterEntryRequest req;
            req.set_request_id(rid);
            req.set_estate_id(estate_);
            req.set_kind(cnt::REGISTER_KIND_FOUND_ITEM);
            req.set_description("黑色雨伞一把");
            req.set_person_name("保洁员");
            req.set_kept_at("前台");
            cnt::RegisterEntry out;
            grpc::Status st = Call(*stub, &cnt::CounterService::Stub::CreateRegisterEntry,
                                   As("agent", agent_), req, &out);
            *key = out.id();
            return st;
          }));
    }
  }

  PrivateServers servers_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> procs_;
  std::unique_ptr<dir::DirectoryService::Stub> directory_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::string group_, estate_, unit_, resident_, agent_, care_, lead_, tech_;
  std::string elder_;  // the eldercare writer's own
  // Times in the requests come from here, not the clock at each try: a retry must send the
  // same request under its request_id, or the service rightly refuses it as a different one.
  const absl::Time start_ = absl::Now();
};

TEST_F(PgFailoverTest, EveryServiceFindsThePromotedStandbyWithoutARestartAndLosesNothing) {
  ASSERT_TRUE(StartServers()) << "the private PostgreSQL, its standby or Redis did not start";
  ASSERT_TRUE(StartServices());
  if (!Has("directory")) GTEST_SKIP() << "the directory is not built";
  BuildDirectory();
  if (HasFatalFailure()) return;
  MakeWriters();
  for (const auto& [name, p] : procs_) {
    bool known = false;
    for (const auto& w : writers_) known |= w->service() == name;
    if (!known) std::cout << "pg_failover: no writer for " << name << ": its health is checked\n";
  }
  for (auto& w : writers_) w->Start();

  // Every service writing before the primary goes.
  auto errors = [&] {
    std::string out;
    for (auto& w : writers_) {
      if (!w->error().empty()) absl::StrAppend(&out, "\n  ", w->service(), ": ", w->error());
    }
    return out;
  };
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (auto& w : writers_) {
          if (w->answered() < 5 && w->error().empty()) return false;
        }
        return true;
      },
      kSettle + absl::Seconds(30)));
  ASSERT_EQ(errors(), "") << "before the failover";

  // The primary dies with everything it runs; a second later the standby is promoted.
  ASSERT_EQ(servers_.Run("kill pg"), 0);
  const absl::Time died = absl::Now();
  absl::SleepFor(absl::Seconds(1));
  ASSERT_EQ(servers_.Run("promote standby"), 0);
  const absl::Time promoted = absl::Now();

  // Each service's first write begun after the death and answered OK.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        for (auto& w : writers_) {
          if (!w->FirstBegunAfter(died) && w->error().empty()) return false;
        }
        return true;
      },
      absl::Seconds(45)));
  absl::SleepFor(absl::Seconds(2));  // a little traffic on the new primary
  for (auto& w : writers_) w->Stop();
  // When `promote standby` returned (the failover manager's second included).
  std::cout << "FIGURE pg_failover promoted_ms=" << absl::ToInt64Milliseconds(promoted - died)
            << std::endl;
  for (auto& w : writers_) {
    std::optional<Write> first = w->FirstBegunAfter(died);
    if (!first) continue;
    std::cout << "FIGURE pg_failover " << w->service()
              << " first_write_ms=" << absl::ToInt64Milliseconds(first->answered - died)
              << std::endl;
  }
  EXPECT_EQ(errors(), "");

  // Health: SERVING again, without a restart.
  for (const auto& [name, p] : procs_) {
    EXPECT_TRUE(testing::WaitFor([&] { return testing::HealthStatus(p->channel()) == 1; },
                                 absl::Seconds(30)))
        << name << " is not SERVING after the failover";
    EXPECT_TRUE(p->running()) << name;
  }

  // What the new primary holds.
  const std::string new_primary_base = absl::StrCat(
      "postgresql://wuye@127.0.0.1:", servers_.standby_port(), "/");
  for (auto& w : writers_) {
    SCOPED_TRACE(w->service());
    std::vector<Write> writes = w->writes();
    ASSERT_FALSE(writes.empty());
    pqxx::connection conn(new_primary_base + "wuye_" + w->service());
    std::set<std::string> stored_ids;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row :
           tx.exec_params("SELECT request_id FROM wuye_idempotency WHERE request_id LIKE $1",
                          absl::StrCat("pgfail-", w->service(), "-%"))) {
        stored_ids.insert(row[0].as<std::string>());
      }
    }
    std::multiset<std::string> entities;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : tx.exec(w->entities())) entities.insert(row[0].as<std::string>());
    }
    std::multiset<std::string> answered;
    int lost = 0;
    for (const Write& wr : writes) {
      if (!stored_ids.count(wr.request_id)) ++lost;
      if (!wr.key.empty()) answered.insert(wr.key);
    }
    EXPECT_EQ(lost, 0) << "answered OK but not on the new primary";
    EXPECT_EQ(stored_ids.size(), writes.size()) << "request ids stored vs. answered";
    // Exactly the entities answered, each once: none lost, none made twice.
    EXPECT_EQ(entities, answered);
    std::cout << absl::StreamFormat("pg_failover: %s %d writes answered (%d retries), %d on the new primary\n",
                                    w->service(), writes.size(), w->retries(), entities.size());
  }
  if (Has("duty")) {
    // Every check-out answered closed its attendance on the new primary.
    int outs = 0;
    for (auto& w : writers_) {
      if (w->service() != "duty") continue;
      for (const Write& wr : w->writes()) outs += wr.key.empty() ? 1 : 0;
    }
    pqxx::connection conn(new_primary_base + "wuye_duty");
    pqxx::nontransaction tx(conn);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM attendances WHERE check_out_time IS NOT NULL")[0]
                  .as<int>(),
              outs);
  }
  // The relays found the new primary: every outbox empties there.
  for (const auto& [name, p] : procs_) {
    pqxx::connection conn(new_primary_base + "wuye_" + name);
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          pqxx::nontransaction tx(conn);
          return tx.exec1("SELECT count(*) FROM wuye_outbox WHERE sent_at IS NULL")[0].as<int>() ==
                 0;
        },
        absl::Seconds(30)))
        << name << ": its outbox is not relayed from the new primary";
  }
  // Duty's LISTEN connection is on the new primary too.
  if (Has("duty")) {
    pqxx::connection conn(new_primary_base + "wuye_duty");
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          pqxx::nontransaction tx(conn);
          return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = 'wuye_duty' "
                          "AND application_name = 'wuye-listener'")[0]
                     .as<int>() > 0;
        },
        absl::Seconds(15)))
        << "duty's task listener did not reconnect to the new primary";
  }
}

}  // namespace
}  // namespace wuye
