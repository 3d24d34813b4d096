#include "services/billing/eldercare_money.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/billing/billing.h"
#include "shared/ids.h"
#include "shared/status.h"

namespace wuye::billing {
namespace {

namespace ev = ::wuye::events::v1;

constexpr char kClinicBilled[] = "clinic_billed";
constexpr char kClinicPayable[] = "clinic_payable";
constexpr char kClinicReceivable[] = "clinic_receivable";
constexpr char kDepositHeld[] = "eldercare_deposit_held";
constexpr char kDepositAtCentre[] = "eldercare_deposit_at_emergency_centre";
constexpr char kDepositRefundAwaited[] = "eldercare_deposit_refund_awaited";

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

}  // namespace

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
      return Refused(absl::StrCat("amount_fen: more than the office owes the clinic (",
                                  std::max<int64_t>(outstanding, 0), " fen)"),
                     "MORE_THAN_OUTSTANDING");
    }
    // The fee the clinic owes is kept back from what is paid to it.
    return std::vector<LedgerEntry>{{kClinicPayable, "", amount + receivable},
                                    {kClinicReceivable, "", -receivable},
                                    {cash_account, "", -amount}};
  }
  if (amount > -outstanding) {
    return Refused(absl::StrCat("amount_fen: more than the clinic owes the office (",
                                std::max<int64_t>(-outstanding, 0), " fen)"),
                   "MORE_THAN_OUTSTANDING");
  }
  return std::vector<LedgerEntry>{{cash_account, "", amount},
                                  {kClinicPayable, "", payable},
                                  {kClinicReceivable, "", -(amount + payable)}};
}

absl::Status EldercareMoney::Post(pqxx::work& tx, const std::string& group,
                                  const ev::ElderFeeCharged& fee, absl::Time at) {
  if (fee.amount_fen() <= 0 || fee.charge_id().empty()) return absl::OkStatus();
  const std::string ref = absl::StrCat("eldercare:", fee.charge_id());
  const int64_t amount = fee.amount_fen();
  if (fee.payer() == ev::ELDER_FEE_PAYER_CLINIC ||
      fee.kind() == ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE) {
    // 004_… 5.12: the office collects it from the clinic; no unit owes it.
    if (!IsValidId(fee.estate_id())) return absl::InvalidArgumentError("charge: no estate");
    // Only an estate of the event's own group (issue 20.5: every write keyed by the group).
    if (!store_.GetEstate(tx, group, fee.estate_id())) {
      return absl::UnavailableError("charge: estate not yet in billing's copy");
    }
    store_.PostLedger(
        tx, group, fee.estate_id(), "eldercare_clinic_fee", ref,
        {{"clinic_receivable", "", amount}, {"revenue:clinic_management_fee", "", -amount}}, at);
    return absl::OkStatus();
  }
  if (!IsValidId(fee.unit_id())) return absl::InvalidArgumentError("charge: no valid unit id");
  auto unit = store_.GetUnit(tx, group, fee.unit_id());
  if (!unit) return absl::UnavailableError("charge: unit not yet in billing's copy");
  store_.LockUnit(tx, group, unit->id);  // every money movement of a unit, one at a time
  switch (fee.kind()) {
    case ev::ELDER_FEE_KIND_DEPOSIT_REFUND:  // 5.9: in full, of what was paid
    case ev::ELDER_FEE_KIND_CHECKUP_RETURN:  // 5.6: 多还
      return GiveBack(tx, group, fee.settles_charge_id(), amount, ref,
                      fee.kind() == ev::ELDER_FEE_KIND_DEPOSIT_REFUND ? "eldercare_refund"
                                                                      : "eldercare_return",
                      at)
          .status();
    case ev::ELDER_FEE_KIND_FAMILY_CALL:  // 5.2.2: the office pays the call from the fund
      store_.PostLedger(
          tx, group, unit->estate_id, "eldercare_fund_draw", ref,
          {{"family_call_fund", unit->id, amount}, {"revenue:eldercare_family_calls", "", -amount}},
          at);
      return absl::OkStatus();
    default:
      break;
  }
  std::string item = EldercareItem(fee.kind());
  if (item.empty()) return absl::InvalidArgumentError("charge: unknown kind");
  auto held = HeldAccountsOf(item);
  LedgerEntry credit = held ? LedgerEntry{held->due, held->per_unit ? unit->id : "", -amount}
                            : LedgerEntry{absl::StrCat("revenue:", item), "", -amount};
  if (!store_.PostLedger(tx, group, unit->estate_id, "eldercare_charge", ref,
                         {{"receivable", unit->id, amount}, credit}, at)) {
    return absl::OkStatus();  // charged before
  }
  auto estate = store_.GetEstate(tx, group, unit->estate_id);
  absl::TimeZone tz = EstateZone(estate ? estate->time_zone : "");
  store_.InsertChargeBill(tx, group, NewId(at), unit->estate_id, unit->id,
                          MonthStart(MonthOf(absl::ToCivilDay(at, tz))), item, ref, amount, at);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> EldercareMoney::GiveBack(pqxx::work& tx, const std::string& group,
                                                 const std::string& settles_charge_id,
                                                 int64_t amount, const std::string& ref,
                                                 const std::string& kind, absl::Time at) {
  if (settles_charge_id.empty()) {
    return absl::InvalidArgumentError("charge: settles_charge_id required");
  }
  auto bill = money_.LockChargeBill(tx, group, absl::StrCat("eldercare:", settles_charge_id));
  if (!bill) return absl::UnavailableError("charge: the charge it settles is not billed yet");
  auto held = HeldAccountsOf(bill->item);
  if (!held) return absl::InvalidArgumentError("charge: settles a charge that holds no money");
  const std::string unit_of_held = held->per_unit ? bill->unit_id : "";
  // What is still open is never owed now; of the rest, only what was paid comes back.
  int64_t cancel = std::min(amount, bill->amount_fen - bill->paid_fen);
  int64_t back = std::min(amount - cancel, bill->paid_fen);
  // 5.9: a deposit lodged with the emergency centre is not in hand; its part of the refund is
  // awaited and paid to the unit's credit when it comes back (DepositBack).
  int64_t awaited = 0;
  if (held->held == kDepositHeld) {
    int64_t in_hand = store_.UnitLiability(tx, group, bill->unit_id, kDepositHeld);
    awaited = std::clamp<int64_t>(back - in_hand, 0,
                                  store_.UnitLiability(tx, group, bill->unit_id, kDepositAtCentre));
    back -= awaited;
  }
  if (!store_.PostLedger(tx, group, bill->estate_id, kind, ref,
                         {{held->due, unit_of_held, cancel},
                          {"receivable", bill->unit_id, -cancel},
                          {held->held, unit_of_held, back},
                          {"unit_credit", bill->unit_id, -back},
                          {kDepositAtCentre, bill->unit_id, awaited},
                          {kDepositRefundAwaited, bill->unit_id, -awaited}},
                         at)) {
    return 0;  // given back before
  }
  money_.ReduceBill(tx, bill->id, cancel);
  return back;
}

void EldercareMoney::Collected(pqxx::work& tx, const std::string& group, const std::string& estate,
                               const std::string& payment_id,
                               const std::vector<std::pair<std::string, int64_t>>& allocations,
                               bool reverse, absl::Time at) {
  std::map<std::string, int64_t> paid;
  std::vector<std::string> ids;
  for (const auto& [bill, fen] : allocations) {
    paid[bill] += fen;
    ids.push_back(bill);
  }
  std::vector<LedgerEntry> entries;
  for (const ChargeBill& b : money_.EldercareBills(tx, group, ids)) {
    auto held = HeldAccountsOf(b.item);
    if (!held) continue;
    int64_t fen = reverse ? -paid[b.id] : paid[b.id];
    const std::string unit = held->per_unit ? b.unit_id : "";
    entries.push_back({held->due, unit, fen});
    entries.push_back({held->held, unit, -fen});
  }
  if (entries.empty()) return;
  store_.PostLedger(
      tx, group, estate, reverse ? "eldercare_uncollected" : "eldercare_collected",
      absl::StrCat(reverse ? "eldercare_uncollected:" : "eldercare_collected:", payment_id),
      entries, at);
}

absl::Status EldercareMoney::LodgeDeposit(pqxx::work& tx, const std::string& group,
                                          const UnitCopy& unit, int64_t amount,
                                          const std::string& reference, absl::Time at) {
  int64_t in_hand = store_.UnitLiability(tx, group, unit.id, kDepositHeld);
  if (amount > in_hand) {
    return Refused(absl::StrCat("amount_fen: more than the unit's emergency deposit in hand (",
                                in_hand, " fen)"),
                   "NOT_ENOUGH_HELD");
  }
  if (!store_.PostLedger(tx, group, unit.estate_id, "eldercare_deposit_lodged",
                         absl::StrCat("eldercare_deposit_lodged:", reference),
                         {{kDepositHeld, unit.id, amount}, {kDepositAtCentre, unit.id, -amount}},
                         at)) {
    return Refused("reference: a lodging with this reference is recorded", "REFERENCE_REUSED");
  }
  return absl::OkStatus();
}

absl::Status EldercareMoney::DepositBack(pqxx::work& tx, const std::string& group,
                                         const UnitCopy& unit, int64_t amount,
                                         v1::DepositBackFrom from, const std::string& reference,
                                         absl::Time at) {
  int64_t awaited = store_.UnitLiability(tx, group, unit.id, kDepositRefundAwaited);
  int64_t lodged = store_.UnitLiability(tx, group, unit.id, kDepositAtCentre);
  if (amount > awaited + lodged) {
    return Refused(
        absl::StrCat("amount_fen: more than is lodged for the unit (", awaited + lodged, " fen)"),
        "NOT_ENOUGH_LODGED");
  }
  // A leaver's refund first: the rest of what exit could not pay from hand.
  int64_t to_credit = std::min(amount, awaited);
  const char* kind = from == v1::DEPOSIT_BACK_FROM_FAMILY ? "eldercare_deposit_back_family"
                                                          : "eldercare_deposit_back_centre";
  if (!store_.PostLedger(tx, group, unit.estate_id, kind,
                         absl::StrCat("eldercare_deposit_back:", reference),
                         {{kDepositRefundAwaited, unit.id, to_credit},
                          {"unit_credit", unit.id, -to_credit},
                          {kDepositAtCentre, unit.id, amount - to_credit},
                          {kDepositHeld, unit.id, -(amount - to_credit)}},
                         at)) {
    return Refused("reference: a deposit back with this reference is recorded", "REFERENCE_REUSED");
  }
  return absl::OkStatus();
}

int64_t EldercareMoney::DepositAtEmergencyCentre(pqxx::work& tx, const std::string& group,
                                                 const std::string& unit) {
  return store_.UnitLiability(tx, group, unit, kDepositAtCentre) +
         store_.UnitLiability(tx, group, unit, kDepositRefundAwaited);
}

absl::StatusOr<int64_t> EldercareMoney::SettleWithClinic(pqxx::work& tx, const std::string& group,
                                                         const std::string& estate,
                                                         v1::ClinicPaymentDirection direction,
                                                         int64_t amount, v1::PaymentMethod method,
                                                         const std::string& reference,
                                                         absl::Time at) {
  money_.LockEstate(tx, group, estate);  // one settlement of an estate at a time
  auto [payable, receivable] = money_.ClinicBalances(tx, group, estate);
  WUYE_ASSIGN_OR_RETURN(std::vector<LedgerEntry> entries,
                        ClinicSettlementEntries(payable, receivable, direction, amount,
                                                absl::StrCat("cash:", MethodName(method))));
  if (!store_.PostLedger(tx, group, estate, "eldercare_clinic_settlement",
                         absl::StrCat("eldercare_clinic_settlement:", reference), entries, at)) {
    return Refused("reference: a settlement with this reference is recorded", "REFERENCE_REUSED");
  }
  auto [payable_after, receivable_after] = money_.ClinicBalances(tx, group, estate);
  return payable_after - receivable_after;
}

v1::ClinicSettlement EldercareMoney::Settlement(pqxx::work& tx, const std::string& group,
                                                const std::string& estate, absl::Time from,
                                                absl::Time to) {
  v1::ClinicSettlement out;
  out.set_estate_id(estate);
  money_.SettlementFigures(tx, group, estate, from, to, &out);
  out.set_net_to_clinic_fen(NetToClinic(out));
  out.set_outstanding_fen(out.payable_to_clinic_fen() - out.receivable_from_clinic_fen());
  return out;
}

}  // namespace wuye::billing
