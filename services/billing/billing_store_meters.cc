// BillingStore: meter readings, and the estate lock that keeps them apart from a run's chunk.
#include "absl/strings/str_cat.h"
#include "services/billing/billing_store.h"
#include "services/billing/billing_store_rows.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using store_rows::MonthOfDate;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kReadingCols[] =
    "id, estate_id, unit_id, meter_id, kind, period::text, reading_centi, replaced, "
    "old_final_centi, consumption_centi, amount_fen, state, "
    "flag_reason, " WUYE_SQL_MICROS("recorded_at");

v1::MeterReading ReadingRow(const pqxx::row& r) {
  v1::MeterReading m;
  m.set_id(Text(r[0]));
  m.set_estate_id(Text(r[1]));
  m.set_unit_id(Text(r[2]));
  m.set_meter_id(Text(r[3]));
  m.set_kind(static_cast<v1::MeterKind>(r[4].as<int>()));
  *m.mutable_period() = MonthOfDate(Text(r[5]));
  m.set_reading(FormatCenti(r[6].as<int64_t>()));
  m.set_meter_replaced(r[7].as<bool>());
  if (m.meter_replaced()) m.set_old_meter_final(FormatCenti(r[8].as<int64_t>()));
  m.set_consumption(FormatCenti(r[9].as<int64_t>()));
  m.set_amount_fen(r[10].as<int64_t>());
  m.set_state(static_cast<v1::ReadingState>(r[11].as<int>()));
  m.set_flag_reason(Text(r[12]));
  *m.mutable_record_time() = Stamp(r[13]);
  return m;
}

int32_t EstateLockKey(const std::string& estate) {
  // Stable across processes: the last 8 hex digits of the id (its random part).
  std::string hex;
  for (auto it = estate.rbegin(); it != estate.rend() && hex.size() < 8; ++it) {
    if (*it != '-') hex.insert(hex.begin(), *it);
  }
  return static_cast<int32_t>(
      static_cast<uint32_t>(std::stoul(hex.empty() ? "0" : hex, nullptr, 16)));
}

}  // namespace

const sql::Statements& BillingStore::MeterStatements() { return statements; }

// ---- meters -----------------------------------------------------------------------------

const sql::Statement kLockEstateShared =
    statements.Add("bl_lock_estate_shared", "SELECT pg_advisory_xact_lock_shared(7, $1::int)");

void BillingStore::LockEstateForReading(pqxx::work& tx, const std::string& estate) {
  tx.exec_prepared(kLockEstateShared, EstateLockKey(estate));
}

const sql::Statement kLockEstate =
    statements.Add("bl_lock_estate", "SELECT pg_advisory_xact_lock(7, $1::int)");

void BillingStore::LockEstateForRun(pqxx::work& tx, const std::string& estate) {
  tx.exec_prepared(kLockEstate, EstateLockKey(estate));
}

const sql::Statement kReadingLast = statements.Add(
    "bl_reading_last",
    "SELECT reading_centi, consumption_centi FROM meter_readings WHERE unit_id = $1 AND "
    "meter_id = $2 AND state = 1 AND "
    "period < $3::date ORDER BY period DESC LIMIT 1");

std::optional<PriorReading> BillingStore::LastBillableReading(pqxx::work& tx,
                                                              const std::string& unit,
                                                              const std::string& meter,
                                                              const std::string& period) {
  pqxx::result r = tx.exec_prepared(kReadingLast, unit, meter, period);
  if (r.empty()) return std::nullopt;
  return PriorReading{r[0][0].as<int64_t>(), r[0][1].as<int64_t>()};
}

const sql::Statement kMonthlyBillExists =
    statements.Add("bl_monthly_bill_exists",
                   "SELECT 1 FROM bills WHERE unit_id = $1 AND period = $2::date AND kind = 1 AND "
                   "source = ''");

bool BillingStore::MonthlyBillExists(pqxx::work& tx, const std::string& unit,
                                     const std::string& period) {
  return !tx.exec_prepared(kMonthlyBillExists, unit, period).empty();
}

const sql::Statement kReadingLater = statements.Add(
    "bl_reading_later",
    "SELECT 1 FROM meter_readings WHERE unit_id = $1 AND meter_id = $2 AND period > $3::date "
    "LIMIT 1");

bool BillingStore::LaterReadingExists(pqxx::work& tx, const std::string& unit,
                                      const std::string& meter, const std::string& period) {
  return !tx.exec_prepared(kReadingLater, unit, meter, period).empty();
}

const sql::Statement kReadingInsert = statements.Add(
    "bl_reading_insert",
    absl::StrCat("INSERT INTO meter_readings (id, group_id, estate_id, unit_id, meter_id, kind, "
                 "period, reading_centi, replaced, old_final_centi, consumption_centi, amount_fen, "
                 "state, flag_reason, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, "
                 "$9, $10, $11, $12, $13, $14, ",
                 WUYE_SQL_TIME("$15"),
                 ") ON CONFLICT (unit_id, meter_id, period) DO NOTHING RETURNING ", kReadingCols));

bool BillingStore::InsertReading(pqxx::work& tx, const std::string& group,
                                 const v1::MeterReading& m, int64_t reading_centi,
                                 int64_t old_final_centi, int64_t consumption_centi, absl::Time now,
                                 v1::MeterReading* out) {
  pqxx::result r =
      tx.exec_prepared(kReadingInsert, m.id(), group, m.estate_id(), m.unit_id(), m.meter_id(),
                       static_cast<int>(m.kind()), MonthStart(m.period()), reading_centi,
                       m.meter_replaced(), old_final_centi, consumption_centi, m.amount_fen(),
                       static_cast<int>(m.state()), m.flag_reason(), Micros(now));
  if (r.empty()) return false;
  *out = ReadingRow(r[0]);
  return true;
}

const sql::Statement kReadingGet = statements.Add(
    "bl_reading_get",
    absl::StrCat("SELECT ", kReadingCols, " FROM meter_readings WHERE group_id = $1 AND id = $2"));
const sql::Statement kReadingGetLocked =
    statements.Add("bl_reading_get_locked",
                   absl::StrCat("SELECT ", kReadingCols,
                                " FROM meter_readings WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::MeterReading> BillingStore::GetReading(pqxx::work& tx, const std::string& group,
                                                         const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kReadingGetLocked : kReadingGet, group, id);
  if (r.empty()) return std::nullopt;
  return ReadingRow(r[0]);
}

const sql::Statement kReadingBillable = statements.Add(
    "bl_reading_billable",
    absl::StrCat("UPDATE meter_readings SET state = 1 WHERE id = $1 RETURNING ", kReadingCols));

void BillingStore::MarkReadingBillable(pqxx::work& tx, const std::string& id,
                                       v1::MeterReading* out) {
  *out = ReadingRow(tx.exec_prepared1(kReadingBillable, id));
}

}  // namespace wuye::billing
