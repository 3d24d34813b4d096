// The counter's rules of keys and their loans and checks, cards, the registers.
#include "services/counter/registers.h"

#include <gtest/gtest.h>

#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye::counter {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'794'000'000);

std::string Id() { return NewId(kNow); }

google::protobuf::RepeatedPtrField<std::string> Numbers(std::initializer_list<const char*> ns) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const char* n : ns) out.Add(n);
  return out;
}

// ---- keys ----

pb::CreateKeyRequest NewKey() {
  pb::CreateKeyRequest r;
  r.mutable_opens()->set_estate_id(Id());
  r.mutable_opens()->set_unit_id(Id());
  r.set_number("K-3-1203-1");
  r.set_label("entrance door");
  return r;
}

// 003_… 2.3: each key numbered (编号) and classed (分类) by what it opens.
TEST(RegistersRules, NewKeyNeedsItsNumberAndPlace_003_2_3) {
  EXPECT_TRUE(CheckNewKey(NewKey()).ok());
  auto r = NewKey();
  r.mutable_opens()->set_common_area("plant room");
  EXPECT_TRUE(CheckNewKey(r).ok());

  r = NewKey();
  r.mutable_opens()->clear_estate_id();
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "opens.estate_id");
  r = NewKey();
  r.mutable_opens()->clear_place();
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "opens");
  r = NewKey();
  r.mutable_opens()->set_unit_id("1203");
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "opens.unit_id");
  r = NewKey();
  r.mutable_opens()->set_common_area(" ");
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "opens.common_area");
  r = NewKey();
  r.set_number("");
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "number");
  r.set_number(std::string(33, 'K'));
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "number");
  r = NewKey();
  r.set_label(std::string(101, 'x'));
  EXPECT_EQ(ErrorField(CheckNewKey(r)), "label");
}

pb::LendKeyRequest Loan() {
  pb::LendKeyRequest r;
  r.set_key_id(Id());
  r.set_borrower_staff_id(Id());
  r.set_purpose("repair the water pump");
  return r;
}

// 003_… 2.3: 借还、登记 — who took the key and why.
TEST(RegistersRules, LoanNeedsOneBorrowerAndAPurpose_003_2_3) {
  EXPECT_TRUE(CheckLoanRequest(Loan(), kNow).ok());
  auto r = Loan();
  r.clear_borrower_staff_id();
  r.set_borrower_name("王师傅");
  EXPECT_TRUE(CheckLoanRequest(r, kNow).ok());

  r.set_borrower_staff_id(Id());
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "borrower_staff_id");  // both
  r = Loan();
  r.clear_borrower_staff_id();
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "borrower_staff_id");  // neither
  r.set_borrower_name("王师傅 13800138000");
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "borrower_name");  // no phone
  r = Loan();
  r.set_key_id("k1");
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "key_id");
  r = Loan();
  r.set_purpose("");
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "purpose");
  r = Loan();
  *r.mutable_due_time() = ToProtoTime(kNow);
  EXPECT_EQ(ErrorField(CheckLoanRequest(r, kNow)), "due_time");
  *r.mutable_due_time() = ToProtoTime(kNow + absl::Hours(2));
  EXPECT_TRUE(CheckLoanRequest(r, kNow).ok());
}

TEST(RegistersRules, AKeyIsLentOnceAndOnlyFromTheCabinet_003_2_3) {
  EXPECT_TRUE(CanLend(pb::KEY_STATE_IN_CABINET).ok());
  EXPECT_EQ(CanLend(pb::KEY_STATE_LENT).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(CanLend(pb::KEY_STATE_LENT)), "KEY_ALREADY_LENT");
  EXPECT_EQ(ErrorReason(CanLend(pb::KEY_STATE_MISSING)), "KEY_MISSING");
  EXPECT_TRUE(CanReturn(pb::KEY_STATE_LENT).ok());
  EXPECT_EQ(ErrorReason(CanReturn(pb::KEY_STATE_IN_CABINET)), "KEY_NOT_LENT");
  EXPECT_EQ(ErrorReason(CanReturn(pb::KEY_STATE_MISSING)), "KEY_NOT_LENT");
}

// 003_… 2.3 (锁匙核对) and 篇3 一.3 (妥善保管各类钥匙): the count against the ledger.
TEST(RegistersRules, CheckMarksUnfoundKeysMissingAndFoundOnesBack_003_2_3) {
  std::vector<KeyAtCheck> keys = {{"a", "K1", pb::KEY_STATE_IN_CABINET},
                                  {"b", "K2", pb::KEY_STATE_LENT},
                                  {"c", "K3", pb::KEY_STATE_MISSING},
                                  {"d", "K4", pb::KEY_STATE_IN_CABINET},
                                  {"e", "K0", pb::KEY_STATE_MISSING}};
  auto plan = PlanCheck(keys, Numbers({"K1", "K3"}));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->registered, 5);
  EXPECT_EQ(plan->found, 2);
  EXPECT_EQ(plan->lent, 1);
  EXPECT_EQ(plan->missing_numbers, (std::vector<std::string>{"K0", "K4"}));
  ASSERT_EQ(plan->changes.size(), 5u);
  EXPECT_EQ(plan->changes[0].state, pb::KEY_STATE_IN_CABINET);
  EXPECT_EQ(plan->changes[1].state, pb::KEY_STATE_LENT);
  EXPECT_EQ(plan->changes[2].state, pb::KEY_STATE_IN_CABINET);  // found again
  EXPECT_EQ(plan->changes[3].state, pb::KEY_STATE_MISSING);
  EXPECT_EQ(plan->changes[4].state, pb::KEY_STATE_MISSING);

  auto empty = PlanCheck({}, Numbers({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->registered, 0);
}

TEST(RegistersRules, CheckRefusesUnknownRepeatedAndLentNumbers_003_2_3) {
  std::vector<KeyAtCheck> keys = {{"a", "K1", pb::KEY_STATE_IN_CABINET},
                                  {"b", "K2", pb::KEY_STATE_LENT}};
  auto unknown = PlanCheck(keys, Numbers({"K1", "K9"}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(unknown.status()), "found_numbers[1]");
  EXPECT_EQ(ErrorField(PlanCheck(keys, Numbers({"K1", "K1"})).status()), "found_numbers[1]");
  auto lent = PlanCheck(keys, Numbers({"K2"}));
  EXPECT_EQ(lent.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(lent.status()), "KEY_LENT");
}

// ---- cards ----

pb::IssueCardRequest Access() {
  pb::IssueCardRequest r;
  r.set_estate_id(Id());
  r.set_kind(pb::CARD_KIND_ACCESS);
  r.set_number("A-000123");
  r.set_unit_id(Id());
  return r;
}

// 001_… 物业客服领班 4 (IC申领) and 1 (访客卡发放): whose card it is.
TEST(RegistersRules, AccessAndIcCardsNeedAUnitVisitorCardsAHolder_001_Lead_1_4) {
  EXPECT_TRUE(CheckNewCard(Access()).ok());
  auto r = Access();
  r.set_resident_id(Id());
  r.set_kind(pb::CARD_KIND_IC);
  r.set_holder_name("李");
  EXPECT_TRUE(CheckNewCard(r).ok());
  r.clear_unit_id();
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "unit_id");
  r = Access();
  r.set_resident_id("r1");
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "resident_id");

  pb::IssueCardRequest v;
  v.set_estate_id(Id());
  v.set_kind(pb::CARD_KIND_VISITOR);
  v.set_number("V-07");
  EXPECT_EQ(ErrorField(CheckNewCard(v)), "holder_name");
  v.set_holder_name("张先生");
  EXPECT_TRUE(CheckNewCard(v).ok());
  v.set_holder_name(std::string(51, 'z'));
  EXPECT_EQ(ErrorField(CheckNewCard(v)), "holder_name");
  v.set_holder_name("张先生");
  v.set_resident_id(Id());
  EXPECT_EQ(ErrorField(CheckNewCard(v)), "resident_id");

  r = Access();
  r.set_kind(pb::CARD_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "kind");
  r.set_kind(static_cast<pb::CardKind>(9));
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "kind");
  r = Access();
  r.set_number("");
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "number");
  r = Access();
  r.set_estate_id("");
  EXPECT_EQ(ErrorField(CheckNewCard(r)), "estate_id");
}

// 001_… 物业客服领班 4 (退卡): only a card that is out comes back.
TEST(RegistersRules, OnlyAnIssuedCardIsReturnedOrLost_001_Lead_4) {
  EXPECT_TRUE(CardIsOut(pb::CARD_STATE_ISSUED, "number").ok());
  EXPECT_EQ(ErrorReason(CardIsOut(pb::CARD_STATE_RETURNED, "number")), "CARD_NOT_ISSUED");
  EXPECT_EQ(ErrorReason(CardIsOut(pb::CARD_STATE_BLOCKED, "number")), "CARD_NOT_ISSUED");
}

// 001_… 物业客服领班 4 (遗失补办赔偿): the settings' fee for an access or IC card.
TEST(RegistersRules, ReplacementFeeOfTheSettings_001_Lead_4) {
  pb::Settings s = DefaultSettings();
  EXPECT_EQ(ReplacementFee(pb::CARD_KIND_ACCESS, s), 2000);
  EXPECT_EQ(ReplacementFee(pb::CARD_KIND_IC, s), 2000);
  EXPECT_EQ(ReplacementFee(pb::CARD_KIND_VISITOR, s), 0);
  s.set_card_replacement_fee_fen(3500);
  EXPECT_EQ(ReplacementFee(pb::CARD_KIND_IC, s), 3500);
  EXPECT_EQ(CardKindWord(pb::CARD_KIND_ACCESS), "access");
  EXPECT_EQ(CardKindWord(pb::CARD_KIND_IC), "ic");
  EXPECT_EQ(CardKindWord(pb::CARD_KIND_VISITOR), "visitor");
}

// ---- registers ----

pb::CreateRegisterEntryRequest Umbrella() {
  pb::CreateRegisterEntryRequest r;
  r.set_estate_id(Id());
  r.set_kind(pb::REGISTER_KIND_UMBRELLA);
  r.set_description("black umbrella no. 4");
  r.set_person_name("陈女士");
  *r.mutable_due_time() = ToProtoTime(kNow + absl::Hours(24));
  return r;
}

// 001_… 物业客服领班 1 (雨伞租赁, 物品寄存) and 2 (失物招领, 寻物启事): who, what, when.
TEST(RegistersRules, EntryNeedsItsKindItemAndPerson_001_Lead_1_2) {
  EXPECT_TRUE(CheckNewEntry(Umbrella(), kNow).ok());
  auto r = Umbrella();
  r.set_kind(pb::REGISTER_KIND_FOUND_ITEM);
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "due_time");  // not for a found item
  r.clear_due_time();
  r.set_kept_at("shelf 2");
  EXPECT_TRUE(CheckNewEntry(r, kNow).ok());

  r = Umbrella();
  *r.mutable_due_time() = ToProtoTime(kNow - absl::Hours(1));
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "due_time");
  r = Umbrella();
  r.set_kind(pb::REGISTER_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "kind");
  r = Umbrella();
  r.set_description("");
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "description");
  r.set_description("wallet, call 13800138000");
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "description");
  r = Umbrella();
  r.set_person_name("");
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "person_name");
  r = Umbrella();
  r.set_unit_id("1203");
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "unit_id");
  r = Umbrella();
  r.set_kept_at(std::string(101, 's'));
  EXPECT_EQ(ErrorField(CheckNewEntry(r, kNow)), "kept_at");
}

TEST(RegistersRules, ClosingNeedsToWhom_001_Lead_2) {
  pb::CloseRegisterEntryRequest r;
  r.set_entry_id(Id());
  r.set_closed_to_name("陈女士");
  EXPECT_TRUE(CheckCloseEntry(r).ok());
  r.set_matched_entry_id(r.entry_id());
  EXPECT_EQ(ErrorField(CheckCloseEntry(r)), "matched_entry_id");
  r.set_matched_entry_id("x");
  EXPECT_EQ(ErrorField(CheckCloseEntry(r)), "matched_entry_id");
  r.clear_matched_entry_id();
  r.set_closed_to_name("");
  EXPECT_EQ(ErrorField(CheckCloseEntry(r)), "closed_to_name");
}

// 001_… 物业客服领班 2: a found item (失物招领) answers a loss report (寻物启事) of the estate.
TEST(RegistersRules, AFoundItemMatchesALossReportOfTheEstateOnce_001_Lead_2) {
  EntryAtClose found{"f", "e1", pb::REGISTER_KIND_FOUND_ITEM, false};
  EntryAtClose lost{"l", "e1", pb::REGISTER_KIND_LOST_REPORT, false};
  EXPECT_TRUE(CanClose(found, nullptr).ok());
  EXPECT_TRUE(CanClose(found, &lost).ok());
  EXPECT_TRUE(CanClose(lost, &found).ok());

  EntryAtClose closed = found;
  closed.closed = true;
  EXPECT_EQ(ErrorReason(CanClose(closed, nullptr)), "ALREADY_CLOSED");
  EntryAtClose lost_closed = lost;
  lost_closed.closed = true;
  EXPECT_EQ(ErrorReason(CanClose(found, &lost_closed)), "ALREADY_CLOSED");
  EntryAtClose elsewhere = lost;
  elsewhere.estate_id = "e2";
  EXPECT_EQ(ErrorField(CanClose(found, &elsewhere)), "matched_entry_id");
  EntryAtClose other_found{"g", "e1", pb::REGISTER_KIND_FOUND_ITEM, false};
  EXPECT_EQ(ErrorField(CanClose(found, &other_found)), "matched_entry_id");
  EntryAtClose storage{"s", "e1", pb::REGISTER_KIND_STORAGE, false};
  EXPECT_EQ(ErrorField(CanClose(storage, &lost)), "matched_entry_id");
}

}  // namespace
}  // namespace wuye::counter
