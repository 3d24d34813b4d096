#include "services/billing/counter_money_store.h"

#include "absl/strings/str_cat.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Micros;
using sql::Text;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

}  // namespace

CounterMoneyStore::CounterMoneyStore(Db& db) { statements.PrepareOn(db); }

const sql::Statement kOtherGroupsUnit = statements.Add(
    "bl_ct_other_groups_unit", "SELECT 1 FROM bl_units WHERE id = $1 AND group_id <> $2");

bool CounterMoneyStore::UnitOfAnotherGroup(pqxx::work& tx, const std::string& group,
                                           const std::string& unit) {
  return !tx.exec_prepared(kOtherGroupsUnit, unit, group).empty();
}

const sql::Statement kReadingOfKind =
    statements.Add("bl_ct_reading_of_kind",
                   "SELECT 1 FROM meter_readings WHERE unit_id = $1 AND kind = $2 LIMIT 1");

bool CounterMoneyStore::HasReadingOfKind(pqxx::work& tx, const std::string& unit,
                                         v1::MeterKind kind) {
  return !tx.exec_prepared(kReadingOfKind, unit, static_cast<int>(kind)).empty();
}

const sql::Statement kOpeningInsert = statements.Add(
    "bl_ct_opening_insert",
    "INSERT INTO meter_readings (id, group_id, estate_id, unit_id, meter_id, kind, period, "
    "reading_centi, replaced, old_final_centi, consumption_centi, amount_fen, state, "
    "flag_reason, recorded_at, opening) VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, false, 0, "
    "0, 0, 1, '', " WUYE_SQL_TIME("$9") ", true) "
    "ON CONFLICT (unit_id, meter_id, period) DO NOTHING RETURNING id");

bool CounterMoneyStore::InsertOpeningReading(pqxx::work& tx, const std::string& group,
                                             const std::string& id, const std::string& estate,
                                             const std::string& unit, const std::string& meter_id,
                                             v1::MeterKind kind, const std::string& period,
                                             int64_t reading_centi, absl::Time at) {
  return !tx.exec_prepared(kOpeningInsert, id, group, estate, unit, meter_id,
                           static_cast<int>(kind), period, reading_centi, Micros(at))
              .empty();
}

const sql::Statement kOpeningOf = statements.Add(
    "bl_ct_opening_of",
    "SELECT reading_centi FROM meter_readings WHERE unit_id = $1 AND kind = $2 AND opening "
    "AND state = 1 AND period < $3::date ORDER BY period DESC LIMIT 1");

std::optional<PriorReading> CounterMoneyStore::OpeningReading(pqxx::work& tx,
                                                              const std::string& unit,
                                                              v1::MeterKind kind,
                                                              const std::string& period) {
  pqxx::result r = tx.exec_prepared(kOpeningOf, unit, static_cast<int>(kind), period);
  if (r.empty()) return std::nullopt;
  return PriorReading{r[0][0].as<int64_t>(), 0};
}

// A deposit bill's source is "renovation:<id>", its release the ledger's
// "renovation_release:<id>".
const sql::Statement kDepositBills = statements.Add(
    "bl_ct_deposit_bills",
    absl::StrCat("SELECT b.id, b.estate_id, b.unit_id, b.item, b.amount_fen, b.paid_fen, "
                 "EXISTS (SELECT 1 FROM ledger_txns t WHERE t.group_id = b.group_id AND t.ref = "
                 "'renovation_release:' || substr(b.source, 12)) FROM bills b "
                 "WHERE b.group_id = $1 AND b.id = ANY($2::uuid[]) AND b.kind = 2 AND b.item = '",
                 kRenovationDepositItem, "' ORDER BY b.id"));

std::vector<DepositBill> CounterMoneyStore::DepositBills(pqxx::work& tx, const std::string& group,
                                                         const std::vector<std::string>& bill_ids) {
  std::vector<DepositBill> out;
  if (bill_ids.empty()) return out;
  for (const auto& r : tx.exec_prepared(kDepositBills, group, PgArray(bill_ids))) {
    out.push_back({{Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]), r[4].as<int64_t>(),
                    r[5].as<int64_t>()},
                   r[6].as<bool>()});
  }
  return out;
}

}  // namespace wuye::billing
