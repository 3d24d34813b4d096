// Billing's pure domain at its boundaries: decimals, rounding, vacant units, parking,
// tiers, the ±30 % band, meter readings, allocation, ageing and basis points.
#include "services/billing/billing.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "shared/status.h"

namespace wuye::billing {
namespace {

TEST(ParseCenti, AcceptsAtMostTwoDecimalsExactly) {
  EXPECT_EQ(*ParseCenti("89.5", "f"), 8950);
  EXPECT_EQ(*ParseCenti("89.50", "f"), 8950);
  EXPECT_EQ(*ParseCenti("120.25", "f"), 12025);
  EXPECT_EQ(*ParseCenti("0", "f"), 0);
  EXPECT_EQ(*ParseCenti("0.01", "f"), 1);
  EXPECT_EQ(*ParseCenti("7", "f"), 700);
  for (const char* bad : {"", ".5", "5.", "1.234", "-1", "+1", "1e3", "1,5", " 1", "1..2", "a"}) {
    auto r = ParseCenti(bad, "reading.reading");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorField(r.status()), "reading.reading") << bad;
  }
  EXPECT_FALSE(ParseCenti("100000", "f", 100000).ok());
  EXPECT_TRUE(ParseCenti("99999.99", "f", 100000).ok());
  EXPECT_EQ(FormatCenti(8950), "89.50");
  EXPECT_EQ(FormatCenti(1), "0.01");
  EXPECT_EQ(FormatCenti(0), "0.00");
}

TEST(ManagementFee, RoundsHalfUpToTheFen) {
  // 89.50 m² × 1.50 yuan = 134.25 yuan exactly.
  EXPECT_EQ(ManagementFeeFen(8950, 150), 13425);
  // 0.01 m² × 80 fen = 0.8 fen → 1 fen; 0.01 m² × 49 fen = 0.49 → 0; × 50 = 0.5 → 1.
  EXPECT_EQ(ManagementFeeFen(1, 80), 1);
  EXPECT_EQ(ManagementFeeFen(1, 49), 0);
  EXPECT_EQ(ManagementFeeFen(1, 50), 1);
  // 100.33 m² × 1.5 yuan = 150.495 yuan → 150.50 yuan (half up).
  EXPECT_EQ(ManagementFeeFen(10033, 150), 15050);
  // 100.31 m² × 0.8 yuan = 80.248 → 80.25.
  EXPECT_EQ(ManagementFeeFen(10031, 80), 8025);
  // The largest area the directory allows, at a high rate, stays exact in int64.
  EXPECT_EQ(ManagementFeeFen(9999999, 100000), 9999999000);
}

// 003_…, Q4 (已收樓而未入住或未出租的空置物業,每月物業管理服務費由業主交納) and Q6 (業主入住后,
// 每月需交繳梯燈費): a vacant handed-over unit owes the management fee and not the stair
// lighting; a unit lived in or let owes both; a unit not handed over owes nothing.
TEST(MonthlyFees, VacantHandedOverUnitsOweTheManagementFeeButNoStairLighting) {
  v1::FeeSchedule s;
  s.set_stair_lighting_fen(500);
  UnitFacts vacant{8950, 1, kOccupancyVacant, true};
  MonthlyLines lines = MonthlyFees(vacant, s, 150);
  EXPECT_EQ(lines.management_fen, 13425);
  EXPECT_EQ(lines.stair_lighting_fen, 0);
  EXPECT_EQ(lines.total(), 13425);
  for (int occupied : {kOccupancySelfOccupied, kOccupancyRented}) {
    MonthlyLines lived_in = MonthlyFees({8950, 1, occupied, true}, s, 150);
    EXPECT_EQ(lived_in.stair_lighting_fen, 500);
    EXPECT_EQ(lived_in.total(), 13925);
  }
  UnitFacts not_handed{8950, 1, kOccupancyVacant, false};
  EXPECT_EQ(MonthlyFees(not_handed, s, 150).total(), 0);
}

// 003_…, Q6 and the issue's "the first month's fees are prorated from the hand-over or
// move-in date": by the days of the month unless the group reads it otherwise.
TEST(MonthlyFees, TheFirstMonthIsProratedFromHandOverAndMoveIn) {
  v1::FeeSchedule s;
  s.set_stair_lighting_fen(500);
  s.set_parking_sold_fen(6000);
  const absl::CivilMonth nov(2026, 11);  // 30 days
  UnitFacts u{10000, 1, kOccupancySelfOccupied, true};
  u.handover_day = absl::CivilDay(2026, 11, 16);  // 15 of 30 days
  u.move_in_day = absl::CivilDay(2026, 11, 21);   // 10 of 30 days
  MonthlyLines lines = MonthlyFees(u, s, 150, nov);
  EXPECT_EQ(lines.management_fen, 7500);     // 15000 × 15/30
  EXPECT_EQ(lines.stair_lighting_fen, 167);  // 500 × 10/30 = 166.67 → 167
  // Handed over and moved in before the month, or on its first day: the whole month.
  u.handover_day = absl::CivilDay(2026, 10, 3);
  u.move_in_day = absl::CivilDay(2026, 11, 1);
  EXPECT_EQ(MonthlyFees(u, s, 150, nov).total(), 15500);
  // Moved in after the month: no lighting yet; handed over after it: nothing at all.
  u.move_in_day = absl::CivilDay(2026, 12, 1);
  EXPECT_EQ(MonthlyFees(u, s, 150, nov).total(), 15000);
  u.handover_day = absl::CivilDay(2026, 12, 1);
  EXPECT_EQ(MonthlyFees(u, s, 150, nov).total(), 0);
  // On the last day: one day of 30 (15000 / 30 = 500).
  u.handover_day = absl::CivilDay(2026, 11, 30);
  u.move_in_day.reset();
  EXPECT_EQ(MonthlyFees(u, s, 150, nov).management_fen, 500);
  // A parking space is prorated from its hand-over.
  UnitFacts space{1250, kUnitTypeParking, kOccupancySelfOccupied, true};
  space.handover_day = absl::CivilDay(2026, 11, 11);  // 20 of 30 days
  EXPECT_EQ(MonthlyFees(space, s, 150, nov).parking_fen, 4000);
  // The other readings: a 30-day month, or no proration.
  u.handover_day = absl::CivilDay(2027, 1, 16);  // January: 16 of 31 days, or 15 of 30
  const absl::CivilMonth jan(2027, 1);
  EXPECT_EQ(MonthlyFees(u, s, 150, jan, v1::PRORATION_DAYS_OF_MONTH).management_fen,
            7742);  // 15000 × 16/31 = 7741.9
  EXPECT_EQ(MonthlyFees(u, s, 150, jan, v1::PRORATION_THIRTY_DAY_MONTH).management_fen, 7500);
  EXPECT_EQ(MonthlyFees(u, s, 150, jan, v1::PRORATION_WHOLE_MONTH).management_fen, 15000);
  // 30-day reading on the 31st owes no day of it.
  EXPECT_EQ(DaysOwed(absl::CivilDay(2027, 1, 31), jan, v1::PRORATION_THIRTY_DAY_MONTH).days, 0);
  // February has 28 days.
  OwedDays feb =
      DaysOwed(absl::CivilDay(2027, 2, 15), absl::CivilMonth(2027, 2), v1::PRORATION_DAYS_OF_MONTH);
  EXPECT_EQ(feb.days, 14);
  EXPECT_EQ(feb.of, 28);
}

// Issue 20.19: an absolute ceiling per meter kind, a group setting.
TEST(MeterCeiling, AMonthsConsumptionAboveTheKindsCeilingIsRefused) {
  v1::BillingSettings defaults;
  EXPECT_TRUE(CheckConsumptionCeiling(500 * 100, v1::METER_KIND_WATER, defaults).ok());
  absl::Status over = CheckConsumptionCeiling(500 * 100 + 1, v1::METER_KIND_WATER, defaults);
  EXPECT_EQ(over.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(over), "CONSUMPTION_ABOVE_CEILING");
  EXPECT_TRUE(CheckConsumptionCeiling(20000 * 100, v1::METER_KIND_ELECTRICITY, defaults).ok());
  EXPECT_FALSE(CheckConsumptionCeiling(1001 * 100, v1::METER_KIND_GAS, defaults).ok());
  v1::BillingSettings raised;
  raised.set_water_ceiling(2000);
  EXPECT_TRUE(CheckConsumptionCeiling(2000 * 100, v1::METER_KIND_WATER, raised).ok());
  v1::BillingSettings bad;
  bad.set_collection_grace_days(91);
  EXPECT_EQ(ErrorField(CheckBillingSettings(bad, "settings")), "settings.collection_grace_days");
  bad.set_collection_grace_days(0);
  bad.set_gas_ceiling(-1);
  EXPECT_EQ(ErrorField(CheckBillingSettings(bad, "settings")), "settings.gas_ceiling");
  bad.set_gas_ceiling(0);
  bad.set_first_month_proration(static_cast<v1::Proration>(9));
  EXPECT_EQ(ErrorField(CheckBillingSettings(bad, "settings")), "settings.first_month_proration");
}

TEST(MonthlyFees, TypeRatesOverrideTheEstateRateAndParkingPaysByOccupancy) {
  v1::FeeSchedule s;
  auto* shop = s.add_type_rates();
  shop->set_unit_type(wuye::directory::v1::UNIT_TYPE_SHOP);
  shop->set_fen_per_m2(300);
  s.set_parking_rented_fen(15000);
  s.set_parking_sold_fen(6000);
  s.set_parking_vacant_fen(3000);
  s.set_stair_lighting_fen(500);
  EXPECT_EQ(MonthlyFees({10000, 3, kOccupancyRented, true}, s, 150).management_fen, 30000);
  EXPECT_EQ(MonthlyFees({10000, 1, kOccupancyRented, true}, s, 150).management_fen, 15000);
  MonthlyLines rented = MonthlyFees({1250, kUnitTypeParking, kOccupancyRented, true}, s, 150);
  EXPECT_EQ(rented.parking_fen, 15000);
  EXPECT_EQ(rented.management_fen, 0);
  EXPECT_EQ(rented.stair_lighting_fen, 0);
  EXPECT_EQ(MonthlyFees({1250, kUnitTypeParking, kOccupancySelfOccupied, true}, s, 150).total(),
            6000);
  EXPECT_EQ(MonthlyFees({1250, kUnitTypeParking, kOccupancyVacant, true}, s, 150).total(), 3000);
}

v1::Tariff Tiers(std::initializer_list<std::pair<int64_t, int64_t>> tiers) {
  v1::Tariff t;
  t.set_kind(v1::METER_KIND_WATER);
  for (auto [up_to, fen] : tiers) {
    auto* tier = t.add_tiers();
    tier->set_up_to(up_to);
    tier->set_fen_per_unit(fen);
  }
  return t;
}

TEST(Tariff, TiersPriceEachSliceAndRoundOnceAtTheEnd) {
  // Water: 0–20 m³ at 3.45 yuan, 20–30 at 4.83, above at 8.28.
  v1::Tariff t = Tiers({{20, 345}, {30, 483}, {0, 828}});
  EXPECT_TRUE(CheckTariff(t, "t").ok());
  EXPECT_EQ(TieredChargeFen(0, t), 0);
  EXPECT_EQ(TieredChargeFen(2000, t), 6900);                // exactly the first tier
  EXPECT_EQ(TieredChargeFen(2001, t), 6900 + 5);            // 0.01 m³ at 4.83 → 4.83 fen → 5
  EXPECT_EQ(TieredChargeFen(3000, t), 6900 + 4830);         // up to the second bound
  EXPECT_EQ(TieredChargeFen(3550, t), 6900 + 4830 + 4554);  // 5.5 m³ at 8.28
  // 0.01 m³ at 3.45 yuan = 3.45 fen → 3 (below half); 0.03 → 10.35 → 10.
  EXPECT_EQ(TieredChargeFen(1, t), 3);
  EXPECT_EQ(TieredChargeFen(3, t), 10);
  // Sums are exact before the one rounding: 0.02 at 3.45 = 6.9 → 7, not 3 + 3.
  EXPECT_EQ(TieredChargeFen(2, t), 7);
  // A flat tariff.
  EXPECT_EQ(TieredChargeFen(12345, Tiers({{0, 100}})), 12345);
}

TEST(Tariff, BadTiersAreRefusedNamingTheField) {
  EXPECT_EQ(ErrorField(CheckTariff(Tiers({{20, 345}, {10, 400}, {0, 500}}), "t")),
            "t.tiers[1].up_to");
  EXPECT_EQ(ErrorField(CheckTariff(Tiers({{20, 345}}), "t")), "t.tiers[0].up_to");
  EXPECT_EQ(ErrorField(CheckTariff(Tiers({{0, -1}}), "t")), "t.tiers[0].fen_per_unit");
  EXPECT_EQ(ErrorField(CheckTariff(Tiers({}), "t")), "t.tiers");
  v1::Tariff no_kind = Tiers({{0, 1}});
  no_kind.set_kind(v1::METER_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckTariff(no_kind, "t")), "t.kind");
}

TEST(FeeSchedule, DefaultsAndLimits) {
  v1::FeeSchedule s;
  ASSERT_TRUE(PrepareFeeSchedule(s, "schedule").ok());
  EXPECT_EQ(s.due_day(), 15);
  s.set_due_day(29);
  EXPECT_EQ(ErrorField(PrepareFeeSchedule(s, "schedule")), "schedule.due_day");
  s.set_due_day(28);
  s.set_stair_lighting_fen(-1);
  EXPECT_EQ(ErrorField(PrepareFeeSchedule(s, "schedule")), "schedule.stair_lighting_fen");
  s.set_stair_lighting_fen(0);
  auto* r = s.add_type_rates();
  r->set_unit_type(wuye::directory::v1::UNIT_TYPE_PARKING);
  r->set_fen_per_m2(100);
  EXPECT_EQ(ErrorField(PrepareFeeSchedule(s, "schedule")), "schedule.type_rates[0].unit_type");
  r->set_unit_type(wuye::directory::v1::UNIT_TYPE_SHOP);
  r->set_fen_per_m2(0);
  EXPECT_EQ(ErrorField(PrepareFeeSchedule(s, "schedule")), "schedule.type_rates[0].fen_per_m2");
}

TEST(EstatePrice, BandIsThirtyPercentEitherSideWithBoundsIncluded) {
  PriceBand band = EstatePriceBand(10000);
  EXPECT_EQ(band.min_fen, 7000);
  EXPECT_EQ(band.max_fen, 13000);
  EXPECT_TRUE(CheckEstatePrice(7000, 10000, "price.price_fen").ok());
  EXPECT_TRUE(CheckEstatePrice(13000, 10000, "price.price_fen").ok());
  EXPECT_EQ(ErrorField(CheckEstatePrice(6999, 10000, "price.price_fen")), "price.price_fen");
  EXPECT_EQ(ErrorField(CheckEstatePrice(13001, 10000, "price.price_fen")), "price.price_fen");
  // Odd standards: 70 % of 333 is 233.1 → at least 234; 130 % is 432.9 → at most 432.
  band = EstatePriceBand(333);
  EXPECT_EQ(band.min_fen, 234);
  EXPECT_EQ(band.max_fen, 432);
  EXPECT_FALSE(CheckEstatePrice(233, 333, "p").ok());
  EXPECT_TRUE(CheckEstatePrice(234, 333, "p").ok());
  EXPECT_TRUE(CheckEstatePrice(432, 333, "p").ok());
  EXPECT_FALSE(CheckEstatePrice(433, 333, "p").ok());
  // The message names the allowed range.
  EXPECT_NE(std::string(CheckEstatePrice(1, 333, "p").message()).find("234..432"),
            std::string::npos);
}

TEST(Readings, FirstReadingIsABaselineAndLaterOnesConsumeTheDifference) {
  auto first = EvaluateReading(std::nullopt, 123456, false, 0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->consumption_centi, 0);
  EXPECT_FALSE(first->flagged);
  auto next = EvaluateReading(PriorReading{123456, 0}, 125456, false, 0);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->consumption_centi, 2000);
  EXPECT_FALSE(next->flagged);
  auto same = EvaluateReading(PriorReading{123456, 2000}, 123456, false, 0);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->consumption_centi, 0);
}

TEST(Readings, ADecreaseIsRefusedUnlessTheMeterWasReplaced) {
  auto down = EvaluateReading(PriorReading{10000, 500}, 9999, false, 0);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(down.status()), "METER_READING_DECREASED");
  // Replaced: old meter went from 100.00 to 104.00, the new one reads 1.50.
  auto replaced = EvaluateReading(PriorReading{10000, 500}, 150, true, 10400);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->consumption_centi, 550);
  // The old meter's final reading cannot be below its last billed one either.
  EXPECT_FALSE(EvaluateReading(PriorReading{10000, 500}, 150, true, 9000).ok());
}

TEST(Readings, AnImplausibleJumpIsFlaggedAtItsBoundary) {
  PriorReading prior{100000, 1000};  // last month 10 units
  // 3 × 10 = 30 units is not more than 3×: not flagged.
  EXPECT_FALSE(EvaluateReading(prior, 100000 + 3000, false, 0)->flagged);
  // 30.01 units: more than 3× and ≥ 10 above: flagged.
  auto jump = EvaluateReading(prior, 100000 + 3001, false, 0);
  EXPECT_TRUE(jump->flagged);
  EXPECT_FALSE(jump->flag_reason.empty());
  // Small numbers: 1 unit → 5 units is 5× but only 4 above the floor: not flagged.
  EXPECT_FALSE(EvaluateReading(PriorReading{0, 100}, 500, false, 0)->flagged);
  // No comparison after a month without consumption.
  EXPECT_FALSE(EvaluateReading(PriorReading{0, 0}, 900000, false, 0)->flagged);
}

absl::Time T(int day) { return absl::FromCivil(absl::CivilDay(2026, 1, day), absl::UTCTimeZone()); }

TEST(Allocate, OldestFirstThenCredit) {
  std::vector<OpenBill> open = {
      {"b3", T(20), T(3), 1000}, {"b1", T(10), T(1), 500}, {"b2", T(10), T(2), 700}};
  AllocationPlan plan = Allocate(1500, "", open);
  ASSERT_EQ(plan.allocations.size(), 3u);
  EXPECT_EQ(plan.allocations[0], (std::pair<std::string, int64_t>{"b1", 500}));
  EXPECT_EQ(plan.allocations[1], (std::pair<std::string, int64_t>{"b2", 700}));
  EXPECT_EQ(plan.allocations[2], (std::pair<std::string, int64_t>{"b3", 300}));
  EXPECT_EQ(plan.credit_fen, 0);
  AllocationPlan over = Allocate(3000, "", open);
  EXPECT_EQ(over.credit_fen, 800);
  AllocationPlan none = Allocate(100, "", {});
  EXPECT_TRUE(none.allocations.empty());
  EXPECT_EQ(none.credit_fen, 100);
}

TEST(Allocate, TheNamedBillGoesFirst) {
  std::vector<OpenBill> open = {{"b1", T(10), T(1), 500}, {"b2", T(20), T(2), 700}};
  AllocationPlan plan = Allocate(800, "b2", open);
  ASSERT_EQ(plan.allocations.size(), 2u);
  EXPECT_EQ(plan.allocations[0], (std::pair<std::string, int64_t>{"b2", 700}));
  EXPECT_EQ(plan.allocations[1], (std::pair<std::string, int64_t>{"b1", 100}));
}

TEST(Arrears, DaysAndBuckets) {
  absl::Time due = T(1);
  EXPECT_EQ(DaysPastDue(due, due - absl::Seconds(1)), -1);
  EXPECT_EQ(DaysPastDue(due, due), 0);
  EXPECT_EQ(DaysPastDue(due, due + absl::Hours(24) - absl::Seconds(1)), 0);
  EXPECT_EQ(DaysPastDue(due, due + absl::Hours(24)), 1);
  EXPECT_EQ(AgeBucket(0), 0);
  EXPECT_EQ(AgeBucket(30), 0);
  EXPECT_EQ(AgeBucket(31), 1);
  EXPECT_EQ(AgeBucket(90), 1);
  EXPECT_EQ(AgeBucket(91), 2);
  EXPECT_EQ(AgeBucket(180), 2);
  EXPECT_EQ(AgeBucket(181), 3);
}

// 001_… (四)1: 收费率达95%以上. The rate rounds down (shared/basis_points.h), so 94.99999 %
// does not meet the target; nothing billed is a full rate.
TEST(Reports, CollectionRateRoundsDownAgainstTheTarget) {
  v1::CollectionReport r;
  r.set_billed_fen(10000000);
  r.set_collected_fen(9499999);
  r.set_owners(4);
  r.set_owners_in_arrears(1);
  CollectionRates(&r);
  EXPECT_EQ(r.collection_rate_bp(), 9499);
  EXPECT_EQ(r.arrears_share_bp(), 2500);
  EXPECT_FALSE(r.meets_collection_target());
  r.set_collected_fen(9500000);
  CollectionRates(&r);
  EXPECT_TRUE(r.meets_collection_target());
  v1::CollectionReport empty;
  CollectionRates(&empty);
  EXPECT_EQ(empty.collection_rate_bp(), 10000);
  EXPECT_EQ(empty.arrears_share_bp(), 0);
}

TEST(Months, DueTimeIsTheEndOfTheDueDayInTheEstatesZone) {
  wuye::common::v1::Month m;
  m.set_year(2026);
  m.set_month(12);
  EXPECT_TRUE(CheckMonth(m, "period").ok());
  EXPECT_EQ(MonthStart(m), "2026-12-01");
  absl::TimeZone shanghai = EstateZone("Asia/Shanghai");
  // Due on the 15th: overdue from 16 Dec 00:00 Shanghai = 15 Dec 16:00 UTC.
  EXPECT_EQ(DueTime(m, 15, shanghai),
            absl::FromCivil(absl::CivilSecond(2026, 12, 15, 16, 0, 0), absl::UTCTimeZone()));
  m.set_month(13);
  EXPECT_EQ(ErrorField(CheckMonth(m, "period")), "period.month");
  m.set_month(1);
  m.set_year(1999);
  EXPECT_EQ(ErrorField(CheckMonth(m, "period")), "period.year");
}

// DOMAIN.md §4 (a monthly run issues each unit's bill for the period; no seed bills a month
// ahead): the current month and earlier are billable, the next month is not, counted in
// the estate's zone: 31 Dec 17:00 UTC is already January in Shanghai.
TEST(Months, OnlyAMonthThatHasBegunInTheEstatesZoneIsBillable) {
  auto month = [](int y, int m) {
    wuye::common::v1::Month out;
    out.set_year(y);
    out.set_month(m);
    return out;
  };
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2026, 12, 31, 17, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(CurrentMonth(now, absl::UTCTimeZone()), absl::CivilMonth(2026, 12));
  const absl::CivilMonth shanghai = CurrentMonth(now, EstateZone("Asia/Shanghai"));
  EXPECT_EQ(shanghai, absl::CivilMonth(2027, 1));
  EXPECT_TRUE(CheckBillablePeriod(month(2027, 1), shanghai, "period").ok());
  EXPECT_TRUE(CheckBillablePeriod(month(2026, 12), shanghai, "period").ok());
  EXPECT_TRUE(CheckBillablePeriod(month(2000, 1), shanghai, "period").ok());
  for (auto bad : {month(2027, 2), month(2028, 1), month(2062, 3)}) {
    absl::Status st = CheckBillablePeriod(bad, shanghai, "period");
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << bad.year() << "-" << bad.month();
    EXPECT_EQ(ErrorField(st), "period");
  }
  EXPECT_FALSE(CheckBillablePeriod(month(2027, 1), absl::CivilMonth(2026, 12), "period").ok());
}

TEST(Payments, BadPaymentsAreRefusedNamingTheField) {
  v1::Payment p;
  p.set_amount_fen(100);
  p.set_method(v1::PAYMENT_METHOD_ALIPAY);
  p.set_external_txn_no("2026112422001");
  EXPECT_TRUE(CheckPayment(p, "payment").ok());
  v1::Payment bad = p;
  bad.set_amount_fen(0);
  EXPECT_EQ(ErrorField(CheckPayment(bad, "payment")), "payment.amount_fen");
  bad = p;
  bad.set_method(v1::PAYMENT_METHOD_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckPayment(bad, "payment")), "payment.method");
  bad = p;
  bad.set_external_txn_no("");
  EXPECT_EQ(ErrorField(CheckPayment(bad, "payment")), "payment.external_txn_no");
  bad.set_external_txn_no("has space");
  EXPECT_EQ(ErrorField(CheckPayment(bad, "payment")), "payment.external_txn_no");
  bad.set_external_txn_no(std::string(65, 'x'));
  EXPECT_EQ(ErrorField(CheckPayment(bad, "payment")), "payment.external_txn_no");
  EXPECT_EQ(MethodName(v1::PAYMENT_METHOD_WECHAT_PAY), "wechat_pay");
}

// 002_… 1.2.5 (水费、燃气费、电费…缴费): each metered fee is priced by its estate's tariff of
// that meter kind; a kind the schedule does not price has no tariff (the reading is refused).
TEST(Tariff, TheScheduleTariffOfTheMeterKindAndNoneForAKindNotPriced) {
  v1::FeeSchedule schedule;
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_WATER), nullptr);
  v1::Tariff water = Tiers({{0, 345}});
  v1::Tariff gas = Tiers({{0, 300}});
  gas.set_kind(v1::METER_KIND_GAS);
  *schedule.add_tariffs() = water;
  *schedule.add_tariffs() = gas;
  ASSERT_NE(TariffFor(schedule, v1::METER_KIND_WATER), nullptr);
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_WATER)->tiers(0).fen_per_unit(), 345);
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_GAS)->tiers(0).fen_per_unit(), 300);
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_ELECTRICITY), nullptr);
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_UNSPECIFIED), nullptr);
  // Two tariffs of one kind: the last listed is the one in force.
  v1::Tariff water2 = Tiers({{0, 400}});
  *schedule.add_tariffs() = water2;
  EXPECT_EQ(TariffFor(schedule, v1::METER_KIND_WATER)->tiers(0).fen_per_unit(), 400);
}

using Lines = std::vector<std::tuple<std::string, std::string, int64_t>>;
Lines LinesOf(const std::vector<LedgerEntry>& entries) {
  Lines out;
  int64_t sum = 0;
  for (const auto& e : entries) {
    out.emplace_back(e.account, e.unit_id, e.amount_fen);
    sum += e.amount_fen;
  }
  EXPECT_EQ(sum, 0) << "a ledger transaction balances";
  return out;
}

// 002_… 1.2.5 (业户…缴费的信息…与财务部及时核对业户的缴费情况): every money movement posts a
// balanced transaction the finance office can reconcile; which account each side is.
TEST(LedgerPostings, APaymentSettlesTheReceivableAndTheRestIsCredit) {
  EXPECT_EQ(CashAccount(v1::PAYMENT_METHOD_ALIPAY), "cash:alipay");
  EXPECT_EQ(CashAccount(v1::PAYMENT_METHOD_BANK_TRANSFER), "cash:bank_transfer");
  EXPECT_EQ(
      LinesOf(PaymentPostings("u1", v1::PAYMENT_METHOD_CASH, 1500, 300)),
      (Lines{{"cash:cash", "", 1500}, {"receivable", "u1", -1200}, {"unit_credit", "u1", -300}}));
  // All of it settles bills; all of it is credit.
  EXPECT_EQ(LinesOf(PaymentPostings("u1", v1::PAYMENT_METHOD_CARD, 800, 0)),
            (Lines{{"cash:card", "", 800}, {"receivable", "u1", -800}, {"unit_credit", "u1", 0}}));
  EXPECT_EQ(
      LinesOf(PaymentPostings("u1", v1::PAYMENT_METHOD_WECHAT_PAY, 800, 800)),
      (Lines{{"cash:wechat_pay", "", 800}, {"receivable", "u1", 0}, {"unit_credit", "u1", -800}}));
}

TEST(LedgerPostings, AReversalUndoesThePaymentLineByLine) {
  auto paid = LinesOf(PaymentPostings("u1", v1::PAYMENT_METHOD_ALIPAY, 1500, 300));
  auto reversed = LinesOf(ReversalPostings("u1", v1::PAYMENT_METHOD_ALIPAY, 1500, 1200, 300));
  EXPECT_EQ(
      reversed,
      (Lines{{"receivable", "u1", 1200}, {"unit_credit", "u1", 300}, {"cash:alipay", "", -1500}}));
  // Together they leave every account as it was.
  std::map<std::pair<std::string, std::string>, int64_t> net;
  for (const auto& [account, unit, fen] : paid) net[{account, unit}] += fen;
  for (const auto& [account, unit, fen] : reversed) net[{account, unit}] += fen;
  for (const auto& [key, fen] : net) EXPECT_EQ(fen, 0) << key.first;
}

// 001_… 物业客服领班职责 5 (押金费用统计入报表): a deposit is held for the unit, not revenue; a
// refund pays out of what is held (the unit's credit or its deposit), never of revenue.
TEST(LedgerPostings, DepositsAreHeldAndRefundsPayOutOfWhatIsHeld) {
  EXPECT_EQ(LinesOf(DepositPostings("u1", v1::PAYMENT_METHOD_CASH, 50000)),
            (Lines{{"cash:cash", "", 50000}, {"deposit_held", "u1", -50000}}));
  EXPECT_EQ(RefundAccount(v1::REFUND_OF_CREDIT), "unit_credit");
  EXPECT_EQ(RefundAccount(v1::REFUND_OF_DEPOSIT), "deposit_held");
  EXPECT_EQ(LinesOf(RefundPostings(v1::REFUND_OF_CREDIT, "u1", v1::PAYMENT_METHOD_CARD, 200)),
            (Lines{{"unit_credit", "u1", 200}, {"cash:card", "", -200}}));
  EXPECT_EQ(
      LinesOf(RefundPostings(v1::REFUND_OF_DEPOSIT, "u1", v1::PAYMENT_METHOD_BANK_TRANSFER, 50000)),
      (Lines{{"deposit_held", "u1", 50000}, {"cash:bank_transfer", "", -50000}}));
}

// 002_… 1.2.4 (通知业户交纳管理费及各项费用) and 1.2.5 (水费、燃气费、电费、车位费): the bills a
// run issues are owed by the units and each fee is the office's revenue of its own item.
TEST(LedgerPostings, ARunsBillsAreOwedAndEachFeeIsItsItemsRevenue) {
  IssuedFees fees;
  EXPECT_EQ(LinesOf(BillingRunPostings(fees)), (Lines{{"receivable", "", 0},
                                                      {"revenue:management_fee", "", 0},
                                                      {"revenue:stair_lighting", "", 0},
                                                      {"revenue:parking", "", 0},
                                                      {"revenue:water", "", 0},
                                                      {"revenue:electricity", "", 0},
                                                      {"revenue:gas", "", 0}}));
  fees.management = 100000;
  fees.lighting = 2000;
  fees.parking = 15000;
  fees.water = 6900;
  fees.electricity = 12000;
  fees.gas = 3000;
  EXPECT_EQ(fees.total(), 138900);
  EXPECT_EQ(LinesOf(BillingRunPostings(fees)), (Lines{{"receivable", "", 138900},
                                                      {"revenue:management_fee", "", -100000},
                                                      {"revenue:stair_lighting", "", -2000},
                                                      {"revenue:parking", "", -15000},
                                                      {"revenue:water", "", -6900},
                                                      {"revenue:electricity", "", -12000},
                                                      {"revenue:gas", "", -3000}}));
}

// 001_… 物业客服领班职责 5 (日常有偿服务费用…日常维修费用…统计入报表): a paid work order done is
// owed by its unit and is the office's paid-service revenue.
TEST(LedgerPostings, APaidServiceIsOwedByTheUnitAndIsRevenue) {
  EXPECT_EQ(LinesOf(PaidServicePostings("u1", 8800)),
            (Lines{{"receivable", "u1", 8800}, {"revenue:paid_service", "", -8800}}));
}

// 004_… 5.12: a settlement with the clinic keeps the management fee back from what the office
// holds for it, and never pays past what is outstanding either way. (The rest of
// eldercare_money_flow.h is tested through the API in billing_service_test.cc.)
TEST(ClinicSettlementEntries, OffsetTheFeeAndMoveOnlyWhatIsOutstanding) {
  auto sum = [](const std::vector<LedgerEntry>& entries) {
    int64_t total = 0;
    for (const auto& e : entries) total += e.amount_fen;
    return total;
  };
  auto to = ClinicSettlementEntries(26000, 3000, v1::CLINIC_PAYMENT_DIRECTION_TO_CLINIC, 23000,
                                    "cash:bank_transfer");
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(sum(*to), 0);
  EXPECT_EQ((*to)[0].amount_fen, 26000);  // clinic_payable cleared
  EXPECT_EQ((*to)[1].amount_fen, -3000);  // clinic_receivable cleared
  EXPECT_EQ((*to)[2].amount_fen, -23000);
  EXPECT_EQ(ErrorReason(ClinicSettlementEntries(26000, 3000, v1::CLINIC_PAYMENT_DIRECTION_TO_CLINIC,
                                                23001, "cash:cash")
                            .status()),
            "MORE_THAN_OUTSTANDING");
  EXPECT_FALSE(
      ClinicSettlementEntries(26000, 3000, v1::CLINIC_PAYMENT_DIRECTION_FROM_CLINIC, 1, "cash:cash")
          .ok());
  auto from = ClinicSettlementEntries(1000, 5000, v1::CLINIC_PAYMENT_DIRECTION_FROM_CLINIC, 4000,
                                      "cash:cash");
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(sum(*from), 0);
  EXPECT_EQ((*from)[0].amount_fen, 4000);
  EXPECT_EQ((*from)[2].amount_fen, -5000);
  EXPECT_FALSE(ClinicSettlementEntries(1000, 5000, v1::CLINIC_PAYMENT_DIRECTION_FROM_CLINIC, 4001,
                                       "cash:cash")
                   .ok());
}

// 004_… 5.2.1–5.2.7: each elder-care fee has a keeper. The service year is the office's
// revenue; the family-call fund (5.2.2 由管理處負責保管) is held by the office for the unit;
// the health card, checkup and care days (由社區醫療保健室收取) are billed for the clinic; the
// emergency deposit (5.2.5 由社區醫療保健室負責代收與保管) is held for the unit.
TEST(ElderCareMoney, EachFeeLandsWithItsKeeper) {
  namespace ev = ::wuye::events::v1;
  EXPECT_EQ(EldercareItem(ev::ELDER_FEE_KIND_SERVICE_YEAR), "eldercare_service_year");
  EXPECT_EQ(EldercareItem(ev::ELDER_FEE_KIND_HOSPICE_DAYS), "eldercare_hospice_days");
  EXPECT_EQ(EldercareItem(ev::ELDER_FEE_KIND_FAMILY_CALL), "");  // drawn from the fund, no bill
  EXPECT_EQ(EldercareItem(ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE), "");
  EXPECT_FALSE(HeldAccountsOf("eldercare_service_year").has_value());
  for (const char* item : {"eldercare_health_card", "eldercare_checkup", "eldercare_checkup_top_up",
                           "eldercare_sickbed_days", "eldercare_hospice_days"}) {
    auto held = HeldAccountsOf(item);
    ASSERT_TRUE(held.has_value()) << item;
    EXPECT_EQ(held->due, "clinic_billed") << item;
    EXPECT_EQ(held->held, "clinic_payable") << item;
    EXPECT_FALSE(held->per_unit) << item;
  }
  EXPECT_EQ(HeldAccountsOf("eldercare_family_call_fund")->held, "family_call_fund");
  EXPECT_TRUE(HeldAccountsOf("eldercare_family_call_fund")->per_unit);
  EXPECT_EQ(HeldAccountsOf("eldercare_emergency_deposit")->held, "eldercare_deposit_held");
  EXPECT_TRUE(HeldAccountsOf("eldercare_emergency_deposit")->per_unit);

  EXPECT_EQ(LinesOf(ElderChargePostings("u1", "eldercare_service_year", 100000)),
            (Lines{{"receivable", "u1", 100000}, {"revenue:eldercare_service_year", "", -100000}}));
  EXPECT_EQ(LinesOf(ElderChargePostings("u1", "eldercare_checkup", 30000)),
            (Lines{{"receivable", "u1", 30000}, {"clinic_billed", "", -30000}}));
  EXPECT_EQ(LinesOf(ElderChargePostings("u1", "eldercare_emergency_deposit", 300000)),
            (Lines{{"receivable", "u1", 300000}, {"eldercare_deposit_due", "u1", -300000}}));
  // Paid: kept money moves from its due account to its holding account; back on reversal.
  EXPECT_EQ(LinesOf(CollectedPostings("u1", "eldercare_checkup", 30000, false)),
            (Lines{{"clinic_billed", "", 30000}, {"clinic_payable", "", -30000}}));
  EXPECT_EQ(LinesOf(CollectedPostings("u1", "eldercare_family_call_fund", 10000, true)),
            (Lines{{"family_call_fund_due", "u1", -10000}, {"family_call_fund", "u1", 10000}}));
  EXPECT_TRUE(CollectedPostings("u1", "eldercare_service_year", 100000, false).empty());
  // 5.2.2: a call is paid from the fund the office keeps; 5.12: the clinic's fee is owed by
  // the clinic, never by a unit.
  EXPECT_EQ(LinesOf(FamilyCallDrawPostings("u1", 300)),
            (Lines{{"family_call_fund", "u1", 300}, {"revenue:eldercare_family_calls", "", -300}}));
  EXPECT_EQ(LinesOf(ClinicFeePostings(1000)),
            (Lines{{"clinic_receivable", "", 1000}, {"revenue:clinic_management_fee", "", -1000}}));
  EXPECT_EQ(NetToClinic([] {
              v1::ClinicSettlement s;
              s.set_collected_for_clinic_fen(50000);
              s.set_returned_for_clinic_fen(4000);
              s.set_management_fee_fen(3000);
              return s;
            }()),
            43000);
}

// 004_… 5.9 (繳納第一次搶救治療的保證金…解除…時,將全額退還): the deposit lodged with the
// emergency centre leaves the clinic's hands; what comes back pays a leaver first; on exit
// what is open is cancelled, what was paid is returned — at once from hand, the lodged part
// when it comes back.
TEST(ElderCareMoney, TheEmergencyDepositIsLodgedAndReturnedInFull) {
  EXPECT_EQ(LinesOf(LodgePostings("u1", 300000)),
            (Lines{{"eldercare_deposit_held", "u1", 300000},
                   {"eldercare_deposit_at_emergency_centre", "u1", -300000}}));
  EXPECT_EQ(LinesOf(DepositBackPostings("u1", 300000, 0)),
            (Lines{{"eldercare_deposit_refund_awaited", "u1", 0},
                   {"unit_credit", "u1", 0},
                   {"eldercare_deposit_at_emergency_centre", "u1", 300000},
                   {"eldercare_deposit_held", "u1", -300000}}));
  EXPECT_EQ(LinesOf(DepositBackPostings("u1", 300000, 100000)),
            (Lines{{"eldercare_deposit_refund_awaited", "u1", 100000},
                   {"unit_credit", "u1", -100000},
                   {"eldercare_deposit_at_emergency_centre", "u1", 200000},
                   {"eldercare_deposit_held", "u1", -200000}}));
  EXPECT_EQ(LinesOf(DepositBackPostings("u1", 50000, 100000))[1],
            (std::tuple<std::string, std::string, int64_t>{"unit_credit", "u1", -50000}));

  const HeldAccounts deposit = *HeldAccountsOf("eldercare_emergency_deposit");
  // Open 1000, paid 2000; give back 2500: 1000 cancelled, 1500 returned, all in hand.
  GiveBackSplit s = SplitGiveBack(deposit, 2500, 1000, 2000, 5000, 0);
  EXPECT_EQ(s.cancel, 1000);
  EXPECT_EQ(s.back, 1500);
  EXPECT_EQ(s.awaited, 0);
  // Never more back than was paid.
  s = SplitGiveBack(deposit, 9000, 1000, 2000, 5000, 0);
  EXPECT_EQ(s.cancel, 1000);
  EXPECT_EQ(s.back, 2000);
  // 500 in hand, 3000 lodged: of 2000 to return, 1500 waits for the centre.
  s = SplitGiveBack(deposit, 2000, 0, 2000, 500, 3000);
  EXPECT_EQ(s.back, 500);
  EXPECT_EQ(s.awaited, 1500);
  // What waits is at most what is lodged.
  s = SplitGiveBack(deposit, 2000, 0, 2000, 500, 1000);
  EXPECT_EQ(s.back, 1000);
  EXPECT_EQ(s.awaited, 1000);
  EXPECT_EQ(LinesOf(GiveBackPostings(deposit, "u1", {100, 1000, 1000})),
            (Lines{{"eldercare_deposit_due", "u1", 100},
                   {"receivable", "u1", -100},
                   {"eldercare_deposit_held", "u1", 1000},
                   {"unit_credit", "u1", -1000},
                   {"eldercare_deposit_at_emergency_centre", "u1", 1000},
                   {"eldercare_deposit_refund_awaited", "u1", -1000}}));
  // 5.6 (多還少補): a checkup's return comes out of what is held for the clinic; nothing waits.
  const HeldAccounts clinic = *HeldAccountsOf("eldercare_checkup");
  s = SplitGiveBack(clinic, 4000, 0, 30000, 0, 99999);
  EXPECT_EQ(s.back, 4000);
  EXPECT_EQ(s.awaited, 0);
  EXPECT_EQ(LinesOf(GiveBackPostings(clinic, "u1", s)),
            (Lines{{"clinic_billed", "", 0},
                   {"receivable", "u1", 0},
                   {"clinic_payable", "", 4000},
                   {"unit_credit", "u1", -4000},
                   {"eldercare_deposit_at_emergency_centre", "u1", 0},
                   {"eldercare_deposit_refund_awaited", "u1", 0}}));
}

// Privacy (DOMAIN.md: health fields only to care roles): a bill's elder-care lines read as
// 养老服务 to everyone but nurses, care workers and the clinic; the deposit stays.
TEST(ElderCareMoney, CareDetailOnABillIsMaskedForNonCareRoles) {
  v1::Bill bill;
  bill.add_lines()->set_item("eldercare_hospice_days");
  bill.add_lines()->set_item("eldercare_emergency_deposit");
  bill.add_lines()->set_item("management_fee");
  Caller finance;
  finance.roles = {"finance_clerk"};
  Caller nurse;
  nurse.roles = {"nurse"};
  EXPECT_FALSE(MaySeeCareDetail(finance));
  EXPECT_TRUE(MaySeeCareDetail(nurse));
  v1::Bill seen = bill;
  MaskCareDetail(nurse, &seen);
  EXPECT_EQ(seen.lines(0).item(), "eldercare_hospice_days");
  MaskCareDetail(finance, &bill);
  EXPECT_EQ(bill.lines(0).item(), kEldercareServicesItem);
  EXPECT_EQ(bill.lines(1).item(), "eldercare_emergency_deposit");
  EXPECT_EQ(bill.lines(2).item(), "management_fee");
}

// Issue 25 §2 and 003_… Q9: a renovation deposit at acceptance — the open part cancelled,
// what was paid and is still held released, the deduction (at most that) the office's, the
// rest the unit's credit; every posting balanced.
TEST(CounterMoney, ARenovationDepositIsReleasedLessTheDeductionOfWhatWasPaid) {
  auto sum = [](const std::vector<LedgerEntry>& entries) {
    int64_t total = 0;
    for (const auto& e : entries) total += e.amount_fen;
    return total;
  };
  struct Case {
    int64_t amount, paid, held, deduction;
    DepositRelease want;
  };
  for (const Case& c : std::vector<Case>{
           {200000, 200000, 200000, 30000, {0, 200000, 30000, 170000}},  // paid in full
           {200000, 200000, 200000, 0, {0, 200000, 0, 200000}},          // passed
           {100000, 0, 0, 20000, {100000, 0, 0, 0}},                     // never paid
           {100000, 40000, 40000, 10000, {60000, 40000, 10000, 30000}},  // paid in part
           {50000, 20000, 20000, 45000, {30000, 20000, 20000, 0}},       // deduction > paid
           {100000, 100000, 30000, 0, {0, 30000, 0, 30000}},             // refunded by hand
           {100000, 100000, 500000, 0, {0, 100000, 0, 100000}},          // other deposits held
           {100000, 100000, 100000, -5, {0, 100000, 0, 100000}},
       }) {
    DepositRelease r = ReleaseDeposit(c.amount, c.paid, c.held, c.deduction);
    EXPECT_EQ(r.cancel, c.want.cancel) << c.amount << "/" << c.paid << "/" << c.deduction;
    EXPECT_EQ(r.released, c.want.released);
    EXPECT_EQ(r.deducted, c.want.deducted);
    EXPECT_EQ(r.back, c.want.back);
    EXPECT_EQ(sum(ReleasePostings("u1", r)), 0);
  }
  EXPECT_TRUE(ReleaseDeposit(100000, 100000, 0, 0).empty());
  // The deposit is owed until paid, then held for the unit beside TakeDeposit's deposits.
  auto held = HeldAccountsOf(kRenovationDepositItem);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->due, kRenovationDepositDue);
  EXPECT_EQ(held->held, "deposit_held");
  auto charge = ChargePostings("u1", kRenovationDepositItem, 200000);
  EXPECT_EQ(sum(charge), 0);
  EXPECT_EQ(charge[1].account, kRenovationDepositDue);
  auto card = ChargePostings("u1", kCardReplacementItem, 2000);
  EXPECT_EQ(card[1].account, "revenue:card_replacement");
}

// Issue 25 §1: the meters read at hand-over are filed under the month before the hand-over.
TEST(CounterMoney, OpeningReadingsAreFiledUnderTheMonthBeforeTheHandOver) {
  EXPECT_EQ(MonthStart(OpeningPeriod(absl::CivilDay(2026, 11, 9))), "2026-10-01");
  EXPECT_EQ(MonthStart(OpeningPeriod(absl::CivilDay(2027, 1, 1))), "2026-12-01");
  EXPECT_EQ(MeterKindOf("water"), v1::METER_KIND_WATER);
  EXPECT_EQ(MeterKindOf("electricity"), v1::METER_KIND_ELECTRICITY);
  EXPECT_EQ(MeterKindOf("gas"), v1::METER_KIND_GAS);
  EXPECT_EQ(MeterKindOf("Water"), v1::METER_KIND_UNSPECIFIED);
  EXPECT_EQ(MeterKindOf(""), v1::METER_KIND_UNSPECIFIED);
}

}  // namespace
}  // namespace wuye::billing
