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

namespace wuye::counter::testing {
namespace {

// A second read of the merged counter found these; each stays fixed.
TEST_F(CounterServiceTest, AKeyGoesOnlyToStaffOfItsEstateAndALoanRetriedAfterItsDueTimeIsAnswered) {
  pb::CreateKeyRequest create;
  create.set_request_id(Rid());
  create.mutable_opens()->set_estate_id(estate_);
  create.mutable_opens()->set_common_area("plant room B1");
  create.set_number("K-B1-1");
  pb::Key key;
  ASSERT_TRUE(Call(&Stub::CreateKey, agent_tok_, create, &key).ok());

  pb::LendKeyRequest lend;
  lend.set_request_id(Rid());
  lend.set_key_id(key.id());
  lend.set_borrower_staff_id(Staff(other_estate_));  // works at the other estate only
  lend.set_purpose("pump inspection");
  pb::KeyLoan loan;
  grpc::Status st = Call(&Stub::LendKey, agent_tok_, lend, &loan);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Query("SELECT count(*) FROM key_loans"), 0);

  lend.set_request_id(Rid());
  lend.set_borrower_staff_id(guard_);
  *lend.mutable_due_time() = ToProtoTime(clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(Call(&Stub::LendKey, agent_tok_, lend, &loan).ok());
  // The answer was lost; the desk retries two hours later: the same loan, not a refusal.
  clock_.Set(clock_.Now() + absl::Hours(2));
  pb::KeyLoan again;
  st = Call(&Stub::LendKey, agent_tok_, lend, &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(again.id(), loan.id());
  EXPECT_EQ(Query("SELECT count(*) FROM key_loans"), 1);
}

TEST_F(CounterServiceTest, ACaseNamesNoPhoneNumberAndAnEstateInCapitalsIsTheEstate) {
  pb::CreateCaseRequest req;
  req.set_request_id(Rid());
  req.set_kind(pb::CASE_KIND_NEIGHBOUR_DISPUTE);
  req.mutable_location()->set_estate_id(estate_);
  req.mutable_location()->set_common_area("3栋 corridor");
  req.set_description("noise at night, the neighbour's number is 13812345678");
  pb::Case c;
  grpc::Status st = Call(&Stub::CreateCase, admin_tok_, req, &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "description");

  req.set_request_id(Rid());
  req.set_description("noise at night from the flat above");
  req.mutable_location()->set_estate_id(absl::AsciiStrToUpper(estate_));
  ASSERT_TRUE(Call(&Stub::CreateCase, admin_tok_, req, &c).ok());
  EXPECT_EQ(c.estate_id(), estate_);
  pb::GetCaseRequest get;
  get.set_id(c.id());
  pb::Case got;
  EXPECT_TRUE(Call(&Stub::GetCase, agent_tok_, get, &got).ok());  // an estate-scoped caller
}

}  // namespace
}  // namespace wuye::counter::testing
