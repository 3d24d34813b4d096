// Billing's domain rules (DOMAIN.md §4): fee maths, tariffs, the ±30 % price band, meter
// readings, payment allocation, arrears ageing and the collection figures. Pure functions:
// no I/O, no clock (times are passed in). Money is int64 fen.
//
// Every rounding rule is written here, once:
//   - management fee: area (centi-m²) × rate (fen/m²) / 100, rounded half up to the fen;
//   - a first month's prorated fee: (fee × 100 × days owed + 50 × divisor) / (100 × divisor),
//     rounded half up once (ProrateHundredths); with every day owed it is the fee itself.
//     The set-based billing run writes the same expression in SQL, and a service test
//     compares every bill it issues with MonthlyFees;
//   - metered charges: the exact sum over tiers of consumption (centi-units) × fen per
//     unit, divided by 100 once at the end, rounded half up;
//   - ±30 % band: lowest allowed = ceil(70 % of the standard), highest = floor(130 %);
//   - rates in basis points round down (a rate never looks better than it is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/basis_points.h"
#include "shared/text.h"
#include "shared/zone.h"
#include "wuye/billing/v1/billing.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"

namespace wuye::billing {

// ---- Decimals --------------------------------------------------------------------------

// An exact decimal with at most two decimals as hundredths: "89.5" → 8950. Refuses signs,
// exponents and anything but digits and one point; `max_units` bounds the whole part.
absl::StatusOr<int64_t> ParseCenti(absl::string_view text, absl::string_view field,
                                   int64_t max_units = 100000000);
// 8950 → "89.50".
std::string FormatCenti(int64_t centi);

// Rounds `numerator / 100` half up (numerator >= 0): the one division of every fee.
inline int64_t RoundHundredthsHalfUp(int64_t numerator) { return (numerator + 50) / 100; }

// ---- Monthly fees ----------------------------------------------------------------------

// Management fee (物业管理费) of a month: area × rate, rounded half up to the fen.
int64_t ManagementFeeFen(int64_t area_centi_m2, int64_t fen_per_m2);

// Unit types and occupancies as stored (the directory's numbers: wuye.events.v1.UnitType,
// Occupancy).
inline constexpr int kUnitTypeParking = 5;
inline constexpr int kOccupancyVacant = 1;
inline constexpr int kOccupancySelfOccupied = 2;
inline constexpr int kOccupancyRented = 3;

struct UnitFacts {
  int64_t area_centi_m2 = 0;
  int type = 1;
  int occupancy = kOccupancyVacant;
  bool handed_over = false;
  // Estate-local days of hand-over (收楼) and move-in (入住), when the directory knows them.
  std::optional<absl::CivilDay> handover_day = std::nullopt;
  std::optional<absl::CivilDay> move_in_day = std::nullopt;
};

// The part of a month a fee is owed for: `days` of `of` (of > 0; days == of: all of it).
struct OwedDays {
  int64_t days = 0;
  int64_t of = 1;
};
// The days of `month` owed from `from` on (unset, or before the month: all of it; after the
// month: none) under the group's proration reading (PRORATION_UNSPECIFIED = by the days of
// the month).
OwedDays DaysOwed(const std::optional<absl::CivilDay>& from, absl::CivilMonth month,
                  v1::Proration proration);
// `hundredths` (a fee × 100) × days ÷ of ÷ 100, rounded half up: the one rule of every
// prorated fee; with all days owed it is RoundHundredthsHalfUp.
inline int64_t ProrateHundredths(int64_t hundredths, OwedDays owed) {
  return (hundredths * owed.days + 50 * owed.of) / (100 * owed.of);
}

struct MonthlyLines {
  int64_t management_fen = 0;
  int64_t stair_lighting_fen = 0;
  int64_t parking_fen = 0;
  int64_t total() const { return management_fen + stair_lighting_fen + parking_fen; }
};

// The fixed part of a unit's monthly bill for `month`. Units not handed over (or handed
// over after the month) owe nothing; a vacant unit that was handed over owes the management
// fee (003_…, Q4: 空置物业由业主交纳) but not the stair lighting, which is owed once someone
// has moved in (Q6: 業主入住后): occupancy self-occupied or rented, from the move-in day.
// The first month is prorated from the hand-over day (management fee, parking) and from
// the move-in day (lighting) by `proration`. Parking spaces pay the parking fee of their
// occupancy instead of the area fee and lighting. `estate_rate` applies unless the schedule
// has a rate for the unit's type. Without a month nothing is prorated. The billing run
// computes the same in SQL (billing_store.cc), and a test compares the two.
MonthlyLines MonthlyFees(const UnitFacts& unit, const v1::FeeSchedule& schedule,
                         int64_t estate_rate, std::optional<absl::CivilMonth> month = std::nullopt,
                         v1::Proration proration = v1::PRORATION_DAYS_OF_MONTH);
// The rate of a unit type: the schedule's, else the estate's.
int64_t RateFor(int type, const v1::FeeSchedule& schedule, int64_t estate_rate);

// Checks a fee schedule; fills due_day 15 when 0.
absl::Status PrepareFeeSchedule(v1::FeeSchedule& schedule, absl::string_view prefix);

// ---- Meters ----------------------------------------------------------------------------

// The tariff of meters of `kind` in an estate's schedule (the last one listed for the kind),
// or nullptr when the schedule has none: such a reading is refused (NO_TARIFF).
const v1::Tariff* TariffFor(const v1::FeeSchedule& schedule, v1::MeterKind kind);
// Tiers ascend strictly in up_to; the last has up_to 0 (no bound); prices >= 0.
absl::Status CheckTariff(const v1::Tariff& tariff, absl::string_view field);
// Charge of a month's consumption under a tiered tariff (rule in the header comment).
int64_t TieredChargeFen(int64_t consumption_centi, const v1::Tariff& tariff);

// A jump is implausible when the previous billed consumption was > 0 and the new one is
// more than kJumpFactor × it and at least kJumpFloorCenti above it.
inline constexpr int64_t kJumpFactor = 3;
inline constexpr int64_t kJumpFloorCenti = 1000;  // 10 units

struct PriorReading {
  int64_t reading_centi = 0;      // the meter's last billed reading
  int64_t consumption_centi = 0;  // and the consumption it billed
};

struct ReadingOutcome {
  int64_t consumption_centi = 0;
  bool flagged = false;
  std::string flag_reason;
};

// The consumption of a new reading against the last billed one. A meter's first reading
// (no prior, not a replacement) is its baseline and consumes 0. A reading below the last
// is FAILED_PRECONDITION (METER_READING_DECREASED) unless the meter was replaced; then the
// consumption is (old meter's final − last) + the new meter's reading.
absl::StatusOr<ReadingOutcome> EvaluateReading(const std::optional<PriorReading>& prior,
                                               int64_t reading_centi, bool replaced,
                                               int64_t old_final_centi);

// The group's settings with every default filled in (0 / UNSPECIFIED fields).
v1::BillingSettings WithDefaults(v1::BillingSettings settings);
// Checks settings a group admin sends (0 / UNSPECIFIED allowed: the default).
absl::Status CheckBillingSettings(const v1::BillingSettings& settings, absl::string_view prefix);
inline constexpr int32_t kMaxGraceDays = 90;
inline constexpr int64_t kDefaultWaterCeiling = 500;          // m³ a month
inline constexpr int64_t kDefaultElectricityCeiling = 20000;  // kWh a month
inline constexpr int64_t kDefaultGasCeiling = 1000;           // m³ a month
// FAILED_PRECONDITION (CONSUMPTION_ABOVE_CEILING) when a month's consumption of a meter of
// `kind` is above the group's ceiling: also for the reading right after a meter's baseline,
// which the jump check cannot judge.
absl::Status CheckConsumptionCeiling(int64_t consumption_centi, v1::MeterKind kind,
                                     const v1::BillingSettings& settings);

// ---- Prices ----------------------------------------------------------------------------

inline constexpr int kPriceBandPercent = 30;
struct PriceBand {
  int64_t min_fen, max_fen;
};
// The band an estate's price must lie in: [ceil(70 %), floor(130 %)] of the standard.
PriceBand EstatePriceBand(int64_t standard_fen);
// INVALID_ARGUMENT on `field` naming the allowed range when outside it.
absl::Status CheckEstatePrice(int64_t price_fen, int64_t standard_fen, absl::string_view field);
absl::Status CheckStandardPrice(const v1::StandardPrice& price, absl::string_view prefix);

// ---- Payments --------------------------------------------------------------------------

struct OpenBill {
  std::string id;
  absl::Time due;
  absl::Time issued;
  int64_t open_fen = 0;  // amount − paid, > 0
};

struct AllocationPlan {
  std::vector<std::pair<std::string, int64_t>> allocations;  // bill id → fen
  int64_t credit_fen = 0;
};

// Settles the named bill first (if open), then the oldest open bills (by due time, issue
// time, id); what is left becomes credit.
AllocationPlan Allocate(int64_t amount_fen, const std::string& named_bill,
                        std::vector<OpenBill> open);

absl::Status CheckPayment(const v1::Payment& payment, absl::string_view prefix);
// "cash", "card", "wechat_pay", "alipay", "bank_transfer".
std::string MethodName(v1::PaymentMethod method);

// ---- Ledger postings --------------------------------------------------------------------
// Which accounts a money movement debits and credits. Accounts: "cash:<method>" (money in
// hand), "receivable" (owed by units), "unit_credit" and "deposit_held" (held for a unit),
// "revenue:<item>" (the office's), and the elder-care accounts below.

// One line of a ledger transaction; the lines of one transaction sum to 0.
struct LedgerEntry {
  std::string account;
  std::string unit_id;  // "" when the entry belongs to no unit
  int64_t amount_fen;   // debit > 0, credit < 0
};

// "cash:<MethodName>": where money taken or paid out by `method` is.
std::string CashAccount(v1::PaymentMethod method);
// A payment of `amount_fen` by a unit: the cash in, `amount_fen − credit_fen` off the unit's
// receivable (the bills it settles) and the rest to the unit's credit.
std::vector<LedgerEntry> PaymentPostings(const std::string& unit, v1::PaymentMethod method,
                                         int64_t amount_fen, int64_t credit_fen);
// A payment reversed: `settled_fen` owed again, its `credit_fen` off the unit's credit, the
// cash out.
std::vector<LedgerEntry> ReversalPostings(const std::string& unit, v1::PaymentMethod method,
                                          int64_t amount_fen, int64_t settled_fen,
                                          int64_t credit_fen);
// A deposit taken: the cash in, held for the unit.
std::vector<LedgerEntry> DepositPostings(const std::string& unit, v1::PaymentMethod method,
                                         int64_t amount_fen);
// What a refund pays out of: the unit's credit, or its deposit held.
std::string RefundAccount(v1::RefundOf of);
// A refund: out of RefundAccount(of) of the unit, the cash out.
std::vector<LedgerEntry> RefundPostings(v1::RefundOf of, const std::string& unit,
                                        v1::PaymentMethod method, int64_t amount_fen);
// The monthly fees a billing run issued, by item.
struct IssuedFees {
  int64_t management = 0, lighting = 0, parking = 0, water = 0, electricity = 0, gas = 0;
  int64_t total() const { return management + lighting + parking + water + electricity + gas; }
};
// Bills issued by a run: owed by the units (one receivable line; the bills name the units),
// each fee the office's revenue of its item.
std::vector<LedgerEntry> BillingRunPostings(const IssuedFees& fees);
// A paid work order done at a unit: owed by the unit, the office's paid-service revenue.
std::vector<LedgerEntry> PaidServicePostings(const std::string& unit, int64_t quote_fen);

// ---- The counter's money (issue 25; counter_money_flow.h moves it) ---------------------

// 003_… Q9, 000_… 二.9: the renovation deposit the office asks when it approves a
// renovation: owed (`renovation_deposit_due`, per unit) until paid, then held for the unit
// in `deposit_held` beside the deposits TakeDeposit takes (refundable with REFUND_OF_DEPOSIT,
// counted in deposits_held_fen); released at acceptance less the deduction.
inline constexpr char kRenovationDepositItem[] = "renovation_deposit";
inline constexpr char kRenovationDepositDue[] = "renovation_deposit_due";
// A replacement access or IC card the unit pays for: the office's revenue at once.
inline constexpr char kCardReplacementItem[] = "card_replacement";
// What the office keeps of a renovation deposit for damage or breaches found at acceptance.
inline constexpr char kRenovationDeductionRevenue[] = "revenue:renovation_deduction";

// A charge of bill `item` to a unit: owed by the unit; the office's revenue of the item, or,
// for money kept for the unit (HeldAccountsOf: the renovation deposit), its due account.
std::vector<LedgerEntry> ChargePostings(const std::string& unit, const std::string& item,
                                        int64_t amount);

// The counter's "meters read at hand-over": the meter's kind of a name ("water",
// "electricity", "gas"; METER_KIND_UNSPECIFIED for any other).
v1::MeterKind MeterKindOf(absl::string_view name);
// The month an opening reading taken at `day` is filed under: the month before it, so that
// the hand-over month's own reading is measured from it and billed with that month.
wuye::common::v1::Month OpeningPeriod(absl::CivilDay day);

// How a renovation deposit is settled at acceptance. Of its charge bill (`amount`, `paid`):
// what is still open is cancelled (never owed now: the works are over); of what was paid,
// what the unit still has in deposit_held (`held`: a deposit refunded by hand before is not
// paid twice) is released: the deduction (at most that) to the office, the rest to the
// unit's credit, refundable with REFUND_OF_CREDIT.
struct DepositRelease {
  int64_t cancel = 0;    // the bill's open part, cancelled
  int64_t released = 0;  // out of deposit_held
  int64_t deducted = 0;  // of which the office keeps
  int64_t back = 0;      // of which the unit's credit
  bool empty() const { return cancel == 0 && released == 0; }
};
DepositRelease ReleaseDeposit(int64_t amount, int64_t paid, int64_t held, int64_t deduction);
std::vector<LedgerEntry> ReleasePostings(const std::string& unit, const DepositRelease& r);

// ---- Elderly-care money (004_… 5.2, 5.6, 5.9, 5.12; eldercare_money_flow.h moves it) --------

inline constexpr char kClinicBilled[] = "clinic_billed";
inline constexpr char kClinicPayable[] = "clinic_payable";
inline constexpr char kClinicReceivable[] = "clinic_receivable";
inline constexpr char kDepositHeld[] = "eldercare_deposit_held";
inline constexpr char kDepositAtCentre[] = "eldercare_deposit_at_emergency_centre";
inline constexpr char kDepositRefundAwaited[] = "eldercare_deposit_refund_awaited";

// What non-care roles read for an elder-care fee on a bill (养老服务).
inline constexpr char kEldercareServicesItem[] = "eldercare_services";

// The bill item of an elder-care charge kind ("" for kinds that make no bill).
std::string EldercareItem(events::v1::ElderFeeKind kind);

// Where a bill item's money waits until paid and where it is held once paid, e.g.
// {"clinic_billed", "clinic_payable"}; nullopt for items that are revenue at once.
struct HeldAccounts {
  std::string due, held;
  bool per_unit = false;  // the entries carry the unit
};
std::optional<HeldAccounts> HeldAccountsOf(const std::string& item);

// Whether the caller may read what care a bill's elder-care line is for: nurses, care
// workers and the clinic.
bool MaySeeCareDetail(const Caller& caller);
// Rewrites the elder-care lines of a bill to kEldercareServicesItem for callers who may not
// see care detail (the emergency deposit, refundable money of no care detail, stays).
void MaskCareDetail(const Caller& caller, v1::Bill* bill);

// The clinic's net for a month: collected − returned − management fee.
int64_t NetToClinic(const v1::ClinicSettlement& s);

// The ledger entries of a settlement payment (5.12) when the office holds `payable` for the
// clinic and the clinic owes `receivable`: the two are offset and `amount` moves in cash
// (`cash_account`) the way `direction` says. FAILED_PRECONDITION (MORE_THAN_OUTSTANDING) when
// `amount` exceeds what is outstanding that way.
absl::StatusOr<std::vector<LedgerEntry>> ClinicSettlementEntries(
    int64_t payable, int64_t receivable, v1::ClinicPaymentDirection direction, int64_t amount,
    const std::string& cash_account);

// 5.12: the clinic's management fee, owed by the clinic (no unit) as the office's revenue.
std::vector<LedgerEntry> ClinicFeePostings(int64_t amount);
// 5.2.2: a family call the office pays from the unit's fund.
std::vector<LedgerEntry> FamilyCallDrawPostings(const std::string& unit, int64_t amount);
// An elder-care charge of bill `item` to a unit: owed by the unit; the office's revenue of
// the item, or, for money kept for someone (HeldAccountsOf), its due account.
std::vector<LedgerEntry> ElderChargePostings(const std::string& unit, const std::string& item,
                                             int64_t amount);
// A payment settled `fen` of a unit's bill of `item` kept for someone: from its due account
// to its holding account (`reverse`: back). Nothing for an item that is revenue at once.
std::vector<LedgerEntry> CollectedPostings(const std::string& unit, const std::string& item,
                                           int64_t fen, bool reverse);
// 5.9: `amount` of a unit's emergency deposit in hand lodged with the emergency centre.
std::vector<LedgerEntry> LodgePostings(const std::string& unit, int64_t amount);
// 5.9: `amount` of what is lodged for a unit comes back: first what is still owed to a leaver
// (`awaited`, to the unit's credit), the rest held again.
std::vector<LedgerEntry> DepositBackPostings(const std::string& unit, int64_t amount,
                                             int64_t awaited);

// 5.6 / 5.9: how `amount` given back of a charge kept for someone splits: first what is still
// open on its bill (`cancel`, never owed now), then of what was paid (`back`, to the unit's
// credit); of an emergency deposit, the part lodged with the centre and not in hand waits
// (`awaited`) until it comes back.
struct GiveBackSplit {
  int64_t cancel = 0, back = 0, awaited = 0;
};
// `open`/`paid`: the bill's open and paid fen; `in_hand`/`lodged`: the unit's deposit held and
// at the centre (read only for the emergency deposit's accounts).
GiveBackSplit SplitGiveBack(const HeldAccounts& held, int64_t amount, int64_t open, int64_t paid,
                            int64_t in_hand, int64_t lodged);
std::vector<LedgerEntry> GiveBackPostings(const HeldAccounts& held, const std::string& unit,
                                          const GiveBackSplit& split);

// ---- Arrears and reports ---------------------------------------------------------------

// Whole days a bill is past due at `now` (0 on the due day itself); -1 when not yet due.
int64_t DaysPastDue(absl::Time due, absl::Time now);
// 0: 0–30 days, 1: 31–90, 2: 91–180, 3: over 180.
int AgeBucket(int64_t days_past_due);

inline constexpr int32_t kCollectionTargetBp = 9500;
inline constexpr int32_t kArrearsBaselineBp = 2500;

// Fills the collection rate (collected ÷ billed; 10000 with nothing billed), the arrears
// share (owners in arrears ÷ owners, against the 25 % baseline of 000_… 二.10) and whether
// both targets are met, from the figures in `report`.
void CollectionRates(v1::CollectionReport* report);

// The month as a date "YYYY-MM-01", and back.
absl::Status CheckMonth(const wuye::common::v1::Month& month, absl::string_view field);
// The month `now` falls in, in the estate's zone `tz`.
absl::CivilMonth CurrentMonth(absl::Time now, absl::TimeZone tz);
// A billing run bills a month that has begun (DOMAIN.md §4: each unit's bill for the period;
// nothing in the seeds bills ahead): INVALID_ARGUMENT on `field` for a period after
// `current`, the estate's current month. A typo such as 2062-03 would bill every unit, and a
// bill is never voided.
absl::Status CheckBillablePeriod(const wuye::common::v1::Month& period, absl::CivilMonth current,
                                 absl::string_view field);
std::string MonthStart(const wuye::common::v1::Month& month);
wuye::common::v1::Month MonthOf(absl::CivilDay day);
// A monthly bill is due at the end of day `due_day` of its month, in the estate's zone.
absl::Time DueTime(const wuye::common::v1::Month& month, int due_day, absl::TimeZone tz);
// A month's collection figures are fixed at its close: its due time plus the group's grace
// (days of 24 hours).
inline absl::Time CollectionCloseTime(absl::Time due, int32_t grace_days) {
  return due + absl::Hours(24) * grace_days;
}
}  // namespace wuye::billing
