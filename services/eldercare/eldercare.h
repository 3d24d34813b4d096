// The elderly-care domain (../shared/DOMAIN.md §6): who may enrol, ID-number checks, fee
// figures, visit schedules and input rules. Pure: no I/O, no clock reads (pass the day).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "shared/id_number.h"
#include "wuye/eldercare/v1/eldercare.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"

namespace wuye::eldercare {

// The seed's fees in fen (004_… 5.2, DOMAIN.md §6): the defaults of the fee settings.
inline constexpr int64_t kServiceYearFen = 100000;       // 1000 yuan a year
inline constexpr int64_t kFamilyCallFundFen = 10000;     // 100 yuan prepaid
inline constexpr int64_t kFamilyCallFen = 100;           // a call's charge (the seed has none)
inline constexpr int64_t kHealthCardFen = 5000;          // 50 yuan
inline constexpr int64_t kCheckupDefaultFen = 30000;     // 300 yuan advance, at actual cost
inline constexpr int64_t kCheckupMaxFen = 1000000;       // a sanity bound on "actual cost"
inline constexpr int64_t kEmergencyDepositFen = 300000;  // 3000 yuan, refunded in full
inline constexpr int64_t kSickbedDayFen = 8000;          // 80 yuan a day
inline constexpr int64_t kHospiceDayFen = 10000;         // 100 yuan a day
inline constexpr int64_t kClinicFeePerDayFen = 1000;     // 10 yuan a person a day, clinic pays
inline constexpr int64_t kMaxFeeFen = 10000000;          // a setting's upper bound
inline constexpr int64_t kMaxFamilyCallFen = 100000;     // one call's upper bound

// The fees in force for an estate.
struct Fees {
  int64_t service_year = kServiceYearFen;
  int64_t family_call_fund = kFamilyCallFundFen;
  int64_t family_call = kFamilyCallFen;
  int64_t health_card = kHealthCardFen;
  int64_t checkup_advance = kCheckupDefaultFen;
  int64_t emergency_deposit = kEmergencyDepositFen;
  int64_t sickbed_day = kSickbedDayFen;
  int64_t hospice_day = kHospiceDayFen;
  int64_t clinic_management_day = kClinicFeePerDayFen;
};

// The estate's override over the group's over the seed's figures (a set field wins).
Fees ResolveFees(const v1::ElderFees& group, const v1::ElderFees& estate);
v1::ElderFees FeesProto(const Fees& fees);
// Each set fee 0..the seed's figure (004_… 备注: fees may be lowered, not raised); the family
// call, which the seed gives no figure, 0..kMaxFeeFen and at most the fund. Errors name
// `field`.<fee>.
absl::Status CheckFees(const v1::ElderFees& fees, absl::string_view field);

inline constexpr int kMinAgeYears = 60;
inline constexpr int kDefaultVisitEveryDays = 7;
inline constexpr int kMaxVisitEveryDays = 90;

// Roles of a resident as the directory sends them (wuye.events.v1.ResidentRole).
enum class ResidentRole { kUnspecified = 0, kOwner = 1, kTenant = 2, kFamily = 3 };

// What eldercare's copy of the directory knows about a resident.
struct ResidentFacts {
  std::optional<absl::CivilDay> date_of_birth;
  ResidentRole role = ResidentRole::kUnspecified;
  std::optional<absl::CivilDay> lease_start, lease_end;  // inclusive
};

// Completed years of age on `on`. Someone born on 29 February has a birthday on 1 March in
// common years.
int AgeInYears(absl::CivilDay date_of_birth, absl::CivilDay on);

// Whether a lease [start, end] (inclusive) lasts a year or more: 2026-03-01..2027-02-28 does.
bool LeaseIsAYearOrMore(absl::CivilDay start, absl::CivilDay end);

// OK when the resident may enrol on `on` (the enrolment date in the estate's time zone);
// otherwise FAILED_PRECONDITION naming the rule, with a reason: DATE_OF_BIRTH_UNKNOWN,
// UNDER_60, NOT_OWNER_OR_TENANT, LEASE_UNKNOWN, LEASE_NOT_CURRENT, LEASE_UNDER_A_YEAR.
absl::Status CheckEligible(const ResidentFacts& resident, absl::CivilDay on);

// The ID-number check is shared (shared/id_number.h); these names stay eldercare's too.
using ::wuye::CanonicalIdNumber;
using ::wuye::IdBirthDate;
using ::wuye::IdCheckCharacter;

// 7..15 digits with an optional leading '+'; spaces and dashes dropped. Returns the digits.
absl::StatusOr<std::string> CanonicalPhone(absl::string_view phone, absl::string_view field);

absl::Status CheckConsent(const v1::Consent& consent, absl::string_view field, absl::Time now);
absl::Status CheckFamilyContacts(google::protobuf::RepeatedPtrField<v1::FamilyContact>* contacts,
                                 absl::string_view field);
absl::Status CheckHealthCard(const v1::HealthCard& card, absl::string_view field);

// A proto date as a civil day; INVALID_ARGUMENT naming `field` when it is not a real date.
absl::StatusOr<absl::CivilDay> DayOf(const v1::Date& date, absl::string_view field);
v1::Date ToDate(absl::CivilDay day);
std::string DayText(absl::CivilDay day);  // "2026-11-24"

// The next scheduled visit after a visit on `visited`.
absl::CivilDay NextVisitDue(absl::CivilDay visited, int every_days);

// One charge to publish (ElderFeeCharged without ids). No health detail in `description`.
struct FeeLine {
  events::v1::ElderFeeKind kind;
  events::v1::ElderFeePayer payer;
  int64_t amount_fen;
  int32_t quantity;
  std::string description;
  std::string settles_charge_id = {};  // the charge a refund or settlement settles
};

// The charges of an enrolment on `on`: service year, family-call fund, health card and the
// emergency deposit (a zero fee is not charged).
std::vector<FeeLine> EnrolmentCharges(absl::CivilDay on, const Fees& fees);
// The service year starting on `from` (renewals).
FeeLine ServiceYearCharge(absl::CivilDay from, const Fees& fees);
// The deposit's refund on exit: `amount` as charged by `deposit_charge_id` (billing returns
// what of it was paid).
FeeLine DepositRefund(int64_t amount, const std::string& deposit_charge_id);
// A checkup's actual cost: the cost given (`cost_fen` > 0), else the estate's advance.
// INVALID_ARGUMENT on checkup.cost_fen when neither is known.
absl::StatusOr<int64_t> CheckupCost(int64_t cost_fen, int64_t advance_fen);
// A checkup's advance on `on`.
FeeLine CheckupAdvance(int64_t advance_fen, absl::CivilDay on);
// 多还少补: the difference between the actual cost and the advance `advance_charge_id`:
// a top-up when the cost is higher, a return when lower, nothing when equal.
std::optional<FeeLine> CheckupSettlement(int64_t advance_fen, int64_t cost_fen,
                                         const std::string& advance_charge_id);
// A top-up of the family-call fund.
FeeLine FamilyCallFundTopUp(const Fees& fees);
// What a family call costs: the cost given, else the estate's price of a call.
int64_t FamilyCallCost(std::optional<int64_t> cost_fen, const Fees& fees);
// One family call paid from the fund.
FeeLine FamilyCallCharge(int64_t cost_fen);
// Whether the fund, after a call, must be topped up: it cannot pay the next call.
bool FundNeedsTopUp(int64_t balance_fen, const Fees& fees);

// Care days of one elder not yet charged: one charge per kind for the elder (80 or 100
// yuan a day) and one for the clinic's management fee (10 yuan a day of either kind).
struct CareDayCount {
  v1::CareKind kind;
  absl::CivilDay first, last;
  int days = 0;
};
std::vector<FeeLine> CareDayCharges(const std::vector<CareDayCount>& counts, const Fees& fees);

// The first day after a service year that starts on `from` (the same date a year later;
// 29 February → 1 March).
absl::CivilDay OneYearAfter(absl::CivilDay from);

}  // namespace wuye::eldercare
