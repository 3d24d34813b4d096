// Billing over real gRPC against a real PostgreSQL database of its own. The directory copy
// is fed through billing's own event handler, as the bus would feed it.
#include "services/billing/billing_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/billing/billing.h"
#include "services/billing/billing_jobs.h"
#include "services/billing/consumers.h"
#include "shared/civil_date.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "shared/zone.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::billing {
namespace {

using Stub = v1::BillingService::Stub;
using ::wuye::testing::TestToken;
namespace dir = ::wuye::directory::v1;
namespace ev = ::wuye::events::v1;

wuye::common::v1::Month Month(int year, int month) {
  wuye::common::v1::Month m;
  m.set_year(year);
  m.set_month(month);
  return m;
}

class BillingServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(billing_migrations(), 8);
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<BillingServiceImpl>(*db_, *verifier_, SystemClock());
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.billing.v1.BillingService");
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::BillingService::NewStub(channel_);
    handler_ = MakeHandler(*db_);
    group_ = NewId(absl::Now());
    admin_ = TestToken(group_, {"*"}, {"group_admin"});
    clerk_ = TestToken(group_, {"*"}, {"finance_clerk"}, "clerk-1");
    estate_ = Estate(150);
  }

  // Applies an event of another service through billing's handler.
  absl::Status Deliver(const std::string& type, const std::string& group,
                       const std::string& subject, int64_t version,
                       const google::protobuf::Message& payload) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
    e.set_subject(subject);
    e.set_subject_version(version);
    *e.mutable_occurred_at() = ToProtoTime(absl::Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  }

  std::string Estate(int64_t rate, const std::string& group = "") {
    ev::EstateChanged e;
    e.set_estate_id(NewId(absl::Now()));
    e.set_management_fee_fen_per_m2(rate);
    e.set_time_zone("Asia/Shanghai");
    e.set_version(1);
    EXPECT_TRUE(
        Deliver("directory.estate.created", group.empty() ? group_ : group, e.estate_id(), 1, e)
            .ok());
    return e.estate_id();
  }

  std::string Unit(const std::string& estate, const std::string& area,
                   ev::UnitType type = ev::UNIT_TYPE_APARTMENT,
                   ev::Occupancy occ = ev::OCCUPANCY_SELF_OCCUPIED, bool handed_over = true,
                   const std::string& group = "", std::optional<absl::CivilDay> handover = {},
                   std::optional<absl::CivilDay> move_in = {}) {
    ev::UnitChanged u;
    if (handover) *u.mutable_handover_date() = CivilDateOf(*handover);
    if (move_in) *u.mutable_move_in_date() = CivilDateOf(*move_in);
    u.set_unit_id(NewId(absl::Now()));
    u.set_estate_id(estate);
    u.set_building_area_m2(area);
    u.set_type(type);
    u.set_occupancy(occ);
    u.set_handed_over(handed_over);
    u.set_version(1);
    EXPECT_TRUE(
        Deliver("directory.unit.created", group.empty() ? group_ : group, u.unit_id(), 1, u).ok());
    return u.unit_id();
  }

  void Schedule(const std::string& estate, int64_t lighting = 500) {
    v1::SetFeeScheduleRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* s = req.mutable_schedule();
    s->set_estate_id(estate);
    s->set_stair_lighting_fen(lighting);
    s->set_parking_rented_fen(15000);
    s->set_parking_sold_fen(6000);
    s->set_parking_vacant_fen(3000);
    auto* shop = s->add_type_rates();
    shop->set_unit_type(dir::UNIT_TYPE_SHOP);
    shop->set_fen_per_m2(300);
    auto* water = s->add_tariffs();
    water->set_kind(v1::METER_KIND_WATER);
    auto* t1 = water->add_tiers();
    t1->set_up_to(20);
    t1->set_fen_per_unit(345);
    auto* t2 = water->add_tiers();
    t2->set_fen_per_unit(483);
    v1::FeeSchedule out;
    grpc::Status st = Call(&Stub::SetFeeSchedule, admin_, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // Starts a run and works it off with a runner of `chunk` units per tick.
  v1::BillingRun Run(const std::string& estate, wuye::common::v1::Month period, int chunk = 3) {
    v1::StartBillingRunRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_estate_id(estate);
    *req.mutable_period() = period;
    v1::BillingRun run;
    grpc::Status st = Call(&Stub::StartBillingRun, admin_, req, &run);
    EXPECT_TRUE(st.ok()) << st.error_message();
    BillingRunner runner(*db_, SystemClock(), chunk);
    for (int i = 0; i < 10000; ++i) {
      auto did = runner.Tick();
      EXPECT_TRUE(did.ok()) << did.status();
      if (!did.ok() || *did == 0) break;
    }
    v1::GetBillingRunRequest get;
    get.set_id(run.id());
    EXPECT_TRUE(Call(&Stub::GetBillingRun, admin_, get, &run).ok());
    return run;
  }

  std::vector<v1::Bill> Bills(const std::string& estate, const std::string& unit = "",
                              bool open_only = false) {
    v1::ListBillsRequest req;
    req.set_estate_id(estate);
    req.set_unit_id(unit);
    req.set_open_only(open_only);
    req.set_page_size(1000);
    v1::ListBillsResponse resp;
    EXPECT_TRUE(Call(&Stub::ListBills, admin_, req, &resp).ok());
    return {resp.bills().begin(), resp.bills().end()};
  }

  v1::RecordPaymentRequest PaymentReq(const std::string& unit, int64_t amount,
                                      const std::string& txn, const std::string& bill = "") {
    v1::RecordPaymentRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* p = req.mutable_payment();
    p->set_unit_id(unit);
    p->set_amount_fen(amount);
    p->set_method(v1::PAYMENT_METHOD_WECHAT_PAY);
    p->set_external_txn_no(txn);
    p->set_bill_id(bill);
    return req;
  }

  v1::LedgerCheck Ledger() {
    v1::LedgerCheck check;
    EXPECT_TRUE(Call(&Stub::CheckLedger, clerk_, v1::CheckLedgerRequest(), &check).ok());
    return check;
  }

  int64_t Query(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  std::string Snapshot() {
    std::string out;
    for (const char* t :
         {"standard_prices", "estate_prices", "fee_schedules", "meter_readings", "billing_runs",
          "bills", "payments", "allocations", "ledger_txns", "ledger_entries", "reminders",
          "collection_reports", "wuye_outbox", "wuye_idempotency"}) {
      absl::StrAppend(&out, t, "=", Query(absl::StrCat("SELECT count(*) FROM ", t)), " ");
    }
    return out;
  }
  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<BillingServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  EventHandler handler_;
  std::string group_, admin_, clerk_, estate_;
};

// ---- The billing run --------------------------------------------------------------------

TEST_F(BillingServiceTest, TheRunBillsEveryHandedOverUnitOnceAsTheDomainSays) {
  Schedule(estate_);
  struct Case {
    std::string area;
    ev::UnitType type;
    ev::Occupancy occ;
    bool handed;
    std::optional<absl::CivilDay> handover = {}, move_in = {};
  };
  std::vector<Case> cases = {
      {"89.5", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true},
      {"100.33", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_VACANT, true},  // vacant still owes
      {"0.01", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_RENTED, true},
      {"100.31", ev::UNIT_TYPE_VILLA, ev::OCCUPANCY_SELF_OCCUPIED, true},
      {"55.55", ev::UNIT_TYPE_SHOP, ev::OCCUPANCY_RENTED, true},  // type rate 300
      {"12.5", ev::UNIT_TYPE_PARKING, ev::OCCUPANCY_RENTED, true},
      {"12.5", ev::UNIT_TYPE_PARKING, ev::OCCUPANCY_SELF_OCCUPIED, true},
      {"12.5", ev::UNIT_TYPE_PARKING, ev::OCCUPANCY_VACANT, true},
      {"99999.99", ev::UNIT_TYPE_OFFICE, ev::OCCUPANCY_RENTED, true},
      {"70", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_VACANT, false},  // not handed over
      // The first month prorated from hand-over and move-in (003_…, Q4 and Q6).
      {"88.88", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true,
       absl::CivilDay(2026, 11, 7), absl::CivilDay(2026, 11, 19)},
      {"61", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_VACANT, true, absl::CivilDay(2026, 11, 30)},
      {"61", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_RENTED, true, absl::CivilDay(2026, 9, 1),
       absl::CivilDay(2026, 12, 2)},  // moved in after the month: no lighting yet
      {"12.5", ev::UNIT_TYPE_PARKING, ev::OCCUPANCY_RENTED, true, absl::CivilDay(2026, 11, 2)},
  };
  // Handed over after the month: not billed, not counted.
  Unit(estate_, "75", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true, "",
       absl::CivilDay(2026, 12, 1));
  std::map<std::string, Case> units;
  for (const auto& c : cases) {
    units[Unit(estate_, c.area, c.type, c.occ, c.handed, "", c.handover, c.move_in)] = c;
  }
  // A meter with a baseline in October and 25 m³ in November on the first unit.
  const std::string metered = units.begin()->first;
  for (auto [month, reading] : {std::pair{10, "100"}, {11, "125"}}) {
    v1::RecordMeterReadingRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_reading()->set_unit_id(metered);
    req.mutable_reading()->set_meter_id("W1");
    req.mutable_reading()->set_kind(v1::METER_KIND_WATER);
    *req.mutable_reading()->mutable_period() = Month(2026, month);
    req.mutable_reading()->set_reading(reading);
    v1::MeterReading out;
    grpc::Status st = Call(&Stub::RecordMeterReading, clerk_, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  v1::BillingRun run = Run(estate_, Month(2026, 11));
  EXPECT_EQ(run.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(run.units_total(), 13);
  EXPECT_EQ(run.units_done(), 13);
  EXPECT_EQ(run.bills_issued(), 13);
  EXPECT_GE(run.chunks_done(), 3);  // chunks of 3

  v1::FeeSchedule schedule;
  {
    v1::GetFeeScheduleRequest get;
    get.set_estate_id(estate_);
    ASSERT_TRUE(Call(&Stub::GetFeeSchedule, admin_, get, &schedule).ok());
  }
  int64_t total = 0;
  auto bills = Bills(estate_);
  ASSERT_EQ(bills.size(), 13u);
  for (const auto& bill : bills) {
    const Case& c = units.at(bill.unit_id());
    UnitFacts facts{*ParseCenti(c.area, "a"), c.type, c.occ, c.handed, c.handover, c.move_in};
    int64_t expected =
        MonthlyFees(facts, schedule, 150, absl::CivilMonth(2026, 11), v1::PRORATION_DAYS_OF_MONTH)
            .total();
    // 25 m³: 20 at 3.45 + 5 at 4.83 = 93.15 yuan.
    if (bill.unit_id() == metered) expected += 9315;
    EXPECT_EQ(bill.amount_fen(), expected) << c.area << " type " << c.type;
    int64_t lines = 0;
    for (const auto& l : bill.lines()) lines += l.amount_fen();
    EXPECT_EQ(lines, bill.amount_fen());
    EXPECT_EQ(bill.kind(), v1::BILL_KIND_MONTHLY);
    total += bill.amount_fen();
  }
  EXPECT_EQ(run.amount_fen(), total);

  // Running it again issues nothing new.
  v1::BillingRun again = Run(estate_, Month(2026, 11));
  EXPECT_EQ(again.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(again.units_done(), 13);
  EXPECT_EQ(again.bills_issued(), 0);
  EXPECT_EQ(Bills(estate_).size(), 13u);
  v1::LedgerCheck ledger = Ledger();
  EXPECT_TRUE(ledger.balanced());
  EXPECT_EQ(ledger.debits_fen(), total);  // receivable against revenue, once
  // The run published one summary event and no event per bill.
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.run.completed'"), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type LIKE 'billing.bill%'"), 0);
}

TEST_F(BillingServiceTest, AnInterruptedRunCompletesWithoutDuplicates) {
  for (int i = 0; i < 10; ++i) Unit(estate_, absl::StrCat(60 + i, ".5"));
  std::string second_estate = Estate(80);
  for (int i = 0; i < 4; ++i) Unit(second_estate, "100");

  v1::StartBillingRunRequest req;
  req.set_request_id("run-1");
  req.set_estate_id(estate_);
  *req.mutable_period() = Month(2026, 10);
  v1::BillingRun run;
  ASSERT_TRUE(Call(&Stub::StartBillingRun, admin_, req, &run).ok());
  EXPECT_EQ(run.state(), v1::RUN_STATE_PENDING);
  EXPECT_EQ(run.units_total(), 10);
  // A second start of the same scope and month while it runs is refused.
  req.set_request_id("run-1-again");
  v1::BillingRun dup;
  grpc::Status st = Call(&Stub::StartBillingRun, admin_, req, &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "RUN_IN_PROGRESS");

  {
    BillingRunner runner(*db_, SystemClock(), 4);
    ASSERT_EQ(*runner.Tick(), 1);
  }
  v1::GetBillingRunRequest get;
  get.set_id(run.id());
  ASSERT_TRUE(Call(&Stub::GetBillingRun, admin_, get, &run).ok());
  EXPECT_EQ(run.state(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ(run.units_done(), 4);  // progress is visible
  EXPECT_EQ(run.bills_issued(), 4);

  // The process "restarts": a new runner picks the run up where its progress says, while a
  // run of the whole group for the same month covers the same units again. Between them
  // every unit gets exactly one bill.
  v1::BillingRun group_run = Run("", Month(2026, 10), 5);
  EXPECT_EQ(group_run.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(group_run.units_done(), 14);
  BillingRunner restarted(*db_, SystemClock(), 4);
  while (*restarted.Tick() == 1) {
  }
  ASSERT_TRUE(Call(&Stub::GetBillingRun, admin_, get, &run).ok());
  EXPECT_EQ(run.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(run.units_done(), 10);
  EXPECT_EQ(run.bills_issued() + group_run.bills_issued(), 14);
  EXPECT_EQ(Query("SELECT count(*) FROM bills"), 14);
  EXPECT_EQ(Query("SELECT count(DISTINCT unit_id) FROM bills"), 14);
  v1::LedgerCheck ledger = Ledger();
  EXPECT_TRUE(ledger.balanced());
  EXPECT_EQ(ledger.debits_fen(), Query("SELECT sum(amount_fen) FROM bills"));
}

// DOMAIN.md §4: "a monthly billing run issues each unit's bill for the period", and no seed
// bills a month ahead. A run of a month that has not begun in the estate's zone (a typo such
// as 2062-03, or next month) is refused on `period` and writes nothing: bills are never
// voided. The current month still runs.
TEST_F(BillingServiceTest, ARunOfAMonthThatHasNotBegunIsRefusedAndWritesNothing) {
  Schedule(estate_);
  const std::string unit = Unit(estate_, "100");
  const absl::CivilMonth current = CurrentMonth(absl::Now(), EstateZone("Asia/Shanghai"));
  const std::string before = Snapshot();
  for (const auto& period :
       {Month(2062, 3), Month(static_cast<int>((current + 1).year()), (current + 1).month())}) {
    for (const std::string& estate : {estate_, std::string()}) {  // the estate's, the group's
      v1::StartBillingRunRequest req;
      req.set_request_id(NewId(absl::Now()));
      req.set_estate_id(estate);
      *req.mutable_period() = period;
      v1::BillingRun run;
      grpc::Status st = Call(&Stub::StartBillingRun, admin_, req, &run);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
      EXPECT_EQ(Field(st), "period") << st.error_message();
    }
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Query("SELECT count(*) FROM billing_runs"), 0);

  v1::BillingRun run = Run(estate_, Month(static_cast<int>(current.year()), current.month()));
  EXPECT_EQ(run.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(run.bills_issued(), 1);
  EXPECT_EQ(Bills(estate_, unit).size(), 1u);
}

TEST_F(BillingServiceTest, AUnitBilledInItsOldEstateIsNotBilledAgainInItsNewOne) {
  // The first run of an estate's month inserts without ON CONFLICT; a unit that came to the
  // estate with its bill of the month already issued makes that insert fail, and the chunk
  // is issued again skipping it.
  std::string other = Estate(150);
  std::string mover = Unit(estate_, "80");
  for (int i = 0; i < 5; ++i) Unit(other, "90");
  v1::BillingRun first = Run(estate_, Month(2026, 11), 3);
  EXPECT_EQ(first.bills_issued(), 1);

  // The directory never moves a unit between estates; a repair of the copy by hand could.
  ASSERT_EQ(Query(absl::StrCat("WITH m AS (UPDATE bl_units SET estate_id = '", other,
                               "' WHERE id = '", mover, "' RETURNING 1) SELECT count(*) FROM m")),
            1);

  v1::BillingRun second = Run(other, Month(2026, 11), 10);
  EXPECT_EQ(second.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(second.units_done(), 6);
  EXPECT_EQ(second.bills_issued(), 5);
  EXPECT_EQ(Query("SELECT count(*) FROM bills"), 6);
  EXPECT_EQ(Query("SELECT count(DISTINCT unit_id) FROM bills"), 6);
  v1::LedgerCheck ledger = Ledger();
  EXPECT_TRUE(ledger.balanced());
  EXPECT_EQ(ledger.debits_fen(), Query("SELECT sum(amount_fen) FROM bills"));
}

TEST_F(BillingServiceTest, ARunRolledBackHalfWayIsDoneAgainByTheNextTick) {
  for (int i = 0; i < 6; ++i) Unit(estate_, "50");
  v1::StartBillingRunRequest req;
  req.set_request_id("run-crash");
  req.set_estate_id(estate_);
  *req.mutable_period() = Month(2026, 9);
  v1::BillingRun run;
  ASSERT_TRUE(Call(&Stub::StartBillingRun, admin_, req, &run).ok());
  // A trigger that fails the sixth bill's insert (in the second chunk): that chunk's
  // transaction rolls back as if the process died mid-statement.
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec(
        "CREATE TABLE crash_once (n int); "
        "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF (SELECT count(*) FROM crash_once) = 0 AND (SELECT count(*) FROM bills) >= 5 THEN "
        "RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER crash BEFORE INSERT ON bills FOR EACH ROW EXECUTE FUNCTION crash();");
  }
  BillingRunner runner(*db_, SystemClock(), 4);
  ASSERT_EQ(*runner.Tick(), 1);      // chunk 1: 4 bills
  EXPECT_FALSE(runner.Tick().ok());  // chunk 2 dies; nothing of it stays
  v1::GetBillingRunRequest get;
  get.set_id(run.id());
  ASSERT_TRUE(Call(&Stub::GetBillingRun, admin_, get, &run).ok());
  EXPECT_EQ(run.units_done(), 4);
  EXPECT_EQ(Query("SELECT count(*) FROM bills"), 4);
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec("INSERT INTO crash_once VALUES (1)");
  }
  while (*runner.Tick() == 1) {
  }
  ASSERT_TRUE(Call(&Stub::GetBillingRun, admin_, get, &run).ok());
  EXPECT_EQ(run.state(), v1::RUN_STATE_DONE);
  EXPECT_EQ(run.units_done(), 6);
  EXPECT_EQ(run.bills_issued(), 6);
  EXPECT_EQ(Query("SELECT count(*) FROM bills"), 6);
  EXPECT_TRUE(Ledger().balanced());
}

// ---- Meters ---------------------------------------------------------------------------

TEST_F(BillingServiceTest, MeterReadingsRefuseDecreasesFlagJumpsAndRespectBilledMonths) {
  Schedule(estate_);
  std::string unit = Unit(estate_, "80");
  auto record = [&](int month, const std::string& reading, bool replaced = false,
                    const std::string& old_final = "") {
    v1::RecordMeterReadingRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* r = req.mutable_reading();
    r->set_unit_id(unit);
    r->set_meter_id("W1");
    r->set_kind(v1::METER_KIND_WATER);
    *r->mutable_period() = Month(2026, month);
    r->set_reading(reading);
    r->set_meter_replaced(replaced);
    r->set_old_meter_final(old_final);
    v1::MeterReading out;
    grpc::Status st = Call(&Stub::RecordMeterReading, clerk_, req, &out);
    return std::pair{st, out};
  };
  ASSERT_TRUE(record(3, "100").first.ok());
  auto [st4, apr] = record(4, "110");  // 10 m³
  ASSERT_TRUE(st4.ok());
  EXPECT_EQ(apr.consumption(), "10.00");
  EXPECT_EQ(apr.amount_fen(), 3450);
  auto [st5, may] = record(5, "109.99");
  EXPECT_EQ(st5.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st5), "METER_READING_DECREASED");
  auto [st5b, replaced] = record(5, "2", true, "112");  // 2 on the old + 2 on the new
  ASSERT_TRUE(st5b.ok()) << st5b.error_message();
  EXPECT_EQ(replaced.consumption(), "4.00");
  auto [st6, jump] = record(6, "100");  // 98 m³ after 4: flagged
  ASSERT_TRUE(st6.ok());
  EXPECT_EQ(jump.state(), v1::READING_STATE_FLAGGED);
  // A flagged reading is not billed until confirmed.
  v1::BillingRun june = Run(estate_, Month(2026, 6));
  auto bills = Bills(estate_, unit);
  ASSERT_EQ(bills.size(), 1u);
  for (const auto& l : bills[0].lines()) EXPECT_NE(l.item(), "water");
  // Its month is billed now: confirming it is refused; July's reading bills from May's.
  v1::ConfirmMeterReadingRequest confirm;
  confirm.set_request_id(NewId(absl::Now()));
  confirm.set_id(jump.id());
  v1::MeterReading confirmed;
  grpc::Status stc = Call(&Stub::ConfirmMeterReading, clerk_, confirm, &confirmed);
  EXPECT_EQ(stc.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(stc), "PERIOD_BILLED");
  auto [st6b, late] = record(6, "1");
  EXPECT_EQ(st6b.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st6b), "PERIOD_BILLED");
  auto [st7, july] = record(7, "5");  // 3 m³ after May's 2
  ASSERT_TRUE(st7.ok()) << st7.error_message();
  EXPECT_EQ(july.consumption(), "3.00");
  EXPECT_EQ(july.state(), v1::READING_STATE_BILLABLE);
  // A flagged reading of an unbilled month can be confirmed.
  auto [st8, aug] = record(8, "105");
  ASSERT_TRUE(st8.ok());
  ASSERT_EQ(aug.state(), v1::READING_STATE_FLAGGED);
  confirm.set_request_id(NewId(absl::Now()));
  confirm.set_id(aug.id());
  ASSERT_TRUE(Call(&Stub::ConfirmMeterReading, clerk_, confirm, &confirmed).ok());
  EXPECT_EQ(confirmed.state(), v1::READING_STATE_BILLABLE);
}

// 002_… (客服部月计划 2, "每月初配合工程部对每户业主进行远程数据抄表") and issue #22 §2: a
// meter reading flagged as implausible is a task for the finance clerk on
// duty, from billing's own event; the confirmation closes it. A billable reading publishes
// nothing; a retry publishes nothing more. The unit and the meter only.
TEST_F(BillingServiceTest, AFlaggedReadingAndItsConfirmationArePublishedOnce) {
  Schedule(estate_);
  std::string unit = Unit(estate_, "80");
  auto request = [&](int month, const std::string& reading) {
    v1::RecordMeterReadingRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* r = req.mutable_reading();
    r->set_unit_id(unit);
    r->set_meter_id("W1");
    r->set_kind(v1::METER_KIND_WATER);
    *r->mutable_period() = Month(2026, month);
    r->set_reading(reading);
    return req;
  };
  v1::MeterReading out;
  ASSERT_TRUE(Call(&Stub::RecordMeterReading, clerk_, request(3, "100"), &out).ok());
  ASSERT_TRUE(Call(&Stub::RecordMeterReading, clerk_, request(4, "104"), &out).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type LIKE 'billing.meter_reading.%'"), 0);
  v1::RecordMeterReadingRequest jump = request(5, "200");  // 96 m³ after 4: flagged
  v1::MeterReading flagged, again;
  ASSERT_TRUE(Call(&Stub::RecordMeterReading, clerk_, jump, &flagged).ok());
  ASSERT_TRUE(Call(&Stub::RecordMeterReading, clerk_, jump, &again).ok());  // a retry
  ASSERT_EQ(flagged.state(), v1::READING_STATE_FLAGGED);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.meter_reading.flagged'"),
            1);
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    pqxx::row row =
        tx.exec1("SELECT envelope FROM wuye_outbox WHERE type = 'billing.meter_reading.flagged'");
    ev::Event e;
    ASSERT_TRUE(e.ParseFromString(pqxx::binarystring(row[0]).str()));
    ev::MeterReadingFlagged p;
    ASSERT_TRUE(e.payload().UnpackTo(&p));
    EXPECT_EQ(e.subject(), flagged.id());
    EXPECT_EQ(e.estate_id(), estate_);
    EXPECT_EQ(p.unit_id(), unit);
    EXPECT_EQ(p.meter_id(), "W1");
    EXPECT_EQ(p.meter_kind(), "water");
    EXPECT_EQ(p.consumption(), "96.00");
    EXPECT_FALSE(p.confirmed());
  }
  v1::ConfirmMeterReadingRequest confirm;
  confirm.set_request_id(NewId(absl::Now()));
  confirm.set_id(flagged.id());
  v1::MeterReading confirmed;
  ASSERT_TRUE(Call(&Stub::ConfirmMeterReading, clerk_, confirm, &confirmed).ok());
  ASSERT_TRUE(Call(&Stub::ConfirmMeterReading, clerk_, confirm, &confirmed).ok());  // a retry
  confirm.set_request_id(NewId(absl::Now()));
  EXPECT_EQ(Reason(Call(&Stub::ConfirmMeterReading, clerk_, confirm, &confirmed)),
            "READING_NOT_FLAGGED");
  EXPECT_EQ(
      Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.meter_reading.confirmed'"), 1);
}

// ---- Prices ---------------------------------------------------------------------------

TEST_F(BillingServiceTest, EstatePricesStayWithinThirtyPercentAndArePublished) {
  v1::SetStandardPriceRequest std_req;
  std_req.set_request_id(NewId(absl::Now()));
  std_req.mutable_price()->set_item_code("CLEAN_HOME");
  std_req.mutable_price()->set_name("In-home cleaning");
  std_req.mutable_price()->set_price_fen(10000);
  std_req.mutable_price()->set_per("job");
  v1::StandardPrice standard;
  ASSERT_TRUE(Call(&Stub::SetStandardPrice, admin_, std_req, &standard).ok());

  auto publish = [&](int64_t fen) {
    v1::PublishEstatePriceRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_price()->set_estate_id(estate_);
    req.mutable_price()->set_item_code("CLEAN_HOME");
    req.mutable_price()->set_price_fen(fen);
    v1::EstatePrice out;
    return std::pair{Call(&Stub::PublishEstatePrice, admin_, req, &out), out};
  };
  for (int64_t bad : {6999, 13001}) {
    const std::string before = Snapshot();
    auto [st, out] = publish(bad);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Field(st), "price.price_fen");
    EXPECT_NE(st.error_message().find("7000..13000"), std::string::npos) << st.error_message();
    EXPECT_EQ(Snapshot(), before);
  }
  for (int64_t good : {7000, 13000}) {
    auto [st, out] = publish(good);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(out.price_fen(), good);
    EXPECT_EQ(out.standard_price_fen(), 10000);
    EXPECT_EQ(out.name(), "In-home cleaning");
  }
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.price.published'"), 2);
  v1::ListEstatePricesRequest list;
  list.set_estate_id(estate_);
  v1::ListEstatePricesResponse prices;
  ASSERT_TRUE(Call(&Stub::ListEstatePrices, clerk_, list, &prices).ok());
  ASSERT_EQ(prices.prices_size(), 1);
  EXPECT_EQ(prices.prices(0).price_fen(), 13000);
  EXPECT_EQ(prices.prices(0).version(), 2);

  // 004_… 5.6.1 (浮动幅度不超过30%): a new standard price re-checks the estates' prices and
  // names those now outside the band; dispatch learns the standard price by event.
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.standard_price.set'"), 1);
  std_req.set_request_id(NewId(absl::Now()));
  std_req.mutable_price()->set_price_fen(9000);  // 13 000 > 9 000 × 1.3 = 11 700
  ASSERT_TRUE(Call(&Stub::SetStandardPrice, admin_, std_req, &standard).ok());
  ASSERT_EQ(standard.estate_ids_outside_band_size(), 1);
  EXPECT_EQ(standard.estate_ids_outside_band(0), estate_);
  std_req.set_request_id(NewId(absl::Now()));
  std_req.mutable_price()->set_price_fen(11000);  // 13 000 ≤ 14 300: back inside
  ASSERT_TRUE(Call(&Stub::SetStandardPrice, admin_, std_req, &standard).ok());
  EXPECT_EQ(standard.estate_ids_outside_band_size(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.standard_price.set'"), 3);
}

// ---- Payments -------------------------------------------------------------------------

TEST_F(BillingServiceTest, PaymentsSettleOldestFirstOrTheNamedBillAndOverpaymentIsCredit) {
  std::string unit = Unit(estate_, "100");  // 150.00 yuan a month
  Run(estate_, Month(2026, 1));
  Run(estate_, Month(2026, 2));
  auto bills = Bills(estate_, unit);
  ASSERT_EQ(bills.size(), 2u);
  const std::string jan = bills[0].id(), feb = bills[1].id();

  v1::Payment p1;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 20000, "T1"), &p1).ok());
  ASSERT_EQ(p1.allocations_size(), 2);
  EXPECT_EQ(p1.allocations(0).bill_id(), jan);
  EXPECT_EQ(p1.allocations(0).amount_fen(), 15000);
  EXPECT_EQ(p1.allocations(1).bill_id(), feb);
  EXPECT_EQ(p1.allocations(1).amount_fen(), 5000);
  EXPECT_EQ(p1.credit_fen(), 0);

  Run(estate_, Month(2026, 3));
  std::string mar = Bills(estate_, unit, true).back().id();
  v1::Payment p2;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 26000, "T2", mar), &p2).ok());
  ASSERT_EQ(p2.allocations_size(), 2);
  EXPECT_EQ(p2.allocations(0).bill_id(), mar);  // the named bill first
  EXPECT_EQ(p2.allocations(0).amount_fen(), 15000);
  EXPECT_EQ(p2.allocations(1).bill_id(), feb);  // then the oldest open one
  EXPECT_EQ(p2.allocations(1).amount_fen(), 10000);
  EXPECT_EQ(p2.credit_fen(), 1000);

  v1::GetUnitAccountRequest acct_req;
  acct_req.set_unit_id(unit);
  v1::UnitAccount account;
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, acct_req, &account).ok());
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.credit_fen(), 1000);
  EXPECT_EQ(account.open_bills_size(), 0);

  // A reversal is an entry of its own; the bills it settled are open again.
  v1::ReversePaymentRequest rev;
  rev.set_request_id("rev-1");
  rev.set_id(p1.id());
  rev.set_reason("bank returned the transfer");
  v1::Payment reversed;
  ASSERT_TRUE(Call(&Stub::ReversePayment, clerk_, rev, &reversed).ok());
  EXPECT_TRUE(reversed.reversed());
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, acct_req, &account).ok());
  EXPECT_EQ(account.owed_fen(), 20000);  // January in full and February's 50.00
  EXPECT_EQ(account.open_bills_size(), 2);
  rev.set_request_id("rev-2");
  grpc::Status twice = Call(&Stub::ReversePayment, clerk_, rev, &reversed);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(twice), "REVERSED");
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind = 'reversal'"), 1);
  EXPECT_TRUE(Ledger().balanced());
  EXPECT_EQ(Query("SELECT count(*) FROM wuye_outbox WHERE type = 'billing.payment.recorded'"), 2);
}

// Issue 26 §5: a unit's credit and deposits are read from running sums (migration 012), not
// summed over its whole ledger. The sums must be exactly the entries' sums, however the entries
// came: payments ahead month after month, a reversal, a refund, several units in one statement.
TEST_F(BillingServiceTest, AUnitsRunningBalancesAreTheSumsOfItsLedgerEntries) {
  const std::string a = Unit(estate_, "100"), b = Unit(estate_, "80");  // 150.00 and 120.00
  std::vector<v1::Payment> paid;
  for (int m = 1; m <= 4; ++m) {
    Run(estate_, Month(2026, m));
    for (const auto& [unit, fen] : {std::pair{a, 45000}, std::pair{b, 12000 + 100 * m}}) {
      v1::Payment p;
      ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_,
                       PaymentReq(unit, fen, absl::StrCat("RB-", m, "-", unit)), &p)
                      .ok());
      paid.push_back(p);
    }
  }
  v1::ReversePaymentRequest rev;
  rev.set_request_id("rb-rev");
  rev.set_id(paid[2].id());  // a's second month, 300.00 of it credit
  rev.set_reason("bank returned the transfer");
  v1::Payment reversed;
  ASSERT_TRUE(Call(&Stub::ReversePayment, clerk_, rev, &reversed).ok());
  v1::RefundRequest refund;
  refund.set_request_id("rb-refund");
  refund.set_unit_id(b);
  refund.set_of(v1::REFUND_OF_CREDIT);
  refund.set_amount_fen(300);
  refund.set_method(v1::PAYMENT_METHOD_CASH);
  refund.set_reason("moving out");
  v1::UnitAccount after_refund;
  ASSERT_TRUE(Call(&Stub::Refund, clerk_, refund, &after_refund).ok());

  // Entries of two units in one statement, one of them on two accounts.
  {
    pqxx::connection conn(tdb_.url());
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO ledger_txns (id, group_id, estate_id, kind, ref, created_at) VALUES "
        "('00000000-0000-4000-8000-0000000000aa', $1, $2, 'test', 'rb-direct', now())",
        group_, estate_);
    tx.exec_params(
        "INSERT INTO ledger_entries (txn_id, group_id, account, unit_id, amount_fen) VALUES "
        "('00000000-0000-4000-8000-0000000000aa', $1, 'unit_credit', $2, -700), "
        "('00000000-0000-4000-8000-0000000000aa', $1, 'unit_credit', $2, -50), "
        "('00000000-0000-4000-8000-0000000000aa', $1, 'deposit_held', $2, -1000), "
        "('00000000-0000-4000-8000-0000000000aa', $1, 'unit_credit', $3, -20), "
        "('00000000-0000-4000-8000-0000000000aa', $1, 'cash:cash', NULL, 1770)",
        group_, a, b);
    tx.commit();
  }

  // Every (unit, account) has one running sum, equal to its entries' sum.
  EXPECT_EQ(Query("SELECT count(*) FROM (SELECT unit_id, account FROM ledger_entries WHERE "
                  "unit_id IS NOT NULL GROUP BY 1, 2) e"),
            Query("SELECT count(*) FROM unit_balances"));
  EXPECT_EQ(Query("SELECT count(*) FROM (SELECT unit_id, account, sum(amount_fen) AS s FROM "
                  "ledger_entries WHERE unit_id IS NOT NULL GROUP BY 1, 2) e FULL JOIN "
                  "unit_balances u USING (unit_id, account) WHERE u.sum_fen IS DISTINCT FROM e.s"),
            0);
  // a: 4 × 300.00 ahead, one of them reversed, then 7.50 more; b: 1.00 + … + 4.00 ahead,
  // 3.00 refunded, then 0.20.
  v1::GetUnitAccountRequest req;
  v1::UnitAccount account;
  req.set_unit_id(a);
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, req, &account).ok());
  EXPECT_EQ(account.credit_fen(), 3 * 30000 + 750);
  EXPECT_EQ(account.deposits_held_fen(), 1000);
  req.set_unit_id(b);
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, req, &account).ok());
  EXPECT_EQ(account.credit_fen(), 1000 - 300 + 20);
  EXPECT_EQ(after_refund.credit_fen(), 1000 - 300);
  EXPECT_TRUE(Ledger().balanced());
}

TEST_F(BillingServiceTest, APaymentIsRecordedOncePerRequestIdAndPerExternalTransaction) {
  std::string unit = Unit(estate_, "100");
  Run(estate_, Month(2026, 1));
  v1::RecordPaymentRequest req = PaymentReq(unit, 5000, "WX-1");
  v1::Payment first, again, other_id;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, req, &again).ok());
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  // The same external transaction under another request_id: the same payment.
  v1::RecordPaymentRequest same_txn = PaymentReq(unit, 5000, "WX-1");
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, same_txn, &other_id).ok());
  EXPECT_EQ(other_id.id(), first.id());
  // The same external transaction with another amount is refused.
  v1::RecordPaymentRequest clash = PaymentReq(unit, 5001, "WX-1");
  v1::Payment refused;
  grpc::Status st = Call(&Stub::RecordPayment, clerk_, clash, &refused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "EXTERNAL_TXN_REUSED");
  // The same request_id with other content is refused.
  req.mutable_payment()->set_amount_fen(6000);
  st = Call(&Stub::RecordPayment, clerk_, req, &refused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  // Another method may reuse the number.
  v1::RecordPaymentRequest alipay = PaymentReq(unit, 5000, "WX-1");
  alipay.mutable_payment()->set_method(v1::PAYMENT_METHOD_ALIPAY);
  v1::Payment second;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, alipay, &second).ok());
  EXPECT_NE(second.id(), first.id());
  EXPECT_EQ(Query("SELECT count(*) FROM payments"), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind = 'payment'"), 2);
}

// The must-hold test: 1,000 payments, each sent 1–5 times, some of the sends at once, some
// under another request_id with the same external transaction number, some abandoned by the
// client mid-call, while another connection terminates backends that are in COMMIT.
TEST_F(BillingServiceTest, AThousandPaymentsSentOneToFiveTimesWithCommitsCutAreRecordedOnce) {
  constexpr int kPayments = 1000;
  constexpr int kUnits = 40;
  std::vector<std::string> units;
  for (int i = 0; i < kUnits; ++i) units.push_back(Unit(estate_, absl::StrCat(50 + i, ".25")));
  Run(estate_, Month(2026, 1), 100);
  Run(estate_, Month(2026, 2), 100);
  // COMMIT of a payment waits a little at a deferred trigger, so that the killer below can
  // catch backends while they commit.
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_sleep(0.01); RETURN NULL; END $$; "
        "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON payments DEFERRABLE INITIALLY "
        "DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();");
  }
  std::atomic<bool> stop{false};
  std::atomic<int> killed{0};
  std::thread killer([&] {
    pqxx::connection conn(tdb_.url());
    std::mt19937 rng(7);
    while (!stop.load()) {
      pqxx::nontransaction tx(conn);
      pqxx::result r = tx.exec(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
          "application_name = 'wuye' AND state = 'active' AND query = 'COMMIT'");
      for (const auto& row : r) {
        if (rng() % 8 != 0) continue;  // cut one commit in eight that it sees
        if (tx.exec1("SELECT pg_terminate_backend(" + row[0].as<std::string>() + ")")[0].as<bool>())
          killed++;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });

  struct Plan {
    v1::RecordPaymentRequest req;
    int sends;
  };
  std::vector<Plan> plans;
  std::mt19937 rng(42);
  for (int i = 0; i < kPayments; ++i) {
    Plan p{PaymentReq(units[i % kUnits], 1000 + rng() % 20000, absl::StrCat("TXN-", i)),
           1 + static_cast<int>(rng() % 5)};
    p.req.set_request_id(absl::StrCat("pay-", i));
    plans.push_back(std::move(p));
  }
  std::atomic<int> cancelled{0}, unavailable{0};
  std::mutex mu;
  std::map<int, std::set<std::string>> ids;  // payment index → payment ids answered
  std::vector<std::string> failures;
  // One send: retried with the same request until it gets an answer.
  auto send = [&](int index, const v1::RecordPaymentRequest& req, bool abandon_first) {
    bool abandon = abandon_first;
    for (int attempt = 0; attempt < 50; ++attempt) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + clerk_);
      if (abandon) {
        // The client gives up mid-call (the connection "drops"): the server may or may not
        // have committed; the retry must find out through request_id.
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(3));
        abandon = false;
      }
      v1::Payment out;
      grpc::Status st = stub_->RecordPayment(&ctx, req, &out);
      if (st.ok()) {
        std::lock_guard lock(mu);
        ids[index].insert(out.id());
        return;
      }
      auto code = st.error_code();
      if (code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::CANCELLED) {
        cancelled++;
        continue;
      }
      if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::ABORTED) {
        unavailable++;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      std::lock_guard lock(mu);
      failures.push_back(absl::StrCat(index, ": ", st.error_code(), " ", st.error_message()));
      return;
    }
    std::lock_guard lock(mu);
    failures.push_back(absl::StrCat(index, ": gave up"));
  };
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 local(1000 + w);
      for (int i = next++; i < kPayments; i = next++) {
        const Plan& plan = plans[i];
        // The first two sends go at once when there are two or more.
        std::vector<std::thread> burst;
        int at_once = plan.sends >= 2 ? 2 : 1;
        for (int s = 0; s < at_once; ++s) {
          burst.emplace_back([&, s] { send(i, plan.req, s == 0 && local() % 4 == 0); });
        }
        for (auto& t : burst) t.join();
        for (int s = at_once; s < plan.sends; ++s) {
          v1::RecordPaymentRequest again = plan.req;
          // Some resends come as a new request with the same external transaction.
          if (s % 2 == 1) again.set_request_id(absl::StrCat("pay-", i, "-resend-", s));
          send(i, again, local() % 5 == 0);
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  killer.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures[0];
  EXPECT_GT(killed.load(), 0) << "no COMMIT was cut; the test did not test what it says";
  ASSERT_EQ(ids.size(), static_cast<size_t>(kPayments));
  for (const auto& [index, answered] : ids) {
    EXPECT_EQ(answered.size(), 1u) << "payment " << index << " answered with several ids";
  }
  EXPECT_EQ(Query("SELECT count(*) FROM payments"), kPayments);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind = 'payment'"), kPayments);
  EXPECT_EQ(Query("SELECT count(DISTINCT ref) FROM ledger_txns WHERE kind = 'payment'"), kPayments);
  int64_t sent_total = 0;
  for (const auto& p : plans) sent_total += p.req.payment().amount_fen();
  EXPECT_EQ(Query("SELECT sum(amount_fen) FROM payments"), sent_total);
  EXPECT_EQ(Query("SELECT sum(amount_fen) FROM ledger_entries WHERE account LIKE 'cash:%'"),
            sent_total);
  // Bills were settled by exactly what the allocations say.
  EXPECT_EQ(Query("SELECT sum(paid_fen) FROM bills"),
            Query("SELECT COALESCE(sum(amount_fen), 0) FROM allocations"));
  v1::LedgerCheck ledger = Ledger();
  EXPECT_TRUE(ledger.balanced());
  EXPECT_EQ(ledger.sum_fen(), 0);
  EXPECT_EQ(ledger.unbalanced_transactions(), 0);
  std::printf("payments %d, COMMITs cut %d, abandoned calls %d, unavailable answers %d\n",
              kPayments, killed.load(), cancelled.load(), unavailable.load());
}

// ---- Charges from other services --------------------------------------------------------

TEST_F(BillingServiceTest, PaidWorkOrdersAndElderlyCareFeesBecomeChargesOnce) {
  std::string unit = Unit(estate_, "90");
  ev::WorkOrderChanged wo;
  wo.set_work_order_id(NewId(absl::Now()));
  wo.set_estate_id(estate_);
  wo.set_unit_id(unit);
  wo.set_paid(true);
  wo.set_quote_fen(8000);
  wo.set_state(ev::WORK_ORDER_STATE_COMPLETED);
  for (int i = 0; i < 2; ++i) {  // a redelivery under another event id
    ASSERT_TRUE(Deliver("dispatch.work_order.completed", group_, wo.work_order_id(), 9, wo).ok());
  }
  ev::WorkOrderChanged unpaid = wo;
  unpaid.set_work_order_id(NewId(absl::Now()));
  unpaid.set_paid(false);
  ASSERT_TRUE(
      Deliver("dispatch.work_order.completed", group_, unpaid.work_order_id(), 9, unpaid).ok());

  auto fee = [&](const std::string& id, ev::ElderFeeKind kind, ev::ElderFeePayer payer,
                 int64_t amount) {
    ev::ElderFeeCharged f;
    f.set_charge_id(id);
    f.set_elder_id(NewId(absl::Now()));
    f.set_estate_id(estate_);
    f.set_unit_id(unit);
    f.set_kind(kind);
    f.set_payer(payer);
    f.set_amount_fen(amount);
    f.set_quantity(1);
    return Deliver("eldercare.fee.charged", group_, f.elder_id(), 0, f);
  };
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        fee("c-year", ev::ELDER_FEE_KIND_SERVICE_YEAR, ev::ELDER_FEE_PAYER_RESIDENT, 100000).ok());
    ASSERT_TRUE(
        fee("c-dep", ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, ev::ELDER_FEE_PAYER_RESIDENT, 300000)
            .ok());
    ASSERT_TRUE(
        fee("c-clinic", ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, ev::ELDER_FEE_PAYER_CLINIC, 7000)
            .ok());
  }
  auto bills = Bills(estate_, unit);
  ASSERT_EQ(bills.size(), 3u);  // work order, service year, deposit
  std::map<std::string, int64_t> by_item;
  for (const auto& b : bills) {
    EXPECT_EQ(b.kind(), v1::BILL_KIND_CHARGE);
    ASSERT_EQ(b.lines_size(), 1);
    by_item[b.lines(0).item()] = b.amount_fen();
  }
  EXPECT_EQ(by_item["work_order"], 8000);
  EXPECT_EQ(by_item["eldercare_services"], 100000);  // the service year, as a clerk reads it
  EXPECT_EQ(by_item["eldercare_emergency_deposit"], 300000);
  // Nothing is held of a deposit nobody paid yet (004_… 5.9).
  EXPECT_EQ(Query("SELECT COALESCE(-sum(amount_fen), 0) FROM ledger_entries WHERE account IN "
                  "('deposit_held', 'eldercare_deposit_held')"),
            0);
  EXPECT_EQ(Query("SELECT sum(amount_fen) FROM ledger_entries WHERE account = "
                  "'clinic_receivable'"),
            7000);
  v1::GetUnitAccountRequest acct_req;
  acct_req.set_unit_id(unit);
  v1::UnitAccount account;
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, acct_req, &account).ok());
  EXPECT_EQ(account.deposits_held_fen(), 0);
  EXPECT_EQ(account.owed_fen(), 8000 + 100000 + 300000);
  EXPECT_TRUE(Ledger().balanced());
  // A charge for a unit billing does not know yet waits (the entry is delivered again).
  ev::WorkOrderChanged early = wo;
  early.set_work_order_id(NewId(absl::Now()));
  early.set_unit_id(NewId(absl::Now()));
  absl::Status st =
      Deliver("dispatch.work_order.completed", group_, early.work_order_id(), 9, early);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
}

// ---- Elderly-care money (004_… 5.2, 5.6, 5.9, 5.12) ------------------------------------------

class EldercareMoneyTest : public BillingServiceTest {
 protected:
  void SetUp() override {
    BillingServiceTest::SetUp();
    unit_ = Unit(estate_, "90");
    nurse_ = TestToken(group_, {"*"}, {"nurse"}, "nurse-1");
  }

  // Delivers one eldercare charge for unit_; returns its charge id.
  std::string Fee(ev::ElderFeeKind kind, int64_t amount, const std::string& settles = "",
                  ev::ElderFeePayer payer = ev::ELDER_FEE_PAYER_RESIDENT) {
    ev::ElderFeeCharged f;
    f.set_charge_id(NewId(absl::Now()));
    f.set_elder_id(elder_);
    f.set_estate_id(estate_);
    f.set_unit_id(unit_);
    f.set_kind(kind);
    f.set_payer(payer);
    f.set_amount_fen(amount);
    f.set_quantity(1);
    f.set_settles_charge_id(settles);
    for (int i = 0; i < 2; ++i) {  // every charge is delivered twice: posted once
      absl::Status st = Deliver("eldercare.fee.charged", group_, elder_, 0, f);
      EXPECT_TRUE(st.ok()) << st;
    }
    return f.charge_id();
  }

  // −sum of an account's entries: what it holds (a liability), or sum for an asset.
  int64_t Held(const std::string& account) {
    return Query(
        absl::StrCat("SELECT COALESCE(-sum(amount_fen), 0) FROM ledger_entries WHERE account = '",
                     account, "'"));
  }

  v1::Bill BillOf(const std::string& charge_id, const std::string& token = "") {
    for (const auto& b : Bills(estate_, unit_)) {
      if (b.source() == absl::StrCat("eldercare:", charge_id)) {
        if (token.empty()) return b;
        v1::GetBillRequest get;
        get.set_id(b.id());
        v1::Bill out;
        EXPECT_TRUE(Call(&Stub::GetBill, token, get, &out).ok());
        return out;
      }
    }
    ADD_FAILURE() << "no bill of charge " << charge_id;
    return {};
  }

  v1::Payment Pay(int64_t amount, const std::string& bill) {
    v1::Payment p;
    grpc::Status st =
        Call(&Stub::RecordPayment, clerk_, PaymentReq(unit_, amount, NewId(absl::Now()), bill), &p);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return p;
  }

  v1::UnitAccount Account(const std::string& token) {
    v1::GetUnitAccountRequest req;
    req.set_unit_id(unit_);
    v1::UnitAccount account;
    EXPECT_TRUE(Call(&Stub::GetUnitAccount, token, req, &account).ok());
    return account;
  }

  v1::ClinicSettlement Settlement(const std::string& token, grpc::Status* status = nullptr,
                                  const std::string& estate = "") {
    absl::CivilDay today = absl::ToCivilDay(absl::Now(), EstateZone("Asia/Shanghai"));
    v1::ReportClinicSettlementRequest req;
    req.set_estate_id(estate.empty() ? estate_ : estate);
    *req.mutable_period() = Month(static_cast<int>(today.year()), today.month());
    v1::ClinicSettlement out;
    grpc::Status st = Call(&Stub::ReportClinicSettlement, token, req, &out);
    if (status) {
      *status = st;
    } else {
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    return out;
  }

  std::string unit_, nurse_, elder_ = NewId(absl::Now());
};

// 004_… 5.2: "居家养老特约服务项目的相关费用" — each fee lands with its keeper: the service year
// (5.2.1) is the office's revenue; the family-call fund (5.2.2, "由管理处负责保管与使用") is
// held by the office and drawn down by the calls; the health card (5.2.3, "由社区医疗保健室收取"),
// the checkup (5.2.4, "代收"), sick-bed (5.2.6) and hospice care (5.2.7) are the clinic's money,
// held for it once paid, never the office's revenue; the management fee (5.12, "管理处…向社区
// 医疗保健室征收") is owed by the clinic, not by the unit.
TEST_F(EldercareMoneyTest, EachElderlyCareFeeLandsWithItsKeeper) {
  std::string year = Fee(ev::ELDER_FEE_KIND_SERVICE_YEAR, 100000);
  std::string fund = Fee(ev::ELDER_FEE_KIND_FAMILY_CALL_FUND, 10000);
  std::string card = Fee(ev::ELDER_FEE_KIND_HEALTH_CARD, 5000);
  std::string checkup = Fee(ev::ELDER_FEE_KIND_CHECKUP, 30000);
  std::string sickbed = Fee(ev::ELDER_FEE_KIND_SICKBED_DAYS, 3 * 8000);
  std::string hospice = Fee(ev::ELDER_FEE_KIND_HOSPICE_DAYS, 2 * 10000);
  Fee(ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, 5 * 1000, "", ev::ELDER_FEE_PAYER_CLINIC);
  const int64_t clinic = 5000 + 30000 + 24000 + 20000;

  EXPECT_EQ(Bills(estate_, unit_).size(), 6u);  // no bill of the clinic's management fee
  EXPECT_EQ(Account(clerk_).owed_fen(), 100000 + 10000 + clinic);
  EXPECT_EQ(Held("revenue:eldercare_service_year"), 100000);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_entries WHERE account LIKE 'revenue:%' AND "
                  "account NOT IN ('revenue:eldercare_service_year', "
                  "'revenue:clinic_management_fee')"),
            0);
  EXPECT_EQ(Held("clinic_billed"), clinic);  // on the clinic's behalf, not yet paid
  EXPECT_EQ(Held("clinic_payable"), 0);
  EXPECT_EQ(Held("family_call_fund_due"), 10000);
  EXPECT_EQ(-Held("clinic_receivable"), 5000);
  EXPECT_EQ(Held("revenue:clinic_management_fee"), 5000);

  // Paid: the clinic's fees are now money held for it; the fund is the office's to use.
  std::vector<v1::Payment> payments;
  for (const auto& id : {year, fund, card, checkup, sickbed, hospice}) {
    v1::Bill b = BillOf(id);
    payments.push_back(Pay(b.amount_fen(), b.id()));
  }
  EXPECT_EQ(Held("clinic_billed"), 0);
  EXPECT_EQ(Held("clinic_payable"), clinic);
  EXPECT_EQ(Held("family_call_fund"), 10000);
  // A family call drawn from the fund: the office's money now.
  Fee(ev::ELDER_FEE_KIND_FAMILY_CALL, 100);
  EXPECT_EQ(Held("family_call_fund"), 9900);
  EXPECT_EQ(Held("revenue:eldercare_family_calls"), 100);
  EXPECT_EQ(Account(clerk_).owed_fen(), 0);

  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.billed_for_clinic_fen(), clinic);
  EXPECT_EQ(s.collected_for_clinic_fen(), clinic);
  EXPECT_EQ(s.management_fee_fen(), 5000);
  EXPECT_EQ(s.net_to_clinic_fen(), clinic - 5000);
  EXPECT_EQ(s.payable_to_clinic_fen(), clinic);
  EXPECT_EQ(s.receivable_from_clinic_fen(), 5000);
  EXPECT_EQ(s.uncollected_for_clinic_fen(), 0);

  // A payment reversed: the clinic's money is not held any more.
  v1::ReversePaymentRequest rev;
  rev.set_request_id(NewId(absl::Now()));
  rev.set_id(payments[5].id());  // the hospice days'
  ASSERT_EQ(payments[5].allocations(0).bill_id(), BillOf(hospice).id());
  rev.set_reason("bank transfer returned");
  v1::Payment reversed;
  ASSERT_TRUE(Call(&Stub::ReversePayment, clerk_, rev, &reversed).ok());
  EXPECT_EQ(Held("clinic_payable"), clinic - 20000);
  EXPECT_EQ(Held("clinic_billed"), 20000);
  EXPECT_EQ(Settlement(clerk_).collected_for_clinic_fen(), clinic - 20000);
  EXPECT_TRUE(Ledger().balanced());
}

// 004_… 5.2.5 "急救中心抢救保证金每人预缴3000元由社区医疗保健室负责代收与保管" and 5.9 "当解除
// 《居家养老特约服务》约定时,《急救中心抢救保证金》将全额退还": the deposit is held once paid,
// and exit returns in full what was paid — never a deposit nobody paid.
TEST_F(EldercareMoneyTest, TheEmergencyDepositIsRefundedOnlyAsFarAsItWasPaid) {
  // Never paid: exit cancels the bill and returns nothing.
  std::string unpaid = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  EXPECT_EQ(Account(clerk_).deposits_held_fen(), 0);
  v1::RefundRequest refund;
  refund.set_request_id(NewId(absl::Now()));
  refund.set_unit_id(unit_);
  refund.set_of(v1::REFUND_OF_DEPOSIT);
  refund.set_amount_fen(300000);
  refund.set_method(v1::PAYMENT_METHOD_CASH);
  refund.set_reason("exit");
  v1::UnitAccount after;
  grpc::Status st = Call(&Stub::Refund, clerk_, refund, &after);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Fee(ev::ELDER_FEE_KIND_DEPOSIT_REFUND, 300000, unpaid);
  v1::UnitAccount account = Account(clerk_);
  EXPECT_EQ(account.credit_fen(), 0);
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.deposits_held_fen(), 0);
  EXPECT_EQ(BillOf(unpaid).amount_fen(), 0);

  // Paid in full: held, then returned in full to the unit's credit, once.
  std::string paid = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  Pay(300000, BillOf(paid).id());
  EXPECT_EQ(Account(clerk_).deposits_held_fen(), 300000);
  EXPECT_EQ(Held("eldercare_deposit_held"), 300000);
  Fee(ev::ELDER_FEE_KIND_DEPOSIT_REFUND, 300000, paid);
  account = Account(clerk_);
  EXPECT_EQ(account.credit_fen(), 300000);
  EXPECT_EQ(account.deposits_held_fen(), 0);

  // Paid in part: the part paid comes back, the rest is never owed.
  std::string part = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  Pay(100000, BillOf(part).id());
  Fee(ev::ELDER_FEE_KIND_DEPOSIT_REFUND, 300000, part);
  account = Account(clerk_);
  EXPECT_EQ(account.credit_fen(), 400000);
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(BillOf(part).amount_fen(), 100000);

  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.deposits_collected_fen(), 400000);
  EXPECT_EQ(s.deposits_refunded_fen(), 400000);
  EXPECT_EQ(s.deposits_held_fen(), 0);
  // A refund whose deposit has not reached billing waits; one without a deposit is refused.
  ev::ElderFeeCharged orphan;
  orphan.set_charge_id(NewId(absl::Now()));
  orphan.set_unit_id(unit_);
  orphan.set_estate_id(estate_);
  orphan.set_kind(ev::ELDER_FEE_KIND_DEPOSIT_REFUND);
  orphan.set_amount_fen(300000);
  orphan.set_settles_charge_id(NewId(absl::Now()));
  EXPECT_EQ(Deliver("eldercare.fee.charged", group_, elder_, 0, orphan).code(),
            absl::StatusCode::kUnavailable);
  orphan.clear_settles_charge_id();
  EXPECT_EQ(Deliver("eldercare.fee.charged", group_, elder_, 0, orphan).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Ledger().balanced());
}

// 004_… 5.2.4 "按每次体检实际发生的费用进行结算,多还少补" and 5.6 "实行多还少补的措施": the
// advance is settled at actual cost; what is returned comes first off what is still owed.
TEST_F(EldercareMoneyTest, TheCheckupAdvanceIsSettledAtActualCost) {
  // Paid advance, cheaper checkup: 40 yuan back to the unit from the clinic's money.
  std::string advance = Fee(ev::ELDER_FEE_KIND_CHECKUP, 30000);
  Pay(30000, BillOf(advance).id());
  Fee(ev::ELDER_FEE_KIND_CHECKUP_RETURN, 4000, advance);
  EXPECT_EQ(Account(clerk_).credit_fen(), 4000);
  EXPECT_EQ(Held("clinic_payable"), 26000);
  // Unpaid advance, cheaper checkup: the bill owes the actual cost, nothing comes back.
  std::string unpaid = Fee(ev::ELDER_FEE_KIND_CHECKUP, 30000);
  Fee(ev::ELDER_FEE_KIND_CHECKUP_RETURN, 4000, unpaid);
  EXPECT_EQ(BillOf(unpaid).amount_fen(), 26000);
  EXPECT_EQ(Account(clerk_).credit_fen(), 4000);
  EXPECT_EQ(Held("clinic_billed"), 26000);
  // Dearer checkup: the rest is charged, for the clinic.
  std::string top_up = Fee(ev::ELDER_FEE_KIND_CHECKUP_TOP_UP, 4500, advance);
  EXPECT_EQ(BillOf(top_up).amount_fen(), 4500);
  EXPECT_EQ(Held("clinic_billed"), 26000 + 4500);

  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.billed_for_clinic_fen(), 30000 + 30000 + 4500);
  EXPECT_EQ(s.collected_for_clinic_fen(), 30000);
  EXPECT_EQ(s.returned_for_clinic_fen(), 4000);
  EXPECT_EQ(s.net_to_clinic_fen(), 26000);
  EXPECT_EQ(s.uncollected_for_clinic_fen(), 26000 + 4500);
  EXPECT_TRUE(Ledger().balanced());
}

// 004_… 5.14 "均属保密资料…均不得泄露": a bill never tells a reader outside the care roles that
// someone is in sick-bed or hospice care; they read "eldercare_services" (养老服务).
TEST_F(EldercareMoneyTest, CareFeesReadAsElderlyCareServicesOutsideTheCareRoles) {
  std::string hospice = Fee(ev::ELDER_FEE_KIND_HOSPICE_DAYS, 20000);
  std::string sickbed = Fee(ev::ELDER_FEE_KIND_SICKBED_DAYS, 8000);
  std::string deposit = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  std::string agent = TestToken(group_, {"*"}, {"agent"});
  for (const std::string& token : {clerk_, agent, admin_}) {
    EXPECT_EQ(BillOf(hospice, token).lines(0).item(), "eldercare_services");
    EXPECT_EQ(BillOf(sickbed, token).lines(0).item(), "eldercare_services");
    EXPECT_EQ(BillOf(deposit, token).lines(0).item(), "eldercare_emergency_deposit");
    v1::UnitAccount account = Account(token);
    for (const auto& b : account.open_bills()) {
      EXPECT_EQ(b.lines(0).item().find("hospice"), std::string::npos);
      EXPECT_EQ(b.lines(0).item().find("sickbed"), std::string::npos);
    }
  }
  for (const auto& b : Bills(estate_, unit_)) {  // ListBills as the group admin
    EXPECT_EQ(b.lines(0).item().find("hospice"), std::string::npos);
  }
  EXPECT_EQ(BillOf(hospice, nurse_).lines(0).item(), "eldercare_hospice_days");
  EXPECT_EQ(BillOf(sickbed, nurse_).lines(0).item(), "eldercare_sickbed_days");
  // The ledger's accounts name the keeper, never the care.
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_entries WHERE account LIKE '%hospice%' OR "
                  "account LIKE '%sickbed%'"),
            0);
}

// 004_… 5.12: the settlement is for finance, of one estate of the caller's group.
TEST_F(EldercareMoneyTest, TheClinicSettlementIsForFinanceOfTheCallersEstates) {
  Fee(ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, 3000, "", ev::ELDER_FEE_PAYER_CLINIC);
  grpc::Status st;
  for (const char* role : {"agent", "nurse", "technician"}) {
    Settlement(TestToken(group_, {"*"}, {role}), &st);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << role;
  }
  Settlement(TestToken(group_, {NewId(absl::Now())}, {"estate_manager"}), &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::string rival_group = NewId(absl::Now());
  Settlement(TestToken(rival_group, {"*"}, {"finance_clerk"}), &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  Settlement(clerk_, &st, "not-an-id");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ReportClinicSettlementRequest bad;
  bad.set_estate_id(estate_);
  v1::ClinicSettlement out;
  EXPECT_EQ(Call(&Stub::ReportClinicSettlement, clerk_, bad, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no period
  v1::ClinicSettlement s = Settlement(TestToken(group_, {estate_}, {"estate_manager"}));
  EXPECT_EQ(s.management_fee_fen(), 3000);
  EXPECT_EQ(s.net_to_clinic_fen(), -3000);  // the clinic owes the office
  // Last month saw none of it.
  absl::CivilDay today = absl::ToCivilDay(absl::Now(), EstateZone("Asia/Shanghai"));
  absl::CivilMonth last = absl::CivilMonth(today) - 1;
  v1::ReportClinicSettlementRequest prev;
  prev.set_estate_id(estate_);
  *prev.mutable_period() = Month(static_cast<int>(last.year()), last.month());
  ASSERT_TRUE(Call(&Stub::ReportClinicSettlement, clerk_, prev, &out).ok());
  EXPECT_EQ(out.management_fee_fen(), 0);
  EXPECT_EQ(out.receivable_from_clinic_fen(), 0);
}

// 004_… 5.9 "急救中心抢救保证金由社区医疗保健室代收与保管,负责向《急救中心》缴纳第一次抢救治疗的
// 保证金,抢救治疗费用与后续的治疗费用由该被抢救治疗老人的亲人们负责支付": the clinic lodges a
// unit's deposit in hand with the emergency centre, and it comes back from the centre or is made
// good by the family; never more lodged than is in hand, never more back than is lodged.
TEST_F(EldercareMoneyTest, TheClinicLodgesTheEmergencyDepositWithTheCentreAndGetsItBack) {
  std::string deposit = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  Pay(300000, BillOf(deposit).id());
  const std::string clinic = TestToken(group_, {estate_}, {"clinic"}, "clinic-1");
  auto lodge = [&](const std::string& token, int64_t amount, const std::string& ref,
                   const std::string& request_id = NewId(absl::Now()),
                   v1::UnitAccount* out = nullptr) {
    v1::LodgeEmergencyDepositRequest req;
    req.set_request_id(request_id);
    req.set_unit_id(unit_);
    req.set_amount_fen(amount);
    req.set_reference(ref);
    v1::UnitAccount account;
    grpc::Status st = Call(&Stub::LodgeEmergencyDeposit, token, req, out ? out : &account);
    return st;
  };
  auto back = [&](const std::string& token, int64_t amount, v1::DepositBackFrom from,
                  const std::string& ref, v1::UnitAccount* out = nullptr) {
    v1::ReturnEmergencyDepositRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_unit_id(unit_);
    req.set_amount_fen(amount);
    req.set_from(from);
    req.set_reference(ref);
    v1::UnitAccount account;
    return Call(&Stub::ReturnEmergencyDeposit, token, req, out ? out : &account);
  };

  // Lodged once per request_id: the replay answers the same account and moves nothing more.
  const std::string once = NewId(absl::Now());
  v1::UnitAccount first, replay;
  ASSERT_TRUE(lodge(clinic, 300000, "EC-2026-001", once, &first).ok());
  ASSERT_TRUE(lodge(clinic, 300000, "EC-2026-001", once, &replay).ok());
  EXPECT_EQ(first.SerializeAsString(), replay.SerializeAsString());
  EXPECT_EQ(first.deposits_held_fen(), 300000);  // still the resident's
  EXPECT_EQ(first.deposit_at_emergency_centre_fen(), 300000);
  EXPECT_EQ(Held("eldercare_deposit_held"), 0);
  EXPECT_EQ(Held("eldercare_deposit_at_emergency_centre"), 300000);
  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.deposits_held_fen(), 0);
  EXPECT_EQ(s.deposits_lodged_fen(), 300000);
  EXPECT_EQ(s.deposits_at_emergency_centre_fen(), 300000);

  // Nothing more in hand.
  grpc::Status st = lodge(clinic, 1, "EC-2026-002");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_ENOUGH_HELD");

  // The family pays 1000 yuan of it back; the centre returns the rest; no more than lodged.
  v1::UnitAccount after;
  ASSERT_TRUE(back(clinic, 100000, v1::DEPOSIT_BACK_FROM_FAMILY, "RC-1", &after).ok());
  EXPECT_EQ(after.deposit_at_emergency_centre_fen(), 200000);
  EXPECT_EQ(after.deposits_held_fen(), 300000);
  // In hand again, but a reference recorded before is refused under a new request_id.
  EXPECT_EQ(Reason(lodge(clerk_, 1, "EC-2026-001")), "REFERENCE_REUSED");
  st = back(clerk_, 200001, v1::DEPOSIT_BACK_FROM_EMERGENCY_CENTRE, "RC-2");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_ENOUGH_LODGED");
  EXPECT_EQ(Reason(back(clerk_, 1, v1::DEPOSIT_BACK_FROM_EMERGENCY_CENTRE, "RC-1")),
            "REFERENCE_REUSED");
  ASSERT_TRUE(back(clerk_, 200000, v1::DEPOSIT_BACK_FROM_EMERGENCY_CENTRE, "RC-2", &after).ok());
  EXPECT_EQ(after.deposit_at_emergency_centre_fen(), 0);
  EXPECT_EQ(after.credit_fen(), 0);  // held again, not refunded: the elder is still enrolled
  EXPECT_EQ(Held("eldercare_deposit_held"), 300000);
  s = Settlement(clerk_);
  EXPECT_EQ(s.deposits_back_fen(), 300000);
  EXPECT_EQ(s.deposits_at_emergency_centre_fen(), 0);
  EXPECT_EQ(s.deposits_held_fen(), 300000);
  EXPECT_EQ(s.deposits_refunded_fen(), 0);

  // Bad input changes nothing.
  EXPECT_EQ(lodge(clinic, 0, "X").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lodge(clinic, 1, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lodge(clinic, 1, "has space").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(back(clinic, 1, v1::DEPOSIT_BACK_FROM_UNSPECIFIED, "X").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::LodgeEmergencyDepositRequest nowhere;
  nowhere.set_request_id(NewId(absl::Now()));
  nowhere.set_unit_id(NewId(absl::Now()));
  nowhere.set_amount_fen(1);
  nowhere.set_reference("X");
  v1::UnitAccount out;
  EXPECT_EQ(Call(&Stub::LodgeEmergencyDeposit, clinic, nowhere, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Another group's clinic finds no such unit; roles that keep no deposit may not record.
  EXPECT_EQ(lodge(TestToken(NewId(absl::Now()), {"*"}, {"clinic"}), 1, "X").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(back(TestToken(NewId(absl::Now()), {"*"}, {"finance_clerk"}), 1,
                 v1::DEPOSIT_BACK_FROM_FAMILY, "X")
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  for (const char* role : {"agent", "nurse", "estate_manager", "technician"}) {
    EXPECT_EQ(lodge(TestToken(group_, {"*"}, {role}), 1, "X").error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << role;
    EXPECT_EQ(
        back(TestToken(group_, {"*"}, {role}), 1, v1::DEPOSIT_BACK_FROM_FAMILY, "X").error_code(),
        grpc::StatusCode::PERMISSION_DENIED)
        << role;
  }
  EXPECT_EQ(lodge(TestToken(group_, {NewId(absl::Now())}, {"clinic"}), 1, "X").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // another estate's clinic
  EXPECT_EQ(Held("eldercare_deposit_held"), 300000);
  EXPECT_EQ(Held("eldercare_deposit_at_emergency_centre"), 0);
  EXPECT_TRUE(Ledger().balanced());
}

// 004_… 5.9 "当解除《居家养老特约服务》约定时,《急救中心抢救保证金》将全额退还": exit returns at
// once what is in hand; what is lodged with the emergency centre is still the resident's, and is
// paid to the unit's credit when it comes back — in full, once.
TEST_F(EldercareMoneyTest, ADepositLodgedAtExitIsRefundedInFullWhenItComesBack) {
  std::string deposit = Fee(ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, 300000);
  Pay(300000, BillOf(deposit).id());
  v1::LodgeEmergencyDepositRequest lodge;
  lodge.set_request_id(NewId(absl::Now()));
  lodge.set_unit_id(unit_);
  lodge.set_amount_fen(100000);
  lodge.set_reference("EC-7");
  v1::UnitAccount account;
  ASSERT_TRUE(Call(&Stub::LodgeEmergencyDeposit, clerk_, lodge, &account).ok());

  Fee(ev::ELDER_FEE_KIND_DEPOSIT_REFUND, 300000, deposit);  // exit, delivered twice
  account = Account(clerk_);
  EXPECT_EQ(account.credit_fen(), 200000);  // what was in hand
  EXPECT_EQ(account.deposits_held_fen(), 100000);
  EXPECT_EQ(account.deposit_at_emergency_centre_fen(), 100000);
  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.deposits_refunded_fen(), 200000);
  EXPECT_EQ(s.deposits_refund_awaited_fen(), 100000);
  EXPECT_EQ(s.deposits_at_emergency_centre_fen(), 100000);

  v1::ReturnEmergencyDepositRequest back;
  back.set_request_id(NewId(absl::Now()));
  back.set_unit_id(unit_);
  back.set_amount_fen(100000);
  back.set_from(v1::DEPOSIT_BACK_FROM_EMERGENCY_CENTRE);
  back.set_reference("RC-7");
  for (int i = 0; i < 2; ++i) {  // a replay pays once
    ASSERT_TRUE(Call(&Stub::ReturnEmergencyDeposit, clerk_, back, &account).ok());
    EXPECT_EQ(account.credit_fen(), 300000);  // 全额退还
    EXPECT_EQ(account.deposits_held_fen(), 0);
  }
  s = Settlement(clerk_);
  EXPECT_EQ(s.deposits_refunded_fen(), 300000);
  EXPECT_EQ(s.deposits_refund_awaited_fen(), 0);
  EXPECT_EQ(s.deposits_at_emergency_centre_fen(), 0);
  EXPECT_EQ(s.deposits_held_fen(), 0);
  EXPECT_EQ(Held("unit_credit"), 300000);
  EXPECT_TRUE(Ledger().balanced());
}

// 004_… 5.12 "管理处客户服务中心向社区医疗保健室征收…管理服务费用": the office pays the clinic
// what it holds for it less the management fee, or the clinic pays the office; the settlement
// shows what was settled in the month and what is still outstanding.
TEST_F(EldercareMoneyTest, SettlementsWithTheClinicLeaveOnlyWhatIsOutstanding) {
  for (auto [kind, fen] : {std::pair{ev::ELDER_FEE_KIND_HEALTH_CARD, int64_t{5000}},
                           std::pair{ev::ELDER_FEE_KIND_SICKBED_DAYS, int64_t{24000}}}) {
    Pay(fen, BillOf(Fee(kind, fen)).id());
  }
  Fee(ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, 3000, "", ev::ELDER_FEE_PAYER_CLINIC);
  ASSERT_EQ(Settlement(clerk_).outstanding_fen(), 26000);

  auto settle = [&](const std::string& token, v1::ClinicPaymentDirection direction, int64_t amount,
                    const std::string& ref, const std::string& request_id = NewId(absl::Now()),
                    v1::ClinicPayment* out = nullptr, const std::string& estate = "") {
    v1::SettleWithClinicRequest req;
    req.set_request_id(request_id);
    req.set_estate_id(estate.empty() ? estate_ : estate);
    req.set_direction(direction);
    req.set_amount_fen(amount);
    req.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
    req.set_reference(ref);
    v1::ClinicPayment payment;
    return Call(&Stub::SettleWithClinic, token, req, out ? out : &payment);
  };
  const auto kTo = v1::CLINIC_PAYMENT_DIRECTION_TO_CLINIC;
  const auto kFrom = v1::CLINIC_PAYMENT_DIRECTION_FROM_CLINIC;

  // Never more than is owed that way.
  grpc::Status st = settle(clerk_, kTo, 26001, "V-1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "MORE_THAN_OUTSTANDING");
  EXPECT_EQ(Reason(settle(clerk_, kFrom, 1, "V-1")), "MORE_THAN_OUTSTANDING");

  // The office pays 200 yuan of the 260 owed: paid once per request_id.
  const std::string once = NewId(absl::Now());
  v1::ClinicPayment paid, replay;
  ASSERT_TRUE(settle(clerk_, kTo, 20000, "V-1", once, &paid).ok());
  ASSERT_TRUE(settle(clerk_, kTo, 20000, "V-1", once, &replay).ok());
  EXPECT_EQ(paid.SerializeAsString(), replay.SerializeAsString());
  EXPECT_EQ(paid.outstanding_fen(), 6000);
  EXPECT_EQ(paid.reference(), "V-1");
  EXPECT_EQ(Reason(settle(admin_, kTo, 1, "V-1")), "REFERENCE_REUSED");
  v1::ClinicSettlement s = Settlement(clerk_);
  EXPECT_EQ(s.net_to_clinic_fen(), 26000);
  EXPECT_EQ(s.settled_fen(), 20000);
  EXPECT_EQ(s.outstanding_fen(), 6000);
  EXPECT_EQ(s.outstanding_at_start_fen() + s.net_to_clinic_fen() - s.settled_fen(),
            s.outstanding_fen());
  EXPECT_EQ(s.payable_to_clinic_fen(), 6000);  // the fee kept back from what was paid
  EXPECT_EQ(s.receivable_from_clinic_fen(), 0);
  EXPECT_EQ(Held("cash:bank_transfer"), 20000);  // paid out to the clinic

  // Then the clinic owes more than the office holds for it, and pays the difference.
  Fee(ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, 10000, "", ev::ELDER_FEE_PAYER_CLINIC);
  EXPECT_EQ(Reason(settle(clerk_, kTo, 1, "V-2")), "MORE_THAN_OUTSTANDING");
  ASSERT_TRUE(settle(admin_, kFrom, 4000, "V-2", NewId(absl::Now()), &paid).ok());
  EXPECT_EQ(paid.outstanding_fen(), 0);
  s = Settlement(clerk_);
  EXPECT_EQ(s.settled_fen(), 20000 - 4000);
  EXPECT_EQ(s.outstanding_fen(), 0);
  EXPECT_EQ(s.payable_to_clinic_fen(), 0);
  EXPECT_EQ(s.receivable_from_clinic_fen(), 0);

  // Bad input, other groups, roles without rights: refused, nothing moves.
  EXPECT_EQ(settle(clerk_, v1::CLINIC_PAYMENT_DIRECTION_UNSPECIFIED, 1, "X").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(settle(clerk_, kTo, 0, "X").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(settle(clerk_, kTo, 1, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(settle(clerk_, kTo, 1, "X", NewId(absl::Now()), nullptr, "not-an-id").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      settle(clerk_, kTo, 1, "X", NewId(absl::Now()), nullptr, NewId(absl::Now())).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      settle(TestToken(NewId(absl::Now()), {"*"}, {"finance_clerk"}), kTo, 1, "X").error_code(),
      grpc::StatusCode::NOT_FOUND);
  for (const char* role : {"agent", "nurse", "clinic", "estate_manager"}) {
    EXPECT_EQ(settle(TestToken(group_, {"*"}, {role}), kTo, 1, "X").error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << role;
  }
  EXPECT_EQ(Settlement(clerk_).settled_fen(), 16000);
  // Last month: nothing settled, nothing outstanding.
  absl::CivilMonth last =
      absl::CivilMonth(absl::ToCivilDay(absl::Now(), EstateZone("Asia/Shanghai"))) - 1;
  v1::ReportClinicSettlementRequest prev;
  prev.set_estate_id(estate_);
  *prev.mutable_period() = Month(static_cast<int>(last.year()), last.month());
  v1::ClinicSettlement out;
  ASSERT_TRUE(Call(&Stub::ReportClinicSettlement, clerk_, prev, &out).ok());
  EXPECT_EQ(out.settled_fen(), 0);
  EXPECT_EQ(out.outstanding_fen(), 0);
  EXPECT_TRUE(Ledger().balanced());
}

TEST_F(BillingServiceTest, AnOpenComplaintPausesRemindersOfItsBillUntilItCloses) {
  std::string unit = Unit(estate_, "90");
  Run(estate_, Month(2026, 1));
  std::string bill = Bills(estate_, unit)[0].id();
  auto remind = [&] {
    v1::RecordReminderRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_reminder()->set_bill_id(bill);
    req.mutable_reminder()->set_channel(v1::REMINDER_CHANNEL_SMS);
    req.mutable_reminder()->set_note("second notice");
    v1::Reminder out;
    return Call(&Stub::RecordReminder, clerk_, req, &out);
  };
  ASSERT_TRUE(remind().ok());
  ev::TicketChanged t;
  t.set_ticket_id(NewId(absl::Now()));
  t.set_estate_id(estate_);
  t.set_kind(wuye::common::v1::TICKET_KIND_COMPLAINT);
  t.set_disputed_bill_id(bill);
  t.set_state(ev::TICKET_STATE_RECEIVED);
  ASSERT_TRUE(Deliver("intake.ticket.created", group_, t.ticket_id(), 1, t).ok());
  v1::GetBillRequest get;
  get.set_id(bill);
  v1::Bill b;
  ASSERT_TRUE(Call(&Stub::GetBill, clerk_, get, &b).ok());
  EXPECT_TRUE(b.disputed());
  grpc::Status st = remind();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "BILL_DISPUTED");
  // Closed at version 3; a late version 2 (still open) changes nothing.
  t.set_state(ev::TICKET_STATE_CLOSED);
  ASSERT_TRUE(Deliver("intake.ticket.changed", group_, t.ticket_id(), 3, t).ok());
  t.set_state(ev::TICKET_STATE_IN_PROGRESS);
  ASSERT_TRUE(Deliver("intake.ticket.changed", group_, t.ticket_id(), 2, t).ok());
  ASSERT_TRUE(remind().ok());
  v1::ListRemindersRequest list;
  list.set_bill_id(bill);
  v1::ListRemindersResponse reminders;
  ASSERT_TRUE(Call(&Stub::ListReminders, clerk_, list, &reminders).ok());
  ASSERT_EQ(reminders.reminders_size(), 2);
  EXPECT_EQ(reminders.reminders(0).staff_id(), "clerk-1");
  EXPECT_EQ(reminders.reminders(0).channel(), v1::REMINDER_CHANNEL_SMS);
}

TEST_F(BillingServiceTest, StaleDirectoryVersionsAreIgnored) {
  ev::UnitChanged u;
  u.set_unit_id(NewId(absl::Now()));
  u.set_estate_id(estate_);
  u.set_building_area_m2("100");
  u.set_handed_over(true);
  u.set_version(3);
  ASSERT_TRUE(Deliver("directory.unit.updated", group_, u.unit_id(), 3, u).ok());
  u.set_building_area_m2("50");
  u.set_version(2);
  ASSERT_TRUE(Deliver("directory.unit.updated", group_, u.unit_id(), 2, u).ok());
  EXPECT_EQ(Query("SELECT area_centi FROM bl_units WHERE id = '" + u.unit_id() + "'"), 10000);
  // An import chunk carries units with their own versions.
  ev::UnitImportChunk chunk;
  chunk.set_estate_id(estate_);
  u.set_building_area_m2("70.5");
  u.set_version(4);
  *chunk.add_units() = u;
  ev::UnitChanged fresh = u;
  fresh.set_unit_id(NewId(absl::Now()));
  fresh.set_version(1);
  *chunk.add_units() = fresh;
  ASSERT_TRUE(Deliver("directory.units.imported", group_, estate_, 0, chunk).ok());
  EXPECT_EQ(Query("SELECT area_centi FROM bl_units WHERE id = '" + u.unit_id() + "'"), 7050);
  EXPECT_EQ(Query("SELECT count(*) FROM bl_units"), 2);
}

// Issue 21 #8: a directory event still carrying the API resource it carried before the
// payload messages (one left in a stream at the upgrade) is refused by the router's one
// policy, INVALID_ARGUMENT, so it reaches the dead letters; nothing is applied.
TEST_F(BillingServiceTest, DirectoryEventWithTheOldResourcePayloadIsRefused) {
  dir::Unit old;
  old.set_id(NewId(absl::Now()));
  old.set_group_id(group_);
  old.set_estate_id(estate_);
  old.set_building_area_m2("100");
  old.set_version(1);
  absl::Status st = Deliver("directory.unit.created", group_, old.id(), 1, old);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("wuye.events.v1.UnitChanged"), std::string::npos) << st;
  EXPECT_EQ(Query("SELECT count(*) FROM bl_units"), 0);
  dir::Estate estate;
  estate.set_id(NewId(absl::Now()));
  estate.set_management_fee_fen_per_m2(150);
  estate.set_version(1);
  EXPECT_EQ(Deliver("directory.estate.updated", group_, estate.id(), 1, estate).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Query("SELECT count(*) FROM bl_estates WHERE id = '" + estate.id() + "'"), 0);
}

// ---- Arrears and reports ----------------------------------------------------------------

TEST_F(BillingServiceTest, ArrearsAreAgedByDaysPastDue) {
  std::vector<std::string> units;
  for (int i = 0; i < 4; ++i) units.push_back(Unit(estate_, "100"));
  absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  auto old_month = MonthOf(absl::CivilDay(absl::CivilMonth(today) - 10));
  Run(estate_, old_month);
  // Units 2 and 3 pay in full.
  for (int i = 2; i < 4; ++i) {
    v1::Payment p;
    ASSERT_TRUE(
        Call(&Stub::RecordPayment, clerk_, PaymentReq(units[i], 15000, absl::StrCat("P", i)), &p)
            .ok());
  }
  v1::GetArrearsRequest areq;
  areq.set_estate_id(estate_);
  v1::Arrears arrears;
  ASSERT_TRUE(Call(&Stub::GetArrears, clerk_, areq, &arrears).ok());
  EXPECT_EQ(arrears.days_over_180_fen(), 30000);
  EXPECT_EQ(arrears.days_0_30_fen() + arrears.days_31_90_fen() + arrears.days_91_180_fen(), 0);
  EXPECT_EQ(arrears.units_in_arrears(), 2);
}

// Issue 19.11, "collection figures as of the due day": the collection rate and the share of
// owners in arrears (000_… 二.10: 以欠繳費業主率25%為基準) of a month are fixed at its close
// (the end of its due day plus the group's grace) by the service itself; a report before
// the close is provisional. Owners are counted one per home (002_… 第七章, 办理入住:
// 房屋档案的建立(一户一档)): co-owners of one home are one owner, a home whose owner the
// directory has not registered is one owner too, and a parking space is no owner of its own.
TEST_F(BillingServiceTest, TheMonthsCollectionIsFixedAtItsCloseByTheServiceNotByACaller) {
  v1::SetFeeScheduleRequest fs;
  fs.set_request_id(NewId(absl::Now()));
  fs.mutable_schedule()->set_estate_id(estate_);
  fs.mutable_schedule()->set_due_day(28);
  fs.mutable_schedule()->set_parking_sold_fen(6000);
  v1::FeeSchedule schedule;
  ASSERT_TRUE(Call(&Stub::SetFeeSchedule, admin_, fs, &schedule).ok());
  std::vector<std::string> homes;
  for (int i = 0; i < 4; ++i) homes.push_back(Unit(estate_, "100"));     // 15000 each
  const std::string space = Unit(estate_, "12", ev::UNIT_TYPE_PARKING);  // 6000, never paid
  for (int i = 0; i < 2; ++i) {  // two co-owners of the first home
    ev::ResidentChanged r;
    r.set_resident_id(NewId(absl::Now()));
    r.set_unit_id(homes[0]);
    r.set_role(ev::RESIDENT_ROLE_OWNER);
    r.set_version(1);
    ASSERT_TRUE(Deliver("directory.resident.created", group_, r.resident_id(), 1, r).ok());
  }
  // This month (a later one is not billed yet), due on its 28th, with the longest grace the
  // group may set: not closed while this test runs.
  const absl::TimeZone shanghai = EstateZone("Asia/Shanghai");
  const absl::CivilMonth next = CurrentMonth(absl::Now(), shanghai);
  const auto month = MonthOf(absl::CivilDay(next));
  {
    v1::UpdateBillingSettingsRequest us;
    us.set_request_id(NewId(absl::Now()));
    us.mutable_settings()->set_collection_grace_days(kMaxGraceDays);
    v1::BillingSettings settings;
    ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, us, &settings).ok());
  }
  const absl::Time due = absl::FromCivil(absl::CivilDay(next.year(), next.month(), 29), shanghai);
  // From the 29th on the month's bills are past due, though the month is not closed.
  const int late_homes = absl::Now() >= due ? 2 : 0;
  // Before the month is billed there is nothing to report, and nothing is fixed or published:
  // a month closed with no bill would otherwise stay 0 of 0 (100 %) for good.
  {
    const std::string before = Snapshot();
    for (const auto& period : {month, MonthOf(absl::CivilDay(absl::CivilMonth(2020, 1)))}) {
      v1::ReportCollectionRequest unbilled;
      unbilled.set_request_id(NewId(absl::Now()));
      unbilled.set_estate_id(estate_);
      *unbilled.mutable_period() = period;
      v1::CollectionReport none;
      grpc::Status st = Call(&Stub::ReportCollection, clerk_, unbilled, &none);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
      EXPECT_EQ(Reason(st), "MONTH_NOT_BILLED");
    }
    EXPECT_EQ(Snapshot(), before);
  }
  Run(estate_, month);
  for (int i = 2; i < 4; ++i) {
    v1::Payment p;
    ASSERT_TRUE(
        Call(&Stub::RecordPayment, clerk_, PaymentReq(homes[i], 15000, absl::StrCat("P", i)), &p)
            .ok());
  }
  v1::ReportCollectionRequest rreq;
  rreq.set_request_id(NewId(absl::Now()));
  rreq.set_estate_id(estate_);
  *rreq.mutable_period() = month;
  v1::CollectionReport report;
  ASSERT_TRUE(Call(&Stub::ReportCollection, clerk_, rreq, &report).ok());
  EXPECT_TRUE(report.provisional());
  EXPECT_FALSE(report.final());
  EXPECT_EQ(report.billed_fen(), 66000);
  EXPECT_EQ(report.collected_fen(), 30000);
  EXPECT_EQ(report.owners(), 4);  // one per home; the parking space is none
  // Before the 29th nothing is past due.
  EXPECT_EQ(report.owners_in_arrears(), late_homes);
  const absl::Time close = due + absl::Hours(24) * kMaxGraceDays;
  EXPECT_EQ(FromProtoTime(report.close_time()), close);  // the due day's end plus the grace
  EXPECT_EQ(report.version(), 1);
  // Nobody can fix the month before its close.
  rreq.set_request_id(NewId(absl::Now()));
  rreq.set_final(true);
  grpc::Status early = Call(&Stub::ReportCollection, clerk_, rreq, &report);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(early), "MONTH_NOT_CLOSED");

  // The service's own worker fixes it once the close has passed, as of the close.
  FakeClock clock(close - absl::Seconds(1));
  CollectionCloser closer(*db_, clock);
  EXPECT_EQ(*closer.Tick(), 0);  // not yet
  clock.Set(close + absl::Hours(3));
  EXPECT_EQ(*closer.Tick(), 1);
  EXPECT_EQ(*closer.Tick(), 0);  // once
  // A payment recorded after the month was fixed does not change it.
  v1::Payment late;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(homes[0], 15000, "P0"), &late).ok());
  rreq.set_request_id(NewId(absl::Now()));
  rreq.set_final(false);
  ASSERT_TRUE(Call(&Stub::ReportCollection, clerk_, rreq, &report).ok());
  EXPECT_TRUE(report.final());
  EXPECT_FALSE(report.provisional());
  EXPECT_EQ(FromProtoTime(report.as_of()), close);
  EXPECT_EQ(report.billed_fen(), 66000);
  EXPECT_EQ(report.collected_fen(), 30000);
  EXPECT_EQ(report.collection_rate_bp(), 4545);
  EXPECT_EQ(report.owners(), 4);
  EXPECT_EQ(report.owners_in_arrears(), 2);  // homes 0 (two co-owners: one owner) and 1
  EXPECT_EQ(report.arrears_share_bp(), 5000);
  EXPECT_FALSE(report.meets_collection_target());
  EXPECT_EQ(report.version(), 2);
  // Published twice: the provisional report and the fixed one; the answer after the close
  // publishes nothing new.
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  pqxx::result events = tx.exec(
      "SELECT envelope FROM wuye_outbox WHERE type = 'billing.collection.reported' ORDER BY id");
  ASSERT_EQ(events.size(), 2u);
  ev::Event last;
  ASSERT_TRUE(last.ParseFromString(pqxx::binarystring(events[1][0]).str()));
  ev::CollectionReported payload;
  ASSERT_TRUE(last.payload().UnpackTo(&payload));
  EXPECT_EQ(last.subject_version(), 2);
  EXPECT_TRUE(payload.final());
  EXPECT_EQ(payload.collection_rate_bp(), 4545);
  EXPECT_EQ(payload.arrears_share_bp(), 5000);
}

// 001_… 碧桂园客户部领班: the team lead "负责物业管理费催缴、追收的监督工作" and "每月5日前统计
// 欠管理费总表": reads the estate's arrears and its collection report (totals, no personal
// data), for the estates of the token only. Other roles read as before.
TEST_F(BillingServiceTest, TeamLeadsReadTheArrearsAndCollectionOfTheirOwnEstatesOnly) {
  const std::string home = Unit(estate_, "100");
  const auto month = MonthOf(absl::CivilDay(CurrentMonth(absl::Now(), absl::UTCTimeZone()) - 3));
  Run(estate_, month);  // long past due and closed
  v1::GetArrearsRequest areq;
  areq.set_estate_id(estate_);
  v1::ReportCollectionRequest rreq;
  rreq.set_estate_id(estate_);
  *rreq.mutable_period() = month;
  auto arrears = [&](const std::string& token, v1::Arrears* out) {
    return Call(&Stub::GetArrears, token, areq, out).error_code();
  };
  auto collection = [&](const std::string& token, v1::CollectionReport* out) {
    rreq.set_request_id(NewId(absl::Now()));
    return Call(&Stub::ReportCollection, token, rreq, out).error_code();
  };
  const std::string lead = TestToken(group_, {estate_}, {"team_lead"}, "lead-1");
  v1::Arrears a;
  ASSERT_EQ(arrears(lead, &a), grpc::StatusCode::OK);
  EXPECT_EQ(a.estate_id(), estate_);
  EXPECT_EQ(a.days_0_30_fen() + a.days_31_90_fen() + a.days_91_180_fen(), 15000);
  EXPECT_EQ(a.units_in_arrears(), 1);
  v1::CollectionReport r;
  ASSERT_EQ(collection(lead, &r), grpc::StatusCode::OK);
  EXPECT_TRUE(r.final());
  EXPECT_EQ(r.billed_fen(), 15000);
  EXPECT_EQ(r.owners_in_arrears(), 1);

  // A team lead of another estate of the group reads neither.
  const std::string other_lead = TestToken(group_, {Estate(150)}, {"team_lead"}, "lead-2");
  EXPECT_EQ(arrears(other_lead, &a), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(collection(other_lead, &r), grpc::StatusCode::PERMISSION_DENIED);

  // The other roles as before.
  struct Role {
    std::string role;
    grpc::StatusCode arrears, collection;
  };
  for (const Role& c : std::vector<Role>{
           {"group_admin", grpc::StatusCode::OK, grpc::StatusCode::OK},
           {"estate_manager", grpc::StatusCode::OK, grpc::StatusCode::OK},
           {"finance_clerk", grpc::StatusCode::OK, grpc::StatusCode::OK},
           {"supervisor", grpc::StatusCode::OK, grpc::StatusCode::PERMISSION_DENIED},
           {"agent", grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::PERMISSION_DENIED},
           {"technician", grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::PERMISSION_DENIED},
           {"nurse", grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::PERMISSION_DENIED},
       }) {
    const std::string token = TestToken(group_, {estate_}, {c.role});
    EXPECT_EQ(arrears(token, &a), c.arrears) << c.role;
    EXPECT_EQ(collection(token, &r), c.collection) << c.role;
  }
  // Reading is all a team lead gains: payments and reminders stay with their roles.
  v1::Payment p;
  EXPECT_EQ(Call(&Stub::RecordPayment, lead, PaymentReq(home, 100, "TL-1"), &p).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(BillingServiceTest, AMonthPastItsCloseIsFixedAsOfTheCloseWhoeverAsksFirst) {
  std::vector<std::string> homes;
  for (int i = 0; i < 2; ++i) homes.push_back(Unit(estate_, "100"));
  absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  auto old_month = MonthOf(absl::CivilDay(absl::CivilMonth(today) - 3));
  Run(estate_, old_month);  // billed today, long after the month's due day
  v1::Payment p;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(homes[1], 15000, "P1"), &p).ok());
  // A grace the group sets counts: 30 days after the 15th, still long past.
  v1::UpdateBillingSettingsRequest us;
  us.set_request_id(NewId(absl::Now()));
  us.mutable_settings()->set_collection_grace_days(30);
  v1::BillingSettings settings;
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, us, &settings).ok());
  v1::ReportCollectionRequest rreq;
  rreq.set_request_id(NewId(absl::Now()));
  rreq.set_estate_id(estate_);
  *rreq.mutable_period() = old_month;
  v1::CollectionReport report;
  ASSERT_TRUE(Call(&Stub::ReportCollection, clerk_, rreq, &report).ok());
  EXPECT_TRUE(report.final());
  EXPECT_FALSE(report.provisional());
  const absl::Time close = absl::FromCivil(absl::CivilDay(old_month.year(), old_month.month(), 16),
                                           EstateZone("Asia/Shanghai")) +
                           absl::Hours(24 * 30);
  EXPECT_EQ(FromProtoTime(report.close_time()), close);
  EXPECT_EQ(FromProtoTime(report.as_of()), close);
  EXPECT_EQ(report.billed_fen(), 30000);
  EXPECT_EQ(report.collected_fen(), 0);  // paid today, after the close
  EXPECT_EQ(report.owners_in_arrears(), 2);
  // The worker finds nothing left to do, and a second caller gets the same figures.
  CollectionCloser closer(*db_, SystemClock());
  EXPECT_EQ(*closer.Tick(), 0);
  rreq.set_request_id(NewId(absl::Now()));
  rreq.set_final(true);
  v1::CollectionReport again;
  ASSERT_TRUE(Call(&Stub::ReportCollection, admin_, rreq, &again).ok());
  EXPECT_EQ(again.version(), report.version());
  EXPECT_EQ(again.collected_fen(), 0);
}

// ---- Bad input, request_id, tenancy, roles ------------------------------------------------

TEST_F(BillingServiceTest, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  std::string unit = Unit(estate_, "100");
  Schedule(estate_);
  Run(estate_, Month(2026, 1));
  const std::string before = Snapshot();
  struct Bad {
    std::string field;
    std::function<grpc::Status()> call;
  };
  auto pay = [&](std::function<void(v1::RecordPaymentRequest&)> edit) {
    return [this, unit, edit] {
      v1::RecordPaymentRequest req = PaymentReq(unit, 100, "X1");
      edit(req);
      v1::Payment out;
      return Call(&Stub::RecordPayment, clerk_, req, &out);
    };
  };
  auto reading = [&](std::function<void(v1::MeterReading&)> edit) {
    return [this, unit, edit] {
      v1::RecordMeterReadingRequest req;
      req.set_request_id(NewId(absl::Now()));
      auto* r = req.mutable_reading();
      r->set_unit_id(unit);
      r->set_meter_id("W1");
      r->set_kind(v1::METER_KIND_WATER);
      *r->mutable_period() = Month(2026, 5);
      r->set_reading("10");
      edit(*r);
      v1::MeterReading out;
      return Call(&Stub::RecordMeterReading, clerk_, req, &out);
    };
  };
  std::vector<Bad> cases = {
      {"request_id", pay([](auto& r) { r.set_request_id(""); })},
      {"payment.unit_id", pay([](auto& r) { r.mutable_payment()->set_unit_id("nope"); })},
      {"payment.amount_fen", pay([](auto& r) { r.mutable_payment()->set_amount_fen(-5); })},
      {"payment.method",
       pay([](auto& r) { r.mutable_payment()->set_method(v1::PAYMENT_METHOD_UNSPECIFIED); })},
      {"payment.external_txn_no",
       pay([](auto& r) { r.mutable_payment()->set_external_txn_no(""); })},
      {"payment.bill_id", pay([](auto& r) { r.mutable_payment()->set_bill_id("x"); })},
      {"payment.bill_id",
       pay([](auto& r) { r.mutable_payment()->set_bill_id(NewId(absl::Now())); })},
      {"reading.reading", reading([](auto& r) { r.set_reading("1.234"); })},
      {"reading.reading", reading([](auto& r) { r.set_reading("-1"); })},
      {"reading.meter_id", reading([](auto& r) { r.set_meter_id(""); })},
      {"reading.kind", reading([](auto& r) { r.set_kind(v1::METER_KIND_UNSPECIFIED); })},
      {"reading.period.month", reading([](auto& r) { r.mutable_period()->set_month(13); })},
      {"reading.old_meter_final", reading([](auto& r) { r.set_old_meter_final("5"); })},
      {"schedule.due_day",
       [&] {
         v1::SetFeeScheduleRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.mutable_schedule()->set_estate_id(estate_);
         req.mutable_schedule()->set_due_day(31);
         v1::FeeSchedule out;
         return Call(&Stub::SetFeeSchedule, admin_, req, &out);
       }},
      {"schedule.tariffs[0].tiers[0].up_to",
       [&] {
         v1::SetFeeScheduleRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.mutable_schedule()->set_estate_id(estate_);
         auto* t = req.mutable_schedule()->add_tariffs();
         t->set_kind(v1::METER_KIND_GAS);
         t->add_tiers()->set_up_to(5);
         v1::FeeSchedule out;
         return Call(&Stub::SetFeeSchedule, admin_, req, &out);
       }},
      {"price.price_fen",
       [&] {
         v1::SetStandardPriceRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.mutable_price()->set_item_code("MOVE");
         req.mutable_price()->set_name("Moving help");
         req.mutable_price()->set_per("hour");
         v1::StandardPrice out;
         return Call(&Stub::SetStandardPrice, admin_, req, &out);
       }},
      {"price.item_code",
       [&] {
         v1::SetStandardPriceRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.mutable_price()->set_item_code("bad code");
         req.mutable_price()->set_name("x");
         req.mutable_price()->set_per("job");
         req.mutable_price()->set_price_fen(1);
         v1::StandardPrice out;
         return Call(&Stub::SetStandardPrice, admin_, req, &out);
       }},
      {"period.month",
       [&] {
         v1::StartBillingRunRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.set_estate_id(estate_);
         *req.mutable_period() = Month(2026, 0);
         v1::BillingRun out;
         return Call(&Stub::StartBillingRun, admin_, req, &out);
       }},
      {"reminder.channel",
       [&] {
         v1::RecordReminderRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.mutable_reminder()->set_bill_id(NewId(absl::Now()));
         v1::Reminder out;
         return Call(&Stub::RecordReminder, clerk_, req, &out);
       }},
      {"reason",
       [&] {
         v1::ReversePaymentRequest req;
         req.set_request_id(NewId(absl::Now()));
         req.set_id(NewId(absl::Now()));
         v1::Payment out;
         return Call(&Stub::ReversePayment, clerk_, req, &out);
       }},
  };
  for (const auto& c : cases) {
    grpc::Status st = c.call();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << st.error_code() << " " << st.error_message();
    EXPECT_EQ(Field(st), c.field) << st.error_message();
  }
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BillingServiceTest, AnotherGroupSeesAndChangesNothingAndRolesAreEnforced) {
  std::string unit = Unit(estate_, "100");
  Run(estate_, Month(2026, 1));
  std::string bill = Bills(estate_, unit)[0].id();
  v1::Payment paid;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 100, "OWN-1"), &paid).ok());
  const std::string before = Snapshot();

  std::string rival_group = NewId(absl::Now());
  std::string rival = TestToken(rival_group, {"*"}, {"group_admin", "finance_clerk"});
  v1::GetBillRequest get_bill;
  get_bill.set_id(bill);
  v1::Bill b;
  EXPECT_EQ(Call(&Stub::GetBill, rival, get_bill, &b).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetPaymentRequest get_pay;
  get_pay.set_id(paid.id());
  v1::Payment p;
  EXPECT_EQ(Call(&Stub::GetPayment, rival, get_pay, &p).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Payment out;
  EXPECT_EQ(Call(&Stub::RecordPayment, rival, PaymentReq(unit, 100, "R-1"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ReversePaymentRequest rev;
  rev.set_request_id("r");
  rev.set_id(paid.id());
  rev.set_reason("x");
  EXPECT_EQ(Call(&Stub::ReversePayment, rival, rev, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListBillsRequest list;
  list.set_estate_id(estate_);
  v1::ListBillsResponse bills;
  ASSERT_TRUE(Call(&Stub::ListBills, rival, list, &bills).ok());
  EXPECT_EQ(bills.bills_size(), 0);
  v1::StartBillingRunRequest run_req;
  run_req.set_request_id("rival-run");
  run_req.set_estate_id(estate_);
  *run_req.mutable_period() = Month(2026, 2);
  v1::BillingRun run;
  EXPECT_EQ(Call(&Stub::StartBillingRun, rival, run_req, &run).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::LedgerCheck check;
  ASSERT_TRUE(Call(&Stub::CheckLedger, rival, v1::CheckLedgerRequest(), &check).ok());
  EXPECT_EQ(check.transactions(), 0);
  // A token for other estates of this group.
  std::string elsewhere = TestToken(group_, {NewId(absl::Now())}, {"finance_clerk"});
  EXPECT_EQ(Call(&Stub::GetBill, elsewhere, get_bill, &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::RecordPayment, elsewhere, PaymentReq(unit, 100, "E-1"), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  run_req.set_estate_id("");
  EXPECT_EQ(Call(&Stub::StartBillingRun, elsewhere, run_req, &run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Wrong roles.
  std::string tech = TestToken(group_, {"*"}, {"technician"});
  EXPECT_EQ(Call(&Stub::RecordPayment, tech, PaymentReq(unit, 100, "T-1"), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::CheckLedger, tech, v1::CheckLedgerRequest(), &check).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Reads have reader lists too (security review #20.7): a technician quotes from the
  // published prices but reads no unit's bills, payments or account, nor the arrears.
  EXPECT_EQ(Call(&Stub::GetBill, tech, get_bill, &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetPayment, tech, get_pay, &p).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::ListBills, tech, list, &bills).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetUnitAccountRequest account_req;
  account_req.set_unit_id(unit);
  v1::UnitAccount account;
  EXPECT_EQ(Call(&Stub::GetUnitAccount, tech, account_req, &account).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetArrearsRequest arrears_req;
  arrears_req.set_estate_id(estate_);
  v1::Arrears arrears;
  EXPECT_EQ(Call(&Stub::GetArrears, tech, arrears_req, &arrears).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListEstatePricesRequest prices_req;
  prices_req.set_estate_id(estate_);
  v1::ListEstatePricesResponse prices;
  EXPECT_TRUE(Call(&Stub::ListEstatePrices, tech, prices_req, &prices).ok());
  // A nurse reads the elderly-care bills she follows up, not the unit's management fees.
  EXPECT_EQ(Call(&Stub::GetBill, TestToken(group_, {"*"}, {"nurse"}), get_bill, &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string agent = TestToken(group_, {"*"}, {"agent"});
  EXPECT_TRUE(Call(&Stub::GetUnitAccount, agent, account_req, &account).ok());  // the desk
  EXPECT_EQ(Call(&Stub::GetArrears, agent, arrears_req, &arrears).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::ReversePayment, agent, rev, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::StartBillingRun, agent, run_req, &run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // No token.
  EXPECT_EQ(Call(&Stub::GetBill, "", get_bill, &b).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BillingServiceTest, HealthIsServed) {
  EXPECT_EQ(::wuye::testing::HealthStatus(channel_, "wuye.billing.v1.BillingService"), 1);
}

TEST_F(BillingServiceTest, DepositsAreHeldAndRefundsNeverPayBackMoreThanIsThere) {
  std::string unit = Unit(estate_, "100");
  v1::TakeDepositRequest take;
  take.set_request_id("dep-1");
  take.set_unit_id(unit);
  take.set_amount_fen(200000);  // a 2000-yuan renovation deposit
  take.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  take.set_external_txn_no("BANK-77");
  v1::UnitAccount account, again;
  ASSERT_TRUE(Call(&Stub::TakeDeposit, clerk_, take, &account).ok());
  EXPECT_EQ(account.deposits_held_fen(), 200000);
  ASSERT_TRUE(Call(&Stub::TakeDeposit, clerk_, take, &again).ok());  // a retry: the same answer
  EXPECT_EQ(again.deposits_held_fen(), 200000);
  take.set_request_id("dep-2");  // the same bank transfer under another request_id: refused
  grpc::Status dup = Call(&Stub::TakeDeposit, clerk_, take, &again);
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(dup), "EXTERNAL_TXN_REUSED");

  // Bad input names the field and writes nothing; other roles are refused.
  const int64_t txns = Query("SELECT count(*) FROM ledger_txns");
  v1::TakeDepositRequest bad = take;
  bad.set_request_id("dep-bad");
  bad.set_amount_fen(0);
  EXPECT_EQ(Field(Call(&Stub::TakeDeposit, clerk_, bad, &again)), "amount_fen");
  bad.set_amount_fen(100);
  bad.set_external_txn_no("");
  EXPECT_EQ(Field(Call(&Stub::TakeDeposit, clerk_, bad, &again)), "external_txn_no");
  EXPECT_EQ(
      Call(&Stub::TakeDeposit, TestToken(group_, {"*"}, {"agent"}), take, &again).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  v1::RefundRequest refund;
  refund.set_request_id("ref-1");
  refund.set_unit_id(unit);
  refund.set_of(v1::REFUND_OF_DEPOSIT);
  refund.set_amount_fen(150000);
  refund.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  refund.set_reason("renovation done, a damaged railing kept back");
  v1::RefundRequest no_of = refund;
  no_of.set_request_id("ref-bad");
  no_of.set_of(v1::REFUND_OF_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::Refund, clerk_, no_of, &again)), "of");
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns"), txns);

  ASSERT_TRUE(Call(&Stub::Refund, clerk_, refund, &account).ok());
  EXPECT_EQ(account.deposits_held_fen(), 50000);
  ASSERT_TRUE(Call(&Stub::Refund, clerk_, refund, &again).ok());  // a retry pays nothing twice
  EXPECT_EQ(again.deposits_held_fen(), 50000);
  v1::RefundRequest changed = refund;
  changed.set_amount_fen(100);
  EXPECT_EQ(Reason(Call(&Stub::Refund, clerk_, changed, &again)), "REQUEST_ID_REUSED");
  refund.set_request_id("ref-2");  // more than is left
  grpc::Status over = Call(&Stub::Refund, clerk_, refund, &again);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(over), "NOT_ENOUGH_HELD");

  // An overpayment's credit goes back the same way.
  Run(estate_, Month(2026, 1));  // 150.00 yuan
  v1::Payment paid;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 20000, "T-over"), &paid).ok());
  EXPECT_EQ(paid.credit_fen(), 5000);
  refund.set_request_id("ref-3");
  refund.set_of(v1::REFUND_OF_CREDIT);
  refund.set_amount_fen(5000);
  refund.set_method(v1::PAYMENT_METHOD_CASH);
  ASSERT_TRUE(Call(&Stub::Refund, clerk_, refund, &account).ok());
  EXPECT_EQ(account.credit_fen(), 0);
  EXPECT_EQ(account.deposits_held_fen(), 50000);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind = 'refund'"), 2);
  EXPECT_TRUE(Ledger().balanced());
}

// ---- Issue 20: money of a unit moved once, groups apart, bounded readings ------------------

// Issue 20.2: Refund used to lock the unit's open bills, which are none while the unit holds
// credit; twenty refunds of the same credit at once paid it out more than once.
TEST_F(BillingServiceTest, TwentyConcurrentRefundsOfOneCreditPayItOutOnce) {
  std::string unit = Unit(estate_, "100");
  Run(estate_, Month(2026, 1));  // 150.00 yuan
  v1::Payment paid;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 20000, "T-over"), &paid).ok());
  ASSERT_EQ(paid.credit_fen(), 5000);
  constexpr int kCalls = 20;
  std::atomic<int> ready{0}, ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::RefundRequest refund;
      refund.set_request_id(absl::StrCat("refund-", i));
      refund.set_unit_id(unit);
      refund.set_of(v1::REFUND_OF_CREDIT);
      refund.set_amount_fen(5000);
      refund.set_method(v1::PAYMENT_METHOD_CASH);
      refund.set_reason("overpaid");
      ready.fetch_add(1);
      while (ready.load() < kCalls) std::this_thread::yield();
      v1::UnitAccount account;
      grpc::Status st = Call(&Stub::Refund, clerk_, refund, &account);
      if (st.ok()) {
        ok.fetch_add(1);
      } else if (Reason(st) == "NOT_ENOUGH_HELD") {
        refused.fetch_add(1);
      } else {
        other.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), kCalls - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind = 'refund'"), 1);
  v1::GetUnitAccountRequest get;
  get.set_unit_id(unit);
  v1::UnitAccount account;
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, get, &account).ok());
  EXPECT_EQ(account.credit_fen(), 0);
  EXPECT_TRUE(Ledger().balanced());
}

// Issue 20.2: a reversal of a payment and a refund of the credit it left, at once: the
// credit leaves the unit once, by one of them.
TEST_F(BillingServiceTest, AReversalAndARefundOfItsCreditAtOnceMoveTheCreditOnce) {
  constexpr int kUnits = 6;
  std::vector<std::string> units;
  for (int i = 0; i < kUnits; ++i) units.push_back(Unit(estate_, "100"));
  Run(estate_, Month(2026, 1));
  std::vector<std::string> payments;
  for (int i = 0; i < kUnits; ++i) {
    v1::Payment paid;
    ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_,
                     PaymentReq(units[i], 20000, absl::StrCat("T-", i)), &paid)
                    .ok());
    ASSERT_EQ(paid.credit_fen(), 5000);
    payments.push_back(paid.id());
  }
  int reversed = 0, refunded = 0;
  for (int i = 0; i < kUnits; ++i) {
    std::atomic<int> ready{0};
    grpc::Status reversal, refund;
    std::thread a([&] {
      v1::ReversePaymentRequest req;
      req.set_request_id(absl::StrCat("rev-", i));
      req.set_id(payments[i]);
      req.set_reason("bank transfer returned");
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      v1::Payment out;
      reversal = Call(&Stub::ReversePayment, clerk_, req, &out);
    });
    std::thread b([&] {
      v1::RefundRequest req;
      req.set_request_id(absl::StrCat("ref-", i));
      req.set_unit_id(units[i]);
      req.set_of(v1::REFUND_OF_CREDIT);
      req.set_amount_fen(5000);
      req.set_method(v1::PAYMENT_METHOD_CASH);
      req.set_reason("overpaid");
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      v1::UnitAccount out;
      refund = Call(&Stub::Refund, clerk_, req, &out);
    });
    a.join();
    b.join();
    EXPECT_NE(reversal.ok(), refund.ok()) << i;
    if (reversal.ok()) {
      ++reversed;
      EXPECT_EQ(Reason(refund), "NOT_ENOUGH_HELD");
    } else {
      ++refunded;
      EXPECT_EQ(Reason(reversal), "CREDIT_REFUNDED");
    }
    v1::GetUnitAccountRequest get;
    get.set_unit_id(units[i]);
    v1::UnitAccount account;
    ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, get, &account).ok());
    EXPECT_EQ(account.credit_fen(), 0) << i;
  }
  EXPECT_EQ(reversed + refunded, kUnits);
  EXPECT_TRUE(Ledger().balanced());
  // Cash out never exceeds cash in: each unit's 200.00 came in once and left at most once.
  EXPECT_EQ(Query("SELECT count(*) FROM ledger_txns WHERE kind IN ('refund', 'reversal')"), kUnits);
}

// Issue 20.20: owed_fen is the SQL sum of every open bill, not of the bills listed.
TEST_F(BillingServiceTest, OwedIsTheSumOfEveryOpenBillNotOfTheListedOnes) {
  service_->set_account_bills_limit(2);
  std::string unit = Unit(estate_, "100");
  for (int m = 1; m <= 5; ++m) Run(estate_, Month(2026, m));  // 5 × 150.00 yuan
  v1::Payment paid;
  ASSERT_TRUE(Call(&Stub::RecordPayment, clerk_, PaymentReq(unit, 5000, "T-part"), &paid).ok());
  v1::GetUnitAccountRequest get;
  get.set_unit_id(unit);
  v1::UnitAccount account;
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, get, &account).ok());
  EXPECT_EQ(account.owed_fen(), 5 * 15000 - 5000);
  EXPECT_EQ(account.owed_fen(),
            Query("SELECT sum(amount_fen - paid_fen) FROM bills WHERE unit_id = '" + unit + "'"));
  EXPECT_EQ(account.open_bills_size(), 2);
  EXPECT_TRUE(account.open_bills_truncated());
  service_->set_account_bills_limit(1000);
  ASSERT_TRUE(Call(&Stub::GetUnitAccount, clerk_, get, &account).ok());
  EXPECT_EQ(account.open_bills_size(), 5);
  EXPECT_FALSE(account.open_bills_truncated());
  EXPECT_EQ(account.owed_fen(), 70000);
}

// Issue 20.5: a complaint in group A naming group B's bill used to mark B's bill disputed
// and pause B's dunning. Every consumer write is keyed by the event's group: a bill, unit or
// estate of another group is not touched.
TEST_F(BillingServiceTest, ACrossGroupDisputeChangesNothing) {
  const std::string other = NewId(absl::Now());
  const std::string other_estate = Estate(150, other);
  const std::string other_unit =
      Unit(other_estate, "90", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true, other);
  const std::string other_admin = TestToken(other, {"*"}, {"group_admin"});
  {
    v1::StartBillingRunRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_estate_id(other_estate);
    *req.mutable_period() = Month(2026, 1);
    v1::BillingRun run;
    ASSERT_TRUE(Call(&Stub::StartBillingRun, other_admin, req, &run).ok());
    BillingRunner runner(*db_, SystemClock(), 10);
    while (*runner.Tick() == 1) {
    }
  }
  v1::ListBillsRequest lb;
  lb.set_estate_id(other_estate);
  v1::ListBillsResponse page;
  ASSERT_TRUE(Call(&Stub::ListBills, other_admin, lb, &page).ok());
  ASSERT_EQ(page.bills_size(), 1);
  const std::string bill = page.bills(0).id();
  const std::string before = Snapshot();
  // Our group's complaint names their bill, with our estate and with theirs.
  std::string unit = Unit(estate_, "90");
  for (const std::string& estate : {estate_, other_estate}) {
    ev::TicketChanged t;
    t.set_ticket_id(NewId(absl::Now()));
    t.set_estate_id(estate);
    t.mutable_location()->set_unit_id(estate == estate_ ? unit : other_unit);
    t.set_kind(wuye::common::v1::TICKET_KIND_COMPLAINT);
    t.set_disputed_bill_id(bill);
    t.set_state(ev::TICKET_STATE_RECEIVED);
    ASSERT_TRUE(Deliver("intake.ticket.created", group_, t.ticket_id(), 1, t).ok());
  }
  // A unit event of our group carrying their unit's id changes nothing of theirs.
  ev::UnitChanged forged;
  forged.set_unit_id(other_unit);
  forged.set_estate_id(estate_);
  forged.set_building_area_m2("1");
  forged.set_handed_over(false);
  forged.set_version(9);
  ASSERT_TRUE(Deliver("directory.unit.updated", group_, other_unit, 9, forged).ok());
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Query("SELECT count(*) FROM bill_disputes WHERE open"), 0);
  EXPECT_EQ(Query("SELECT area_centi FROM bl_units WHERE id = '" + other_unit + "'"), 9000);
  v1::GetBillRequest get;
  get.set_id(bill);
  v1::Bill b;
  ASSERT_TRUE(Call(&Stub::GetBill, other_admin, get, &b).ok());
  EXPECT_FALSE(b.disputed());
  v1::RecordReminderRequest remind;
  remind.set_request_id(NewId(absl::Now()));
  remind.mutable_reminder()->set_bill_id(bill);
  remind.mutable_reminder()->set_channel(v1::REMINDER_CHANNEL_SMS);
  v1::Reminder reminder;
  grpc::Status st = Call(&Stub::RecordReminder, other_admin, remind, &reminder);
  EXPECT_TRUE(st.ok()) << st.error_message();
  // Their own complaint about the bill of another of their units is not a dispute of it
  // either; one about the unit's own bill is.
  const std::string neighbour =
      Unit(other_estate, "80", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true, other);
  ev::TicketChanged own;
  own.set_ticket_id(NewId(absl::Now()));
  own.set_estate_id(other_estate);
  own.mutable_location()->set_unit_id(neighbour);
  own.set_kind(wuye::common::v1::TICKET_KIND_COMPLAINT);
  own.set_disputed_bill_id(bill);
  own.set_state(ev::TICKET_STATE_RECEIVED);
  ASSERT_TRUE(Deliver("intake.ticket.created", other, own.ticket_id(), 1, own).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM bill_disputes WHERE open"), 0);
  own.mutable_location()->set_unit_id(other_unit);
  ASSERT_TRUE(Deliver("intake.ticket.changed", other, own.ticket_id(), 2, own).ok());
  ASSERT_TRUE(Call(&Stub::GetBill, other_admin, get, &b).ok());
  EXPECT_TRUE(b.disputed());
}

// Issue 20.19: an absolute ceiling per meter kind, also right after a meter's baseline
// (where the ×3 jump check has nothing to compare with).
TEST_F(BillingServiceTest, AReadingAboveTheMeterKindsCeilingIsRefusedEvenRightAfterTheBaseline) {
  std::string unit = Unit(estate_, "90");
  Schedule(estate_);
  auto read = [&](int month, const std::string& value) {
    v1::RecordMeterReadingRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_reading()->set_unit_id(unit);
    req.mutable_reading()->set_meter_id("W1");
    req.mutable_reading()->set_kind(v1::METER_KIND_WATER);
    *req.mutable_reading()->mutable_period() = Month(2026, month);
    req.mutable_reading()->set_reading(value);
    v1::MeterReading out;
    return Call(&Stub::RecordMeterReading, clerk_, req, &out);
  };
  ASSERT_TRUE(read(1, "100").ok());  // the baseline
  const std::string before = Snapshot();
  grpc::Status huge = read(2, "99999999");
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(huge), "CONSUMPTION_ABOVE_CEILING");
  EXPECT_EQ(Reason(read(2, "600.01")), "CONSUMPTION_ABOVE_CEILING");  // 500.01 m³ > 500
  EXPECT_EQ(Snapshot(), before);
  // The group raises its ceiling; then the same reading is billable.
  v1::UpdateBillingSettingsRequest us;
  us.set_request_id(NewId(absl::Now()));
  us.mutable_settings()->set_water_ceiling(1000);
  v1::BillingSettings settings;
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, us, &settings).ok());
  EXPECT_EQ(settings.water_ceiling(), 1000);
  EXPECT_EQ(settings.electricity_ceiling(), kDefaultElectricityCeiling);
  EXPECT_EQ(settings.first_month_proration(), v1::PRORATION_DAYS_OF_MONTH);
  EXPECT_EQ(settings.version(), 1);
  EXPECT_TRUE(read(2, "600.01").ok());
  // Settings: bad input names the field; only group admins and finance clerks change them;
  // another group keeps its defaults.
  us.set_request_id(NewId(absl::Now()));
  us.mutable_settings()->set_collection_grace_days(-1);
  EXPECT_EQ(Field(Call(&Stub::UpdateBillingSettings, admin_, us, &settings)),
            "settings.collection_grace_days");
  us.mutable_settings()->set_collection_grace_days(5);
  EXPECT_EQ(
      Call(&Stub::UpdateBillingSettings, TestToken(group_, {"*"}, {"technician"}), us, &settings)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // They are the whole group's: a token for one estate does not change them.
  EXPECT_EQ(Call(&Stub::UpdateBillingSettings, TestToken(group_, {estate_}, {"group_admin"}), us,
                 &settings)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::BillingSettings theirs;
  ASSERT_TRUE(Call(&Stub::GetBillingSettings, TestToken(NewId(absl::Now()), {"*"}, {"group_admin"}),
                   v1::GetBillingSettingsRequest(), &theirs)
                  .ok());
  EXPECT_EQ(theirs.water_ceiling(), kDefaultWaterCeiling);
  EXPECT_EQ(theirs.version(), 0);
}

// 003_…, Q4 and Q6 through the API: a vacant handed-over unit owes the management fee and
// not the stair lighting; the first month runs from the hand-over or move-in day, by the
// group's proration reading.
TEST_F(BillingServiceTest, StairLightingIsOwedAfterMoveInAndTheFirstMonthIsProrated) {
  Schedule(estate_);  // lighting 5.00 yuan
  const std::string vacant =
      Unit(estate_, "100", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_VACANT, true);
  const std::string moved_in =
      Unit(estate_, "100", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_SELF_OCCUPIED, true, "",
           absl::CivilDay(2026, 10, 20), absl::CivilDay(2026, 11, 16));
  const std::string handed_mid = Unit(estate_, "100", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_VACANT,
                                      true, "", absl::CivilDay(2026, 11, 21));
  Run(estate_, Month(2026, 11));
  auto lines = [&](const std::string& unit) {
    std::map<std::string, int64_t> out;
    std::vector<v1::Bill> bills = Bills(estate_, unit);
    EXPECT_EQ(bills.size(), 1u);
    if (bills.empty()) return out;
    for (const auto& l : bills[0].lines()) out[l.item()] = l.amount_fen();
    return out;
  };
  EXPECT_EQ(lines(vacant), (std::map<std::string, int64_t>{{"management_fee", 15000}}));
  EXPECT_EQ(lines(moved_in), (std::map<std::string, int64_t>{{"management_fee", 15000},
                                                             {"stair_lighting", 250}}));  // 15/30
  EXPECT_EQ(lines(handed_mid), (std::map<std::string, int64_t>{{"management_fee", 5000}}));
  // A group that reads the first month as whole owes it whole.
  v1::UpdateBillingSettingsRequest us;
  us.set_request_id(NewId(absl::Now()));
  us.mutable_settings()->set_first_month_proration(v1::PRORATION_WHOLE_MONTH);
  v1::BillingSettings settings;
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, us, &settings).ok());
  const std::string whole =
      Unit(estate_, "100", ev::UNIT_TYPE_APARTMENT, ev::OCCUPANCY_RENTED, true, "",
           absl::CivilDay(2026, 12, 21), absl::CivilDay(2026, 12, 28));
  Run(estate_, Month(2026, 12));
  std::vector<v1::Bill> december = Bills(estate_, whole);
  ASSERT_EQ(december.size(), 1u);
  EXPECT_EQ(december[0].amount_fen(), 15500);
  EXPECT_TRUE(Ledger().balanced());
}

// ---- Update masks and paging (API v1 hygiene) -----------------------------------------------

TEST_F(BillingServiceTest, AnUpdateMaskChangesOnlyItsFieldsOfTheBillingSettings) {
  v1::UpdateBillingSettingsRequest whole;
  whole.set_request_id(NewId(absl::Now()));
  whole.mutable_settings()->set_collection_grace_days(7);
  whole.mutable_settings()->set_water_ceiling(800);
  v1::BillingSettings settings;
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, whole, &settings).ok());

  // A mask naming gas_ceiling: grace days and the water ceiling keep their stored values.
  v1::UpdateBillingSettingsRequest masked;
  masked.set_request_id(NewId(absl::Now()));
  masked.mutable_settings()->set_gas_ceiling(2000);
  masked.mutable_update_mask()->add_paths("gas_ceiling");
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, masked, &settings).ok());
  EXPECT_EQ(settings.gas_ceiling(), 2000);
  EXPECT_EQ(settings.collection_grace_days(), 7);
  EXPECT_EQ(settings.water_ceiling(), 800);
  EXPECT_EQ(settings.version(), 2);

  // The same request_id with another mask is another request.
  masked.mutable_update_mask()->add_paths("water_ceiling");
  grpc::Status reused = Call(&Stub::UpdateBillingSettings, admin_, masked, &settings);
  EXPECT_EQ(Field(reused), "request_id");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");

  // Unknown and non-updatable paths, and a merged result that fails the checks, change
  // nothing.
  const std::string before = Snapshot();
  for (const char* path : {"version", "no_such_field"}) {
    v1::UpdateBillingSettingsRequest bad;
    bad.set_request_id(NewId(absl::Now()));
    bad.mutable_update_mask()->add_paths(path);
    grpc::Status st = Call(&Stub::UpdateBillingSettings, admin_, bad, &settings);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_EQ(Field(st), "update_mask") << path;
  }
  v1::UpdateBillingSettingsRequest bad_value;
  bad_value.set_request_id(NewId(absl::Now()));
  bad_value.mutable_settings()->set_collection_grace_days(-1);
  bad_value.mutable_update_mask()->add_paths("collection_grace_days");
  EXPECT_EQ(Field(Call(&Stub::UpdateBillingSettings, admin_, bad_value, &settings)),
            "settings.collection_grace_days");
  EXPECT_EQ(Snapshot(), before);
  v1::BillingSettings now;
  ASSERT_TRUE(Call(&Stub::GetBillingSettings, admin_, v1::GetBillingSettingsRequest(), &now).ok());
  EXPECT_EQ(now.version(), 2);
  EXPECT_EQ(now.gas_ceiling(), 2000);

  // Without a mask the settings are replaced whole, as before: unset fields take defaults.
  whole.set_request_id(NewId(absl::Now()));
  whole.mutable_settings()->Clear();
  whole.mutable_settings()->set_collection_grace_days(3);
  ASSERT_TRUE(Call(&Stub::UpdateBillingSettings, admin_, whole, &settings).ok());
  EXPECT_EQ(settings.collection_grace_days(), 3);
  EXPECT_EQ(settings.water_ceiling(), kDefaultWaterCeiling);
  EXPECT_EQ(settings.gas_ceiling(), kDefaultGasCeiling);
}

TEST_F(BillingServiceTest, EstatePricesAndRemindersPageEveryItemOnce) {
  std::vector<std::string> codes;
  for (int i = 0; i < 5; ++i) {
    std::string code = absl::StrCat("ITEM_", i);
    v1::SetStandardPriceRequest std_req;
    std_req.set_request_id(NewId(absl::Now()));
    std_req.mutable_price()->set_item_code(code);
    std_req.mutable_price()->set_name(code);
    std_req.mutable_price()->set_price_fen(10000);
    std_req.mutable_price()->set_per("job");
    v1::StandardPrice standard;
    ASSERT_TRUE(Call(&Stub::SetStandardPrice, admin_, std_req, &standard).ok());
    v1::PublishEstatePriceRequest pub;
    pub.set_request_id(NewId(absl::Now()));
    pub.mutable_price()->set_estate_id(estate_);
    pub.mutable_price()->set_item_code(code);
    pub.mutable_price()->set_price_fen(10000);
    v1::EstatePrice out;
    ASSERT_TRUE(Call(&Stub::PublishEstatePrice, admin_, pub, &out).ok());
    codes.push_back(code);
  }
  v1::ListEstatePricesRequest list;
  list.set_estate_id(estate_);
  list.set_page_size(2);
  std::vector<std::string> seen;
  std::string first_token;
  for (int page = 0; page < 10; ++page) {
    v1::ListEstatePricesResponse resp;
    ASSERT_TRUE(Call(&Stub::ListEstatePrices, clerk_, list, &resp).ok());
    EXPECT_LE(resp.prices_size(), 2);
    for (const auto& p : resp.prices()) seen.push_back(p.item_code());
    if (page == 0) first_token = resp.next_page_token();
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen, codes);
  // A token is for its estate only; a page_size above the maximum is refused.
  v1::ListEstatePricesRequest other;
  other.set_estate_id(Estate(150));
  other.set_page_token(first_token);
  v1::ListEstatePricesResponse resp;
  grpc::Status st = Call(&Stub::ListEstatePrices, clerk_, other, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "page_token");
  other.clear_page_token();
  other.set_page_size(1001);
  EXPECT_EQ(Field(Call(&Stub::ListEstatePrices, clerk_, other, &resp)), "page_size");

  // Reminders of a bill, oldest first.
  std::string unit = Unit(estate_, "90");
  std::string unit2 = Unit(estate_, "80");
  Run(estate_, Month(2026, 1));
  std::string bill = Bills(estate_, unit)[0].id();
  std::string bill2 = Bills(estate_, unit2)[0].id();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::RecordReminderRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_reminder()->set_bill_id(bill);
    req.mutable_reminder()->set_channel(v1::REMINDER_CHANNEL_SMS);
    req.mutable_reminder()->set_note(absl::StrCat("notice ", i));
    v1::Reminder out;
    ASSERT_TRUE(Call(&Stub::RecordReminder, clerk_, req, &out).ok());
    ids.push_back(out.id());
  }
  v1::ListRemindersRequest rlist;
  rlist.set_bill_id(bill);
  rlist.set_page_size(2);
  std::vector<std::string> rseen;
  for (int page = 0; page < 10; ++page) {
    v1::ListRemindersResponse rresp;
    ASSERT_TRUE(Call(&Stub::ListReminders, clerk_, rlist, &rresp).ok());
    EXPECT_LE(rresp.reminders_size(), 2);
    for (const auto& r : rresp.reminders()) rseen.push_back(r.id());
    if (rresp.next_page_token().empty()) break;
    rlist.set_page_token(rresp.next_page_token());
  }
  EXPECT_EQ(rseen, ids);
  ASSERT_FALSE(rlist.page_token().empty());
  rlist.set_bill_id(bill2);
  v1::ListRemindersResponse rresp;
  st = Call(&Stub::ListReminders, clerk_, rlist, &rresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "page_token");
}

// ---- The counter's events (issue 25) ---------------------------------------------------------

class CounterMoneyTest : public BillingServiceTest {
 protected:
  void SetUp() override {
    BillingServiceTest::SetUp();
    Schedule(estate_);
    unit_ = Unit(estate_, "90");
  }

  // Every counter event is delivered twice (a redelivery under another event id): applied
  // once.
  void Twice(const std::string& type, const google::protobuf::Message& payload,
             const std::string& group = "") {
    for (int i = 0; i < 2; ++i) {
      absl::Status st =
          Deliver(type, group.empty() ? group_ : group, NewId(absl::Now()), 1, payload);
      EXPECT_TRUE(st.ok()) << type << ": " << st;
    }
  }
  v1::UnitAccount Account(const std::string& unit = "") {
    v1::GetUnitAccountRequest req;
    req.set_unit_id(unit.empty() ? unit_ : unit);
    v1::UnitAccount account;
    EXPECT_TRUE(Call(&Stub::GetUnitAccount, clerk_, req, &account).ok());
    return account;
  }
  // The unit's charge bills of `item`.
  std::vector<v1::Bill> Charges(const std::string& item) {
    std::vector<v1::Bill> out;
    for (const auto& b : Bills(estate_, unit_)) {
      if (b.kind() == v1::BILL_KIND_CHARGE && b.lines_size() == 1 && b.lines(0).item() == item) {
        out.push_back(b);
      }
    }
    return out;
  }
  void Exec(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
  }
  // −(sum of an account's entries): what is held on it (a liability or revenue).
  int64_t Balance(const std::string& account) {
    return Query(
        absl::StrCat("SELECT COALESCE(-sum(amount_fen), 0) FROM ledger_entries WHERE account = '",
                     account, "'"));
  }
  grpc::Status Pay(int64_t amount, const std::string& bill, v1::Payment* out) {
    return Call(&Stub::RecordPayment, clerk_, PaymentReq(unit_, amount, NewId(absl::Now()), bill),
                out);
  }
  ev::RenovationDecided Decided(int64_t deposit, bool approved = true) {
    ev::RenovationDecided d;
    d.set_renovation_id(NewId(absl::Now()));
    d.set_estate_id(estate_);
    d.set_unit_id(unit_);
    d.set_approved(approved);
    d.set_deposit_fen(deposit);
    *d.mutable_at() = ToProtoTime(absl::Now());
    return d;
  }
  ev::RenovationAccepted Accepted(const ev::RenovationDecided& d, int64_t deduction) {
    ev::RenovationAccepted a;
    a.set_renovation_id(d.renovation_id());
    a.set_estate_id(d.estate_id());
    a.set_unit_id(d.unit_id());
    a.set_deposit_fen(d.deposit_fen());
    a.set_deduction_fen(deduction);
    a.set_passed(deduction == 0);
    *a.mutable_at() = ToProtoTime(absl::Now());
    return a;
  }
  ev::MetersRead Meters(std::vector<std::pair<std::string, std::string>> readings) {
    ev::MetersRead m;
    m.set_unit_id(unit_);
    m.set_estate_id(estate_);
    m.set_handover_id(NewId(absl::Now()));
    for (const auto& [meter, value] : readings) {
      auto* r = m.add_readings();
      r->set_meter(meter);
      r->set_value(value);
    }
    // Monday 2026-11-09 10:00 in Shanghai: the hand-over month is November.
    *m.mutable_read_at() = ToProtoTime(
        absl::FromCivil(absl::CivilSecond(2026, 11, 9, 10, 0, 0), EstateZone("Asia/Shanghai")));
    return m;
  }
  grpc::Status Reading(const std::string& meter, int month, const std::string& value,
                       v1::MeterReading* out) {
    v1::RecordMeterReadingRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_reading()->set_unit_id(unit_);
    req.mutable_reading()->set_meter_id(meter);
    req.mutable_reading()->set_kind(v1::METER_KIND_WATER);
    *req.mutable_reading()->mutable_period() = Month(2026, month);
    req.mutable_reading()->set_reading(value);
    return Call(&Stub::RecordMeterReading, clerk_, req, out);
  }

  std::string unit_;
};

// Issue 25 §1 (meter readings at hand-over, billing's readings) and 003_… 客服助理 4 (業主收樓
// 工作流程 … 水電開通): the readings taken with the owner at hand-over are the unit's opening
// readings, filed under the month before the hand-over's, so the hand-over month's reading —
// of a meter labelled by its kind or of the unit's one meter of the kind under its own
// label — consumes only what was used since the owner took the keys.
TEST_F(CounterMoneyTest, HandOverReadingsAreTheFirstMonthsBaseline) {
  Twice("counter.meters.read", Meters({{"water", "123.45"}, {"electricity", "800"}}));
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM meter_readings WHERE unit_id = '", unit_,
                               "' AND opening AND period = '2026-10-01' AND consumption_centi = "
                               "0 AND amount_fen = 0 AND state = 1")),
            2);
  EXPECT_EQ(Query(absl::StrCat("SELECT reading_centi FROM meter_readings WHERE unit_id = '", unit_,
                               "' AND meter_id = 'water'")),
            12345);
  // A second hand-over's readings of kinds read already change nothing.
  const std::string before = Snapshot();
  Twice("counter.meters.read", Meters({{"water", "0"}, {"electricity", "1"}}));
  EXPECT_EQ(Snapshot(), before);

  // November's reading of the water meter, under the desk's own label: 20 m³ since hand-over.
  v1::MeterReading november;
  grpc::Status st = Reading("W1", 11, "143.45", &november);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(november.consumption(), "20.00");
  EXPECT_EQ(november.amount_fen(), 20 * 345);
  EXPECT_EQ(november.state(), v1::READING_STATE_BILLABLE);
  // December's is measured from November's, as always.
  v1::MeterReading december;
  ASSERT_TRUE(Reading("W1", 12, "150", &december).ok());
  EXPECT_EQ(december.consumption(), "6.55");
  // Below the opening reading: refused as any decreasing reading.
  v1::MeterReading bad;
  Exec(
      absl::StrCat("DELETE FROM meter_readings WHERE unit_id = '", unit_, "' AND meter_id = 'W1'"));
  st = Reading("W1", 11, "100", &bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "METER_READING_DECREASED");
  EXPECT_TRUE(Ledger().balanced());
}

TEST_F(CounterMoneyTest, MalformedOrForeignMeterReadingsChangeNothing) {
  const std::string before = Snapshot();
  for (auto readings : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"steam", "1"}},
           {{"water", "1.234"}},
           {{"water", "-1"}},
           {{"water", ""}},
           {{"water", "1"}, {"gas", "x"}}}) {
    EXPECT_EQ(Deliver("counter.meters.read", group_, unit_, 1, Meters(readings)).code(),
              absl::StatusCode::kInvalidArgument);
  }
  ev::MetersRead bad_unit = Meters({{"water", "1"}});
  bad_unit.set_unit_id("not-an-id");
  EXPECT_EQ(Deliver("counter.meters.read", group_, unit_, 1, bad_unit).code(),
            absl::StatusCode::kInvalidArgument);
  // Another group's event naming this group's unit, and this group's naming another's:
  // none of this group's business.
  const std::string other = NewId(absl::Now());
  const std::string other_unit = Unit(Estate(150, other), "80", ev::UNIT_TYPE_APARTMENT,
                                      ev::OCCUPANCY_SELF_OCCUPIED, true, other);
  const std::string with_other = Snapshot();
  Twice("counter.meters.read", Meters({{"water", "1"}}), other);
  ev::MetersRead theirs = Meters({{"water", "1"}});
  theirs.set_unit_id(other_unit);
  Twice("counter.meters.read", theirs);
  EXPECT_EQ(Snapshot(), with_other);
  // A unit billing does not know yet waits (the entry is delivered again).
  ev::MetersRead early = Meters({{"water", "1"}});
  early.set_unit_id(NewId(absl::Now()));
  EXPECT_EQ(Deliver("counter.meters.read", group_, unit_, 1, early).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Snapshot(), with_other);
  EXPECT_EQ(with_other, before);  // the copies of the other group's estate and unit aside
}

// 003_… Q9 (業主辦理裝修申請手續 …) and 000_… 二.9, with issue 25 §2 ("the deposit held by
// billing … then the deposit refunded less any deduction, by billing"): an approved
// renovation asks the unit for its deposit once; paid, it is held for the unit like a
// deposit taken at the desk (001_… 押金費用統計入報表); accepted, it comes back to the unit's
// credit less the deduction, which is the office's income, and the credit is refundable.
TEST_F(CounterMoneyTest, ARenovationDepositIsAskedHeldAndReleasedLessTheDeduction) {
  ev::RenovationDecided decided = Decided(200000);
  Twice("counter.renovation.decided", decided);
  Twice("counter.renovation.decided", Decided(150000, /*approved=*/false));
  Twice("counter.renovation.decided", Decided(0));
  auto charges = Charges(kRenovationDepositItem);
  ASSERT_EQ(charges.size(), 1u);
  EXPECT_EQ(charges[0].amount_fen(), 200000);
  EXPECT_EQ(charges[0].source(), absl::StrCat("renovation:", decided.renovation_id()));
  EXPECT_EQ(Account().owed_fen(), 200000);
  EXPECT_EQ(Account().deposits_held_fen(), 0);  // nothing held of a deposit nobody paid
  EXPECT_EQ(Balance(kRenovationDepositDue), 200000);

  v1::Payment payment;
  ASSERT_TRUE(Pay(200000, charges[0].id(), &payment).ok());
  v1::UnitAccount account = Account();
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.deposits_held_fen(), 200000);
  EXPECT_EQ(Balance("deposit_held"), 200000);
  EXPECT_EQ(Balance(kRenovationDepositDue), 0);
  EXPECT_TRUE(Ledger().balanced());

  // A payment reversed takes the deposit back out of hand; paid again, it is held again.
  v1::ReversePaymentRequest rev;
  rev.set_request_id(NewId(absl::Now()));
  rev.set_id(payment.id());
  rev.set_reason("bank returned the transfer");
  v1::Payment reversed;
  ASSERT_TRUE(Call(&Stub::ReversePayment, clerk_, rev, &reversed).ok());
  EXPECT_EQ(Account().deposits_held_fen(), 0);
  EXPECT_EQ(Account().owed_fen(), 200000);
  ASSERT_TRUE(Pay(200000, charges[0].id(), &payment).ok());
  EXPECT_EQ(Account().deposits_held_fen(), 200000);

  Twice("counter.renovation.accepted", Accepted(decided, 30000));
  account = Account();
  EXPECT_EQ(account.deposits_held_fen(), 0);
  EXPECT_EQ(account.credit_fen(), 170000);
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(Balance(kRenovationDeductionRevenue), 30000);
  v1::LedgerCheck check = Ledger();
  EXPECT_TRUE(check.balanced());
  EXPECT_EQ(check.unbalanced_transactions(), 0);

  v1::RefundRequest refund;
  refund.set_request_id(NewId(absl::Now()));
  refund.set_unit_id(unit_);
  refund.set_of(v1::REFUND_OF_CREDIT);
  refund.set_amount_fen(170000);
  refund.set_method(v1::PAYMENT_METHOD_CASH);
  refund.set_reason("renovation deposit, less the deduction");
  v1::UnitAccount after;
  grpc::Status st = Call(&Stub::Refund, clerk_, refund, &after);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(after.credit_fen(), 0);
  EXPECT_TRUE(Ledger().balanced());
}

// The deposit the unit never paid is not owed once the works are accepted: its bill is
// cancelled; of a deposit paid in part, the part paid comes back less the deduction, and the
// deduction never takes more than was paid.
TEST_F(CounterMoneyTest, AnUnpaidDepositIsCancelledAtAcceptance) {
  ev::RenovationDecided unpaid = Decided(100000);
  Twice("counter.renovation.decided", unpaid);
  Twice("counter.renovation.accepted", Accepted(unpaid, 20000));
  auto charges = Charges(kRenovationDepositItem);
  ASSERT_EQ(charges.size(), 1u);
  EXPECT_EQ(charges[0].amount_fen(), 0);
  v1::UnitAccount account = Account();
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.credit_fen(), 0);
  EXPECT_EQ(account.deposits_held_fen(), 0);
  EXPECT_EQ(Balance(kRenovationDeductionRevenue), 0);
  EXPECT_EQ(Balance(kRenovationDepositDue), 0);

  ev::RenovationDecided part = Decided(100000);
  Twice("counter.renovation.decided", part);
  std::string bill;
  for (const auto& b : Charges(kRenovationDepositItem)) {
    if (b.source() == absl::StrCat("renovation:", part.renovation_id())) bill = b.id();
  }
  v1::Payment payment;
  ASSERT_TRUE(Pay(40000, bill, &payment).ok());
  EXPECT_EQ(Account().deposits_held_fen(), 40000);
  Twice("counter.renovation.accepted", Accepted(part, 10000));
  account = Account();
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.deposits_held_fen(), 0);
  EXPECT_EQ(account.credit_fen(), 30000);
  EXPECT_EQ(Balance(kRenovationDeductionRevenue), 10000);

  // A deduction above what was paid takes what was paid, no more.
  ev::RenovationDecided small = Decided(50000);
  Twice("counter.renovation.decided", small);
  for (const auto& b : Charges(kRenovationDepositItem)) {
    if (b.source() == absl::StrCat("renovation:", small.renovation_id())) bill = b.id();
  }
  ASSERT_TRUE(Pay(20000, bill, &payment).ok());
  Twice("counter.renovation.accepted", Accepted(small, 45000));
  account = Account();
  EXPECT_EQ(account.owed_fen(), 0);
  EXPECT_EQ(account.credit_fen(), 30000);
  EXPECT_EQ(Balance(kRenovationDeductionRevenue), 30000);
  // A renovation with no deposit asked: nothing to release.
  const std::string before = Snapshot();
  Twice("counter.renovation.accepted", Accepted(Decided(0), 0));
  EXPECT_EQ(Snapshot(), before);
  EXPECT_TRUE(Ledger().balanced());
  EXPECT_EQ(Ledger().unbalanced_transactions(), 0);

  // A negative deduction can never be applied.
  EXPECT_EQ(Deliver("counter.renovation.accepted", group_, unit_, 1, Accepted(part, -1)).code(),
            absl::StatusCode::kInvalidArgument);
}

// Issue 25 §4 (access and IC cards: replacement): a replacement card with a fee is a charge
// to the unit, the office's revenue, once per card; no fee or no unit, no charge.
TEST_F(CounterMoneyTest, AReplacementCardIsChargedOnce) {
  ev::CardReplaced card;
  card.set_card_id(NewId(absl::Now()));
  card.set_estate_id(estate_);
  card.set_unit_id(unit_);
  card.set_card_number("A-0042");
  card.set_replaces_card_id(NewId(absl::Now()));
  card.set_fee_fen(2000);
  *card.mutable_at() = ToProtoTime(absl::Now());
  Twice("counter.card.replaced", card);
  ev::CardReplaced free_card = card;
  free_card.set_card_id(NewId(absl::Now()));
  free_card.set_fee_fen(0);
  Twice("counter.card.replaced", free_card);
  ev::CardReplaced visitor = card;
  visitor.set_card_id(NewId(absl::Now()));
  visitor.clear_unit_id();
  Twice("counter.card.replaced", visitor);
  auto charges = Charges(kCardReplacementItem);
  ASSERT_EQ(charges.size(), 1u);
  EXPECT_EQ(charges[0].amount_fen(), 2000);
  EXPECT_EQ(charges[0].source(), absl::StrCat("card:", card.card_id()));
  EXPECT_EQ(Account().owed_fen(), 2000);
  EXPECT_EQ(Balance("revenue:card_replacement"), 2000);
  v1::Payment payment;
  ASSERT_TRUE(Pay(2000, charges[0].id(), &payment).ok());
  EXPECT_EQ(Account().owed_fen(), 0);
  EXPECT_EQ(Account().deposits_held_fen(), 0);  // a fee, not a deposit
  EXPECT_TRUE(Ledger().balanced());
}

// Tenancy (issue 20.5: every write keyed by the group): another group's counter events about
// this group's unit, and this group's about another group's unit, move no money.
TEST_F(CounterMoneyTest, AnotherGroupsEventsMoveNoMoney) {
  const std::string other = NewId(absl::Now());
  const std::string other_unit = Unit(Estate(150, other), "80", ev::UNIT_TYPE_APARTMENT,
                                      ev::OCCUPANCY_SELF_OCCUPIED, true, other);
  const std::string before = Snapshot();
  ev::RenovationDecided decided = Decided(200000);
  ev::CardReplaced card;
  card.set_card_id(NewId(absl::Now()));
  card.set_estate_id(estate_);
  card.set_unit_id(unit_);
  card.set_fee_fen(2000);
  Twice("counter.renovation.decided", decided, other);
  Twice("counter.renovation.accepted", Accepted(decided, 0), other);
  Twice("counter.card.replaced", card, other);
  decided.set_unit_id(other_unit);
  card.set_unit_id(other_unit);
  Twice("counter.renovation.decided", decided);
  Twice("counter.card.replaced", card);
  // This group's unit under another estate than its own: not that unit.
  ev::RenovationDecided elsewhere = Decided(200000);
  elsewhere.set_estate_id(NewId(absl::Now()));
  Twice("counter.renovation.decided", elsewhere);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Account().owed_fen(), 0);
  EXPECT_TRUE(Ledger().balanced());
}

}  // namespace
}  // namespace wuye::billing
