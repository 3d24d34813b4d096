// The elderly-care domain at its boundaries: age 59y364d / 60 exactly, leap days, lease of
// a year, ID check characters, fees.
#include "services/eldercare/eldercare.h"

#include <gtest/gtest.h>

#include "shared/status.h"

namespace wuye::eldercare {
namespace {

namespace ev = ::wuye::events::v1;
using absl::CivilDay;

ResidentFacts Owner(CivilDay dob) { return {dob, ResidentRole::kOwner, {}, {}}; }
ResidentFacts Tenant(CivilDay dob, CivilDay start, CivilDay end) {
  return {dob, ResidentRole::kTenant, start, end};
}

TEST(ElderAgeTest, CompletedYearsAtTheBirthdayBoundary) {
  CivilDay dob(1966, 3, 7);
  EXPECT_EQ(AgeInYears(dob, CivilDay(2026, 3, 6)), 59);  // 59 years 364 days
  EXPECT_EQ(AgeInYears(dob, CivilDay(2026, 3, 7)), 60);  // 60 exactly
  EXPECT_EQ(AgeInYears(dob, CivilDay(2026, 3, 8)), 60);
  EXPECT_EQ(AgeInYears(dob, CivilDay(1966, 3, 7)), 0);
}

TEST(ElderAgeTest, LeapDayBirthdaysTurnOverOnTheFirstOfMarch) {
  CivilDay dob(1964, 2, 29);
  EXPECT_EQ(AgeInYears(dob, CivilDay(2024, 2, 28)), 59);
  EXPECT_EQ(AgeInYears(dob, CivilDay(2024, 2, 29)), 60);  // a leap year: the day itself
  CivilDay dob2(1965, 3, 1);
  EXPECT_EQ(AgeInYears(CivilDay(1964, 2, 29), CivilDay(2025, 2, 28)), 60);
  EXPECT_EQ(AgeInYears(dob2, CivilDay(2025, 2, 28)), 59);
  EXPECT_EQ(AgeInYears(CivilDay(1968, 2, 29), CivilDay(2028, 2, 28)), 59);
  EXPECT_EQ(AgeInYears(CivilDay(1967, 2, 28), CivilDay(2027, 2, 28)), 60);
}

TEST(ElderEligibilityTest, SixtyOnTheEnrolmentDateAndNotADayEarlier) {
  CivilDay dob(1966, 3, 7);
  absl::Status young = CheckEligible(Owner(dob), CivilDay(2026, 3, 6));
  EXPECT_EQ(young.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(young), "UNDER_60");
  EXPECT_TRUE(CheckEligible(Owner(dob), CivilDay(2026, 3, 7)).ok());
}

TEST(ElderEligibilityTest, UnknownBirthDateFamilyAndUnspecifiedRolesAreRefused) {
  ResidentFacts none;
  none.role = ResidentRole::kOwner;
  EXPECT_EQ(ErrorReason(CheckEligible(none, CivilDay(2026, 1, 1))), "DATE_OF_BIRTH_UNKNOWN");
  ResidentFacts family = Owner(CivilDay(1950, 1, 1));
  family.role = ResidentRole::kFamily;
  EXPECT_EQ(ErrorReason(CheckEligible(family, CivilDay(2026, 1, 1))), "NOT_OWNER_OR_TENANT");
  family.role = ResidentRole::kUnspecified;
  EXPECT_EQ(ErrorReason(CheckEligible(family, CivilDay(2026, 1, 1))), "NOT_OWNER_OR_TENANT");
}

TEST(ElderEligibilityTest, TenantsNeedACurrentLeaseOfAYearOrMore) {
  CivilDay dob(1950, 1, 1), on(2026, 6, 1);
  // Exactly a year, inclusive: 2026-03-01 .. 2027-02-28.
  EXPECT_TRUE(CheckEligible(Tenant(dob, CivilDay(2026, 3, 1), CivilDay(2027, 2, 28)), on).ok());
  // One day short.
  EXPECT_EQ(
      ErrorReason(CheckEligible(Tenant(dob, CivilDay(2026, 3, 1), CivilDay(2027, 2, 27)), on)),
      "LEASE_UNDER_A_YEAR");
  // 11 months.
  EXPECT_EQ(
      ErrorReason(CheckEligible(Tenant(dob, CivilDay(2026, 1, 1), CivilDay(2026, 11, 30)), on)),
      "LEASE_UNDER_A_YEAR");
  // Long enough but over, or not started.
  EXPECT_EQ(
      ErrorReason(CheckEligible(Tenant(dob, CivilDay(2024, 1, 1), CivilDay(2026, 5, 31)), on)),
      "LEASE_NOT_CURRENT");
  EXPECT_EQ(ErrorReason(CheckEligible(Tenant(dob, CivilDay(2026, 6, 2), CivilDay(2028, 1, 1)), on)),
            "LEASE_NOT_CURRENT");
  ResidentFacts no_lease{dob, ResidentRole::kTenant, {}, {}};
  EXPECT_EQ(ErrorReason(CheckEligible(no_lease, on)), "LEASE_UNKNOWN");
  // An old tenant is still refused for a short lease; a young one for age first.
  EXPECT_EQ(ErrorReason(CheckEligible(
                Tenant(CivilDay(1990, 1, 1), CivilDay(2026, 1, 1), CivilDay(2030, 1, 1)), on)),
            "UNDER_60");
}

TEST(ElderLeaseTest, AYearFromTheTwentyNinthOfFebruary) {
  EXPECT_TRUE(LeaseIsAYearOrMore(CivilDay(2024, 2, 29), CivilDay(2025, 2, 28)));
  EXPECT_FALSE(LeaseIsAYearOrMore(CivilDay(2024, 2, 29), CivilDay(2025, 2, 27)));
  EXPECT_TRUE(LeaseIsAYearOrMore(CivilDay(2026, 1, 1), CivilDay(2026, 12, 31)));
  EXPECT_FALSE(LeaseIsAYearOrMore(CivilDay(2026, 1, 1), CivilDay(2026, 12, 30)));
}

TEST(ElderIdNumberTest, CheckCharactersOfGb11643) {
  EXPECT_EQ(IdCheckCharacter("11010519491231002"), 'X');
  EXPECT_EQ(IdCheckCharacter("11010519660307123"), '9');
  EXPECT_EQ(IdCheckCharacter("44030419640229004"), '9');
  EXPECT_EQ(IdCheckCharacter("31010119651124321"), '8');
}

TEST(ElderIdNumberTest, ValidNumbersAreCanonicalisedAndBadOnesNamed) {
  CivilDay today(2026, 11, 24);
  auto ok = CanonicalIdNumber("11010519491231002x", "id_number", today);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "11010519491231002X");
  EXPECT_EQ(IdBirthDate(*ok), CivilDay(1949, 12, 31));
  EXPECT_TRUE(CanonicalIdNumber("440304196402290049", "id_number", today).ok());  // leap day

  for (const char* bad : {"", "1101051949123100", "11010519491231002X1", "1101051949123100AX",
                          "110105194912310021",     // wrong check character
                          "110105196502290041",     // 1965-02-29 does not exist
                          "110105202612310010"}) {  // born after today
    auto st = CanonicalIdNumber(bad, "id_number", today);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(st.status()), "id_number");
    // The message never echoes the value.
    if (*bad) {
      EXPECT_EQ(std::string(st.status().message()).find(bad), std::string::npos);
    }
  }
}

TEST(ElderInputTest, PhonesTextsAndDates) {
  EXPECT_EQ(*CanonicalPhone("+86 138-0013-8000", "p"), "+8613800138000");
  EXPECT_FALSE(CanonicalPhone("123456", "p").ok());
  EXPECT_FALSE(CanonicalPhone("1380013800a", "p").ok());
  EXPECT_FALSE(CanonicalPhone("1234567890123456", "p").ok());
  // Texts: shared/text.h (text_test.cc); here, which fields are one line.
  v1::HealthCard card;
  EXPECT_TRUE(CheckHealthCard(card, "card").ok());
  card.set_drug_allergies("青霉素\n磺胺类");  // free text may span lines
  EXPECT_TRUE(CheckHealthCard(card, "card").ok());
  card.set_blood_type("A\nB");
  EXPECT_EQ(ErrorField(CheckHealthCard(card, "card")), "card.blood_type");
  card.set_blood_type("AB");
  card.set_food_taboos(std::string(2001, 'x'));
  EXPECT_EQ(ErrorField(CheckHealthCard(card, "card")), "card.food_taboos");
  v1::Date d;
  d.set_year(2026);
  d.set_month(2);
  d.set_day(29);
  EXPECT_EQ(ErrorField(DayOf(d, "day").status()), "day");
  d.set_day(28);
  EXPECT_EQ(*DayOf(d, "day"), CivilDay(2026, 2, 28));
  EXPECT_EQ(ErrorField(DayOf(v1::Date(), "day").status()), "day");
}

// 004_… 5.2.1–5.2.5: the enrolment charges each item once, at the seed's figures by default.
TEST(ElderFeesTest, EnrolmentChargesEveryItemOnce) {
  auto lines = EnrolmentCharges(CivilDay(2026, 11, 24), Fees{});
  ASSERT_EQ(lines.size(), 4u);
  int64_t total = 0;
  for (const auto& l : lines) {
    EXPECT_EQ(l.payer, ev::ELDER_FEE_PAYER_RESIDENT);
    total += l.amount_fen;
  }
  EXPECT_EQ(total, 100000 + 10000 + 5000 + 300000);
  FeeLine refund = DepositRefund(kEmergencyDepositFen, "dep-1");
  EXPECT_EQ(refund.amount_fen, kEmergencyDepositFen);
  EXPECT_EQ(refund.settles_charge_id, "dep-1");
  EXPECT_EQ(CheckupAdvance(30000, CivilDay(2026, 1, 1)).amount_fen, 30000);
}

// 004_… 备注: the fees may be lowered to local levels; a fee set to 0 is not charged.
TEST(ElderFeesTest, FeesAreSettingsEstateOverGroupOverSeed) {
  v1::ElderFees group, estate;
  EXPECT_EQ(ResolveFees(group, estate).service_year, 100000);
  group.set_service_year_fen(60000);
  group.set_health_card_fen(3000);
  estate.set_service_year_fen(0);
  Fees f = ResolveFees(group, estate);
  EXPECT_EQ(f.service_year, 0);
  EXPECT_EQ(f.health_card, 3000);
  EXPECT_EQ(f.emergency_deposit, 300000);
  auto lines = EnrolmentCharges(CivilDay(2026, 11, 24), f);
  ASSERT_EQ(lines.size(), 3u);  // no service-year charge of 0
  EXPECT_EQ(lines[0].kind, ev::ELDER_FEE_KIND_FAMILY_CALL_FUND);
  v1::ElderFees bad;
  bad.set_sickbed_day_fen(-1);
  EXPECT_EQ(ErrorField(CheckFees(bad, "fees")), "fees.sickbed_day_fen");
  bad.Clear();
  bad.set_family_call_fund_fen(100);
  bad.set_family_call_fen(200);
  EXPECT_EQ(ErrorField(CheckFees(bad, "fees")), "fees.family_call_fen");
}

// 004_… 备注: "关于各种收费金额，要根据当地人民消费水平酌情降低": each of the seed's figures may
// be lowered, to 0, and kept, but not raised; the family call (no figure in the seed) only
// stays within the fund.
TEST(ElderFeesTest, TheSeedsFiguresMayBeLoweredNotRaised) {
  const Fees seed;
  const std::pair<void (v1::ElderFees::*)(int64_t), int64_t> figures[] = {
      {&v1::ElderFees::set_service_year_fen, seed.service_year},
      {&v1::ElderFees::set_family_call_fund_fen, seed.family_call_fund},
      {&v1::ElderFees::set_health_card_fen, seed.health_card},
      {&v1::ElderFees::set_checkup_advance_fen, seed.checkup_advance},
      {&v1::ElderFees::set_emergency_deposit_fen, seed.emergency_deposit},
      {&v1::ElderFees::set_sickbed_day_fen, seed.sickbed_day},
      {&v1::ElderFees::set_hospice_day_fen, seed.hospice_day},
      {&v1::ElderFees::set_clinic_management_day_fen, seed.clinic_management_day}};
  for (const auto& [set, figure] : figures) {
    for (int64_t v : {int64_t{0}, figure / 2, figure}) {
      v1::ElderFees fees;
      (fees.*set)(v);
      EXPECT_TRUE(CheckFees(fees, "fees").ok()) << v;
    }
    v1::ElderFees raised;
    (raised.*set)(figure + 1);
    absl::Status st = CheckFees(raised, "fees");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("may be lowered, not raised"), absl::string_view::npos)
        << st.message();
  }
  v1::ElderFees call;
  call.set_family_call_fen(seed.family_call * 3);  // within the seed's fund of 10000
  EXPECT_TRUE(CheckFees(call, "fees").ok());
}

// 004_… 5.2.4 / 5.6: the checkup's 300 is settled at actual cost, 多还少补.
TEST(ElderFeesTest, CheckupSettlesAtActualCost) {
  EXPECT_FALSE(CheckupSettlement(30000, 30000, "a").has_value());
  auto more = CheckupSettlement(30000, 34500, "a");
  ASSERT_TRUE(more.has_value());
  EXPECT_EQ(more->kind, ev::ELDER_FEE_KIND_CHECKUP_TOP_UP);
  EXPECT_EQ(more->amount_fen, 4500);
  EXPECT_EQ(more->settles_charge_id, "a");
  auto less = CheckupSettlement(30000, 26000, "a");
  ASSERT_TRUE(less.has_value());
  EXPECT_EQ(less->kind, ev::ELDER_FEE_KIND_CHECKUP_RETURN);
  EXPECT_EQ(less->amount_fen, 4000);
}

// 004_… 5.2.4 (全面體檢的費用每人、每次300元…按每次體檢實際發生的費用進行結算): a checkup costs
// what it actually cost; with no cost given, the advance; with neither, it is refused.
TEST(ElderFeesTest, ACheckupCostsItsActualCostElseTheAdvance) {
  EXPECT_EQ(*CheckupCost(34500, 30000), 34500);
  EXPECT_EQ(*CheckupCost(26000, 30000), 26000);
  EXPECT_EQ(*CheckupCost(0, 30000), 30000);
  EXPECT_EQ(*CheckupCost(12000, 0), 12000);
  EXPECT_EQ(ErrorField(CheckupCost(0, 0).status()), "checkup.cost_fen");
}

// 004_… 5.2.2 (親情電話聯系話費…由管理處負責保管與使用): a call costs what the desk recorded,
// else the estate's price of a call; a call recorded as free costs nothing.
TEST(ElderFeesTest, AFamilyCallCostsWhatWasRecordedElseTheEstatesPrice) {
  Fees f;
  f.family_call = 300;
  EXPECT_EQ(FamilyCallCost(std::nullopt, f), 300);
  EXPECT_EQ(FamilyCallCost(450, f), 450);
  EXPECT_EQ(FamilyCallCost(0, f), 0);
  f.family_call = 0;
  EXPECT_EQ(FamilyCallCost(std::nullopt, f), 0);
}

// 004_… 5.2.2: the fund is topped up once it cannot pay the next call.
TEST(ElderFeesTest, FamilyCallFundTopsUpWhenItCannotPayTheNextCall) {
  Fees f;
  EXPECT_FALSE(FundNeedsTopUp(100, f));
  EXPECT_TRUE(FundNeedsTopUp(99, f));
  EXPECT_EQ(FamilyCallFundTopUp(f).amount_fen, 10000);
  f.family_call_fund = 0;  // no fund kept: never topped up
  EXPECT_FALSE(FundNeedsTopUp(-500, f));
}

TEST(ElderFeesTest, CareDaysChargeTheElderAndTheClinic) {
  CivilDay d1(2026, 11, 1), d7(2026, 11, 7);
  auto lines =
      CareDayCharges({{v1::CARE_KIND_SICKBED, d1, d7, 7},
                      {v1::CARE_KIND_HOSPICE, CivilDay(2026, 11, 8), CivilDay(2026, 11, 9), 2}},
                     Fees{});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].kind, ev::ELDER_FEE_KIND_SICKBED_DAYS);
  EXPECT_EQ(lines[0].amount_fen, 7 * 8000);
  EXPECT_EQ(lines[0].quantity, 7);
  EXPECT_EQ(lines[0].description, "home sick-bed care, 2026-11-01..2026-11-07");
  EXPECT_EQ(lines[1].kind, ev::ELDER_FEE_KIND_HOSPICE_DAYS);
  EXPECT_EQ(lines[1].amount_fen, 2 * 10000);
  EXPECT_EQ(lines[2].kind, ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE);
  EXPECT_EQ(lines[2].payer, ev::ELDER_FEE_PAYER_CLINIC);
  EXPECT_EQ(lines[2].amount_fen, 9 * 1000);
  EXPECT_EQ(lines[2].quantity, 9);
  EXPECT_TRUE(CareDayCharges({}, Fees{}).empty());
}

TEST(ElderScheduleTest, VisitsAndServiceYears) {
  EXPECT_EQ(NextVisitDue(CivilDay(2026, 12, 28), 7), CivilDay(2027, 1, 4));
  EXPECT_EQ(OneYearAfter(CivilDay(2026, 11, 24)), CivilDay(2027, 11, 24));
  EXPECT_EQ(OneYearAfter(CivilDay(2024, 2, 29)), CivilDay(2025, 3, 1));
}

}  // namespace
}  // namespace wuye::eldercare
