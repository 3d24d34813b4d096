// The counter's rules of violation and dispute cases, their actions and inspections.
#include "services/counter/cases.h"

#include <gtest/gtest.h>

#include "shared/status.h"

namespace wuye::counter {
namespace {

pb::Case Open() {
  pb::Case c;
  c.set_id("c");
  c.set_estate_id("e");
  c.set_kind(pb::CASE_KIND_ILLEGAL_BUILDING);
  c.mutable_location()->set_estate_id("e");
  c.mutable_location()->set_unit_id("u");
  c.set_state(pb::CASE_STATE_OPEN);
  c.set_owner_staff_id("s");
  return c;
}

TEST(CaseRules, ANewCaseHasAKindAndADescription) {
  pb::CreateCaseRequest req;
  req.set_kind(pb::CASE_KIND_CHANGE_OF_USE);
  req.set_description("shop run in a flat");
  EXPECT_TRUE(CheckNewCase(req).ok());
  req.set_kind(pb::CASE_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckNewCase(req)), "kind");
  req.set_kind(static_cast<pb::CaseKind>(99));
  EXPECT_EQ(ErrorField(CheckNewCase(req)), "kind");
  req.set_kind(pb::CASE_KIND_RULES_BREACH);
  req.set_description(" ");
  EXPECT_EQ(ErrorField(CheckNewCase(req)), "description");
  req.set_description(std::string(1001, 'x'));
  EXPECT_EQ(ErrorField(CheckNewCase(req)), "description");
}

// 000_… 二.7 (勸告、報告並協助有關部門依法處理) and 二.8 (告知、勸阻、制止; 協調): the steps.
TEST(CaseRules, Clause7And8ActionsNeedANoteAndAReportItsAuthority) {
  pb::Case c = Open();
  pb::RecordCaseActionRequest req;
  req.set_kind(pb::CASE_ACTION_KIND_ADVICE);
  req.set_note("told the owner to remove it");
  EXPECT_TRUE(CheckCaseAction(c, req).ok());
  req.set_kind(pb::CASE_ACTION_KIND_REPORT_TO_AUTHORITY);
  EXPECT_EQ(ErrorField(CheckCaseAction(c, req)), "authority");
  req.set_authority("urban management bureau");
  EXPECT_TRUE(CheckCaseAction(c, req).ok());
  req.set_kind(pb::CASE_ACTION_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckCaseAction(c, req)), "kind");
  req.set_kind(pb::CASE_ACTION_KIND_NOTE);
  req.clear_note();
  EXPECT_EQ(ErrorField(CheckCaseAction(c, req)), "note");
  req.set_note("again");
  c.set_state(pb::CASE_STATE_CLOSED);
  EXPECT_EQ(ErrorReason(CheckCaseAction(c, req)), "CASE_CLOSED");
}

// 000_… 二.7–9: 處理過程及處理結果必須形成書面材料, 由相關責任人簽字, 整理后存檔.
TEST(CaseRules, Clause7To9ClosingNeedsTheSignedRecordAndItsSigner) {
  pb::Case c = Open();
  pb::CloseCaseRequest req;
  req.set_outcome(pb::CASE_OUTCOME_CORRECTED);
  absl::Status st = CheckClose(c, req);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(st), "NO_SIGNED_RECORD");
  req.mutable_signed_record()->set_uri("oss://e/cases/c/record.pdf");
  EXPECT_EQ(ErrorReason(CheckClose(c, req)), "NO_SIGNED_RECORD");  // no signer
  req.set_signed_by("Owner of 1203");
  EXPECT_TRUE(CheckClose(c, req).ok());
  req.set_signed_by(std::string(101, 'x'));
  EXPECT_EQ(ErrorField(CheckClose(c, req)), "signed_by");
  req.set_signed_by("Owner");
  req.mutable_signed_record()->set_uri("bad\x01uri");
  EXPECT_EQ(ErrorField(CheckClose(c, req)), "signed_record.uri");
  req.mutable_signed_record()->set_uri("oss://x");
  req.set_outcome(pb::CASE_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckClose(c, req)), "outcome");
  req.set_outcome(pb::CASE_OUTCOME_SETTLED);
  c.set_state(pb::CASE_STATE_CLOSED);
  EXPECT_EQ(ErrorReason(CheckClose(c, req)), "CASE_CLOSED");
}

// 000_… 二.7–9: 定期或不定期進行檢查, 如發現未處理 … 扣50分: an unhandled finding says why.
TEST(CaseRules, Clause7To9AnInspectionThatFindsItUnhandledSaysWhy) {
  pb::InspectCaseRequest req;
  req.set_handled(true);
  EXPECT_TRUE(CheckInspection(req).ok());
  req.set_handled(false);
  EXPECT_EQ(ErrorField(CheckInspection(req)), "note");
  req.set_note("no advice given in two weeks");
  EXPECT_TRUE(CheckInspection(req).ok());
}

TEST(CaseRules, TheEventNamesTheKindTheUnitAndTheOwner) {
  pb::Case c = Open();
  auto e = CaseEvent(c, absl::UnixEpoch());
  EXPECT_EQ(e.kind(), "illegal_building");
  EXPECT_EQ(e.unit_id(), "u");
  EXPECT_EQ(e.owner_staff_id(), "s");
  EXPECT_FALSE(e.closed());
  c.mutable_location()->set_common_area("car park");
  c.set_kind(pb::CASE_KIND_NEIGHBOUR_DISPUTE);
  c.set_state(pb::CASE_STATE_CLOSED);
  e = CaseEvent(c, absl::UnixEpoch());
  EXPECT_EQ(e.unit_id(), "");
  EXPECT_EQ(e.kind(), "neighbour_dispute");
  EXPECT_TRUE(e.closed());
  EXPECT_EQ(CaseKindName(pb::CASE_KIND_RENOVATION_DAMAGE), "renovation_damage");
}

}  // namespace
}  // namespace wuye::counter
