// The counter's settings and the copies it keeps of other services' data, over real gRPC
// (counter_test_fixture.h). Each area's own tests are in counter_<area>_service_test.cc.
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {

TEST_F(CounterServiceTest, SettingsStartAtTheSeedsFiguresAndOnlyGroupAdminsChangeThem) {
  pb::Settings got;
  ASSERT_TRUE(Call(&Stub::GetSettings, agent_tok_, pb::GetSettingsRequest(), &got).ok());
  EXPECT_EQ(got.working_hours_size(), 2);
  EXPECT_EQ(got.renovation_deposit_fen(), 200000);

  pb::UpdateSettingsRequest req;
  req.set_request_id(Rid());
  req.mutable_settings()->set_renovation_deposit_fen(300000);
  req.mutable_update_mask()->add_paths("renovation_deposit_fen");
  pb::Settings out;
  EXPECT_EQ(Call(&Stub::UpdateSettings, manager_tok_, req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, req, &out).ok());
  EXPECT_EQ(out.renovation_deposit_fen(), 300000);
  EXPECT_EQ(out.working_hours_size(), 2);  // untouched by the mask
  // The same request again: the same answer; other content with the same id: refused.
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, req, &out).ok());
  req.mutable_settings()->set_renovation_deposit_fen(1);
  grpc::Status reused = Call(&Stub::UpdateSettings, admin_tok_, req, &out);
  EXPECT_EQ(Field(reused), "request_id");

  // Another group's settings are its own.
  ASSERT_TRUE(Call(&Stub::GetSettings, foreign_tok_, pb::GetSettingsRequest(), &got).ok());
  EXPECT_EQ(got.renovation_deposit_fen(), 200000);
}

TEST_F(CounterServiceTest, BadSettingsAreRefusedByFieldAndChangeNothing) {
  pb::UpdateSettingsRequest req;
  req.set_request_id(Rid());
  req.mutable_settings()->set_renovation_deposit_fen(-5);
  req.mutable_update_mask()->add_paths("renovation_deposit_fen");
  pb::Settings out;
  grpc::Status st = Call(&Stub::UpdateSettings, admin_tok_, req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "settings.renovation_deposit_fen");
  req.set_request_id(Rid());
  req.clear_update_mask();
  req.mutable_update_mask()->add_paths("nonsense");
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, req, &out)), "update_mask");
  // An empty request (no mask, no windows) is a whole replacement that fails its checks.
  pb::UpdateSettingsRequest empty;
  empty.set_request_id(Rid());
  EXPECT_EQ(Field(Call(&Stub::UpdateSettings, admin_tok_, empty, &out)), "settings.working_hours");
  EXPECT_EQ(Query("SELECT count(*) FROM settings"), 0);
}

TEST_F(CounterServiceTest, CopiesTakeOnlyNewerVersionsAndStayInTheirGroup) {
  std::string unit = Unit(estate_, "801");
  Unit(estate_, "801", absl::CivilDay(2026, 11, 1), "", unit, 3);
  Unit(estate_, "801", std::nullopt, "", unit, 2);  // late: older than what is kept
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM dir_units WHERE id = '", unit,
                               "' AND handed_over AND version = 3")),
            1);
  // The same unit id from another group does not overwrite it.
  Unit(foreign_estate_, "999", std::nullopt, other_group_, unit, 9);
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM dir_units WHERE id = '", unit,
                               "' AND group_id = '", group_, "' AND version = 3")),
            1);
  std::string ticket = Ticket(estate_);
  Ticket(estate_, ev::TICKET_STATE_CLOSED, "", ticket, 4);
  Ticket(estate_, ev::TICKET_STATE_ANSWERED, "", ticket, 3);
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM intake_tickets WHERE id = '", ticket,
                               "' AND NOT open")),
            1);
}

}  // namespace
}  // namespace wuye::counter::testing
