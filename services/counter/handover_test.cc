// The counter's rules of hand-over, move-in and defects.
#include "services/counter/handover.h"

#include <gtest/gtest.h>

#include "shared/id_number.h"
#include "shared/status.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::counter {
namespace {

using absl::CivilDay;
namespace ev = ::wuye::events::v1;

std::string IdFor(CivilDay birth, const std::string& seq = "123") {
  char first17[18];
  std::snprintf(first17, sizeof first17, "110105%04d%02d%02d%s", static_cast<int>(birth.year()),
                birth.month(), birth.day(), seq.c_str());
  return std::string(first17) + IdCheckCharacter(first17);
}

// 002_… 第七章 4: 业主登记 → 签约 → 交费 → 钥匙及资料交接 → 抄表 → 验房, each step only from
// the one before.
TEST(HandoverStepsTest, EachStepOnlyFromThePreviousState_002_Chapter7_4) {
  const pb::HandoverState order[] = {
      pb::HANDOVER_STATE_NOTIFIED,    pb::HANDOVER_STATE_REGISTERED,
      pb::HANDOVER_STATE_SIGNED,      pb::HANDOVER_STATE_KEYS_HANDED_OVER,
      pb::HANDOVER_STATE_METERS_READ, pb::HANDOVER_STATE_COMPLETED};
  for (int step = 0; step + 1 < 6; ++step) {
    for (pb::HandoverState state : order) {
      absl::Status st = CheckHandoverStep(state, order[step], "Step");
      if (state == order[step]) {
        EXPECT_TRUE(st.ok());
      } else {
        EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_EQ(ErrorReason(st), "HANDOVER_OUT_OF_ORDER");
        EXPECT_NE(std::string(st.message()).find("Step only in state"), std::string::npos);
      }
    }
  }
  EXPECT_FALSE(HandedOver(pb::HANDOVER_STATE_REGISTERED));
  EXPECT_TRUE(HandedOver(pb::HANDOVER_STATE_SIGNED));
  EXPECT_TRUE(HandedOver(pb::HANDOVER_STATE_COMPLETED));
}

TEST(HandoverOwnerTest, OnlyAnOwnerOfTheUnitWhoHasNotMovedOut) {
  CivilDay today(2026, 11, 9);
  EXPECT_TRUE(CheckOwner(ev::RESIDENT_ROLE_OWNER, "u1", "u1", std::nullopt, today).ok());
  // Moving out later does not matter yet.
  EXPECT_TRUE(CheckOwner(ev::RESIDENT_ROLE_OWNER, "u1", "u1", CivilDay(2026, 12, 1), today).ok());
  for (auto st : {CheckOwner(ev::RESIDENT_ROLE_TENANT, "u1", "u1", std::nullopt, today),
                  CheckOwner(ev::RESIDENT_ROLE_FAMILY, "u1", "u1", std::nullopt, today),
                  CheckOwner(0, "u1", "u1", std::nullopt, today),  // removed from the directory
                  CheckOwner(ev::RESIDENT_ROLE_OWNER, "u2", "u1", std::nullopt, today),
                  CheckOwner(ev::RESIDENT_ROLE_OWNER, "u1", "u1", today, today)}) {
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ErrorReason(st), "NOT_THE_OWNER");
  }
}

TEST(HandoverOwnerTest, TheIdNumberIsValidAndCarriesTheResidentsBirthDate) {
  CivilDay today(2026, 11, 9), born(1980, 5, 17);
  std::string id = IdFor(born);
  EXPECT_EQ(*CheckOwnerIdNumber(id, born, today), id);
  EXPECT_EQ(*CheckOwnerIdNumber(id, std::nullopt, today), id);  // no date of birth known
  std::string lower = IdFor(CivilDay(1949, 12, 31), "002");     // ends in X
  ASSERT_EQ(lower.back(), 'X');
  lower.back() = 'x';
  EXPECT_TRUE(CheckOwnerIdNumber(lower, std::nullopt, today).ok());
  std::string wrong_check = id;
  wrong_check.back() = wrong_check.back() == '0' ? '1' : '0';
  for (const std::string& bad :
       {wrong_check, IdFor(CivilDay(1981, 5, 17)), std::string("123"), std::string()}) {
    auto st = CheckOwnerIdNumber(bad, born, today);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(st.status()), "id_number");
    if (!bad.empty()) {
      EXPECT_EQ(std::string(st.status().message()).find(bad), std::string::npos);
    }
  }
}

TEST(HandoverInputTest, FileRefsKeysAndMeterValues) {
  pb::FileRef ref;
  EXPECT_EQ(ErrorField(CheckFileRef(ref, "signature")), "signature.uri");
  ref.set_uri("oss://estate-3/handover/1203/keys.pdf");
  EXPECT_TRUE(CheckFileRef(ref, "signature").ok());
  ref.set_title(std::string(101, 'a'));
  EXPECT_EQ(ErrorField(CheckFileRef(ref, "signature")), "signature.title");

  google::protobuf::RepeatedPtrField<pb::FileRef> refs;
  EXPECT_EQ(ErrorField(CheckFileRefs(refs, "agreements", 1, 10)), "agreements");
  EXPECT_TRUE(CheckFileRefs(refs, "photos", 0, 10).ok());
  for (int i = 0; i < 11; ++i) refs.Add()->set_uri("oss://x");
  EXPECT_EQ(ErrorField(CheckFileRefs(refs, "photos", 0, 10)), "photos");

  google::protobuf::RepeatedPtrField<pb::KeySet> keys;
  EXPECT_EQ(ErrorField(CheckKeySets(keys, "keys")), "keys");
  pb::KeySet* k = keys.Add();
  k->set_kind("entrance door");
  k->set_count(3);
  EXPECT_TRUE(CheckKeySets(keys, "keys").ok());
  k->set_count(0);
  EXPECT_EQ(ErrorField(CheckKeySets(keys, "keys")), "keys[0].count");
  k->set_count(51);
  EXPECT_EQ(ErrorField(CheckKeySets(keys, "keys")), "keys[0].count");
  k->set_count(1);
  k->set_kind("");
  EXPECT_EQ(ErrorField(CheckKeySets(keys, "keys")), "keys[0].kind");

  EXPECT_EQ(*CanonicalMeterValue("0", "v"), "0");
  EXPECT_EQ(*CanonicalMeterValue("0012.5", "v"), "12.5");
  EXPECT_EQ(*CanonicalMeterValue("1234.56", "v"), "1234.56");
  for (const char* bad : {"", ".5", "1.", "1.234", "-1", "1e3", "12,5", "1234567890", " 1"}) {
    EXPECT_EQ(ErrorField(CanonicalMeterValue(bad, "v").status()), "v") << bad;
  }

  google::protobuf::RepeatedPtrField<pb::MeterValue> readings;
  EXPECT_EQ(ErrorField(CheckReadings(&readings, "readings")), "readings");
  pb::MeterValue* water = readings.Add();
  water->set_kind(pb::METER_KIND_WATER);
  water->set_value("007.50");
  EXPECT_TRUE(CheckReadings(&readings, "readings").ok());
  EXPECT_EQ(readings[0].value(), "7.50");
  *readings.Add() = *water;
  EXPECT_EQ(ErrorField(CheckReadings(&readings, "readings")), "readings[1].kind");
  readings[1].set_kind(pb::METER_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckReadings(&readings, "readings")), "readings[1].kind");
  EXPECT_EQ(MeterName(pb::METER_KIND_ELECTRICITY), "electricity");
}

TEST(WarrantyTest, MonthsAreCalendarMonthsAndAMissingDayIsTheMonthsLast) {
  EXPECT_EQ(AddMonths(CivilDay(2026, 11, 9), 24), CivilDay(2028, 11, 9));
  EXPECT_EQ(AddMonths(CivilDay(2026, 1, 31), 1), CivilDay(2026, 2, 28));
  EXPECT_EQ(AddMonths(CivilDay(2024, 2, 29), 12), CivilDay(2025, 2, 28));
  EXPECT_EQ(AddMonths(CivilDay(2026, 8, 31), 6), CivilDay(2027, 2, 28));
}

// 003_… Q3 (answer "5522216"): a defect is under warranty when it is recorded before the
// hand-over day plus its category's months; lamps and switches 6 months, sanitary ware 1
// year, "other" none.
TEST(WarrantyTest, UnderWarrantyBeforeTheHandoverDayPlusTheCategorysMonths_003_Q3) {
  pb::Settings s = DefaultSettings();
  CivilDay handed(2026, 5, 9);
  int lamps = WarrantyMonths(s, pb::DEFECT_CATEGORY_LIGHTING_SWITCHES);
  ASSERT_EQ(lamps, 6);
  Warranty last_day = WarrantyOf(handed, lamps, CivilDay(2026, 11, 8));
  EXPECT_TRUE(last_day.under);
  EXPECT_EQ(*last_day.end, CivilDay(2026, 11, 8));
  Warranty day_after = WarrantyOf(handed, lamps, CivilDay(2026, 11, 9));
  EXPECT_FALSE(day_after.under);
  EXPECT_EQ(*day_after.end, CivilDay(2026, 11, 8));
  EXPECT_TRUE(WarrantyOf(handed, WarrantyMonths(s, pb::DEFECT_CATEGORY_SANITARY_WARE),
                         CivilDay(2026, 11, 9))
                  .under);
  Warranty other = WarrantyOf(handed, WarrantyMonths(s, pb::DEFECT_CATEGORY_OTHER), handed);
  EXPECT_FALSE(other.under);
  EXPECT_FALSE(other.end.has_value());
}

// 000_… 二.11: under warranty the office has the developer repair it; past it, the repair and
// its cost are agreed with the owner; the owner accepts, or rejects and it goes back.
TEST(DefectMovesTest, TheMovesOfDefectState_000_II_11) {
  using S = pb::DefectState;
  const S R = pb::DEFECT_STATE_RECORDED, SENT = pb::DEFECT_STATE_SENT_TO_DEVELOPER,
          AGREED = pb::DEFECT_STATE_AGREED_WITH_OWNER, FIXED = pb::DEFECT_STATE_REPAIRED,
          OK = pb::DEFECT_STATE_ACCEPTED, GONE = pb::DEFECT_STATE_WITHDRAWN;
  auto reason = [](S from, S to, bool under) {
    absl::Status st = CheckDefectMove(from, to, under);
    return st.ok() ? std::string("ok") : ErrorReason(st);
  };
  EXPECT_EQ(reason(R, SENT, true), "ok");
  EXPECT_EQ(reason(R, SENT, false), "NOT_UNDER_WARRANTY");
  EXPECT_EQ(reason(R, AGREED, false), "ok");
  EXPECT_EQ(reason(R, AGREED, true), "UNDER_WARRANTY");
  EXPECT_EQ(reason(R, FIXED, true), "ILLEGAL_STATE_MOVE");
  EXPECT_EQ(reason(R, OK, true), "ILLEGAL_STATE_MOVE");
  EXPECT_EQ(reason(SENT, FIXED, true), "ok");
  EXPECT_EQ(reason(AGREED, FIXED, false), "ok");
  EXPECT_EQ(reason(SENT, OK, true), "ILLEGAL_STATE_MOVE");
  EXPECT_EQ(reason(SENT, SENT, true), "ILLEGAL_STATE_MOVE");
  EXPECT_EQ(reason(FIXED, OK, true), "ok");
  EXPECT_EQ(reason(FIXED, SENT, true), "ok");  // the owner rejected the repair
  EXPECT_EQ(reason(FIXED, AGREED, false), "ok");
  EXPECT_EQ(reason(FIXED, AGREED, true), "UNDER_WARRANTY");
  EXPECT_EQ(reason(FIXED, SENT, false), "NOT_UNDER_WARRANTY");
  for (S from : {R, SENT, AGREED, FIXED}) EXPECT_EQ(reason(from, GONE, true), "ok");
  for (S from : {OK, GONE}) {
    for (S to : {R, SENT, AGREED, FIXED, OK, GONE}) {
      EXPECT_EQ(reason(from, to, true), "DEFECT_CLOSED");
    }
  }
  EXPECT_TRUE(DefectClosed(OK));
  EXPECT_FALSE(DefectClosed(FIXED));
}

TEST(DefectMovesTest, NotesAndTheOwnersSignature) {
  pb::FileRef sig;
  sig.set_uri("oss://estate-3/defects/accept.png");
  EXPECT_EQ(ErrorField(CheckDefectMoveFields(pb::DEFECT_STATE_SENT_TO_DEVELOPER, "", nullptr)),
            "note");
  EXPECT_EQ(ErrorField(CheckDefectMoveFields(pb::DEFECT_STATE_AGREED_WITH_OWNER, " ", nullptr)),
            "note");
  EXPECT_TRUE(
      CheckDefectMoveFields(pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter DEV-118", nullptr).ok());
  EXPECT_TRUE(CheckDefectMoveFields(pb::DEFECT_STATE_REPAIRED, "", nullptr).ok());
  EXPECT_EQ(ErrorField(CheckDefectMoveFields(pb::DEFECT_STATE_ACCEPTED, "", nullptr)), "signature");
  EXPECT_TRUE(CheckDefectMoveFields(pb::DEFECT_STATE_ACCEPTED, "", &sig).ok());
  EXPECT_EQ(ErrorField(CheckDefectMoveFields(pb::DEFECT_STATE_REPAIRED, "", &sig)), "signature");
  EXPECT_EQ(ErrorField(CheckDefectMoveFields(pb::DEFECT_STATE_SENT_TO_DEVELOPER,
                                             "call 138 0013 8000", nullptr)),
            "note");
  EXPECT_EQ(ErrorField(CheckDefectDescription("", "description")), "description");
  EXPECT_TRUE(CheckDefectDescription("master bedroom window frame cracked", "d").ok());
}

// 000_… 二.11: a claim helped to success is a defect accepted after the developer repaired it
// under warranty; one repaired at the owner's cost past it is not.
TEST(DefectMovesTest, AClaimSucceedsWhenTheOwnerAcceptsAWarrantyRepair_000_II_11) {
  EXPECT_TRUE(ClaimSucceeded(pb::DEFECT_STATE_ACCEPTED, true));
  EXPECT_FALSE(ClaimSucceeded(pb::DEFECT_STATE_ACCEPTED, false));
  EXPECT_FALSE(ClaimSucceeded(pb::DEFECT_STATE_REPAIRED, true));
  EXPECT_FALSE(ClaimSucceeded(pb::DEFECT_STATE_WITHDRAWN, true));
}

}  // namespace
}  // namespace wuye::counter
