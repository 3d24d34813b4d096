// The counter's money in billing (issue 25; docs/api/billing.md "The counter's events"): the
// write path of billing's consumer of wuye.counter.events and of the payment handlers that
// settle a renovation deposit. Each movement is posted once (a ledger ref per hand-over,
// renovation or card) under the unit's money lock (BillingStore::LockUnit), like every
// other money movement of a unit:
//   - counter.meters.read → the unit's opening meter readings, the baseline of its first
//     consumption (see OpenMeters);
//   - counter.renovation.decided, approved with a deposit → a charge bill of item
//     "renovation_deposit" (ref and source "renovation:<id>"), owed until paid
//     (renovation_deposit_due), then held for the unit in deposit_held (Collected);
//   - counter.renovation.accepted → the deposit released (ReleaseDeposit in billing.h): the
//     deduction the office's, the rest the unit's credit; what was never paid is cancelled;
//   - counter.card.replaced with a fee → a charge of item "card_replacement".
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/billing/billing_store.h"
#include "services/billing/counter_money_store.h"
#include "services/billing/eldercare_money_store.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::billing {

class CounterMoneyFlow {
 public:
  explicit CounterMoneyFlow(Db& db) : store_(db), bills_(db), money_(db) {}

  // Files each reading of `read` as the opening reading of the unit's meter of its kind
  // (meter_id: the kind's name), under the month before the reading's (estate-local) month:
  // the hand-over month's reading — of that meter, or of the unit's one meter of the kind
  // under another label (RecordMeterReading falls back to it) — is measured from it and
  // billed with that month. A kind the unit already has a reading of keeps its own history
  // (nothing filed). INVALID_ARGUMENT for a malformed reading; UNAVAILABLE while the unit
  // has not reached billing's copy.
  absl::Status OpenMeters(pqxx::work& tx, const std::string& group,
                          const events::v1::MetersRead& read, absl::Time at);
  // An approved renovation with a deposit: its charge bill, once per renovation.
  absl::Status AskDeposit(pqxx::work& tx, const std::string& group,
                          const events::v1::RenovationDecided& decided, absl::Time at);
  // The renovation accepted: its deposit released, once; nothing when none was asked.
  absl::Status ReleaseDeposit(pqxx::work& tx, const std::string& group,
                              const events::v1::RenovationAccepted& accepted, absl::Time at);
  // A replacement card with a fee: a charge of item "card_replacement", once per card.
  absl::Status ChargeCard(pqxx::work& tx, const std::string& group,
                          const events::v1::CardReplaced& card, absl::Time at);

  // A payment settled `allocations` (bill → fen) of a unit whose lock the caller holds: what
  // it paid of renovation deposits moves from renovation_deposit_due to deposit_held, in one
  // ledger transaction "renovation_collected:<payment id>"; `reverse` undoes it for a
  // reversal (except for a deposit released since: the bill is owed again, the release
  // stands).
  void Collected(pqxx::work& tx, const std::string& group, const std::string& estate,
                 const std::string& payment_id,
                 const std::vector<std::pair<std::string, int64_t>>& allocations, bool reverse,
                 absl::Time at);

 private:
  // The unit of a counter event, locked; nullopt for a unit of another group or of another
  // estate than the event's (none of this group's business); UNAVAILABLE while the
  // directory's event has not come (the entry is delivered again later).
  absl::StatusOr<std::optional<UnitCopy>> LockedUnit(pqxx::work& tx, const std::string& group,
                                      const std::string& unit_id,
                                      const std::string& estate_id);
  std::string PeriodOf(pqxx::work& tx, const std::string& group, const std::string& estate,
                       absl::Time at);

  BillingStore store_;
  CounterMoneyStore bills_;
  EldercareMoneyStore money_;  // charge bills by source, locked, and reduced
};

}  // namespace wuye::billing
