// The only code that knows billing's tables. Every call takes the caller's group and
// filters by it; rules live in billing.h and permissions in the handlers.
//
// One class over one file per aggregate, each statement declared beside the method that
// runs it: billing_store.cc (the directory copy), _prices.cc (standard and estate prices,
// fee schedules), _meters.cc (meter readings), _bills.cc (billing runs and bills),
// _payments.cc (payments and the ledger), _collection.cc (arrears, disputes, reminders and
// collection reports) and _settings.cc.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/billing/billing.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "shared/sql.h"
#include "wuye/billing/v1/billing.pb.h"

namespace wuye {
const MigrationSet& billing_migrations();
}

namespace wuye::billing {

// The directory's estate as billing keeps it.
struct EstateCopy {
  std::string id;
  int64_t fee_fen_per_m2 = 0;
  std::string time_zone;
};

struct UnitCopy {
  std::string id, estate_id;
  UnitFacts facts;
  int64_t version = 0;
};

// A billing run as the worker sees it.
struct RunRow {
  v1::BillingRun run;
  std::string group_id;
  std::string cursor_estate, cursor_unit;  // "" = from the start
  std::string trace_id;
};

// What one chunk of a run did.
struct ChunkResult : IssuedFees {  // the fees its bills issued
  int64_t units = 0;               // units looked at
  std::string last_unit;           // the cursor after the chunk
  int64_t bills = 0;               // bills inserted
};

class BillingStore {
 public:
  explicit BillingStore(Db& db);

  // ---- the directory copy (newer versions only) ----
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id, int64_t rate,
                    const std::string& tz, int64_t version);
  // Units of one chunk: each row applied only if its version is newer.
  void UpsertUnits(pqxx::work& tx, const std::string& group, const std::vector<UnitCopy>& units);
  void UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                      const std::string& unit_id, bool owner, int64_t version);
  std::optional<EstateCopy> GetEstate(pqxx::work& tx, const std::string& group,
                                      const std::string& id);
  std::optional<UnitCopy> GetUnit(pqxx::work& tx, const std::string& group, const std::string& id);
  // The time zones of the group's estates (each once).
  std::vector<std::string> EstateZones(pqxx::work& tx, const std::string& group);
  // The one lock of a unit's money: every movement of it (payment, reversal, deposit,
  // refund, a charge from another service) takes it first, then reads the balance it checks.
  // False when the group has no such unit.
  bool LockUnit(pqxx::work& tx, const std::string& group, const std::string& unit);
  // Units with a monthly bill due for `period` ("YYYY-MM-01"): handed over by the month's
  // end, in scope ("" estate = whole group).
  int64_t CountBillableUnits(pqxx::work& tx, const std::string& group, const std::string& estate,
                             const std::string& period);

  // ---- prices and schedules ----
  void PutStandardPrice(pqxx::work& tx, const std::string& group, const v1::StandardPrice& p,
                        absl::Time now, v1::StandardPrice* out);
  // The estates' prices of an item still offered: (estate id, price).
  std::vector<std::pair<std::string, int64_t>> EstatePricesOfItem(pqxx::work& tx,
                                                                  const std::string& group,
                                                                  const std::string& code);
  std::optional<v1::StandardPrice> GetStandardPrice(pqxx::work& tx, const std::string& group,
                                                    const std::string& code);
  void PutEstatePrice(pqxx::work& tx, const std::string& group, const v1::EstatePrice& p,
                      absl::Time now, v1::EstatePrice* out);
  // Up to `limit` of the estate's prices with an item code after `after_code`, by code.
  std::vector<v1::EstatePrice> ListEstatePrices(pqxx::work& tx, const std::string& group,
                                                const std::string& estate,
                                                const std::string& after_code, int limit);
  // The schedule, or a default one (version 0) when the estate has none.
  v1::FeeSchedule GetSchedule(pqxx::work& tx, const std::string& group, const std::string& estate);
  void PutSchedule(pqxx::work& tx, const std::string& group, const v1::FeeSchedule& s,
                   v1::FeeSchedule* out);

  // ---- meters ----
  // Serialises meter readings of an estate against its billing-run chunks: readings share
  // the lock, a chunk takes it alone, so a reading is in the bill or refused, never lost.
  void LockEstateForReading(pqxx::work& tx, const std::string& estate);
  void LockEstateForRun(pqxx::work& tx, const std::string& estate);
  // The meter's last billable reading before `period` and the consumption it billed.
  std::optional<PriorReading> LastBillableReading(pqxx::work& tx, const std::string& unit,
                                                  const std::string& meter,
                                                  const std::string& period);
  // Whether the unit has a monthly bill for the period, or a reading after it.
  bool MonthlyBillExists(pqxx::work& tx, const std::string& unit, const std::string& period);
  bool LaterReadingExists(pqxx::work& tx, const std::string& unit, const std::string& meter,
                          const std::string& period);
  // False when the meter already has a reading for the period.
  bool InsertReading(pqxx::work& tx, const std::string& group, const v1::MeterReading& r,
                     int64_t reading_centi, int64_t old_final_centi, int64_t consumption_centi,
                     absl::Time now, v1::MeterReading* out);
  std::optional<v1::MeterReading> GetReading(pqxx::work& tx, const std::string& group,
                                             const std::string& id, bool for_update);
  void MarkReadingBillable(pqxx::work& tx, const std::string& id, v1::MeterReading* out);

  // ---- billing runs ----
  void InsertRun(pqxx::work& tx, const std::string& group, const std::string& id,
                 const std::string& estate, const std::string& period, int64_t units_total,
                 absl::Time now, const std::string& trace_id, v1::BillingRun* out);
  std::optional<v1::BillingRun> GetRun(pqxx::work& tx, const std::string& group,
                                       const std::string& id);
  // An unfinished run of the same scope and period, if any.
  std::optional<std::string> ActiveRun(pqxx::work& tx, const std::string& group,
                                       const std::string& estate, const std::string& period);
  // Locks the oldest unfinished run no other replica holds.
  std::optional<RunRow> ClaimRun(pqxx::work& tx);
  // The first estate of the group after `after` ("" = from the start), in id order.
  std::optional<EstateCopy> NextEstate(pqxx::work& tx, const std::string& group,
                                       const std::string& after);
  // Issues the monthly bills of up to `limit` handed-over units of the estate after
  // `after_unit`, in one INSERT … SELECT, skipping units billed for the period already
  // (ON CONFLICT DO NOTHING) unless no other run ever billed the estate's period.
  ChunkResult IssueChunk(pqxx::work& tx, const std::string& group, const EstateCopy& estate,
                         const v1::FeeSchedule& schedule, v1::Proration proration,
                         const std::string& period, const std::string& after_unit, int limit,
                         absl::Time issued, absl::Time due, const std::string& id_prefix,
                         const std::string& run_id);
  void AdvanceRun(pqxx::work& tx, const std::string& run_id, const ChunkResult& chunk,
                  const std::string& cursor_estate, const std::string& cursor_unit, bool done,
                  absl::Time now, v1::BillingRun* out);

  // ---- bills ----
  std::optional<v1::Bill> GetBill(pqxx::work& tx, const std::string& group, const std::string& id);
  std::vector<v1::Bill> ListBills(pqxx::work& tx, const std::string& group,
                                  const std::string& estate, const std::string& unit,
                                  bool open_only, const std::string& after, int limit);
  // Sum of the open balances of all the unit's bills, and how many are open.
  int64_t UnitOwed(pqxx::work& tx, const std::string& group, const std::string& unit,
                   int64_t* open_bills);
  // The unit's open bills, locked for update.
  std::vector<OpenBill> LockOpenBills(pqxx::work& tx, const std::string& group,
                                      const std::string& unit);
  // Adds `delta` (negative to undo) to each bill's paid amount.
  void AddPaid(pqxx::work& tx, const std::vector<std::pair<std::string, int64_t>>& deltas);
  void InsertChargeBill(pqxx::work& tx, const std::string& group, const std::string& id,
                        const std::string& estate, const std::string& unit,
                        const std::string& period, const std::string& item,
                        const std::string& source, int64_t amount, absl::Time issued);

  // ---- payments ----
  // False when the (method, external_txn_no) is taken (the insert waits for a concurrent
  // one to commit first).
  bool InsertPayment(pqxx::work& tx, const std::string& group, const v1::Payment& p);
  std::optional<v1::Payment> GetPayment(pqxx::work& tx, const std::string& group,
                                        const std::string& id, bool for_update = false);
  std::optional<v1::Payment> GetPaymentByTxn(pqxx::work& tx, const std::string& group, int method,
                                             const std::string& txn_no);
  void InsertAllocations(pqxx::work& tx, const std::string& payment,
                         const std::vector<std::pair<std::string, int64_t>>& allocations);
  void MarkReversed(pqxx::work& tx, const std::string& payment, const std::string& reason,
                    absl::Time now);

  // ---- ledger ----
  // Records a balanced transaction once per `ref`; false when `ref` was recorded before.
  bool PostLedger(pqxx::work& tx, const std::string& group, const std::string& estate,
                  const std::string& kind, const std::string& ref,
                  const std::vector<LedgerEntry>& entries, absl::Time now);
  v1::LedgerCheck CheckLedger(pqxx::work& tx, const std::string& group);
  // −(sum of the unit's entries on `account`): what the group owes the unit there.
  int64_t UnitLiability(pqxx::work& tx, const std::string& group, const std::string& unit,
                        const std::string& account);

  // ---- arrears, disputes, reminders, reports ----
  // Open overdue amounts of the estate by whole days past due, and units in arrears.
  std::vector<std::pair<int64_t, int64_t>> OverdueByDays(pqxx::work& tx, const std::string& group,
                                                         const std::string& estate, absl::Time now,
                                                         int32_t* units);
  void UpsertDispute(pqxx::work& tx, const std::string& group, const std::string& ticket,
                     const std::string& bill, bool open, int64_t version);
  bool BillDisputed(pqxx::work& tx, const std::string& group, const std::string& bill);
  bool HasDispute(pqxx::work& tx, const std::string& group, const std::string& ticket);
  void InsertReminder(pqxx::work& tx, const std::string& group, const v1::Reminder& r,
                      absl::Time now, v1::Reminder* out);
  // Up to `limit` of the bill's reminders after (`after_micros`, `after_id`) in the order
  // (send time in µs, id); INT64_MIN and "" for the first page.
  std::vector<v1::Reminder> ListReminders(pqxx::work& tx, const std::string& group,
                                          const std::string& bill, int64_t after_micros,
                                          const std::string& after_id, int limit);
  // Billed and collected on the estate's monthly bills of the period as of `as_of`
  // (payments made by then and not reversed by then); owners: one per billed home (a unit
  // that is not a parking space), and those whose bill is open past due at `as_of`.
  void CollectionFigures(pqxx::work& tx, const std::string& group, const std::string& estate,
                         const std::string& period, absl::Time as_of, v1::CollectionReport* out);
  // The month's report row, made if missing with `due` as its due time (an existing row
  // keeps its own), locked. Fills version, final and, when final, the fixed figures.
  // Returns the row's due time.
  // Whether the estate has a monthly bill of the month (period: its first day).
  bool HasMonthlyBills(pqxx::work& tx, const std::string& group, const std::string& estate,
                       const std::string& period);
  absl::Time OpenReport(pqxx::work& tx, const std::string& group, const std::string& estate,
                        const std::string& period, absl::Time due, v1::CollectionReport* out);
  // The report's next version (a provisional report).
  int64_t BumpReport(pqxx::work& tx, const std::string& estate, const std::string& period);
  // Stores the figures of `report` as the month's fixed ones; returns the next version.
  int64_t FixReport(pqxx::work& tx, const std::string& estate, const std::string& period,
                    const v1::CollectionReport& report, absl::Time as_of);
  // A month past its close (due + grace of its group at `now`) that is not fixed yet, locked
  // (SKIP LOCKED): group, estate, period ("YYYY-MM-01") and its close time.
  struct DueMonth {
    std::string group, estate, period;
    absl::Time close;
  };
  std::optional<DueMonth> ClaimClosedMonth(pqxx::work& tx, absl::Time now);

  // ---- settings ----
  // The group's settings as stored (no defaults filled in); version 0 when never set.
  v1::BillingSettings GetSettings(pqxx::work& tx, const std::string& group);
  int64_t PutSettings(pqxx::work& tx, const std::string& group, const v1::BillingSettings& s);

 private:
  // The statements of each file, prepared by the constructor.
  static const sql::Statements& CopyStatements();        // billing_store.cc
  static const sql::Statements& PriceStatements();       // billing_store_prices.cc
  static const sql::Statements& MeterStatements();       // billing_store_meters.cc
  static const sql::Statements& BillStatements();        // billing_store_bills.cc
  static const sql::Statements& PaymentStatements();     // billing_store_payments.cc
  static const sql::Statements& CollectionStatements();  // billing_store_collection.cc
  static const sql::Statements& SettingsStatements();    // billing_store_settings.cc
};

}  // namespace wuye::billing
