// The directory over real gRPC against a real PostgreSQL database of its own.
#include "services/directory/directory_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/directory/consumers.h"
#include "services/directory/directory.h"
#include "shared/bus.h"
#include "shared/civil_date.h"
#include "shared/ids.h"
#include "shared/phone_key.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/counter_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::directory {
namespace {

using Stub = v1::DirectoryService::Stub;
using ::wuye::testing::TestToken;
namespace ev = ::wuye::events::v1;

// Intake's phone-hash key, which the directory holds to hash residents' numbers in events.
constexpr char kPhoneKey[] = "directory-test-phone-key-0123456789abcdef";

class DirectoryServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(directory_migrations());
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    service_ = std::make_unique<DirectoryServiceImpl>(*db_, *verifier_, SystemClock(), kPhoneKey);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.directory.v1.DirectoryService");
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::DirectoryService::NewStub(channel_);
    platform_ = TestToken("", {}, {"platform_admin"});
    group_ = MakeGroup("Acme Property");
    admin_ = TestToken(group_, {"*"}, {"group_admin"});
    estate_ = MakeEstate(admin_, "Sunny Gardens").id();
    handler_ = MakeHandler(*db_);
  }

  // Applies an event of another service (the counter's) through the directory's handler.
  absl::Status Deliver(const std::string& type, const std::string& group,
                       const google::protobuf::Message& payload, const std::string& estate) {
    ev::Event e = ::wuye::testing::TestEvent(type, group, payload);
    e.set_estate_id(estate);
    e.set_subject_version(1);
    *e.mutable_occurred_at() = ToProtoTime(absl::Now());
    return ::wuye::testing::Deliver(*db_, handler_, e);
  }

  std::string MakeGroup(const std::string& name) {
    v1::CreateGroupRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_group()->set_name(name);
    v1::Group group;
    EXPECT_TRUE(Call(&Stub::CreateGroup, platform_, req, &group).ok());
    return group.id();
  }

  v1::Estate MakeEstate(const std::string& token, const std::string& name) {
    v1::CreateEstateRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_estate()->set_name(name);
    req.mutable_estate()->set_management_fee_fen_per_m2(150);
    req.mutable_estate()->set_household_count(350);
    v1::Estate estate;
    grpc::Status st = Call(&Stub::CreateEstate, token, req, &estate);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return estate;
  }

  v1::Building MakeBuilding(const std::string& estate, const std::string& name) {
    v1::CreateBuildingRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_building()->set_estate_id(estate);
    req.mutable_building()->set_name(name);
    v1::Building b;
    grpc::Status st = Call(&Stub::CreateBuilding, admin_, req, &b);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return b;
  }

  v1::Unit MakeUnit(const std::string& building, const std::string& number,
                    const std::string& area = "89.5") {
    v1::CreateUnitRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_unit()->set_building_id(building);
    req.mutable_unit()->set_number(number);
    req.mutable_unit()->set_building_area_m2(area);
    v1::Unit u;
    grpc::Status st = Call(&Stub::CreateUnit, admin_, req, &u);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return u;
  }

  v1::Staff MakeStaff(const std::string& name, std::vector<std::string> estates) {
    v1::CreateStaffRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_staff()->set_name(name);
    req.mutable_staff()->add_roles(v1::STAFF_ROLE_TECHNICIAN);
    req.mutable_staff()->add_skills(v1::SKILL_PLUMBING);
    for (auto& e : estates) req.mutable_staff()->add_home_estate_ids(e);
    v1::Staff s;
    grpc::Status st = Call(&Stub::CreateStaff, admin_, req, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }

  // Rows of a table, counted directly in the database.
  int Count(const std::string& table) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM " + table)[0].as<int>();
  }
  // Every table the directory writes, for "nothing changed" checks.
  std::string Snapshot() {
    std::string out;
    for (const char* t : {"groups", "estates", "buildings", "units", "residents", "staff", "shifts",
                          "wuye_outbox", "wuye_idempotency"}) {
      absl::StrAppend(&out, t, "=", Count(t), " ");
    }
    return out;
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<DirectoryServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  EventHandler handler_;
  std::string platform_, group_, admin_, estate_;
};

// ---- Happy paths ----------------------------------------------------------------------

TEST_F(DirectoryServiceTest, GroupIsCreatedAndReadableByItsMembersOnly) {
  v1::GetGroupRequest get;
  get.set_id(group_);
  v1::Group group;
  ASSERT_TRUE(Call(&Stub::GetGroup, admin_, get, &group).ok());
  EXPECT_EQ(group.name(), "Acme Property");
  std::string other = TestToken(MakeGroup("Other"), {"*"}, {"group_admin"});
  EXPECT_EQ(Call(&Stub::GetGroup, other, get, &group).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServiceTest, EstateGetsDefaultsAndCanBeReadListedAndUpdated) {
  v1::GetEstateRequest get;
  get.set_id(estate_);
  v1::Estate estate;
  ASSERT_TRUE(Call(&Stub::GetEstate, admin_, get, &estate).ok());
  EXPECT_EQ(estate.time_zone(), "Asia/Shanghai");
  EXPECT_TRUE(estate.desk_24h());  // residential: 24 hours
  EXPECT_FALSE(estate.has_desk_opens());
  EXPECT_EQ(estate.kind(), v1::ESTATE_KIND_RESIDENTIAL);
  EXPECT_EQ(estate.version(), 1);

  v1::UpdateEstateRequest update;
  update.set_request_id("upd-1");
  update.mutable_estate()->set_id(estate_);
  update.mutable_estate()->set_management_fee_fen_per_m2(80);
  update.mutable_estate()->set_name("ignored: not in the mask");
  update.mutable_update_mask()->add_paths("management_fee_fen_per_m2");
  v1::Estate updated;
  ASSERT_TRUE(Call(&Stub::UpdateEstate, admin_, update, &updated).ok());
  EXPECT_EQ(updated.management_fee_fen_per_m2(), 80);
  EXPECT_EQ(updated.name(), "Sunny Gardens");
  EXPECT_EQ(updated.version(), 2);

  MakeEstate(admin_, "Second");
  MakeEstate(admin_, "Third");
  v1::ListEstatesRequest list;
  list.set_page_size(2);
  v1::ListEstatesResponse page1, page2;
  ASSERT_TRUE(Call(&Stub::ListEstates, admin_, list, &page1).ok());
  ASSERT_EQ(page1.estates_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListEstates, admin_, list, &page2).ok());
  ASSERT_EQ(page2.estates_size(), 1);
  EXPECT_TRUE(page2.next_page_token().empty());
  EXPECT_EQ(page2.estates(0).name(), "Third");
}

// 000_…, 二.5: 实行每日24小时服务接待,值班联系电话告知各位业主 — a residential estate's desk
// is open 24 hours by default and publishes its duty phone; an estate may keep hours
// instead, and every reader (and the estate's events) sees which.
TEST_F(DirectoryServiceTest, TheDeskIsOpenTwentyFourHoursWhereTheEstateSaysSo) {
  v1::CreateEstateRequest create;
  create.set_request_id(NewId(absl::Now()));
  create.mutable_estate()->set_name("Jade Lake Court");
  create.mutable_estate()->set_management_fee_fen_per_m2(120);
  create.mutable_estate()->set_duty_phone("0571-8765 0000");
  v1::Estate jade;
  ASSERT_TRUE(Call(&Stub::CreateEstate, admin_, create, &jade).ok());
  EXPECT_TRUE(jade.desk_24h());
  EXPECT_FALSE(jade.has_desk_opens());
  EXPECT_FALSE(jade.has_desk_closes());
  EXPECT_EQ(jade.duty_phone(), "057187650000");

  // What every member of the estate reads, and what the event carries.
  std::string agent = TestToken(group_, {jade.id()}, {"agent"});
  v1::GetEstateRequest get;
  get.set_id(jade.id());
  v1::Estate read;
  ASSERT_TRUE(Call(&Stub::GetEstate, agent, get, &read).ok());
  EXPECT_TRUE(read.desk_24h());
  EXPECT_EQ(read.duty_phone(), "057187650000");
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    auto row = tx.exec1("SELECT envelope FROM wuye_outbox ORDER BY id DESC LIMIT 1");
    wuye::events::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[0]).str()));
    EXPECT_EQ(event.type(), "directory.estate.created");
    ev::EstateChanged published;
    ASSERT_TRUE(event.payload().UnpackTo(&published));
    EXPECT_TRUE(published.desk_24h());
    // The duty phone is the API's to give; no event carries a phone number.
    EXPECT_EQ(event.payload().value().find("057187650000"), std::string::npos);
  }

  // An office keeps hours by default; a residential estate may keep hours by saying so.
  create.set_request_id(NewId(absl::Now()));
  create.mutable_estate()->set_name("Finance Tower");
  create.mutable_estate()->set_kind(v1::ESTATE_KIND_OFFICE);
  v1::Estate tower;
  ASSERT_TRUE(Call(&Stub::CreateEstate, admin_, create, &tower).ok());
  EXPECT_FALSE(tower.desk_24h());
  EXPECT_EQ(tower.desk_opens().hours(), 8);
  EXPECT_EQ(tower.desk_closes().hours(), 20);
  create.set_request_id(NewId(absl::Now()));
  create.mutable_estate()->set_name("Day Desk Court");
  create.mutable_estate()->set_kind(v1::ESTATE_KIND_RESIDENTIAL);
  create.mutable_estate()->mutable_desk_opens()->set_hours(7);
  create.mutable_estate()->mutable_desk_closes()->set_hours(22);
  v1::Estate day_desk;
  ASSERT_TRUE(Call(&Stub::CreateEstate, admin_, create, &day_desk).ok());
  EXPECT_FALSE(day_desk.desk_24h());
  EXPECT_EQ(day_desk.desk_closes().hours(), 22);

  // The office goes round the clock: its hours go.
  v1::UpdateEstateRequest update;
  update.set_request_id(NewId(absl::Now()));
  update.mutable_estate()->set_id(tower.id());
  update.mutable_estate()->set_desk_24h(true);
  update.mutable_update_mask()->add_paths("desk_24h");
  v1::Estate updated;
  ASSERT_TRUE(Call(&Stub::UpdateEstate, admin_, update, &updated).ok());
  EXPECT_TRUE(updated.desk_24h());
  EXPECT_FALSE(updated.has_desk_opens());
  // Hours given turn it off again; the duty phone changes by its mask.
  update.set_request_id(NewId(absl::Now()));
  update.mutable_estate()->set_desk_24h(false);
  update.mutable_estate()->mutable_desk_opens()->set_hours(9);
  update.mutable_estate()->mutable_desk_closes()->set_hours(18);
  update.mutable_estate()->set_duty_phone("021 5888 1111");
  update.clear_update_mask();
  for (const char* path : {"desk_opens", "desk_closes", "duty_phone"}) {
    update.mutable_update_mask()->add_paths(path);
  }
  ASSERT_TRUE(Call(&Stub::UpdateEstate, admin_, update, &updated).ok());
  EXPECT_FALSE(updated.desk_24h());
  EXPECT_EQ(updated.desk_opens().hours(), 9);
  EXPECT_EQ(updated.duty_phone(), "02158881111");

  // Bad input: a clear error naming the field, and nothing changed.
  std::string before = Snapshot();
  auto refused = [&](const std::string& field, grpc::Status st) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(Field(st), field);
    EXPECT_EQ(st.error_message().find("5888"), std::string::npos) << field;  // no number
  };
  create.set_request_id(NewId(absl::Now()));
  create.mutable_estate()->set_desk_24h(true);  // with hours
  refused("estate.desk_24h", Call(&Stub::CreateEstate, admin_, create, &tower));
  create.set_request_id(NewId(absl::Now()));
  create.mutable_estate()->set_desk_24h(false);
  create.mutable_estate()->set_duty_phone("5888-call-us");
  refused("estate.duty_phone", Call(&Stub::CreateEstate, admin_, create, &tower));
  // Turning 24 hours off with no hours to keep.
  update.set_request_id(NewId(absl::Now()));
  update.mutable_estate()->set_id(jade.id());
  update.clear_update_mask();
  update.mutable_update_mask()->add_paths("desk_24h");
  refused("estate.desk_opens", Call(&Stub::UpdateEstate, admin_, update, &updated));
  update.set_request_id(NewId(absl::Now()));
  update.mutable_estate()->set_duty_phone("12");
  update.clear_update_mask();
  update.mutable_update_mask()->add_paths("duty_phone");
  refused("estate.duty_phone", Call(&Stub::UpdateEstate, admin_, update, &updated));
  EXPECT_EQ(Snapshot(), before);
  // Only a group admin changes it.
  update.set_request_id(NewId(absl::Now()));
  update.mutable_estate()->set_duty_phone("0571 8765 2222");
  EXPECT_EQ(Call(&Stub::UpdateEstate, agent, update, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(DirectoryServiceTest, BuildingsAndUnitsAreCreatedListedAndUpdated) {
  v1::Building b = MakeBuilding(estate_, "3栋");
  v1::Unit u = MakeUnit(b.id(), "1202", "89.5");
  EXPECT_EQ(u.building_area_m2(), "89.50");
  EXPECT_EQ(u.estate_id(), estate_);
  EXPECT_EQ(u.occupancy(), v1::OCCUPANCY_VACANT);
  MakeUnit(b.id(), "1203", "120.25");

  v1::ListUnitsRequest list;
  list.set_estate_id(estate_);
  list.set_building_id(b.id());
  v1::ListUnitsResponse units;
  ASSERT_TRUE(Call(&Stub::ListUnits, admin_, list, &units).ok());
  ASSERT_EQ(units.units_size(), 2);

  v1::UpdateUnitRequest update;
  update.set_request_id("unit-upd");
  update.mutable_unit()->set_id(u.id());
  update.mutable_unit()->set_occupancy(v1::OCCUPANCY_RENTED);
  update.mutable_unit()->set_handed_over(true);
  update.mutable_update_mask()->add_paths("occupancy");
  update.mutable_update_mask()->add_paths("handed_over");
  v1::Unit updated;
  ASSERT_TRUE(Call(&Stub::UpdateUnit, admin_, update, &updated).ok());
  EXPECT_EQ(updated.occupancy(), v1::OCCUPANCY_RENTED);
  EXPECT_TRUE(updated.handed_over());
  EXPECT_EQ(updated.version(), 2);

  list.set_occupancy(v1::OCCUPANCY_RENTED);
  units.Clear();
  ASSERT_TRUE(Call(&Stub::ListUnits, admin_, list, &units).ok());
  ASSERT_EQ(units.units_size(), 1);
  EXPECT_EQ(units.units(0).number(), "1202");

  v1::ListBuildingsRequest lb;
  lb.set_estate_id(estate_);
  v1::ListBuildingsResponse buildings;
  ASSERT_TRUE(Call(&Stub::ListBuildings, admin_, lb, &buildings).ok());
  ASSERT_EQ(buildings.buildings_size(), 1);
  EXPECT_EQ(buildings.buildings(0).name(), "3栋");
}

// 003_… Q4 and Q6 (業主入住后,每月需交繳梯燈費): billing prorates the first month from the
// hand-over day and owes stair lighting from the move-in day, so the directory keeps both.
TEST_F(DirectoryServiceTest, AUnitKeepsItsHandOverAndMoveInDays) {
  v1::CreateUnitRequest req;
  req.set_request_id("unit-dates");
  req.mutable_unit()->set_building_id(MakeBuilding(estate_, "1").id());
  req.mutable_unit()->set_number("101");
  req.mutable_unit()->set_building_area_m2("90");
  req.mutable_unit()->set_handed_over(true);
  auto* handover = req.mutable_unit()->mutable_handover_date();
  handover->set_year(2026);
  handover->set_month(11);
  handover->set_day(12);
  v1::Unit unit;
  ASSERT_TRUE(Call(&Stub::CreateUnit, admin_, req, &unit).ok());
  EXPECT_EQ(unit.handover_date().day(), 12);
  EXPECT_FALSE(unit.has_move_in_date());

  v1::UpdateUnitRequest update;
  update.set_request_id("unit-move-in");
  update.mutable_unit()->set_id(unit.id());
  update.mutable_unit()->set_occupancy(v1::OCCUPANCY_SELF_OCCUPIED);
  auto* move_in = update.mutable_unit()->mutable_move_in_date();
  move_in->set_year(2026);
  move_in->set_month(11);
  move_in->set_day(20);
  for (const char* p : {"occupancy", "move_in_date"}) update.mutable_update_mask()->add_paths(p);
  v1::Unit updated;
  grpc::Status st = Call(&Stub::UpdateUnit, admin_, update, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.move_in_date().day(), 20);
  EXPECT_EQ(updated.handover_date().day(), 12);  // kept: not in the mask

  // Nobody moves in before the hand-over, and a date must be a real one.
  const std::string before = Snapshot();
  update.set_request_id("unit-too-early");
  move_in->set_day(11);
  EXPECT_EQ(Call(&Stub::UpdateUnit, admin_, update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  update.set_request_id("unit-bad-day");
  move_in->set_day(31);
  EXPECT_EQ(Call(&Stub::UpdateUnit, admin_, update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Snapshot(), before);
  v1::GetUnitRequest get;
  get.set_id(unit.id());
  ASSERT_TRUE(Call(&Stub::GetUnit, admin_, get, &updated).ok());
  EXPECT_EQ(updated.move_in_date().day(), 20);
}

TEST_F(DirectoryServiceTest, ImportUnitsCreatesBuildingsAndUnitsAndIsIdempotent) {
  MakeBuilding(estate_, "A");  // exists already: reused, not created
  v1::ImportUnitsRequest req;
  req.set_request_id("import-1");
  req.set_estate_id(estate_);
  for (const char* building : {"A", "B"}) {
    for (int i = 0; i < 1500; ++i) {
      auto* u = req.add_units();
      u->set_building_name(building);
      u->set_number(absl::StrCat(1000 + i));
      u->set_building_area_m2(absl::StrCat(50 + i % 100, ".", i % 10));
    }
  }
  v1::ImportUnitsResponse resp;
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, req, &resp).ok());
  EXPECT_EQ(resp.created(), 3000);
  EXPECT_EQ(resp.buildings_created(), 1);
  EXPECT_EQ(Count("units"), 3000);
  int events = Count("wuye_outbox");

  v1::ImportUnitsResponse replay;
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, req, &replay).ok());
  EXPECT_EQ(replay.created(), 3000);  // the first answer, again
  EXPECT_EQ(Count("units"), 3000);
  EXPECT_EQ(Count("wuye_outbox"), events);

  req.set_request_id("import-2");  // same units, new intent: all unchanged
  v1::ImportUnitsResponse again;
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, req, &again).ok());
  EXPECT_EQ(again.created(), 0);
  EXPECT_EQ(again.unchanged(), 3000);

  req.set_request_id("import-3");  // one unit with other content: all or nothing
  req.mutable_units(7)->set_building_area_m2("999");
  req.add_units()->CopyFrom(req.units(0));
  req.mutable_units(req.units_size() - 1)->set_number("new-unit");
  std::string before = Snapshot();
  grpc::Status st = Call(&Stub::ImportUnits, admin_, req, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("units[7]"), std::string::npos);
  EXPECT_EQ(Snapshot(), before);
}

// 003_…, Q4 and Q6: an imported unit carries its hand-over and move-in days as CreateUnit
// does, checked the same way; a re-import that changes them updates the unit and publishes
// it as UpdateUnit does (billing prorates from them).
TEST_F(DirectoryServiceTest, ImportUnitsTakesHandOverAndMoveInDays) {
  auto day = [](v1::Date* d, int y, int m, int dd) {
    d->set_year(y);
    d->set_month(m);
    d->set_day(dd);
  };
  v1::ImportUnitsRequest req;
  req.set_request_id("import-dates-1");
  req.set_estate_id(estate_);
  for (int i = 0; i < 3; ++i) {
    auto* u = req.add_units();
    u->set_building_name("D");
    u->set_number(absl::StrCat(101 + i));
    u->set_building_area_m2("88.5");
  }
  day(req.mutable_units(0)->mutable_handover_date(), 2026, 11, 12);
  day(req.mutable_units(0)->mutable_move_in_date(), 2026, 11, 20);
  day(req.mutable_units(1)->mutable_handover_date(), 2026, 10, 1);

  // Bad days: INVALID_ARGUMENT naming the row and the field, nothing imported.
  const std::string before = Snapshot();
  struct Bad {
    int row;
    const char* field;
    std::function<void(v1::ImportedUnit*)> edit;
  };
  const Bad bads[] = {
      {1, "units[1].handover_date",
       [&](v1::ImportedUnit* u) { day(u->mutable_handover_date(), 2026, 2, 30); }},
      {2, "units[2].move_in_date",
       [&](v1::ImportedUnit* u) { day(u->mutable_move_in_date(), 2026, 13, 1); }},
      {0, "units[0].move_in_date",  // before the hand-over
       [&](v1::ImportedUnit* u) { day(u->mutable_move_in_date(), 2026, 11, 11); }},
  };
  for (const Bad& bad : bads) {
    v1::ImportUnitsRequest wrong = req;
    wrong.set_request_id(absl::StrCat("import-dates-bad-", bad.field));
    bad.edit(wrong.mutable_units(bad.row));
    v1::ImportUnitsResponse resp;
    grpc::Status st = Call(&Stub::ImportUnits, admin_, wrong, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.field;
    EXPECT_EQ(Field(st), bad.field);
  }
  EXPECT_EQ(Snapshot(), before);

  v1::ImportUnitsResponse resp;
  grpc::Status st = Call(&Stub::ImportUnits, admin_, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.created(), 3);
  v1::ListUnitsRequest list;
  list.set_estate_id(estate_);
  v1::ListUnitsResponse units;
  ASSERT_TRUE(Call(&Stub::ListUnits, admin_, list, &units).ok());
  std::map<std::string, v1::Unit> by_number;
  for (const auto& u : units.units()) by_number[u.number()] = u;
  EXPECT_EQ(by_number["101"].handover_date().day(), 12);
  EXPECT_EQ(by_number["101"].move_in_date().day(), 20);
  EXPECT_EQ(by_number["102"].handover_date().month(), 10);
  EXPECT_FALSE(by_number["102"].has_move_in_date());
  EXPECT_FALSE(by_number["103"].has_handover_date());

  // The same rows again: unchanged. A row that leaves a day unset keeps the stored one.
  v1::ImportUnitsRequest again = req;
  again.set_request_id("import-dates-2");
  again.mutable_units(0)->clear_move_in_date();
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, again, &resp).ok());
  EXPECT_EQ(resp.unchanged(), 3);
  EXPECT_EQ(resp.updated(), 0);

  // A move-in day before the unit's stored hand-over day: refused, nothing changed.
  const std::string stored = Snapshot();
  v1::ImportUnitsRequest early = req;
  early.set_request_id("import-dates-early");
  early.mutable_units(1)->clear_handover_date();
  day(early.mutable_units(1)->mutable_move_in_date(), 2026, 9, 30);
  st = Call(&Stub::ImportUnits, admin_, early, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "units[1].move_in_date");
  EXPECT_EQ(Snapshot(), stored);

  // Changed days: the units are updated, a new version each, published as an update.
  int events = Count("wuye_outbox");
  v1::ImportUnitsRequest changed = req;
  changed.set_request_id("import-dates-3");
  day(changed.mutable_units(1)->mutable_move_in_date(), 2026, 10, 15);
  day(changed.mutable_units(2)->mutable_handover_date(), 2026, 11, 1);
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, changed, &resp).ok());
  EXPECT_EQ(resp.created(), 0);
  EXPECT_EQ(resp.unchanged(), 1);
  EXPECT_EQ(resp.updated(), 2);
  EXPECT_EQ(Count("wuye_outbox"), events + 2);
  v1::GetUnitRequest get;
  get.set_id(by_number["102"].id());
  v1::Unit unit;
  ASSERT_TRUE(Call(&Stub::GetUnit, admin_, get, &unit).ok());
  EXPECT_EQ(unit.handover_date().month(), 10);
  EXPECT_EQ(unit.move_in_date().day(), 15);
  EXPECT_EQ(unit.version(), by_number["102"].version() + 1);
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec("SELECT type, envelope FROM wuye_outbox ORDER BY id DESC LIMIT 2");
  for (const auto& row : rows) {
    EXPECT_EQ(row[0].as<std::string>(), "directory.unit.updated");
    wuye::events::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[1]).str()));
    ev::UnitChanged published;
    ASSERT_TRUE(event.payload().UnpackTo(&published));
    EXPECT_EQ(event.subject_version(), published.version());
    EXPECT_TRUE(published.has_handover_date());
  }
  // Its replay answers the same and changes nothing more.
  v1::ImportUnitsResponse replay;
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, changed, &replay).ok());
  EXPECT_EQ(replay.updated(), 2);
  EXPECT_EQ(Count("wuye_outbox"), events + 2);
}

TEST_F(DirectoryServiceTest, ResidentsAreRegisteredByTheFrontDesk) {
  v1::Unit u = MakeUnit(MakeBuilding(estate_, "1").id(), "101");
  std::string agent = TestToken(group_, {estate_}, {"agent"});
  v1::CreateResidentRequest req;
  req.set_request_id("res-1");
  auto* r = req.mutable_resident();
  r->set_unit_id(u.id());
  r->set_name("王阿姨");
  r->set_phone("+86 138-0013-8000");
  r->set_role(v1::RESIDENT_ROLE_OWNER);
  r->mutable_date_of_birth()->set_year(1950);
  r->mutable_date_of_birth()->set_month(3);
  r->mutable_date_of_birth()->set_day(14);
  v1::Resident created;
  grpc::Status st = Call(&Stub::CreateResident, agent, req, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.phone(), "+8613800138000");
  EXPECT_EQ(created.estate_id(), estate_);
  EXPECT_EQ(created.date_of_birth().year(), 1950);

  v1::UpdateResidentRequest update;
  update.set_request_id("res-upd");
  update.mutable_resident()->set_id(created.id());
  update.mutable_resident()->set_role(v1::RESIDENT_ROLE_TENANT);
  update.mutable_resident()->mutable_lease_start()->set_year(2026);
  update.mutable_resident()->mutable_lease_start()->set_month(1);
  update.mutable_resident()->mutable_lease_start()->set_day(1);
  update.mutable_resident()->mutable_lease_end()->set_year(2027);
  update.mutable_resident()->mutable_lease_end()->set_month(12);
  update.mutable_resident()->mutable_lease_end()->set_day(31);
  for (const char* p : {"role", "lease_start", "lease_end"})
    update.mutable_update_mask()->add_paths(p);
  v1::Resident updated;
  st = Call(&Stub::UpdateResident, agent, update, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.role(), v1::RESIDENT_ROLE_TENANT);
  EXPECT_EQ(updated.lease_end().year(), 2027);

  v1::ListResidentsRequest list;
  list.set_estate_id(estate_);
  list.set_unit_id(u.id());
  v1::ListResidentsResponse residents;
  ASSERT_TRUE(Call(&Stub::ListResidents, agent, list, &residents).ok());
  ASSERT_EQ(residents.residents_size(), 1);
  EXPECT_EQ(residents.residents(0).name(), "王阿姨");
}

// 000_…, 二.5 (有业主通话记录而物业公司未记录的,每条扣…20分): only a current resident's call
// counts, so the front desk records a move-out day, or removes a resident entered by
// mistake; the row stays for history and the change is published for intake.
TEST_F(DirectoryServiceTest, TheFrontDeskRecordsAMoveOutAndRemovesAResident) {
  v1::Unit u = MakeUnit(MakeBuilding(estate_, "1").id(), "101");
  std::string agent = TestToken(group_, {estate_}, {"agent"});
  auto create = [&](const std::string& rid, v1::ResidentRole role) {
    v1::CreateResidentRequest req;
    req.set_request_id(rid);
    req.mutable_resident()->set_unit_id(u.id());
    req.mutable_resident()->set_name("住户");
    req.mutable_resident()->set_phone("13800138000");
    req.mutable_resident()->set_role(role);
    if (role == v1::RESIDENT_ROLE_TENANT) {
      auto* start = req.mutable_resident()->mutable_lease_start();
      start->set_year(2026);
      start->set_month(3);
      start->set_day(1);
    }
    v1::Resident r;
    grpc::Status st = Call(&Stub::CreateResident, agent, req, &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  };
  v1::Resident tenant = create("res-tenant", v1::RESIDENT_ROLE_TENANT);
  v1::Resident owner = create("res-owner", v1::RESIDENT_ROLE_OWNER);

  // A move-out day: a real date, not before the lease started.
  v1::UpdateResidentRequest out;
  out.set_request_id("res-out-bad");
  out.mutable_resident()->set_id(tenant.id());
  out.mutable_update_mask()->add_paths("move_out_date");
  auto* day = out.mutable_resident()->mutable_move_out_date();
  day->set_year(2026);
  day->set_month(2);
  day->set_day(30);
  const std::string before = Snapshot();
  v1::Resident moved;
  grpc::Status st = Call(&Stub::UpdateResident, agent, out, &moved);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "resident.move_out_date");
  out.set_request_id("res-out-early");
  day->set_day(28);  // before lease_start 2026-03-01
  st = Call(&Stub::UpdateResident, agent, out, &moved);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "resident.move_out_date");
  EXPECT_EQ(Snapshot(), before);

  out.set_request_id("res-out");
  day->set_month(11);
  day->set_day(30);
  st = Call(&Stub::UpdateResident, agent, out, &moved);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(moved.move_out_date().month(), 11);
  EXPECT_EQ(moved.version(), tenant.version() + 1);
  v1::GetResidentRequest get;
  get.set_id(tenant.id());
  v1::Resident read;
  ASSERT_TRUE(Call(&Stub::GetResident, agent, get, &read).ok());
  EXPECT_EQ(read.move_out_date().day(), 30);  // still listed, for history

  // Removal: refused to roles that do not keep residents, to bad ids and to another
  // group (NOT_FOUND), all changing nothing.
  v1::DeleteResidentRequest del;
  del.set_request_id("res-del");
  del.set_id(owner.id());
  v1::DeleteResidentResponse deleted;
  const std::string kept = Snapshot();
  std::string clerk = TestToken(group_, {estate_}, {"finance_clerk"});
  EXPECT_EQ(Call(&Stub::DeleteResident, clerk, del, &deleted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::string rival = TestToken(MakeGroup("Rival Property"), {"*"}, {"group_admin"});
  const std::string with_rival = Snapshot();
  EXPECT_EQ(Call(&Stub::DeleteResident, rival, del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::DeleteResidentRequest bad = del;
  bad.set_id("not-an-id");
  st = Call(&Stub::DeleteResident, agent, bad, &deleted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "id");
  EXPECT_EQ(Snapshot(), with_rival);
  EXPECT_NE(kept, with_rival);  // the rival group itself

  int events = Count("wuye_outbox");
  st = Call(&Stub::DeleteResident, agent, del, &deleted);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Count("wuye_outbox"), events + 1);
  EXPECT_EQ(Count("residents"), 2);  // kept for history
  {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    auto row = tx.exec1("SELECT type, envelope FROM wuye_outbox ORDER BY id DESC LIMIT 1");
    EXPECT_EQ(row[0].as<std::string>(), "directory.resident.removed");
    wuye::events::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[1]).str()));
    ev::ResidentChanged removed;
    ASSERT_TRUE(event.payload().UnpackTo(&removed));
    EXPECT_EQ(removed.resident_id(), owner.id());
    EXPECT_EQ(removed.version(), owner.version() + 1);
    EXPECT_EQ(event.subject_version(), owner.version() + 1);
    EXPECT_TRUE(removed.has_removed_at());
  }
  // A retry answers the same and publishes nothing more.
  ASSERT_TRUE(Call(&Stub::DeleteResident, agent, del, &deleted).ok());
  EXPECT_EQ(Count("wuye_outbox"), events + 1);

  // Removed: no longer read, listed, changed or removed again.
  get.set_id(owner.id());
  EXPECT_EQ(Call(&Stub::GetResident, agent, get, &read).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListResidentsRequest list;
  list.set_estate_id(estate_);
  v1::ListResidentsResponse residents;
  ASSERT_TRUE(Call(&Stub::ListResidents, agent, list, &residents).ok());
  ASSERT_EQ(residents.residents_size(), 1);
  EXPECT_EQ(residents.residents(0).id(), tenant.id());
  v1::UpdateResidentRequest rename;
  rename.set_request_id("res-rename-removed");
  rename.mutable_resident()->set_id(owner.id());
  rename.mutable_resident()->set_name("Someone");
  rename.mutable_update_mask()->add_paths("name");
  EXPECT_EQ(Call(&Stub::UpdateResident, agent, rename, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
  del.set_request_id("res-del-again");
  EXPECT_EQ(Call(&Stub::DeleteResident, agent, del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServiceTest, StaffAndShiftsFormTheRoster) {
  v1::Staff tech = MakeStaff("Li Wei", {estate_});
  EXPECT_TRUE(tech.active());

  v1::ListStaffRequest ls;
  ls.set_estate_id(estate_);
  ls.set_skill(v1::SKILL_PLUMBING);
  v1::ListStaffResponse staff;
  ASSERT_TRUE(Call(&Stub::ListStaff, admin_, ls, &staff).ok());
  ASSERT_EQ(staff.staff_size(), 1);
  ls.set_skill(v1::SKILL_HVAC);
  staff.Clear();
  ASSERT_TRUE(Call(&Stub::ListStaff, admin_, ls, &staff).ok());
  EXPECT_EQ(staff.staff_size(), 0);

  absl::Time start = absl::FromUnixSeconds(1795000000);
  v1::CreateShiftRequest cs;
  cs.set_request_id("shift-1");
  cs.mutable_shift()->set_estate_id(estate_);
  cs.mutable_shift()->set_staff_id(tech.id());
  *cs.mutable_shift()->mutable_start_time() = ToProtoTime(start);
  *cs.mutable_shift()->mutable_end_time() = ToProtoTime(start + absl::Hours(8));
  v1::Shift shift;
  std::string lead = TestToken(group_, {estate_}, {"team_lead"});
  ASSERT_TRUE(Call(&Stub::CreateShift, lead, cs, &shift).ok());

  cs.set_request_id("shift-2");  // overlaps the first
  *cs.mutable_shift()->mutable_start_time() = ToProtoTime(start + absl::Hours(7));
  *cs.mutable_shift()->mutable_end_time() = ToProtoTime(start + absl::Hours(12));
  v1::Shift overlapping;
  EXPECT_EQ(Call(&Stub::CreateShift, lead, cs, &overlapping).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ListShiftsRequest list;
  list.set_estate_id(estate_);
  *list.mutable_window_start() = ToProtoTime(start + absl::Hours(1));
  *list.mutable_window_end() = ToProtoTime(start + absl::Hours(2));
  v1::ListShiftsResponse shifts;
  ASSERT_TRUE(Call(&Stub::ListShifts, lead, list, &shifts).ok());
  ASSERT_EQ(shifts.shifts_size(), 1);
  EXPECT_EQ(shifts.shifts(0).staff_id(), tech.id());

  v1::DeleteShiftRequest del;
  del.set_request_id("del-1");
  del.set_id(shift.id());
  v1::DeleteShiftResponse deleted;
  ASSERT_TRUE(Call(&Stub::DeleteShift, lead, del, &deleted).ok());
  ASSERT_TRUE(Call(&Stub::DeleteShift, lead, del, &deleted).ok());  // retry: same answer
  shifts.Clear();
  ASSERT_TRUE(Call(&Stub::ListShifts, lead, list, &shifts).ok());
  EXPECT_EQ(shifts.shifts_size(), 0);

  v1::UpdateStaffRequest us;
  us.set_request_id("staff-leaves");
  us.mutable_staff()->set_id(tech.id());
  us.mutable_staff()->set_active(false);
  us.mutable_update_mask()->add_paths("active");
  v1::Staff left;
  ASSERT_TRUE(Call(&Stub::UpdateStaff, admin_, us, &left).ok());
  EXPECT_FALSE(left.active());
  cs.set_request_id("shift-3");
  EXPECT_EQ(Call(&Stub::CreateShift, lead, cs, &overlapping).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(DirectoryServiceTest, EveryChangeWritesAnEventToTheOutbox) {
  int before = Count("wuye_outbox");
  v1::Building b = MakeBuilding(estate_, "E");
  MakeUnit(b.id(), "1");
  EXPECT_EQ(Count("wuye_outbox"), before + 2);
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  auto row = tx.exec1("SELECT type, envelope FROM wuye_outbox ORDER BY id DESC LIMIT 1");
  EXPECT_EQ(row[0].as<std::string>(), "directory.unit.created");
  wuye::events::v1::Event event;
  ASSERT_TRUE(event.ParseFromString(pqxx::binarystring(row[1]).str()));
  EXPECT_EQ(event.group_id(), group_);
  EXPECT_EQ(event.estate_id(), estate_);
  EXPECT_EQ(event.subject_version(), 1);
  ev::UnitChanged unit;
  ASSERT_TRUE(event.payload().UnpackTo(&unit));
  EXPECT_EQ(unit.number(), "1");
}

// Issue 21 #8: each event carries the directory's payload message for its type
// (protos/wuye/events/v1/directory_events.proto), never an API resource; the envelope keeps
// the group. No name, no phone number: a resident's number travels only as its hash under
// intake's phone key, as intake hashes a caller's number (seed 000_…, 二.5: 有业主通话记录).
TEST_F(DirectoryServiceTest, EachEventCarriesItsOwnPayloadWithoutNamesOrNumbers) {
  // Every envelope of the outbox by type, the latest last.
  auto events = [&]() {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::map<std::string, std::vector<ev::Event>> out;
    for (const auto& row : tx.exec("SELECT envelope FROM wuye_outbox ORDER BY id")) {
      ev::Event e;
      EXPECT_TRUE(e.ParseFromString(pqxx::binarystring(row[0]).str()));
      out[e.type()].push_back(e);
    }
    return out;
  };
  auto payload = [](const ev::Event& e, google::protobuf::Message& m) {
    EXPECT_EQ(e.payload().type_url(), "type.googleapis.com/" + m.GetDescriptor()->full_name())
        << e.type();
    EXPECT_TRUE(e.payload().UnpackTo(&m)) << e.type();
  };
  auto mask = [](google::protobuf::FieldMask* m, const char* path) { m->add_paths(path); };

  // Estate: update the household count.
  v1::UpdateEstateRequest ue;
  ue.set_request_id(NewId(absl::Now()));
  ue.mutable_estate()->set_id(estate_);
  ue.mutable_estate()->set_household_count(420);
  mask(ue.mutable_update_mask(), "household_count");
  v1::Estate estate;
  ASSERT_TRUE(Call(&Stub::UpdateEstate, admin_, ue, &estate).ok());
  // Building, unit, a changed hand-over day, an import.
  v1::Building b = MakeBuilding(estate_, "3栋");
  v1::Unit u = MakeUnit(b.id(), "1203", "89.5");
  v1::UpdateUnitRequest uu;
  uu.set_request_id(NewId(absl::Now()));
  uu.mutable_unit()->set_id(u.id());
  uu.mutable_unit()->mutable_handover_date()->set_year(2026);
  uu.mutable_unit()->mutable_handover_date()->set_month(10);
  uu.mutable_unit()->mutable_handover_date()->set_day(8);
  mask(uu.mutable_update_mask(), "handover_date");
  v1::Unit unit;
  ASSERT_TRUE(Call(&Stub::UpdateUnit, admin_, uu, &unit).ok());
  v1::ImportUnitsRequest import;
  import.set_request_id(NewId(absl::Now()));
  import.set_estate_id(estate_);
  auto* iu = import.add_units();
  iu->set_building_name("5栋");
  iu->set_number("101");
  iu->set_building_area_m2("60");
  v1::ImportUnitsResponse imported;
  ASSERT_TRUE(Call(&Stub::ImportUnits, admin_, import, &imported).ok());
  // A resident: created, moved out, removed.
  v1::CreateResidentRequest cr;
  cr.set_request_id(NewId(absl::Now()));
  cr.mutable_resident()->set_unit_id(u.id());
  cr.mutable_resident()->set_name("张伟");
  cr.mutable_resident()->set_phone("+86 139-0013-9000");
  cr.mutable_resident()->set_role(v1::RESIDENT_ROLE_TENANT);
  *cr.mutable_resident()->mutable_lease_start() = DateFromText("2026-01-01");
  *cr.mutable_resident()->mutable_lease_end() = DateFromText("2027-12-31");
  *cr.mutable_resident()->mutable_date_of_birth() = DateFromText("1950-03-14");
  v1::Resident resident;
  ASSERT_TRUE(Call(&Stub::CreateResident, admin_, cr, &resident).ok());
  v1::UpdateResidentRequest ur;
  ur.set_request_id(NewId(absl::Now()));
  ur.mutable_resident()->set_id(resident.id());
  *ur.mutable_resident()->mutable_move_out_date() = DateFromText("2026-06-30");
  mask(ur.mutable_update_mask(), "move_out_date");
  ASSERT_TRUE(Call(&Stub::UpdateResident, admin_, ur, &resident).ok());
  v1::DeleteResidentRequest dr;
  dr.set_request_id(NewId(absl::Now()));
  dr.set_id(resident.id());
  v1::DeleteResidentResponse deleted;
  ASSERT_TRUE(Call(&Stub::DeleteResident, admin_, dr, &deleted).ok());
  // Staff: created; a shift, created and deleted; then the staff member left.
  v1::Staff tech = MakeStaff("李师傅", {estate_});
  absl::Time start = absl::FromUnixSeconds(1795000000);
  v1::CreateShiftRequest cs;
  cs.set_request_id(NewId(absl::Now()));
  cs.mutable_shift()->set_estate_id(estate_);
  cs.mutable_shift()->set_staff_id(tech.id());
  *cs.mutable_shift()->mutable_start_time() = ToProtoTime(start);
  *cs.mutable_shift()->mutable_end_time() = ToProtoTime(start + absl::Hours(8));
  v1::Shift shift;
  ASSERT_TRUE(Call(&Stub::CreateShift, admin_, cs, &shift).ok());
  v1::DeleteShiftRequest ds;
  ds.set_request_id(NewId(absl::Now()));
  ds.set_id(shift.id());
  v1::DeleteShiftResponse shift_deleted;
  ASSERT_TRUE(Call(&Stub::DeleteShift, admin_, ds, &shift_deleted).ok());
  v1::UpdateStaffRequest us;
  us.set_request_id(NewId(absl::Now()));
  us.mutable_staff()->set_id(tech.id());
  us.mutable_staff()->set_active(false);
  mask(us.mutable_update_mask(), "active");
  v1::Staff left;
  ASSERT_TRUE(Call(&Stub::UpdateStaff, admin_, us, &left).ok());

  auto all = events();
  for (const auto& [type, list] : all) {
    for (const ev::Event& e : list) {
      EXPECT_EQ(e.group_id(), group_) << type;  // tenancy: the envelope names the group
      EXPECT_EQ(e.producer(), "directory");
      for (const char* personal : {"张伟", "李师傅", "13900139000", "139-0013"}) {
        EXPECT_EQ(e.payload().value().find(personal), std::string::npos) << type << personal;
      }
    }
  }

  ev::GroupCreated group;
  payload(all["directory.group.created"].at(0), group);
  EXPECT_EQ(group.group_id(), group_);
  EXPECT_EQ(group.name(), "Acme Property");

  ev::EstateChanged ec;
  payload(all["directory.estate.created"].at(0), ec);
  EXPECT_EQ(ec.estate_id(), estate_);
  EXPECT_EQ(ec.name(), "Sunny Gardens");
  EXPECT_EQ(ec.management_fee_fen_per_m2(), 150);
  EXPECT_EQ(ec.household_count(), 350);
  EXPECT_FALSE(ec.time_zone().empty());
  EXPECT_TRUE(ec.desk_24h());
  EXPECT_EQ(ec.version(), 1);
  payload(all["directory.estate.updated"].at(0), ec);
  EXPECT_EQ(ec.household_count(), 420);
  EXPECT_EQ(ec.version(), estate.version());
  EXPECT_EQ(all["directory.estate.updated"].at(0).subject_version(), estate.version());

  ev::BuildingCreated bc;
  payload(all["directory.building.created"].at(0), bc);
  EXPECT_EQ(bc.building_id(), b.id());
  EXPECT_EQ(bc.estate_id(), estate_);
  EXPECT_EQ(bc.name(), "3栋");

  ev::UnitChanged uc;
  payload(all["directory.unit.created"].at(0), uc);
  EXPECT_EQ(uc.unit_id(), u.id());
  EXPECT_EQ(uc.estate_id(), estate_);
  EXPECT_EQ(uc.building_id(), b.id());
  EXPECT_EQ(uc.number(), "1203");
  EXPECT_EQ(uc.building_area_m2(), "89.50");
  EXPECT_EQ(static_cast<int>(uc.type()), static_cast<int>(u.type()));
  EXPECT_EQ(static_cast<int>(uc.occupancy()), static_cast<int>(u.occupancy()));
  EXPECT_EQ(uc.handed_over(), u.handed_over());
  EXPECT_EQ(uc.version(), 1);
  EXPECT_FALSE(uc.has_handover_date());
  payload(all["directory.unit.updated"].at(0), uc);
  EXPECT_EQ(uc.version(), unit.version());
  ASSERT_TRUE(uc.has_handover_date());
  EXPECT_EQ(CivilDayOf(uc.handover_date()), absl::CivilDay(2026, 10, 8));
  EXPECT_FALSE(uc.has_move_in_date());

  ev::UnitImportChunk chunk;
  payload(all["directory.units.imported"].at(0), chunk);
  EXPECT_EQ(chunk.estate_id(), estate_);
  ASSERT_EQ(chunk.buildings_created_size(), 1);
  EXPECT_EQ(chunk.buildings_created(0).name(), "5栋");
  ASSERT_EQ(chunk.units_size(), 1);
  EXPECT_EQ(chunk.units(0).number(), "101");
  EXPECT_EQ(chunk.units(0).building_id(), chunk.buildings_created(0).building_id());
  EXPECT_EQ(chunk.units(0).building_area_m2(), "60.00");
  EXPECT_EQ(chunk.units(0).version(), 1);

  // The number as intake will hash a caller's: "+86 139 0013 9000" is "13900139000".
  const std::string hash = HashPhone(kPhoneKey, "13900139000");
  ev::ResidentChanged rc;
  payload(all["directory.resident.created"].at(0), rc);
  EXPECT_EQ(rc.resident_id(), resident.id());
  EXPECT_EQ(rc.estate_id(), estate_);
  EXPECT_EQ(rc.unit_id(), u.id());
  EXPECT_EQ(rc.role(), ev::RESIDENT_ROLE_TENANT);
  EXPECT_EQ(CivilDayOf(rc.lease_start()), absl::CivilDay(2026, 1, 1));
  EXPECT_EQ(CivilDayOf(rc.lease_end()), absl::CivilDay(2027, 12, 31));
  EXPECT_EQ(CivilDayOf(rc.date_of_birth()), absl::CivilDay(1950, 3, 14));
  EXPECT_FALSE(rc.has_move_out_date());
  EXPECT_FALSE(rc.has_removed_at());
  EXPECT_EQ(rc.phone_hash(), hash);
  EXPECT_EQ(rc.version(), 1);
  payload(all["directory.resident.updated"].at(0), rc);
  EXPECT_EQ(CivilDayOf(rc.move_out_date()), absl::CivilDay(2026, 6, 30));
  EXPECT_EQ(rc.phone_hash(), hash);
  EXPECT_EQ(rc.version(), 2);
  const ev::Event& removal = all["directory.resident.removed"].at(0);
  payload(removal, rc);
  EXPECT_EQ(rc.resident_id(), resident.id());
  EXPECT_EQ(rc.phone_hash(), hash);  // intake stops counting the number after removed_at
  ASSERT_TRUE(rc.has_removed_at());
  EXPECT_EQ(rc.removed_at().seconds(), removal.occurred_at().seconds());
  EXPECT_EQ(rc.version(), 3);
  EXPECT_EQ(removal.subject_version(), 3);

  ev::StaffChanged sc;
  payload(all["directory.staff.created"].at(0), sc);
  EXPECT_EQ(sc.staff_id(), tech.id());
  EXPECT_TRUE(all["directory.staff.created"].at(0).estate_id().empty());
  ASSERT_EQ(sc.roles_size(), 1);
  EXPECT_EQ(sc.roles(0), ev::STAFF_ROLE_TECHNICIAN);
  ASSERT_EQ(sc.skills_size(), 1);
  EXPECT_EQ(sc.skills(0), ev::SKILL_PLUMBING);
  ASSERT_EQ(sc.home_estate_ids_size(), 1);
  EXPECT_EQ(sc.home_estate_ids(0), estate_);
  EXPECT_TRUE(sc.active());
  EXPECT_EQ(sc.version(), 1);
  payload(all["directory.staff.updated"].at(0), sc);
  EXPECT_FALSE(sc.active());
  EXPECT_EQ(sc.version(), left.version());

  ev::ShiftChanged shc;
  payload(all["directory.shift.created"].at(0), shc);
  EXPECT_EQ(shc.shift_id(), shift.id());
  EXPECT_EQ(shc.estate_id(), estate_);
  EXPECT_EQ(shc.staff_id(), tech.id());
  EXPECT_EQ(FromProtoTime(shc.start_time()), start);
  EXPECT_EQ(FromProtoTime(shc.end_time()), start + absl::Hours(8));
  EXPECT_FALSE(shc.deleted());
  payload(all["directory.shift.deleted"].at(0), shc);
  EXPECT_EQ(shc.shift_id(), shift.id());
  EXPECT_TRUE(shc.deleted());
  EXPECT_EQ(FromProtoTime(shc.start_time()), start);
}

// ---- Bad input: a clear error and nothing changed ---------------------------------------

TEST_F(DirectoryServiceTest, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  v1::Building b = MakeBuilding(estate_, "B1");
  const std::string unit101 = MakeUnit(b.id(), "101").id();
  const std::string before = Snapshot();

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string field;
  };
  auto estate_with = [&](std::function<void(v1::Estate*)> edit) {
    v1::CreateEstateRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_estate()->set_name("Bad");
    req.mutable_estate()->set_management_fee_fen_per_m2(100);
    edit(req.mutable_estate());
    v1::Estate out;
    return Call(&Stub::CreateEstate, admin_, req, &out);
  };
  auto unit_with = [&](std::function<void(v1::Unit*)> edit) {
    v1::CreateUnitRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_unit()->set_building_id(b.id());
    req.mutable_unit()->set_number("999");
    req.mutable_unit()->set_building_area_m2("80");
    edit(req.mutable_unit());
    v1::Unit out;
    return Call(&Stub::CreateUnit, admin_, req, &out);
  };
  std::vector<Case> cases = {
      {"missing estate name", [&] { return estate_with([](v1::Estate* e) { e->clear_name(); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.name"},
      {"blank estate name", [&] { return estate_with([](v1::Estate* e) { e->set_name("   "); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.name"},
      {"unknown time zone",
       [&] { return estate_with([](v1::Estate* e) { e->set_time_zone("Mars/Olympus"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.time_zone"},
      // Issue 20, item 8: a zone name is never a file path.
      {"time zone as a relative path",
       [&] { return estate_with([](v1::Estate* e) { e->set_time_zone("../etc/passwd"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.time_zone"},
      {"time zone as an absolute path",
       [&] { return estate_with([](v1::Estate* e) { e->set_time_zone("/etc/localtime"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.time_zone"},
      {"huge time zone",
       [&] {
         return estate_with([](v1::Estate* e) { e->set_time_zone(std::string(10000, 'A')); });
       },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.time_zone"},
      {"zero fee rate",
       [&] { return estate_with([](v1::Estate* e) { e->set_management_fee_fen_per_m2(0); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.management_fee_fen_per_m2"},
      {"desk closes before it opens",
       [&] {
         return estate_with([](v1::Estate* e) {
           e->mutable_desk_opens()->set_hours(18);
           e->mutable_desk_closes()->set_hours(9);
         });
       },
       grpc::StatusCode::INVALID_ARGUMENT, "estate.desk_closes"},
      {"zero area", [&] { return unit_with([](v1::Unit* u) { u->set_building_area_m2("0"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.building_area_m2"},
      {"negative area",
       [&] { return unit_with([](v1::Unit* u) { u->set_building_area_m2("-5"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.building_area_m2"},
      {"area with three decimals",
       [&] { return unit_with([](v1::Unit* u) { u->set_building_area_m2("80.125"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.building_area_m2"},
      {"empty unit number", [&] { return unit_with([](v1::Unit* u) { u->clear_number(); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.number"},
      {"duplicate unit number",
       [&] { return unit_with([](v1::Unit* u) { u->set_number("101"); }); },
       grpc::StatusCode::ALREADY_EXISTS, ""},
      {"unknown building",
       [&] { return unit_with([](v1::Unit* u) { u->set_building_id(NewId(absl::Now())); }); },
       grpc::StatusCode::NOT_FOUND, ""},
      {"malformed building id",
       [&] { return unit_with([](v1::Unit* u) { u->set_building_id("not-an-id"); }); },
       grpc::StatusCode::INVALID_ARGUMENT, "unit.building_id"},
      {"unknown estate for a building",
       [&] {
         v1::CreateBuildingRequest req;
         req.set_request_id("b-unknown");
         req.mutable_building()->set_estate_id(NewId(absl::Now()));
         req.mutable_building()->set_name("X");
         v1::Building out;
         return Call(&Stub::CreateBuilding, admin_, req, &out);
       },
       grpc::StatusCode::NOT_FOUND, ""},
      {"page size over the maximum",
       [&] {
         v1::ListUnitsRequest req;
         req.set_estate_id(estate_);
         req.set_page_size(5000);
         v1::ListUnitsResponse out;
         return Call(&Stub::ListUnits, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_size"},
      {"forged page token",
       [&] {
         v1::ListUnitsRequest req;
         req.set_estate_id(estate_);
         req.set_page_token("AAAAforged");
         v1::ListUnitsResponse out;
         return Call(&Stub::ListUnits, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_token"},
      {"missing request id",
       [&] {
         v1::CreateBuildingRequest req;
         req.mutable_building()->set_estate_id(estate_);
         req.mutable_building()->set_name("No id");
         v1::Building out;
         return Call(&Stub::CreateBuilding, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "request_id"},
      {"update mask naming a read-only field",
       [&] {
         v1::UpdateEstateRequest req;
         req.set_request_id("mask");
         req.mutable_estate()->set_id(estate_);
         req.mutable_update_mask()->add_paths("group_id");
         v1::Estate out;
         return Call(&Stub::UpdateEstate, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "update_mask"},
      {"resident phone with letters",
       [&] {
         v1::CreateResidentRequest req;
         req.set_request_id("bad-phone");
         req.mutable_resident()->set_unit_id(unit101);
         req.mutable_resident()->set_name("Zhang");
         req.mutable_resident()->set_role(v1::RESIDENT_ROLE_OWNER);
         req.mutable_resident()->set_phone("call me");
         v1::Resident out;
         return Call(&Stub::CreateResident, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "resident.phone"},
      {"staff without estates",
       [&] {
         v1::CreateStaffRequest req;
         req.set_request_id("staff-none");
         req.mutable_staff()->set_name("Nobody");
         req.mutable_staff()->add_roles(v1::STAFF_ROLE_AGENT);
         v1::Staff out;
         return Call(&Stub::CreateStaff, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "staff.home_estate_ids"},
      {"shift longer than a day",
       [&] {
         v1::CreateShiftRequest req;
         req.set_request_id("long-shift");
         req.mutable_shift()->set_estate_id(estate_);
         req.mutable_shift()->set_staff_id(NewId(absl::Now()));
         *req.mutable_shift()->mutable_start_time() =
             ToProtoTime(absl::FromUnixSeconds(1795000000));
         *req.mutable_shift()->mutable_end_time() = ToProtoTime(absl::FromUnixSeconds(1795200000));
         v1::Shift out;
         return Call(&Stub::CreateShift, admin_, req, &out);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "shift.end_time"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::Status st = c.call();
    EXPECT_EQ(st.error_code(), c.code) << st.error_message();
    if (!c.field.empty()) {
      EXPECT_EQ(Field(st), c.field) << st.error_message();
      EXPECT_EQ(st.error_message().rfind(c.field, 0), 0u) << st.error_message();
    }
    EXPECT_EQ(Snapshot(), before);
  }
}

// ---- request_id ------------------------------------------------------------------------

TEST_F(DirectoryServiceTest, SameRequestIdGivesOneObjectAndDifferentContentIsRefused) {
  v1::Building b = MakeBuilding(estate_, "R");
  v1::CreateUnitRequest req;
  req.set_request_id("create-unit-42");
  req.mutable_unit()->set_building_id(b.id());
  req.mutable_unit()->set_number("42");
  req.mutable_unit()->set_building_area_m2("66.6");
  v1::Unit first, second;
  ASSERT_TRUE(Call(&Stub::CreateUnit, admin_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::CreateUnit, admin_, req, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  EXPECT_EQ(Count("units"), 1);

  req.mutable_unit()->set_building_area_m2("77.7");
  v1::Unit third;
  grpc::Status st = Call(&Stub::CreateUnit, admin_, req, &third);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(ErrorReason(FromGrpcStatus(st)), "REQUEST_ID_REUSED");
  EXPECT_EQ(Count("units"), 1);
}

TEST_F(DirectoryServiceTest, ConcurrentRetriesOfOneRequestCreateOneObject) {
  v1::Building b = MakeBuilding(estate_, "C");
  v1::CreateUnitRequest req;
  req.set_request_id("concurrent");
  req.mutable_unit()->set_building_id(b.id());
  req.mutable_unit()->set_number("7");
  req.mutable_unit()->set_building_area_m2("70");
  std::vector<std::thread> threads;
  std::vector<v1::Unit> results(6);
  std::vector<grpc::Status> statuses(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = Call(&Stub::CreateUnit, admin_, req, &results[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(results[i].id(), results[0].id());
  }
  EXPECT_EQ(Count("units"), 1);
}

// ---- Tenancy, roles, authentication ----------------------------------------------------

TEST_F(DirectoryServiceTest, AnotherGroupSeesAndChangesNothingOfThisGroup) {
  v1::Building b = MakeBuilding(estate_, "T");
  v1::Unit u = MakeUnit(b.id(), "1");
  v1::Staff s = MakeStaff("Tenant test", {estate_});
  std::string other_group = MakeGroup("Rival Property");
  std::string rival = TestToken(other_group, {"*"}, {"group_admin"});
  const std::string before = Snapshot();

  auto code = [](grpc::Status st) { return st.error_code(); };
  auto hidden = [](grpc::StatusCode c) {
    return c == grpc::StatusCode::NOT_FOUND || c == grpc::StatusCode::PERMISSION_DENIED;
  };
  {
    v1::GetEstateRequest r;
    r.set_id(estate_);
    v1::Estate out;
    EXPECT_TRUE(hidden(code(Call(&Stub::GetEstate, rival, r, &out))));
  }
  {
    v1::GetBuildingRequest r;
    r.set_id(b.id());
    v1::Building out;
    EXPECT_TRUE(hidden(code(Call(&Stub::GetBuilding, rival, r, &out))));
  }
  {
    v1::GetUnitRequest r;
    r.set_id(u.id());
    v1::Unit out;
    EXPECT_TRUE(hidden(code(Call(&Stub::GetUnit, rival, r, &out))));
  }
  {
    v1::GetStaffRequest r;
    r.set_id(s.id());
    v1::Staff out;
    EXPECT_TRUE(hidden(code(Call(&Stub::GetStaff, rival, r, &out))));
  }
  {
    v1::ListUnitsRequest r;
    r.set_estate_id(estate_);
    v1::ListUnitsResponse out;
    grpc::Status st = Call(&Stub::ListUnits, rival, r, &out);
    EXPECT_TRUE(!st.ok() ? hidden(code(st)) : out.units_size() == 0);
  }
  {
    v1::ListEstatesRequest r;
    v1::ListEstatesResponse out;
    ASSERT_TRUE(Call(&Stub::ListEstates, rival, r, &out).ok());
    EXPECT_EQ(out.estates_size(), 0);
  }
  {
    v1::UpdateUnitRequest r;
    r.set_request_id("rival-upd");
    r.mutable_unit()->set_id(u.id());
    r.mutable_unit()->set_floor(3);
    r.mutable_update_mask()->add_paths("floor");
    v1::Unit out;
    EXPECT_TRUE(hidden(code(Call(&Stub::UpdateUnit, rival, r, &out))));
  }
  {
    v1::CreateUnitRequest r;
    r.set_request_id("rival-create");
    r.mutable_unit()->set_building_id(b.id());
    r.mutable_unit()->set_number("rival");
    r.mutable_unit()->set_building_area_m2("10");
    v1::Unit out;
    EXPECT_TRUE(hidden(code(Call(&Stub::CreateUnit, rival, r, &out))));
  }
  {
    v1::ImportUnitsRequest r;
    r.set_request_id("rival-import");
    r.set_estate_id(estate_);
    auto* iu = r.add_units();
    iu->set_building_name("T");
    iu->set_number("x");
    iu->set_building_area_m2("10");
    v1::ImportUnitsResponse out;
    EXPECT_TRUE(hidden(code(Call(&Stub::ImportUnits, rival, r, &out))));
  }
  {
    v1::CreateStaffRequest r;
    r.set_request_id("rival-staff");
    r.mutable_staff()->set_name("Spy");
    r.mutable_staff()->add_roles(v1::STAFF_ROLE_AGENT);
    r.mutable_staff()->add_home_estate_ids(estate_);
    v1::Staff out;
    EXPECT_TRUE(hidden(code(Call(&Stub::CreateStaff, rival, r, &out))));
  }
  EXPECT_EQ(Snapshot().substr(Snapshot().find("estates=")), before.substr(before.find("estates=")))
      << "only the rival's own group row may differ";
}

TEST_F(DirectoryServiceTest, TokensScopedToOtherEstatesAreDenied) {
  v1::Estate other = MakeEstate(admin_, "Other estate");
  std::string manager = TestToken(group_, {other.id()}, {"estate_manager"});
  v1::CreateBuildingRequest req;
  req.set_request_id("scoped");
  req.mutable_building()->set_estate_id(estate_);
  req.mutable_building()->set_name("Denied");
  v1::Building out;
  EXPECT_EQ(Call(&Stub::CreateBuilding, manager, req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetEstateRequest get;
  get.set_id(estate_);
  v1::Estate e;
  EXPECT_EQ(Call(&Stub::GetEstate, manager, get, &e).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListEstatesResponse list;
  ASSERT_TRUE(Call(&Stub::ListEstates, manager, v1::ListEstatesRequest(), &list).ok());
  ASSERT_EQ(list.estates_size(), 1);
  EXPECT_EQ(list.estates(0).id(), other.id());

  // Staff of an estate outside the token stay hidden, listed or fetched.
  v1::Staff here = MakeStaff("Works here", {estate_});
  v1::Staff there = MakeStaff("Works there", {other.id()});
  v1::ListStaffResponse staff;
  ASSERT_TRUE(Call(&Stub::ListStaff, manager, v1::ListStaffRequest(), &staff).ok());
  ASSERT_EQ(staff.staff_size(), 1);
  EXPECT_EQ(staff.staff(0).id(), there.id());
  v1::GetStaffRequest get_staff;
  get_staff.set_id(here.id());
  v1::Staff s;
  EXPECT_EQ(Call(&Stub::GetStaff, manager, get_staff, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DirectoryServiceTest, OnlyGroupAdminsChangeEstatesAndStaff) {
  std::string agent = TestToken(group_, {"*"}, {"agent"});
  v1::CreateEstateRequest req;
  req.set_request_id("agent-estate");
  req.mutable_estate()->set_name("Nope");
  req.mutable_estate()->set_management_fee_fen_per_m2(100);
  v1::Estate out;
  EXPECT_EQ(Call(&Stub::CreateEstate, agent, req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateStaffRequest staff;
  staff.set_request_id("agent-staff");
  staff.mutable_staff()->set_name("Nope");
  staff.mutable_staff()->add_roles(v1::STAFF_ROLE_AGENT);
  staff.mutable_staff()->add_home_estate_ids(estate_);
  v1::Staff s;
  EXPECT_EQ(Call(&Stub::CreateStaff, agent, staff, &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetEstateRequest get;  // but agents read
  get.set_id(estate_);
  EXPECT_TRUE(Call(&Stub::GetEstate, agent, get, &out).ok());
}

// Need-to-know on reads (security review #20.7): residents' phones and birth dates and
// staff phones are read only by the roles whose work needs them; a role of no use to the
// suite reads nothing at all.
TEST_F(DirectoryServiceTest, ReadsFollowTheirReaderLists) {
  v1::Unit u = MakeUnit(MakeBuilding(estate_, "1").id(), "101");
  v1::CreateResidentRequest req;
  req.set_request_id("res-readers");
  req.mutable_resident()->set_unit_id(u.id());
  req.mutable_resident()->set_name("李伯");
  req.mutable_resident()->set_phone("13800138001");
  req.mutable_resident()->set_role(v1::RESIDENT_ROLE_OWNER);
  req.mutable_resident()->mutable_date_of_birth()->set_year(1948);
  req.mutable_resident()->mutable_date_of_birth()->set_month(5);
  req.mutable_resident()->mutable_date_of_birth()->set_day(2);
  v1::Resident resident;
  ASSERT_TRUE(Call(&Stub::CreateResident, admin_, req, &resident).ok());
  v1::Staff staff = MakeStaff("张师傅", {estate_});
  ASSERT_TRUE([&] {
    v1::UpdateStaffRequest up;
    up.set_request_id("staff-phone");
    up.mutable_staff()->set_id(staff.id());
    up.mutable_staff()->set_phone("13900139002");
    up.mutable_update_mask()->add_paths("phone");
    return Call(&Stub::UpdateStaff, admin_, up, &staff).ok();
  }());

  const std::string technician = TestToken(group_, {estate_}, {"technician"});
  const std::string finance = TestToken(group_, {estate_}, {"finance_clerk"});
  const std::string lead = TestToken(group_, {estate_}, {"team_lead"});
  const std::string stranger = TestToken(group_, {"*"}, {"resident"});

  v1::GetResidentRequest get_resident;
  get_resident.set_id(resident.id());
  v1::Resident seen;
  EXPECT_EQ(Call(&Stub::GetResident, technician, get_resident, &seen).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::GetResident, finance, get_resident, &seen).ok());
  EXPECT_EQ(seen.phone(), "13800138001");  // finance calls about arrears
  EXPECT_FALSE(seen.has_date_of_birth());  // but has no need of a birth date
  ASSERT_TRUE(Call(&Stub::GetResident, lead, get_resident, &seen).ok());
  EXPECT_EQ(seen.date_of_birth().year(), 1948);

  v1::ListStaffRequest list_staff;
  list_staff.set_estate_id(estate_);
  v1::ListStaffResponse listed;
  ASSERT_TRUE(Call(&Stub::ListStaff, technician, list_staff, &listed).ok());
  ASSERT_EQ(listed.staff_size(), 1);
  EXPECT_EQ(listed.staff(0).name(), "张师傅");
  EXPECT_TRUE(listed.staff(0).phone().empty());
  ASSERT_TRUE(Call(&Stub::ListStaff, lead, list_staff, &listed).ok());
  EXPECT_EQ(listed.staff(0).phone(), "13900139002");

  v1::GetEstateRequest get_estate;
  get_estate.set_id(estate_);
  v1::Estate estate;
  EXPECT_TRUE(Call(&Stub::GetEstate, technician, get_estate, &estate).ok());
  EXPECT_EQ(Call(&Stub::GetEstate, stranger, get_estate, &estate).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::ListStaff, stranger, list_staff, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetGroupRequest get_group;
  get_group.set_id(group_);
  v1::Group group;
  EXPECT_EQ(Call(&Stub::GetGroup, stranger, get_group, &group).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DirectoryServiceTest, MissingOrBadTokensAreUnauthenticated) {
  v1::GetEstateRequest get;
  get.set_id(estate_);
  v1::Estate out;
  EXPECT_EQ(Call(&Stub::GetEstate, "", get, &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(&Stub::GetEstate, "garbage", get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string tampered = admin_;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Call(&Stub::GetEstate, tampered, get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  TokenClaims claims;
  claims.subject = "old";
  claims.group_id = group_;
  claims.estate_ids = {"*"};
  claims.roles = {"group_admin"};
  claims.issued_at = absl::Now() - absl::Hours(3);
  claims.expires_at = absl::Now() - absl::Hours(2);
  std::string expired = *MintHs256(claims, ::wuye::testing::kTestSecret);
  EXPECT_EQ(Call(&Stub::GetEstate, expired, get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  claims.expires_at = absl::Now() + absl::Hours(1);
  std::string wrong_key = *MintHs256(claims, "another-secret-that-is-long-enough-0123456789");
  EXPECT_EQ(Call(&Stub::GetEstate, wrong_key, get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(DirectoryServiceTest, ItsEventsReachAConsumerThroughTheBus) {
  // The consumer keeps its inbox in a database of its own, as another service would.
  ::wuye::testing::TestDatabase consumer_tdb;
  auto consumer_db = consumer_tdb.Open(MigrationSet{"none", {}});
  std::mutex mu;
  std::vector<std::string> seen;
  ::wuye::testing::TestBus bus;
  std::string stream = bus.Stream("dir");
  bus.Relay(tdb_.url(), stream, absl::Milliseconds(50));
  // "directory": a stand-in for its stream.
  bus.Consume(*consumer_db, "observer", stream, "directory",
              [&](pqxx::work&, const wuye::events::v1::Event& e) {
                std::lock_guard lock(mu);
                seen.push_back(e.type());
                return absl::OkStatus();
              });
  v1::Building b = MakeBuilding(estate_, "Bus");
  MakeUnit(b.id(), "1");
  auto count = [&] {
    std::lock_guard lock(mu);
    return seen.size();
  };
  // group.created, estate.created, building.created, unit.created
  ASSERT_TRUE(::wuye::testing::WaitFor([&] { return count() >= 4; }, absl::Seconds(20)));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"directory.group.created", "directory.estate.created",
                                      "directory.building.created", "directory.unit.created"}));
}

TEST_F(DirectoryServiceTest, HealthAndReflectionAreServed) {
  EXPECT_EQ(::wuye::testing::HealthStatus(channel_), 1);
  EXPECT_EQ(::wuye::testing::HealthStatus(channel_, "wuye.directory.v1.DirectoryService"), 1);
}

// ---- The counter's events -------------------------------------------------------------

ev::CivilDate Day(int y, int m, int d) {
  ev::CivilDate out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

class DirectoryCounterEventsTest : public DirectoryServiceTest {
 protected:
  v1::Unit Unit(const std::string& id) {
    v1::GetUnitRequest get;
    get.set_id(id);
    v1::Unit unit;
    EXPECT_TRUE(Call(&Stub::GetUnit, admin_, get, &unit).ok());
    return unit;
  }
  // The last event the directory wrote, of `type`.
  std::optional<ev::UnitChanged> LastUnitUpdated() {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    auto rows = tx.exec(
        "SELECT envelope FROM wuye_outbox WHERE type = 'directory.unit.updated' "
        "ORDER BY id DESC LIMIT 1");
    if (rows.empty()) return std::nullopt;
    ev::Event event;
    EXPECT_TRUE(event.ParseFromString(pqxx::binarystring(rows[0][0]).str()));
    ev::UnitChanged unit;
    EXPECT_TRUE(event.payload().UnpackTo(&unit));
    EXPECT_EQ(event.group_id(), group_);
    EXPECT_EQ(event.subject(), unit.unit_id());
    EXPECT_EQ(event.subject_version(), unit.version());
    return unit;
  }
  ev::UnitHandedOver HandOver(const v1::Unit& unit, ev::CivilDate day) {
    ev::UnitHandedOver h;
    h.set_unit_id(unit.id());
    h.set_estate_id(unit.estate_id());
    h.set_handover_id(NewId(absl::Now()));
    *h.mutable_handover_date() = day;
    return h;
  }
  ev::UnitMovedIn MoveIn(const v1::Unit& unit, ev::Occupancy occupancy, ev::CivilDate day) {
    ev::UnitMovedIn m;
    m.set_unit_id(unit.id());
    m.set_estate_id(unit.estate_id());
    m.set_occupancy(occupancy);
    *m.mutable_move_in_date() = day;
    return m;
  }
};

// 003_… Q4 (對已收樓而未入住…的空置物業,每月物業管理服務費由[業主]交納) and 003_… 客服助理 4
// (業主收樓工作流程): the counter's hand-over marks the unit handed over on its day, vacant,
// exactly as UpdateUnit would — a new version and its "directory.unit.updated", from which
// billing prorates the first month. Applied twice, it changes the unit once.
TEST_F(DirectoryCounterEventsTest, AHandOverMarksTheUnitHandedOverOnce) {
  v1::Unit unit = MakeUnit(MakeBuilding(estate_, "1").id(), "101");
  ASSERT_FALSE(unit.handed_over());
  const int events = Count("wuye_outbox");
  ev::UnitHandedOver h = HandOver(unit, Day(2026, 11, 9));
  ASSERT_TRUE(Deliver("counter.unit.handed_over", group_, h, estate_).ok());
  v1::Unit after = Unit(unit.id());
  EXPECT_TRUE(after.handed_over());
  EXPECT_EQ(DateText(after.handover_date()), "2026-11-09");
  EXPECT_EQ(after.occupancy(), v1::OCCUPANCY_VACANT);
  EXPECT_FALSE(after.has_move_in_date());
  EXPECT_EQ(after.version(), unit.version() + 1);
  EXPECT_EQ(after.building_area_m2(), unit.building_area_m2());
  EXPECT_EQ(Count("wuye_outbox"), events + 1);
  auto published = LastUnitUpdated();
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(published->unit_id(), unit.id());
  EXPECT_TRUE(published->handed_over());
  EXPECT_EQ(published->handover_date().day(), 9);
  EXPECT_EQ(published->occupancy(), ev::OCCUPANCY_VACANT);
  EXPECT_EQ(published->version(), after.version());

  // The same hand-over again (another delivery, another event id): nothing changes.
  ASSERT_TRUE(Deliver("counter.unit.handed_over", group_, h, estate_).ok());
  h.set_handover_id(NewId(absl::Now()));
  ASSERT_TRUE(Deliver("counter.unit.handed_over", group_, h, estate_).ok());
  EXPECT_EQ(Unit(unit.id()).version(), after.version());
  EXPECT_EQ(Count("wuye_outbox"), events + 1);

  // A unit already lived in keeps its occupancy when handed over (a corrected day).
  ASSERT_TRUE(Deliver("counter.unit.moved_in", group_,
                      MoveIn(unit, ev::OCCUPANCY_SELF_OCCUPIED, Day(2026, 11, 20)), estate_)
                  .ok());
  ASSERT_TRUE(
      Deliver("counter.unit.handed_over", group_, HandOver(unit, Day(2026, 11, 10)), estate_).ok());
  after = Unit(unit.id());
  EXPECT_EQ(DateText(after.handover_date()), "2026-11-10");
  EXPECT_EQ(after.occupancy(), v1::OCCUPANCY_SELF_OCCUPIED);
  EXPECT_EQ(DateText(after.move_in_date()), "2026-11-20");
}

// 003_… Q6 (業主入住后,每月需交繳梯燈費): the move-in sets the occupancy and the move-in day
// billing owes stair lighting from, once.
TEST_F(DirectoryCounterEventsTest, AMoveInSetsOccupancyAndDayOnce) {
  v1::Unit unit = MakeUnit(MakeBuilding(estate_, "2").id(), "201");
  ASSERT_TRUE(
      Deliver("counter.unit.handed_over", group_, HandOver(unit, Day(2026, 11, 2)), estate_).ok());
  const v1::Unit handed = Unit(unit.id());
  const int events = Count("wuye_outbox");
  ev::UnitMovedIn m = MoveIn(unit, ev::OCCUPANCY_RENTED, Day(2026, 11, 16));
  ASSERT_TRUE(Deliver("counter.unit.moved_in", group_, m, estate_).ok());
  v1::Unit after = Unit(unit.id());
  EXPECT_EQ(after.occupancy(), v1::OCCUPANCY_RENTED);
  EXPECT_EQ(DateText(after.move_in_date()), "2026-11-16");
  EXPECT_EQ(DateText(after.handover_date()), "2026-11-02");
  EXPECT_TRUE(after.handed_over());
  EXPECT_EQ(after.version(), handed.version() + 1);
  EXPECT_EQ(Count("wuye_outbox"), events + 1);
  auto published = LastUnitUpdated();
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(published->occupancy(), ev::OCCUPANCY_RENTED);
  EXPECT_EQ(published->move_in_date().day(), 16);

  ASSERT_TRUE(Deliver("counter.unit.moved_in", group_, m, estate_).ok());
  EXPECT_EQ(Unit(unit.id()).version(), after.version());
  EXPECT_EQ(Count("wuye_outbox"), events + 1);

  // The owner moves in after the tenant left: a new occupancy, a new version.
  m.set_occupancy(ev::OCCUPANCY_SELF_OCCUPIED);
  ASSERT_TRUE(Deliver("counter.unit.moved_in", group_, m, estate_).ok());
  EXPECT_EQ(Unit(unit.id()).occupancy(), v1::OCCUPANCY_SELF_OCCUPIED);
  EXPECT_EQ(Unit(unit.id()).version(), after.version() + 1);
}

// An event that can never be applied goes to the dead letters (INVALID_ARGUMENT) and
// changes nothing: no occupancy, a missing or impossible day, a move-in before the
// hand-over (as UpdateUnit refuses it), a malformed unit id.
TEST_F(DirectoryCounterEventsTest, AMalformedEventIsRefusedAndChangesNothing) {
  v1::Unit unit = MakeUnit(MakeBuilding(estate_, "3").id(), "301");
  ASSERT_TRUE(
      Deliver("counter.unit.handed_over", group_, HandOver(unit, Day(2026, 11, 9)), estate_).ok());
  const std::string before = Snapshot();
  const int64_t version = Unit(unit.id()).version();
  std::vector<std::pair<std::string, ev::UnitMovedIn>> bad_move_ins;
  bad_move_ins.push_back({"vacant", MoveIn(unit, ev::OCCUPANCY_VACANT, Day(2026, 11, 20))});
  bad_move_ins.push_back({"unset", MoveIn(unit, ev::OCCUPANCY_UNSPECIFIED, Day(2026, 11, 20))});
  bad_move_ins.push_back({"before", MoveIn(unit, ev::OCCUPANCY_RENTED, Day(2026, 11, 8))});
  bad_move_ins.push_back({"no day", MoveIn(unit, ev::OCCUPANCY_RENTED, Day(2026, 11, 20))});
  bad_move_ins.back().second.clear_move_in_date();
  bad_move_ins.push_back({"bad id", MoveIn(unit, ev::OCCUPANCY_RENTED, Day(2026, 11, 20))});
  bad_move_ins.back().second.set_unit_id("not-an-id");
  for (const auto& [name, m] : bad_move_ins) {
    EXPECT_EQ(Deliver("counter.unit.moved_in", group_, m, estate_).code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  ev::UnitHandedOver no_day = HandOver(unit, Day(2026, 11, 9));
  no_day.clear_handover_date();
  EXPECT_EQ(Deliver("counter.unit.handed_over", group_, no_day, estate_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Deliver("counter.unit.handed_over", group_, HandOver(unit, Day(2026, 2, 30)), estate_)
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A payload of another message on a routed type.
  EXPECT_EQ(Deliver("counter.unit.moved_in", group_, no_day, estate_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Unit(unit.id()).version(), version);
}

// Tenancy: a counter event naming a unit of another group (or of another estate than the
// unit's, or no unit at all) is applied as nothing.
TEST_F(DirectoryCounterEventsTest, AnotherGroupsUnitIsLeftAlone) {
  v1::Unit unit = MakeUnit(MakeBuilding(estate_, "4").id(), "401");
  const std::string other_group = MakeGroup("Other Property");
  const std::string before = Snapshot();
  EXPECT_TRUE(
      Deliver("counter.unit.handed_over", other_group, HandOver(unit, Day(2026, 11, 9)), estate_)
          .ok());
  EXPECT_TRUE(Deliver("counter.unit.moved_in", other_group,
                      MoveIn(unit, ev::OCCUPANCY_RENTED, Day(2026, 11, 20)), estate_)
                  .ok());
  ev::UnitHandedOver elsewhere = HandOver(unit, Day(2026, 11, 9));
  elsewhere.set_estate_id(NewId(absl::Now()));
  EXPECT_TRUE(Deliver("counter.unit.handed_over", group_, elsewhere, estate_).ok());
  ev::UnitHandedOver unknown = HandOver(unit, Day(2026, 11, 9));
  unknown.set_unit_id(NewId(absl::Now()));
  EXPECT_TRUE(Deliver("counter.unit.handed_over", group_, unknown, estate_).ok());
  EXPECT_EQ(Snapshot(), before);
  v1::Unit after = Unit(unit.id());
  EXPECT_FALSE(after.handed_over());
  EXPECT_EQ(after.version(), unit.version());
}

}  // namespace
}  // namespace wuye::directory
