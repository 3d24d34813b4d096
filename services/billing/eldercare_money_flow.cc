#include "services/billing/eldercare_money_flow.h"

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

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

}  // namespace

absl::Status EldercareMoneyFlow::Post(pqxx::work& tx, const std::string& group,
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
    store_.PostLedger(tx, group, fee.estate_id(), "eldercare_clinic_fee", ref,
                      ClinicFeePostings(amount), at);
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
      store_.PostLedger(tx, group, unit->estate_id, "eldercare_fund_draw", ref,
                        FamilyCallDrawPostings(unit->id, amount), at);
      return absl::OkStatus();
    default:
      break;
  }
  std::string item = EldercareItem(fee.kind());
  if (item.empty()) return absl::InvalidArgumentError("charge: unknown kind");
  if (!store_.PostLedger(tx, group, unit->estate_id, "eldercare_charge", ref,
                         ElderChargePostings(unit->id, item, amount), at)) {
    return absl::OkStatus();  // charged before
  }
  auto estate = store_.GetEstate(tx, group, unit->estate_id);
  absl::TimeZone tz = EstateZone(estate ? estate->time_zone : "");
  store_.InsertChargeBill(tx, group, NewId(at), unit->estate_id, unit->id,
                          MonthStart(MonthOf(absl::ToCivilDay(at, tz))), item, ref, amount, at);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> EldercareMoneyFlow::GiveBack(pqxx::work& tx, const std::string& group,
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
  // 5.9: a deposit lodged with the emergency centre is not in hand; its part of the refund is
  // awaited and paid to the unit's credit when it comes back (DepositBack).
  int64_t in_hand = 0, lodged = 0;
  if (held->held == kDepositHeld) {
    in_hand = store_.UnitLiability(tx, group, bill->unit_id, kDepositHeld);
    lodged = store_.UnitLiability(tx, group, bill->unit_id, kDepositAtCentre);
  }
  GiveBackSplit split = SplitGiveBack(*held, amount, bill->amount_fen - bill->paid_fen,
                                      bill->paid_fen, in_hand, lodged);
  if (!store_.PostLedger(tx, group, bill->estate_id, kind, ref,
                         GiveBackPostings(*held, bill->unit_id, split), at)) {
    return 0;  // given back before
  }
  money_.ReduceBill(tx, bill->id, split.cancel);
  return split.back;
}

void EldercareMoneyFlow::Collected(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, const std::string& payment_id,
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
    for (LedgerEntry& e : CollectedPostings(b.unit_id, b.item, paid[b.id], reverse)) {
      entries.push_back(std::move(e));
    }
  }
  if (entries.empty()) return;
  store_.PostLedger(
      tx, group, estate, reverse ? "eldercare_uncollected" : "eldercare_collected",
      absl::StrCat(reverse ? "eldercare_uncollected:" : "eldercare_collected:", payment_id),
      entries, at);
}

absl::Status EldercareMoneyFlow::LodgeDeposit(pqxx::work& tx, const std::string& group,
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
                         LodgePostings(unit.id, amount), at)) {
    return Refused("reference: a lodging with this reference is recorded", "REFERENCE_REUSED");
  }
  return absl::OkStatus();
}

absl::Status EldercareMoneyFlow::DepositBack(pqxx::work& tx, const std::string& group,
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
  const char* kind = from == v1::DEPOSIT_BACK_FROM_FAMILY ? "eldercare_deposit_back_family"
                                                          : "eldercare_deposit_back_centre";
  if (!store_.PostLedger(tx, group, unit.estate_id, kind,
                         absl::StrCat("eldercare_deposit_back:", reference),
                         DepositBackPostings(unit.id, amount, awaited), at)) {
    return Refused("reference: a deposit back with this reference is recorded", "REFERENCE_REUSED");
  }
  return absl::OkStatus();
}

int64_t EldercareMoneyFlow::DepositAtEmergencyCentre(pqxx::work& tx, const std::string& group,
                                                     const std::string& unit) {
  return store_.UnitLiability(tx, group, unit, kDepositAtCentre) +
         store_.UnitLiability(tx, group, unit, kDepositRefundAwaited);
}

absl::StatusOr<int64_t> EldercareMoneyFlow::SettleWithClinic(
    pqxx::work& tx, const std::string& group, const std::string& estate,
    v1::ClinicPaymentDirection direction, int64_t amount, v1::PaymentMethod method,
    const std::string& reference, absl::Time at) {
  money_.LockEstate(tx, group, estate);  // one settlement of an estate at a time
  auto [payable, receivable] = money_.ClinicBalances(tx, group, estate);
  WUYE_ASSIGN_OR_RETURN(
      std::vector<LedgerEntry> entries,
      ClinicSettlementEntries(payable, receivable, direction, amount, CashAccount(method)));
  if (!store_.PostLedger(tx, group, estate, "eldercare_clinic_settlement",
                         absl::StrCat("eldercare_clinic_settlement:", reference), entries, at)) {
    return Refused("reference: a settlement with this reference is recorded", "REFERENCE_REUSED");
  }
  auto [payable_after, receivable_after] = money_.ClinicBalances(tx, group, estate);
  return payable_after - receivable_after;
}

v1::ClinicSettlement EldercareMoneyFlow::Settlement(pqxx::work& tx, const std::string& group,
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
