#include "services/billing/billing.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::billing {

absl::StatusOr<int64_t> ParseCenti(absl::string_view text, absl::string_view field,
                                   int64_t max_units) {
  if (text.empty()) return FieldError(field, "required");
  int64_t whole = 0, frac = 0;
  int whole_digits = 0, frac_digits = 0;
  bool point = false;
  for (char c : text) {
    if (c == '.') {
      if (point) return FieldError(field, "a decimal number with at most two decimals");
      point = true;
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return FieldError(field, "a decimal number with at most two decimals");
    }
    if (point) {
      if (++frac_digits > 2) return FieldError(field, "at most two decimals");
      frac = frac * 10 + (c - '0');
    } else {
      if (++whole_digits > 12) return FieldError(field, "too large");
      whole = whole * 10 + (c - '0');
    }
  }
  if (whole_digits == 0 || (point && frac_digits == 0)) {
    return FieldError(field, "a decimal number with at most two decimals");
  }
  if (whole >= max_units) return FieldError(field, absl::StrCat("must be < ", max_units));
  if (frac_digits == 1) frac *= 10;
  return whole * 100 + frac;
}

std::string FormatCenti(int64_t centi) {
  return absl::StrFormat("%d.%02d", centi / 100, centi % 100);
}

int64_t ManagementFeeFen(int64_t area_centi_m2, int64_t fen_per_m2) {
  return RoundHundredthsHalfUp(area_centi_m2 * fen_per_m2);
}

int64_t RateFor(int type, const v1::FeeSchedule& schedule, int64_t estate_rate) {
  for (const auto& r : schedule.type_rates()) {
    if (r.unit_type() == type) return r.fen_per_m2();
  }
  return estate_rate;
}

OwedDays DaysOwed(const std::optional<absl::CivilDay>& from, absl::CivilMonth month,
                  v1::Proration proration) {
  const absl::CivilDay first(month), next(month + 1);
  const int64_t month_days = next - first;
  const int64_t of = proration == v1::PRORATION_THIRTY_DAY_MONTH ? 30 : month_days;
  if (!from || *from <= first) return {of, of};
  if (*from >= next) return {0, of};
  switch (proration) {
    case v1::PRORATION_THIRTY_DAY_MONTH:
      return {std::min<int64_t>(30, 31 - from->day()), of};
    case v1::PRORATION_WHOLE_MONTH:
      return {of, of};
    default:
      return {next - *from, of};
  }
}

MonthlyLines MonthlyFees(const UnitFacts& unit, const v1::FeeSchedule& schedule,
                         int64_t estate_rate, std::optional<absl::CivilMonth> month,
                         v1::Proration proration) {
  MonthlyLines lines;
  if (!unit.handed_over) return lines;
  auto owed = [&](const std::optional<absl::CivilDay>& from) {
    return month ? DaysOwed(from, *month, proration) : OwedDays{1, 1};
  };
  const OwedDays handed = owed(unit.handover_day);
  if (handed.days == 0) return lines;  // handed over after the month
  if (unit.type == kUnitTypeParking) {
    int64_t fee = 0;
    switch (unit.occupancy) {
      case kOccupancyRented:
        fee = schedule.parking_rented_fen();
        break;
      case kOccupancySelfOccupied:
        fee = schedule.parking_sold_fen();
        break;
      default:
        fee = schedule.parking_vacant_fen();
    }
    lines.parking_fen = ProrateHundredths(fee * 100, handed);
    return lines;
  }
  lines.management_fen =
      ProrateHundredths(unit.area_centi_m2 * RateFor(unit.type, schedule, estate_rate), handed);
  if (unit.occupancy == kOccupancySelfOccupied || unit.occupancy == kOccupancyRented) {
    lines.stair_lighting_fen =
        ProrateHundredths(schedule.stair_lighting_fen() * 100, owed(unit.move_in_day));
  }
  return lines;
}

absl::Status CheckTariff(const v1::Tariff& tariff, absl::string_view field) {
  if (tariff.kind() == v1::METER_KIND_UNSPECIFIED || !v1::MeterKind_IsValid(tariff.kind())) {
    return FieldError(absl::StrCat(field, ".kind"), "required");
  }
  if (tariff.tiers().empty()) return FieldError(absl::StrCat(field, ".tiers"), "at least one");
  if (tariff.tiers_size() > 10) return FieldError(absl::StrCat(field, ".tiers"), "at most 10");
  int64_t last = 0;
  for (int i = 0; i < tariff.tiers_size(); ++i) {
    const auto& t = tariff.tiers(i);
    std::string f = absl::StrCat(field, ".tiers[", i, "]");
    if (t.fen_per_unit() < 0 || t.fen_per_unit() > 1000000) {
      return FieldError(absl::StrCat(f, ".fen_per_unit"), "must be 0..1000000");
    }
    bool is_last = i == tariff.tiers_size() - 1;
    if (is_last && t.up_to() != 0) {
      return FieldError(absl::StrCat(f, ".up_to"), "the last tier has no bound (0)");
    }
    if (!is_last && (t.up_to() <= last || t.up_to() > 100000000)) {
      return FieldError(absl::StrCat(f, ".up_to"), "must exceed the previous tier's bound");
    }
    last = t.up_to();
  }
  return absl::OkStatus();
}

const v1::Tariff* TariffFor(const v1::FeeSchedule& schedule, v1::MeterKind kind) {
  const v1::Tariff* tariff = nullptr;
  for (const auto& t : schedule.tariffs()) {
    if (t.kind() == kind) tariff = &t;
  }
  return tariff;
}

int64_t TieredChargeFen(int64_t consumption_centi, const v1::Tariff& tariff) {
  int64_t exact = 0;  // fen × 100
  int64_t from = 0;   // centi-units already priced
  for (const auto& t : tariff.tiers()) {
    int64_t bound =
        t.up_to() == 0 ? consumption_centi : std::min(consumption_centi, t.up_to() * 100);
    if (bound > from) {
      exact += (bound - from) * t.fen_per_unit();
      from = bound;
    }
    if (from >= consumption_centi) break;
  }
  return RoundHundredthsHalfUp(exact);
}

absl::Status PrepareFeeSchedule(v1::FeeSchedule& s, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  if (s.due_day() == 0) s.set_due_day(15);
  if (s.due_day() < 1 || s.due_day() > 28) return FieldError(f("due_day"), "must be 1..28");
  for (auto [value, name] : {std::pair{s.stair_lighting_fen(), "stair_lighting_fen"},
                             {s.parking_rented_fen(), "parking_rented_fen"},
                             {s.parking_sold_fen(), "parking_sold_fen"},
                             {s.parking_vacant_fen(), "parking_vacant_fen"}}) {
    if (value < 0 || value > 100000000) return FieldError(f(name), "must be 0..100000000");
  }
  std::vector<int> types;
  for (int i = 0; i < s.type_rates_size(); ++i) {
    const auto& r = s.type_rates(i);
    std::string fi = absl::StrCat(prefix, ".type_rates[", i, "]");
    if (r.unit_type() == wuye::directory::v1::UNIT_TYPE_UNSPECIFIED ||
        !wuye::directory::v1::UnitType_IsValid(r.unit_type()) ||
        r.unit_type() == kUnitTypeParking) {
      return FieldError(absl::StrCat(fi, ".unit_type"), "a unit type other than PARKING");
    }
    if (std::find(types.begin(), types.end(), r.unit_type()) != types.end()) {
      return FieldError(absl::StrCat(fi, ".unit_type"), "appears twice");
    }
    types.push_back(r.unit_type());
    if (r.fen_per_m2() <= 0 || r.fen_per_m2() > 100000) {
      return FieldError(absl::StrCat(fi, ".fen_per_m2"), "must be 1..100000");
    }
  }
  std::vector<int> kinds;
  for (int i = 0; i < s.tariffs_size(); ++i) {
    std::string fi = absl::StrCat(prefix, ".tariffs[", i, "]");
    WUYE_RETURN_IF_ERROR(CheckTariff(s.tariffs(i), fi));
    if (std::find(kinds.begin(), kinds.end(), s.tariffs(i).kind()) != kinds.end()) {
      return FieldError(absl::StrCat(fi, ".kind"), "appears twice");
    }
    kinds.push_back(s.tariffs(i).kind());
  }
  return absl::OkStatus();
}

absl::StatusOr<ReadingOutcome> EvaluateReading(const std::optional<PriorReading>& prior,
                                               int64_t reading_centi, bool replaced,
                                               int64_t old_final_centi) {
  ReadingOutcome out;
  if (!prior && !replaced) {
    // A meter's first reading is its baseline: it bills nothing.
    out.consumption_centi = 0;
    return out;
  }
  int64_t last = prior ? prior->reading_centi : 0;
  if (replaced) {
    if (old_final_centi < last) {
      return WithReason(absl::FailedPreconditionError(
                            "reading.old_meter_final: below the meter's last billed reading"),
                        "METER_READING_DECREASED");
    }
    out.consumption_centi = (old_final_centi - last) + reading_centi;
  } else {
    if (reading_centi < last) {
      return WithReason(absl::FailedPreconditionError(
                            "reading.reading: below the meter's last billed reading; record "
                            "meter_replaced if the meter was changed"),
                        "METER_READING_DECREASED");
    }
    out.consumption_centi = reading_centi - last;
  }
  if (prior && prior->consumption_centi > 0) {
    int64_t before = prior->consumption_centi;
    if (out.consumption_centi > kJumpFactor * before &&
        out.consumption_centi - before >= kJumpFloorCenti) {
      out.flagged = true;
      out.flag_reason =
          absl::StrCat("consumption ", FormatCenti(out.consumption_centi), " is more than ",
                       kJumpFactor, "x the previous ", FormatCenti(before));
    }
  }
  return out;
}

v1::BillingSettings WithDefaults(v1::BillingSettings s) {
  if (s.first_month_proration() == v1::PRORATION_UNSPECIFIED) {
    s.set_first_month_proration(v1::PRORATION_DAYS_OF_MONTH);
  }
  if (s.water_ceiling() == 0) s.set_water_ceiling(kDefaultWaterCeiling);
  if (s.electricity_ceiling() == 0) s.set_electricity_ceiling(kDefaultElectricityCeiling);
  if (s.gas_ceiling() == 0) s.set_gas_ceiling(kDefaultGasCeiling);
  return s;
}

absl::Status CheckBillingSettings(const v1::BillingSettings& s, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  if (s.collection_grace_days() < 0 || s.collection_grace_days() > kMaxGraceDays) {
    return FieldError(f("collection_grace_days"), absl::StrCat("must be 0..", kMaxGraceDays));
  }
  if (!v1::Proration_IsValid(s.first_month_proration())) {
    return FieldError(f("first_month_proration"), "unknown value");
  }
  for (auto [value, name] : {std::pair{s.water_ceiling(), "water_ceiling"},
                             {s.electricity_ceiling(), "electricity_ceiling"},
                             {s.gas_ceiling(), "gas_ceiling"}}) {
    if (value < 0 || value > 100000000) return FieldError(f(name), "must be 0..100000000");
  }
  return absl::OkStatus();
}

absl::Status CheckConsumptionCeiling(int64_t consumption_centi, v1::MeterKind kind,
                                     const v1::BillingSettings& settings) {
  v1::BillingSettings s = WithDefaults(settings);
  int64_t ceiling = kind == v1::METER_KIND_ELECTRICITY ? s.electricity_ceiling()
                    : kind == v1::METER_KIND_GAS       ? s.gas_ceiling()
                                                       : s.water_ceiling();
  if (consumption_centi <= ceiling * 100) return absl::OkStatus();
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "reading.reading: a consumption of ", FormatCenti(consumption_centi),
          " in the month is above the group's ceiling of ", ceiling, " for this meter kind")),
      "CONSUMPTION_ABOVE_CEILING");
}

PriceBand EstatePriceBand(int64_t standard_fen) {
  return {(standard_fen * (100 - kPriceBandPercent) + 99) / 100,
          standard_fen * (100 + kPriceBandPercent) / 100};
}

absl::Status CheckEstatePrice(int64_t price_fen, int64_t standard_fen, absl::string_view field) {
  PriceBand band = EstatePriceBand(standard_fen);
  if (price_fen < band.min_fen || price_fen > band.max_fen) {
    return FieldError(
        field, absl::StrCat("must be within ±30 % of the standard price ", standard_fen, ": ",
                            band.min_fen, "..", band.max_fen, " fen"));
  }
  return absl::OkStatus();
}

absl::Status CheckStandardPrice(const v1::StandardPrice& p, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  WUYE_RETURN_IF_ERROR(CheckItemCode(p.item_code(), f("item_code")));
  WUYE_RETURN_IF_ERROR(CheckText(p.name(), f("name"), 300, Presence::kRequired, Lines::kOne));
  if (p.price_fen() <= 0 || p.price_fen() > 100000000) {
    return FieldError(f("price_fen"), "must be 1..100000000");
  }
  if (p.per() != "job" && p.per() != "hour" && p.per() != "m2") {
    return FieldError(f("per"), "one of job, hour, m2");
  }
  return absl::OkStatus();
}

AllocationPlan Allocate(int64_t amount_fen, const std::string& named_bill,
                        std::vector<OpenBill> open) {
  std::stable_sort(open.begin(), open.end(), [&](const OpenBill& a, const OpenBill& b) {
    bool an = a.id == named_bill, bn = b.id == named_bill;
    if (an != bn) return an;
    return std::tie(a.due, a.issued, a.id) < std::tie(b.due, b.issued, b.id);
  });
  AllocationPlan plan;
  int64_t left = amount_fen;
  for (const auto& bill : open) {
    if (left <= 0) break;
    if (bill.open_fen <= 0) continue;
    int64_t take = std::min(left, bill.open_fen);
    plan.allocations.emplace_back(bill.id, take);
    left -= take;
  }
  plan.credit_fen = left;
  return plan;
}

absl::Status CheckPayment(const v1::Payment& p, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  if (p.amount_fen() <= 0 || p.amount_fen() > 10000000000) {
    return FieldError(f("amount_fen"), "must be 1..10000000000");
  }
  if (p.method() == v1::PAYMENT_METHOD_UNSPECIFIED || !v1::PaymentMethod_IsValid(p.method())) {
    return FieldError(f("method"), "required");
  }
  const std::string& no = p.external_txn_no();
  if (no.empty()) return FieldError(f("external_txn_no"), "required");
  if (no.size() > 64) return FieldError(f("external_txn_no"), "at most 64 characters");
  for (char c : no) {
    if (c < 0x21 || c > 0x7e) return FieldError(f("external_txn_no"), "printable ASCII only");
  }
  return absl::OkStatus();
}

std::string MethodName(v1::PaymentMethod method) {
  switch (method) {
    case v1::PAYMENT_METHOD_CASH:
      return "cash";
    case v1::PAYMENT_METHOD_CARD:
      return "card";
    case v1::PAYMENT_METHOD_WECHAT_PAY:
      return "wechat_pay";
    case v1::PAYMENT_METHOD_ALIPAY:
      return "alipay";
    case v1::PAYMENT_METHOD_BANK_TRANSFER:
      return "bank_transfer";
    default:
      return "unknown";
  }
}

std::string CashAccount(v1::PaymentMethod method) {
  return absl::StrCat("cash:", MethodName(method));
}

std::vector<LedgerEntry> PaymentPostings(const std::string& unit, v1::PaymentMethod method,
                                         int64_t amount_fen, int64_t credit_fen) {
  return {{CashAccount(method), "", amount_fen},
          {"receivable", unit, -(amount_fen - credit_fen)},
          {"unit_credit", unit, -credit_fen}};
}

std::vector<LedgerEntry> ReversalPostings(const std::string& unit, v1::PaymentMethod method,
                                          int64_t amount_fen, int64_t settled_fen,
                                          int64_t credit_fen) {
  return {{"receivable", unit, settled_fen},
          {"unit_credit", unit, credit_fen},
          {CashAccount(method), "", -amount_fen}};
}

std::vector<LedgerEntry> DepositPostings(const std::string& unit, v1::PaymentMethod method,
                                         int64_t amount_fen) {
  return {{CashAccount(method), "", amount_fen}, {"deposit_held", unit, -amount_fen}};
}

std::string RefundAccount(v1::RefundOf of) {
  return of == v1::REFUND_OF_CREDIT ? "unit_credit" : "deposit_held";
}

std::vector<LedgerEntry> RefundPostings(v1::RefundOf of, const std::string& unit,
                                        v1::PaymentMethod method, int64_t amount_fen) {
  return {{RefundAccount(of), unit, amount_fen}, {CashAccount(method), "", -amount_fen}};
}

std::vector<LedgerEntry> BillingRunPostings(const IssuedFees& fees) {
  return {{"receivable", "", fees.total()},
          {"revenue:management_fee", "", -fees.management},
          {"revenue:stair_lighting", "", -fees.lighting},
          {"revenue:parking", "", -fees.parking},
          {"revenue:water", "", -fees.water},
          {"revenue:electricity", "", -fees.electricity},
          {"revenue:gas", "", -fees.gas}};
}

std::vector<LedgerEntry> PaidServicePostings(const std::string& unit, int64_t quote_fen) {
  return {{"receivable", unit, quote_fen}, {"revenue:paid_service", "", -quote_fen}};
}

// ---- The counter's money -----------------------------------------------------------------

std::vector<LedgerEntry> ChargePostings(const std::string& unit, const std::string& item,
                                        int64_t amount) {
  auto held = HeldAccountsOf(item);
  LedgerEntry credit = held ? LedgerEntry{held->due, held->per_unit ? unit : "", -amount}
                            : LedgerEntry{absl::StrCat("revenue:", item), "", -amount};
  return {{"receivable", unit, amount}, credit};
}

v1::MeterKind MeterKindOf(absl::string_view name) {
  if (name == "water") return v1::METER_KIND_WATER;
  if (name == "electricity") return v1::METER_KIND_ELECTRICITY;
  if (name == "gas") return v1::METER_KIND_GAS;
  return v1::METER_KIND_UNSPECIFIED;
}

wuye::common::v1::Month OpeningPeriod(absl::CivilDay day) {
  return MonthOf(absl::CivilDay(absl::CivilMonth(day) - 1));
}

DepositRelease ReleaseDeposit(int64_t amount, int64_t paid, int64_t held, int64_t deduction) {
  DepositRelease r;
  r.cancel = std::max<int64_t>(amount - paid, 0);
  r.released = std::clamp<int64_t>(std::min(paid, held), 0, paid);
  r.deducted = std::clamp<int64_t>(deduction, 0, r.released);
  r.back = r.released - r.deducted;
  return r;
}

std::vector<LedgerEntry> ReleasePostings(const std::string& unit, const DepositRelease& r) {
  return {{kRenovationDepositDue, unit, r.cancel},
          {"receivable", unit, -r.cancel},
          {"deposit_held", unit, r.released},
          {"unit_credit", unit, -r.back},
          {kRenovationDeductionRevenue, "", -r.deducted}};
}

// ---- Elderly-care money ----------------------------------------------------------------

namespace ev = ::wuye::events::v1;

std::string EldercareItem(ev::ElderFeeKind kind) {
  switch (kind) {
    case ev::ELDER_FEE_KIND_SERVICE_YEAR:
      return "eldercare_service_year";
    case ev::ELDER_FEE_KIND_FAMILY_CALL_FUND:
      return "eldercare_family_call_fund";
    case ev::ELDER_FEE_KIND_HEALTH_CARD:
      return "eldercare_health_card";
    case ev::ELDER_FEE_KIND_CHECKUP:
      return "eldercare_checkup";
    case ev::ELDER_FEE_KIND_CHECKUP_TOP_UP:
      return "eldercare_checkup_top_up";
    case ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT:
      return "eldercare_emergency_deposit";
    case ev::ELDER_FEE_KIND_SICKBED_DAYS:
      return "eldercare_sickbed_days";
    case ev::ELDER_FEE_KIND_HOSPICE_DAYS:
      return "eldercare_hospice_days";
    default:
      return "";
  }
}

std::optional<HeldAccounts> HeldAccountsOf(const std::string& item) {
  if (item == kRenovationDepositItem) {
    return HeldAccounts{kRenovationDepositDue, "deposit_held", true};
  }
  if (item == "eldercare_family_call_fund") {
    return HeldAccounts{"family_call_fund_due", "family_call_fund", true};
  }
  if (item == "eldercare_emergency_deposit") {
    return HeldAccounts{"eldercare_deposit_due", kDepositHeld, true};
  }
  if (item == "eldercare_health_card" || item == "eldercare_checkup" ||
      item == "eldercare_checkup_top_up" || item == "eldercare_sickbed_days" ||
      item == "eldercare_hospice_days") {
    return HeldAccounts{kClinicBilled, kClinicPayable, false};
  }
  return std::nullopt;
}

bool MaySeeCareDetail(const Caller& caller) {
  return caller.HasAnyRole({roles::kNurse, roles::kCareWorker, roles::kClinic});
}

void MaskCareDetail(const Caller& caller, v1::Bill* bill) {
  if (MaySeeCareDetail(caller)) return;
  for (auto& line : *bill->mutable_lines()) {
    if (absl::StartsWith(line.item(), "eldercare_") &&
        line.item() != "eldercare_emergency_deposit") {
      line.set_item(kEldercareServicesItem);
    }
  }
}

int64_t NetToClinic(const v1::ClinicSettlement& s) {
  return s.collected_for_clinic_fen() - s.returned_for_clinic_fen() - s.management_fee_fen();
}

absl::StatusOr<std::vector<LedgerEntry>> ClinicSettlementEntries(
    int64_t payable, int64_t receivable, v1::ClinicPaymentDirection direction, int64_t amount,
    const std::string& cash_account) {
  const int64_t outstanding = payable - receivable;
  if (direction == v1::CLINIC_PAYMENT_DIRECTION_TO_CLINIC) {
    if (amount > outstanding) {
      return WithReason(absl::FailedPreconditionError(
                            absl::StrCat("amount_fen: more than the office owes the clinic (",
                                         std::max<int64_t>(outstanding, 0), " fen)")),
                        "MORE_THAN_OUTSTANDING");
    }
    // The fee the clinic owes is kept back from what is paid to it.
    return std::vector<LedgerEntry>{{kClinicPayable, "", amount + receivable},
                                    {kClinicReceivable, "", -receivable},
                                    {cash_account, "", -amount}};
  }
  if (amount > -outstanding) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("amount_fen: more than the clinic owes the office (",
                                       std::max<int64_t>(-outstanding, 0), " fen)")),
                      "MORE_THAN_OUTSTANDING");
  }
  return std::vector<LedgerEntry>{{cash_account, "", amount},
                                  {kClinicPayable, "", payable},
                                  {kClinicReceivable, "", -(amount + payable)}};
}

int64_t DaysPastDue(absl::Time due, absl::Time now) {
  if (now < due) return -1;
  return absl::ToInt64Hours(now - due) / 24;
}

int AgeBucket(int64_t days) {
  if (days <= 30) return 0;
  if (days <= 90) return 1;
  if (days <= 180) return 2;
  return 3;
}

void CollectionRates(v1::CollectionReport* r) {
  r->set_collection_rate_bp(BasisPoints(r->collected_fen(), r->billed_fen(), 10000));
  r->set_arrears_share_bp(BasisPoints(r->owners_in_arrears(), r->owners(), 0));
  r->set_meets_collection_target(r->collection_rate_bp() >= kCollectionTargetBp &&
                                 r->arrears_share_bp() <= kArrearsBaselineBp);
}

absl::Status CheckMonth(const wuye::common::v1::Month& m, absl::string_view field) {
  if (m.year() < 2000 || m.year() > 2100)
    return FieldError(absl::StrCat(field, ".year"), "2000..2100");
  if (m.month() < 1 || m.month() > 12) return FieldError(absl::StrCat(field, ".month"), "1..12");
  return absl::OkStatus();
}

absl::CivilMonth CurrentMonth(absl::Time now, absl::TimeZone tz) {
  return absl::CivilMonth(absl::ToCivilSecond(now, tz));
}

absl::Status CheckBillablePeriod(const wuye::common::v1::Month& period, absl::CivilMonth current,
                                 absl::string_view field) {
  if (absl::CivilMonth(period.year(), period.month()) <= current) return absl::OkStatus();
  return FieldError(
      field, absl::StrFormat("%04d-%02d is after the current month %04d-%02d in the "
                             "estate's time zone: a month is billed once it has begun",
                             period.year(), period.month(), current.year(), current.month()));
}

std::string MonthStart(const wuye::common::v1::Month& m) {
  return absl::StrFormat("%04d-%02d-01", m.year(), m.month());
}

wuye::common::v1::Month MonthOf(absl::CivilDay day) {
  wuye::common::v1::Month m;
  m.set_year(static_cast<int32_t>(day.year()));
  m.set_month(day.month());
  return m;
}

absl::Time DueTime(const wuye::common::v1::Month& m, int due_day, absl::TimeZone tz) {
  return absl::FromCivil(absl::CivilDay(m.year(), m.month(), due_day) + 1, tz);
}

std::vector<LedgerEntry> ClinicFeePostings(int64_t amount) {
  return {{kClinicReceivable, "", amount}, {"revenue:clinic_management_fee", "", -amount}};
}

std::vector<LedgerEntry> FamilyCallDrawPostings(const std::string& unit, int64_t amount) {
  return {{"family_call_fund", unit, amount}, {"revenue:eldercare_family_calls", "", -amount}};
}

std::vector<LedgerEntry> ElderChargePostings(const std::string& unit, const std::string& item,
                                             int64_t amount) {
  return ChargePostings(unit, item, amount);
}

std::vector<LedgerEntry> CollectedPostings(const std::string& unit, const std::string& item,
                                           int64_t fen, bool reverse) {
  auto held = HeldAccountsOf(item);
  if (!held) return {};
  if (reverse) fen = -fen;
  const std::string of = held->per_unit ? unit : "";
  return {{held->due, of, fen}, {held->held, of, -fen}};
}

std::vector<LedgerEntry> LodgePostings(const std::string& unit, int64_t amount) {
  return {{kDepositHeld, unit, amount}, {kDepositAtCentre, unit, -amount}};
}

std::vector<LedgerEntry> DepositBackPostings(const std::string& unit, int64_t amount,
                                             int64_t awaited) {
  int64_t to_credit = std::min(amount, awaited);
  return {{kDepositRefundAwaited, unit, to_credit},
          {"unit_credit", unit, -to_credit},
          {kDepositAtCentre, unit, amount - to_credit},
          {kDepositHeld, unit, -(amount - to_credit)}};
}

GiveBackSplit SplitGiveBack(const HeldAccounts& held, int64_t amount, int64_t open, int64_t paid,
                            int64_t in_hand, int64_t lodged) {
  GiveBackSplit s;
  s.cancel = std::min(amount, open);
  s.back = std::min(amount - s.cancel, paid);
  if (held.held == kDepositHeld) {
    s.awaited = std::clamp<int64_t>(s.back - in_hand, 0, lodged);
    s.back -= s.awaited;
  }
  return s;
}

std::vector<LedgerEntry> GiveBackPostings(const HeldAccounts& held, const std::string& unit,
                                          const GiveBackSplit& s) {
  const std::string of = held.per_unit ? unit : "";
  return {{held.due, of, s.cancel},
          {"receivable", unit, -s.cancel},
          {held.held, of, s.back},
          {"unit_credit", unit, -s.back},
          {kDepositAtCentre, unit, s.awaited},
          {kDepositRefundAwaited, unit, -s.awaited}};
}

}  // namespace wuye::billing
