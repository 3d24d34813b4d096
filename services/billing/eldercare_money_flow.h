// Elderly-care money in billing (004_… 5.2, 5.9, 5.12; docs/api/billing.md, "Elderly-care
// money"): the write path the consumers and the handlers share; its pure rules are in
// billing.h. Each fee lands with its keeper:
//   - the property office's: the service year (revenue), the family-call fund (held by the
//     office, `family_call_fund`, drawn down by the calls it pays), the clinic's management
//     fee (a receivable from the clinic, `clinic_receivable`, never a charge to a unit);
//   - the clinic's (health card, checkup and its settlement, sick-bed and hospice days):
//     billed on its behalf (`clinic_billed`) and, once paid, money held for it
//     (`clinic_payable`), never the office's revenue;
//   - the emergency deposit: due (`eldercare_deposit_due`) until paid, then held
//     (`eldercare_deposit_held`, in the clinic's hands); lodged with the emergency centre for a
//     first rescue (`eldercare_deposit_at_emergency_centre`) until the centre, or the family,
//     makes it good (5.9). On exit only what was paid is returned: what is in hand at once,
//     what is lodged when it comes back (`eldercare_deposit_refund_awaited` meanwhile).
//   - settlement payments between the office and the clinic clear clinic_payable against
//     clinic_receivable and move the difference in cash.
// Money billed on someone's behalf moves to its holding account when a payment settles the
// bill (Collected), and back when the payment is reversed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/billing/billing_store.h"
#include "services/billing/eldercare_money_store.h"
#include "wuye/billing/v1/billing.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"

namespace wuye::billing {

class EldercareMoneyFlow {
 public:
  explicit EldercareMoneyFlow(Db& db) : store_(db), money_(db) {}

  // Posts one "eldercare.fee.charged" exactly once per charge_id (ledger ref
  // "eldercare:<charge id>"). UNAVAILABLE while the unit, or the charge it settles, has not
  // reached billing yet (the bus delivers it again).
  absl::Status Post(pqxx::work& tx, const std::string& group,
                    const events::v1::ElderFeeCharged& fee, absl::Time at);

  // A payment settled `allocations` (bill → fen) of a unit: the money of elder-care bills
  // kept for someone moves from its due account to its holding account, in one ledger
  // transaction "eldercare_collected:<payment id>". `reverse` undoes it for a reversal.
  void Collected(pqxx::work& tx, const std::string& group, const std::string& estate,
                 const std::string& payment_id,
                 const std::vector<std::pair<std::string, int64_t>>& allocations, bool reverse,
                 absl::Time at);

  // 5.9: the clinic lodges `amount` of a unit's emergency deposits in hand with the
  // emergency centre (NOT_ENOUGH_HELD beyond that; REFERENCE_REUSED for a reference
  // recorded before). The caller holds the unit's lock.
  absl::Status LodgeDeposit(pqxx::work& tx, const std::string& group, const UnitCopy& unit,
                            int64_t amount, const std::string& reference, absl::Time at);
  // 5.9: `amount` of what is lodged for a unit comes back (from the centre, or made good by
  // the family): first what is owed to a leaver, to the unit's credit; the rest held again.
  // NOT_ENOUGH_LODGED beyond what is lodged. The caller holds the unit's lock.
  absl::Status DepositBack(pqxx::work& tx, const std::string& group, const UnitCopy& unit,
                           int64_t amount, v1::DepositBackFrom from, const std::string& reference,
                           absl::Time at);
  // 5.12: a settlement payment between the office and the estate's clinic, serialised per
  // estate. Returns what is outstanding after it (> 0 the office owes the clinic).
  absl::StatusOr<int64_t> SettleWithClinic(pqxx::work& tx, const std::string& group,
                                           const std::string& estate,
                                           v1::ClinicPaymentDirection direction, int64_t amount,
                                           v1::PaymentMethod method, const std::string& reference,
                                           absl::Time at);
  // The unit's emergency deposit lodged with the centre (waiting for it or for a refund).
  int64_t DepositAtEmergencyCentre(pqxx::work& tx, const std::string& group,
                                   const std::string& unit);

  // The clinic settlement of an estate between `from` and `to`.
  v1::ClinicSettlement Settlement(pqxx::work& tx, const std::string& group,
                                  const std::string& estate, absl::Time from, absl::Time to);

 private:
  // Gives back up to `amount` of a charge bill kept for someone: first what is still open on
  // it (never owed now), then what was paid of it, to the unit's credit. Returns the fen
  // returned to credit.
  absl::StatusOr<int64_t> GiveBack(pqxx::work& tx, const std::string& group,
                                   const std::string& settles_charge_id, int64_t amount,
                                   const std::string& ref, const std::string& kind, absl::Time at);

  BillingStore store_;
  EldercareMoneyStore money_;
};

}  // namespace wuye::billing
