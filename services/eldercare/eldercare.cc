#include "services/eldercare/eldercare.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::eldercare {
namespace {

namespace ev = ::wuye::events::v1;

absl::Status Refused(absl::string_view rule, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(rule), reason);
}

}  // namespace

int AgeInYears(absl::CivilDay dob, absl::CivilDay on) {
  int years = static_cast<int>(on.year() - dob.year());
  if (on.month() < dob.month() || (on.month() == dob.month() && on.day() < dob.day())) --years;
  return years;
}

absl::CivilDay OneYearAfter(absl::CivilDay from) {
  // CivilDay normalises 29 February of a common year to 1 March.
  return absl::CivilDay(from.year() + 1, from.month(), from.day());
}

bool LeaseIsAYearOrMore(absl::CivilDay start, absl::CivilDay end) {
  return end >= OneYearAfter(start) - 1;
}

absl::Status CheckEligible(const ResidentFacts& r, absl::CivilDay on) {
  if (!r.date_of_birth) {
    return Refused("resident.date_of_birth: unknown; record it in the directory first",
                   "DATE_OF_BIRTH_UNKNOWN");
  }
  if (AgeInYears(*r.date_of_birth, on) < kMinAgeYears) {
    return Refused("resident: must be 60 or over on the enrolment date", "UNDER_60");
  }
  if (r.role == ResidentRole::kOwner) return absl::OkStatus();
  if (r.role != ResidentRole::kTenant) {
    return Refused("resident.role: only owners and tenants may enrol", "NOT_OWNER_OR_TENANT");
  }
  if (!r.lease_start || !r.lease_end) {
    return Refused("resident.lease: a tenant's lease must be recorded", "LEASE_UNKNOWN");
  }
  if (on < *r.lease_start || on > *r.lease_end) {
    return Refused("resident.lease: the lease must cover the enrolment date", "LEASE_NOT_CURRENT");
  }
  if (!LeaseIsAYearOrMore(*r.lease_start, *r.lease_end)) {
    return Refused("resident.lease: a tenant needs a lease of a year or more",
                   "LEASE_UNDER_A_YEAR");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CanonicalPhone(absl::string_view phone, absl::string_view field) {
  std::string digits;
  for (size_t i = 0; i < phone.size(); ++i) {
    char c = phone[i];
    if (c == ' ' || c == '-') continue;
    if (c == '+' && digits.empty() && i == phone.find_first_not_of(' ')) {
      digits.push_back(c);
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return FieldError(field, "digits only, with an optional leading +");
    }
    digits.push_back(c);
  }
  size_t n = digits.size() - (!digits.empty() && digits[0] == '+' ? 1 : 0);
  if (n < 7 || n > 15) return FieldError(field, "7 to 15 digits");
  return digits;
}

absl::Status CheckConsent(const v1::Consent& c, absl::string_view field, absl::Time now) {
  WUYE_RETURN_IF_ERROR(
      CheckText(c.scope(), absl::StrCat(field, ".scope"), 500, Presence::kRequired, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckText(c.version(), absl::StrCat(field, ".version"), 32,
                                 Presence::kRequired, Lines::kOne));
  WUYE_RETURN_IF_ERROR(CheckText(c.signed_by(), absl::StrCat(field, ".signed_by"), 100,
                                 Presence::kRequired, Lines::kOne));
  if (!c.has_signed_at() || c.signed_at().seconds() <= 0) {
    return FieldError(absl::StrCat(field, ".signed_at"), "required");
  }
  if (FromProtoTime(c.signed_at()) > now + absl::Minutes(5)) {
    return FieldError(absl::StrCat(field, ".signed_at"), "must not be in the future");
  }
  return absl::OkStatus();
}

absl::Status CheckFamilyContacts(google::protobuf::RepeatedPtrField<v1::FamilyContact>* contacts,
                                 absl::string_view field) {
  if (contacts->empty()) return FieldError(field, "at least one family contact");
  if (contacts->size() > 5) return FieldError(field, "at most 5 family contacts");
  for (int i = 0; i < contacts->size(); ++i) {
    v1::FamilyContact& c = (*contacts)[i];
    std::string prefix = absl::StrCat(field, "[", i, "]");
    WUYE_RETURN_IF_ERROR(
        CheckText(c.name(), absl::StrCat(prefix, ".name"), 100, Presence::kRequired, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckText(c.relation(), absl::StrCat(prefix, ".relation"), 50,
                                   Presence::kOptional, Lines::kOne));
    WUYE_ASSIGN_OR_RETURN(std::string phone,
                          CanonicalPhone(c.phone(), absl::StrCat(prefix, ".phone")));
    c.set_phone(phone);
  }
  return absl::OkStatus();
}

absl::Status CheckHealthCard(const v1::HealthCard& card, absl::string_view field) {
  WUYE_RETURN_IF_ERROR(CheckText(card.blood_type(), absl::StrCat(field, ".blood_type"), 16,
                                 Presence::kOptional, Lines::kOne));
  for (auto [value, name] : {std::pair{&card.family_history(), "family_history"},
                             std::pair{&card.recent_illness(), "recent_illness"},
                             std::pair{&card.drug_allergies(), "drug_allergies"},
                             std::pair{&card.food_taboos(), "food_taboos"}}) {
    WUYE_RETURN_IF_ERROR(
        CheckText(*value, absl::StrCat(field, ".", name), 2000, Presence::kOptional, Lines::kMany));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::CivilDay> DayOf(const v1::Date& d, absl::string_view field) {
  if (d.year() == 0 && d.month() == 0 && d.day() == 0) return FieldError(field, "required");
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (d.year() < 1880 || d.year() > 9999 || day.month() != d.month() || day.day() != d.day()) {
    return FieldError(field, "not a real date");
  }
  return day;
}

v1::Date ToDate(absl::CivilDay day) {
  v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

std::string DayText(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::CivilDay NextVisitDue(absl::CivilDay visited, int every_days) { return visited + every_days; }

Fees ResolveFees(const v1::ElderFees& group, const v1::ElderFees& estate) {
  Fees f;
  auto pick = [&](int64_t* out, bool (v1::ElderFees::*has)() const,
                  int64_t (v1::ElderFees::*get)() const) {
    if ((estate.*has)()) {
      *out = (estate.*get)();
    } else if ((group.*has)()) {
      *out = (group.*get)();
    }
  };
  using F = v1::ElderFees;
  pick(&f.service_year, &F::has_service_year_fen, &F::service_year_fen);
  pick(&f.family_call_fund, &F::has_family_call_fund_fen, &F::family_call_fund_fen);
  pick(&f.family_call, &F::has_family_call_fen, &F::family_call_fen);
  pick(&f.health_card, &F::has_health_card_fen, &F::health_card_fen);
  pick(&f.checkup_advance, &F::has_checkup_advance_fen, &F::checkup_advance_fen);
  pick(&f.emergency_deposit, &F::has_emergency_deposit_fen, &F::emergency_deposit_fen);
  pick(&f.sickbed_day, &F::has_sickbed_day_fen, &F::sickbed_day_fen);
  pick(&f.hospice_day, &F::has_hospice_day_fen, &F::hospice_day_fen);
  pick(&f.clinic_management_day, &F::has_clinic_management_day_fen, &F::clinic_management_day_fen);
  return f;
}

v1::ElderFees FeesProto(const Fees& f) {
  v1::ElderFees p;
  p.set_service_year_fen(f.service_year);
  p.set_family_call_fund_fen(f.family_call_fund);
  p.set_family_call_fen(f.family_call);
  p.set_health_card_fen(f.health_card);
  p.set_checkup_advance_fen(f.checkup_advance);
  p.set_emergency_deposit_fen(f.emergency_deposit);
  p.set_sickbed_day_fen(f.sickbed_day);
  p.set_hospice_day_fen(f.hospice_day);
  p.set_clinic_management_day_fen(f.clinic_management_day);
  return p;
}

absl::Status CheckFees(const v1::ElderFees& fees, absl::string_view field) {
  // 004_… 备注: "关于各种收费金额，要根据当地人民消费水平酌情降低": a fee the seed gives a
  // figure for may be lowered, never raised; the family call, which has none, is bounded by
  // the fund it is paid from (below) and by kMaxFeeFen.
  const Fees seed;
  const std::pair<int, int64_t> ceilings[] = {
      {v1::ElderFees::kServiceYearFenFieldNumber, seed.service_year},
      {v1::ElderFees::kFamilyCallFundFenFieldNumber, seed.family_call_fund},
      {v1::ElderFees::kFamilyCallFenFieldNumber, kMaxFeeFen},
      {v1::ElderFees::kHealthCardFenFieldNumber, seed.health_card},
      {v1::ElderFees::kCheckupAdvanceFenFieldNumber, seed.checkup_advance},
      {v1::ElderFees::kEmergencyDepositFenFieldNumber, seed.emergency_deposit},
      {v1::ElderFees::kSickbedDayFenFieldNumber, seed.sickbed_day},
      {v1::ElderFees::kHospiceDayFenFieldNumber, seed.hospice_day},
      {v1::ElderFees::kClinicManagementDayFenFieldNumber, seed.clinic_management_day}};
  const auto* desc = fees.GetDescriptor();
  const auto* refl = fees.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    if (!refl->HasField(fees, f)) continue;
    int64_t ceiling = -1;  // a field added without a ceiling here is refused, not unbounded
    for (const auto& [number, most] : ceilings) {
      if (number == f->number()) ceiling = most;
    }
    int64_t v = refl->GetInt64(fees, f);
    if (v < 0 || v > ceiling) {
      return FieldError(absl::StrCat(field, ".", f->name()),
                        ceiling == kMaxFeeFen
                            ? absl::StrCat("0 to ", kMaxFeeFen, " fen")
                            : absl::StrCat("0 to ", ceiling,
                                           " fen: the seed's figure may be lowered, not raised "
                                           "(004_… 备注)"));
    }
  }
  // A family call that costs more than the fund holds could never be paid from it.
  Fees resolved = ResolveFees({}, fees);
  if (fees.has_family_call_fen() && fees.has_family_call_fund_fen() &&
      resolved.family_call > resolved.family_call_fund) {
    return FieldError(absl::StrCat(field, ".family_call_fen"),
                      "must not exceed family_call_fund_fen");
  }
  return absl::OkStatus();
}

FeeLine ServiceYearCharge(absl::CivilDay from, const Fees& fees) {
  return {ev::ELDER_FEE_KIND_SERVICE_YEAR, ev::ELDER_FEE_PAYER_RESIDENT, fees.service_year, 1,
          absl::StrCat("elderly-care service year from ", DayText(from))};
}

std::vector<FeeLine> EnrolmentCharges(absl::CivilDay on, const Fees& fees) {
  std::vector<FeeLine> all = {
      ServiceYearCharge(on, fees),
      {ev::ELDER_FEE_KIND_FAMILY_CALL_FUND, ev::ELDER_FEE_PAYER_RESIDENT, fees.family_call_fund, 1,
       "family-call fund, prepaid"},
      {ev::ELDER_FEE_KIND_HEALTH_CARD, ev::ELDER_FEE_PAYER_RESIDENT, fees.health_card, 1,
       "health card"},
      {ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT, ev::ELDER_FEE_PAYER_RESIDENT, fees.emergency_deposit,
       1, "emergency deposit, refunded in full on exit"}};
  std::vector<FeeLine> out;
  for (FeeLine& line : all) {
    if (line.amount_fen > 0) out.push_back(std::move(line));
  }
  return out;
}

FeeLine DepositRefund(int64_t amount, const std::string& deposit_charge_id) {
  return {ev::ELDER_FEE_KIND_DEPOSIT_REFUND,
          ev::ELDER_FEE_PAYER_RESIDENT,
          amount,
          1,
          "emergency deposit refunded in full",
          deposit_charge_id};
}

absl::StatusOr<int64_t> CheckupCost(int64_t cost_fen, int64_t advance_fen) {
  int64_t cost = cost_fen == 0 ? advance_fen : cost_fen;
  if (cost == 0) return FieldError("checkup.cost_fen", "required: the estate has no advance");
  return cost;
}

FeeLine CheckupAdvance(int64_t advance_fen, absl::CivilDay on) {
  return {ev::ELDER_FEE_KIND_CHECKUP, ev::ELDER_FEE_PAYER_RESIDENT, advance_fen, 1,
          absl::StrCat("full checkup on ", DayText(on), ", advance")};
}

std::optional<FeeLine> CheckupSettlement(int64_t advance_fen, int64_t cost_fen,
                                         const std::string& advance_charge_id) {
  if (cost_fen == advance_fen) return std::nullopt;
  if (cost_fen > advance_fen) {
    return FeeLine{ev::ELDER_FEE_KIND_CHECKUP_TOP_UP,
                   ev::ELDER_FEE_PAYER_RESIDENT,
                   cost_fen - advance_fen,
                   1,
                   "full checkup settled at actual cost: the rest charged",
                   advance_charge_id};
  }
  return FeeLine{ev::ELDER_FEE_KIND_CHECKUP_RETURN,
                 ev::ELDER_FEE_PAYER_RESIDENT,
                 advance_fen - cost_fen,
                 1,
                 "full checkup settled at actual cost: the rest returned",
                 advance_charge_id};
}

FeeLine FamilyCallFundTopUp(const Fees& fees) {
  return {ev::ELDER_FEE_KIND_FAMILY_CALL_FUND, ev::ELDER_FEE_PAYER_RESIDENT, fees.family_call_fund,
          1, "family-call fund, topped up"};
}

int64_t FamilyCallCost(std::optional<int64_t> cost_fen, const Fees& fees) {
  return cost_fen ? *cost_fen : fees.family_call;
}

FeeLine FamilyCallCharge(int64_t cost_fen) {
  return {ev::ELDER_FEE_KIND_FAMILY_CALL, ev::ELDER_FEE_PAYER_RESIDENT, cost_fen, 1,
          "family call, paid from the family-call fund"};
}

bool FundNeedsTopUp(int64_t balance_fen, const Fees& fees) {
  return fees.family_call_fund > 0 && balance_fen < fees.family_call;
}

std::vector<FeeLine> CareDayCharges(const std::vector<CareDayCount>& counts, const Fees& fees) {
  std::vector<FeeLine> out;
  int clinic_days = 0;
  std::optional<absl::CivilDay> first, last;
  for (const CareDayCount& c : counts) {
    if (c.days <= 0) continue;
    bool sickbed = c.kind == v1::CARE_KIND_SICKBED;
    std::string span = absl::StrCat(DayText(c.first), "..", DayText(c.last));
    out.push_back({sickbed ? ev::ELDER_FEE_KIND_SICKBED_DAYS : ev::ELDER_FEE_KIND_HOSPICE_DAYS,
                   ev::ELDER_FEE_PAYER_RESIDENT,
                   (sickbed ? fees.sickbed_day : fees.hospice_day) * c.days, c.days,
                   absl::StrCat(sickbed ? "home sick-bed care, " : "hospice care, ", span)});
    clinic_days += c.days;
    if (!first || c.first < *first) first = c.first;
    if (!last || c.last > *last) last = c.last;
  }
  if (clinic_days > 0) {
    out.push_back(
        {ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE, ev::ELDER_FEE_PAYER_CLINIC,
         fees.clinic_management_day * clinic_days, clinic_days,
         absl::StrCat("clinic management fee, care days ", DayText(*first), "..", DayText(*last))});
  }
  return out;
}

}  // namespace wuye::eldercare
