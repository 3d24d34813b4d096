// The SQL of elderly-care money (004_… 5.2): the charge bills it settles against, the bills
// a payment settled that hold money for someone else, and the clinic's settlement figures.
// Every call takes the caller's group and filters by it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "shared/db.h"
#include "wuye/billing/v1/billing.pb.h"

namespace wuye::billing {

// A charge bill as the elder-care flows see it.
struct ChargeBill {
  std::string id, estate_id, unit_id, item;
  int64_t amount_fen = 0, paid_fen = 0;
};

class EldercareMoneyStore {
 public:
  explicit EldercareMoneyStore(Db& db);

  // The charge bill of `source` ("eldercare:<charge id>"), locked for update.
  std::optional<ChargeBill> LockChargeBill(pqxx::work& tx, const std::string& group,
                                           const std::string& source);
  // Takes `fen` off a bill's open balance (what will never be owed): amount − fen.
  void ReduceBill(pqxx::work& tx, const std::string& bill, int64_t fen);
  // Of `bill_ids`, the elder-care charge bills (item "eldercare_*").
  std::vector<ChargeBill> EldercareBills(pqxx::work& tx, const std::string& group,
                                         const std::vector<std::string>& bill_ids);
  // Locks the estate's row of billing's copy: settlements with its clinic, one at a time.
  void LockEstate(pqxx::work& tx, const std::string& group, const std::string& estate);
  // The estate's clinic balances now: {held for the clinic (clinic_payable), owed by it
  // (clinic_receivable)}.
  std::pair<int64_t, int64_t> ClinicBalances(pqxx::work& tx, const std::string& group,
                                             const std::string& estate);
  // The settlement's figures of the estate between `from` and `to` (flows) and at `to`
  // (balances); only the elder-care ledger transactions (kind "eldercare_*").
  void SettlementFigures(pqxx::work& tx, const std::string& group, const std::string& estate,
                         absl::Time from, absl::Time to, v1::ClinicSettlement* out);
};

}  // namespace wuye::billing
