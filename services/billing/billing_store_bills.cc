// BillingStore: billing runs, the monthly bills their chunks issue, and the bills themselves
// (monthly and charge bills, their open balances and what was paid of them).
#include "absl/strings/str_cat.h"
#include "services/billing/billing_store.h"
#include "services/billing/billing_store_rows.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;
using store_rows::MonthOfDate;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kBillCols[] =
    "id, estate_id, unit_id, kind, period::text, management_fen, lighting_fen, parking_fen, "
    "water_fen, electricity_fen, gas_fen, other_fen, item, source, amount_fen, paid_fen, "
    WUYE_SQL_MICROS("issued_at") ", " WUYE_SQL_MICROS("due_at") ", "
    "EXISTS (SELECT 1 FROM bill_disputes d WHERE d.bill_id = bills.id::text AND "
    "d.group_id = bills.group_id AND d.open)";

v1::Bill BillRow(const pqxx::row& r) {
  v1::Bill b;
  b.set_id(Text(r[0]));
  b.set_estate_id(Text(r[1]));
  b.set_unit_id(Text(r[2]));
  b.set_kind(static_cast<v1::BillKind>(r[3].as<int>()));
  *b.mutable_period() = MonthOfDate(Text(r[4]));
  const char* names[] = {"management_fee", "stair_lighting", "parking",
                         "water",          "electricity",    "gas"};
  for (int i = 0; i < 6; ++i) {
    int64_t v = r[5 + i].as<int64_t>();
    if (v == 0) continue;
    auto* line = b.add_lines();
    line->set_item(names[i]);
    line->set_amount_fen(v);
  }
  if (int64_t other = r[11].as<int64_t>(); other != 0 || b.kind() == v1::BILL_KIND_CHARGE) {
    auto* line = b.add_lines();
    line->set_item(Text(r[12]));
    line->set_amount_fen(other);
  }
  b.set_source(Text(r[13]));
  b.set_amount_fen(r[14].as<int64_t>());
  b.set_paid_fen(r[15].as<int64_t>());
  *b.mutable_issue_time() = Stamp(r[16]);
  *b.mutable_due_time() = Stamp(r[17]);
  b.set_disputed(r[18].as<bool>());
  return b;
}

constexpr char kRunCols[] =
    "id, COALESCE(estate_id::text, ''), period::text, state, units_total, units_done, "
    "bills_issued, amount_fen, chunks_done, " WUYE_SQL_MICROS("created_at") ", "
    "COALESCE(" WUYE_SQL_MICROS("finished_at") ", 0), group_id, "
    "COALESCE(cursor_estate::text, ''), COALESCE(cursor_unit::text, ''), trace_id";

v1::BillingRun RunRowOf(const pqxx::row& r) {
  v1::BillingRun run;
  run.set_id(Text(r[0]));
  run.set_estate_id(Text(r[1]));
  *run.mutable_period() = MonthOfDate(Text(r[2]));
  run.set_state(static_cast<v1::RunState>(r[3].as<int>()));
  run.set_units_total(r[4].as<int64_t>());
  run.set_units_done(r[5].as<int64_t>());
  run.set_bills_issued(r[6].as<int64_t>());
  run.set_amount_fen(r[7].as<int64_t>());
  run.set_chunks_done(r[8].as<int>());
  *run.mutable_create_time() = Stamp(r[9]);
  if (r[10].as<int64_t>() != 0) *run.mutable_finish_time() = Stamp(r[10]);
  return run;
}

// The days of the month ($11) owed from the date in `col` under proration $16, as
// DaysOwed (billing.h): p.n is the divisor, p.ms/p.me the month's first day and the next
// month's.
std::string OwedDaysSql(const char* col) {
  return absl::StrCat("CASE WHEN ", col, " >= p.me THEN 0 WHEN ", col, " IS NULL OR ", col,
                      " <= p.ms THEN p.n WHEN $16 = 2 THEN LEAST(30, 31 - extract(day FROM ", col,
                      ")::int) WHEN $16 = 3 THEN p.n ELSE p.me - ", col, " END");
}

// The monthly bills of one chunk, set-based. The fees are MonthlyFees (billing.h) in SQL;
// the management fee is `area` × `rate`, prorated like ProrateHundredths over the days owed from
// the hand-over day (`hd`) and, for the stair lighting of a unit someone lives in, from the move-in
// day (`md`). Bill ids are the chunk's UUIDv7 prefix ($13) and the row's number, so they ascend
// like every other id. `guarded`: a unit's bill of the period may exist already (another run billed
// it), and ON CONFLICT skips it; unguarded, the insert is plain (a quarter faster: no speculative
// insertion), and a bill that exists after all fails the statement on the unique index.
std::string IssueChunkSql(bool guarded) {
  return absl::StrCat(
      "WITH p AS ("
      "  SELECT $11::date AS ms, ($11::date + interval '1 month')::date AS me,"
      "    CASE WHEN $16 = 2 THEN 30"
      "         ELSE ($11::date + interval '1 month')::date - $11::date END AS n"
      "), u AS ("
      "  SELECT id, area_centi AS area, type, occupancy,"
      "         COALESCE(NULLIF(($6::bigint[])[type], 0), $5) AS rate,"
      "         handover_date, move_in_date"
      "  FROM bl_units WHERE estate_id = $2 AND group_id = $1 AND id > ",
      WUYE_SQL_AFTER("$3"),
      "    AND handed_over AND (handover_date IS NULL OR"
      "         handover_date < ($11::date + interval '1 month')::date)"
      "  ORDER BY id LIMIT $4"
      "), d AS ("
      "  SELECT u.*, p.n, ",
      OwedDaysSql("u.handover_date"), " AS hd, ", OwedDaysSql("u.move_in_date"),
      " AS md FROM u CROSS JOIN p"
      "), m AS ("
      "  SELECT unit_id,"
      "    sum(amount_fen) FILTER (WHERE kind = 1) AS water,"
      "    sum(amount_fen) FILTER (WHERE kind = 2) AS electricity,"
      "    sum(amount_fen) FILTER (WHERE kind = 3) AS gas"
      "  FROM meter_readings WHERE estate_id = $2 AND period = $11::date AND state = 1"
      "  GROUP BY unit_id"
      "), f AS ("
      "  SELECT u.id,"
      "    CASE WHEN u.type = ",
      kUnitTypeParking, " THEN 0 ELSE (u.area * u.rate * u.hd + 50 * u.n) / (100 * u.n)",
      " END AS management,"
      "    CASE WHEN u.type = ",
      kUnitTypeParking, " OR u.occupancy NOT IN (", kOccupancySelfOccupied, ", ", kOccupancyRented,
      ") THEN 0 ELSE ($7 * 100 * u.md + 50 * u.n) / (100 * u.n) END AS lighting,"
      "    (CASE WHEN u.type <> ",
      kUnitTypeParking, " THEN 0 WHEN u.occupancy = ", kOccupancyRented,
      " THEN $8 WHEN u.occupancy = ", kOccupancySelfOccupied,
      " THEN $9 ELSE $10 END * 100 * u.hd + 50 * u.n) / (100 * u.n) AS parking,"
      "    COALESCE(m.water, 0) AS water, COALESCE(m.electricity, 0) AS electricity,"
      "    COALESCE(m.gas, 0) AS gas,"
      "    row_number() OVER (ORDER BY u.id) AS n"
      "  FROM d u LEFT JOIN m ON m.unit_id = u.id"
      "), ins AS ("
      "  INSERT INTO bills (id, group_id, estate_id, unit_id, kind, period, management_fen,"
      "    lighting_fen, parking_fen, water_fen, electricity_fen, gas_fen, amount_fen,"
      "    issued_at, due_at, run_id)"
      "  SELECT ($14 || lpad(to_hex(n), 12, '0'))::uuid, $1, $2, id, 1, $11::date, management,"
      "    lighting, parking, water, electricity, gas,"
      "    management + lighting + parking + water + electricity + gas, ",
      WUYE_SQL_TIME("$12"), ", ", WUYE_SQL_TIME("$13"),
      ", $15"
      "  FROM f ORDER BY id",
      guarded ? "  ON CONFLICT (unit_id, period, kind, source) DO NOTHING" : "",
      "  RETURNING management_fen, lighting_fen, parking_fen, water_fen, electricity_fen, gas_fen"
      ") SELECT (SELECT count(*) FROM u), (SELECT id::text FROM u ORDER BY id DESC LIMIT 1),"
      "  count(*), COALESCE(sum(management_fen), 0), COALESCE(sum(lighting_fen), 0),"
      "  COALESCE(sum(parking_fen), 0), COALESCE(sum(water_fen), 0),"
      "  COALESCE(sum(electricity_fen), 0), COALESCE(sum(gas_fen), 0) FROM ins");
}

}  // namespace

const sql::Statements& BillingStore::BillStatements() { return statements; }

// ---- runs -------------------------------------------------------------------------------

const sql::Statement kRunInsert = statements.Add(
    "bl_run_insert",
    absl::StrCat("INSERT INTO billing_runs (id, group_id, estate_id, period, state, "
                 "units_total, trace_id, created_at) VALUES ($1, $2, NULLIF($3, '')::uuid, "
                 "$4::date, 1, $5, $6, " WUYE_SQL_TIME("$7") ") RETURNING ",
                 kRunCols));

void BillingStore::InsertRun(pqxx::work& tx, const std::string& group, const std::string& id,
                             const std::string& estate, const std::string& period,
                             int64_t units_total, absl::Time now, const std::string& trace_id,
                             v1::BillingRun* out) {
  *out = RunRowOf(
      tx.exec_prepared1(kRunInsert, id, group, estate, period, units_total, trace_id, Micros(now)));
}

const sql::Statement kRunGet = statements.Add(
    "bl_run_get",
    absl::StrCat("SELECT ", kRunCols, " FROM billing_runs WHERE group_id = $1 AND id = $2"));

std::optional<v1::BillingRun> BillingStore::GetRun(pqxx::work& tx, const std::string& group,
                                                   const std::string& id) {
  pqxx::result r = tx.exec_prepared(kRunGet, group, id);
  if (r.empty()) return std::nullopt;
  return RunRowOf(r[0]);
}

const sql::Statement kRunActive = statements.Add(
    "bl_run_active",
    "SELECT id FROM billing_runs WHERE group_id = $1 AND state < 3 AND period = $3::date AND "
    "estate_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid LIMIT 1");

std::optional<std::string> BillingStore::ActiveRun(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& period) {
  pqxx::result r = tx.exec_prepared(kRunActive, group, estate, period);
  if (r.empty()) return std::nullopt;
  return Text(r[0][0]);
}

const sql::Statement kRunClaim = statements.Add(
    "bl_run_claim", absl::StrCat("SELECT ", kRunCols,
                                 " FROM billing_runs WHERE state < 3 ORDER BY created_at "
                                 "LIMIT 1 FOR UPDATE SKIP LOCKED"));

std::optional<RunRow> BillingStore::ClaimRun(pqxx::work& tx) {
  pqxx::result r = tx.exec_prepared(kRunClaim);
  if (r.empty()) return std::nullopt;
  RunRow row;
  row.run = RunRowOf(r[0]);
  row.group_id = Text(r[0][11]);
  row.cursor_estate = Text(r[0][12]);
  row.cursor_unit = Text(r[0][13]);
  row.trace_id = Text(r[0][14]);
  return row;
}

const sql::Statement kRunChunk = statements.Add("bl_run_chunk", IssueChunkSql(true));
const sql::Statement kRunChunkFirst = statements.Add("bl_run_chunk_first", IssueChunkSql(false));
const sql::Statement kRunBilledBefore = statements.Add(
    "bl_run_billed_before",
    "SELECT EXISTS (SELECT 1 FROM billing_runs WHERE group_id = $1 AND period = $2::date "
    "AND id <> $3 AND (estate_id IS NULL OR estate_id = $4))");

ChunkResult BillingStore::IssueChunk(pqxx::work& tx, const std::string& group,
                                     const EstateCopy& estate, const v1::FeeSchedule& schedule,
                                     v1::Proration proration, const std::string& period,
                                     const std::string& after_unit, int limit, absl::Time issued,
                                     absl::Time due, const std::string& id_prefix,
                                     const std::string& run_id) {
  // Rates by unit type (index 1..6); 0 = the estate's rate.
  std::vector<std::string> rates(6, "0");
  for (const auto& r : schedule.type_rates()) {
    if (r.unit_type() >= 1 && r.unit_type() <= 6)
      rates[r.unit_type() - 1] = std::to_string(r.fen_per_m2());
  }
  auto issue = [&](pqxx::work& t, const sql::Statement& statement) {
    return t.exec_prepared1(statement, group, estate.id, after_unit, limit, estate.fee_fen_per_m2,
                            PgArray(rates), schedule.stair_lighting_fen(),
                            schedule.parking_rented_fen(), schedule.parking_sold_fen(),
                            schedule.parking_vacant_fen(), period, Micros(issued), Micros(due),
                            id_prefix, run_id, static_cast<int>(proration));
  };
  // No other run ever billed this estate and period: nothing to skip. (A unit billed in
  // another estate before it moved here still has its bill: the plain insert fails on it,
  // and the chunk is issued again with the guard.)
  std::optional<pqxx::row> first;
  if (!tx.exec_prepared1(kRunBilledBefore, group, period, run_id, estate.id)[0].as<bool>()) {
    tx.exec("SAVEPOINT first_billing");
    try {
      first = issue(tx, kRunChunkFirst);
      tx.exec("RELEASE SAVEPOINT first_billing");
    } catch (const pqxx::unique_violation&) {
      tx.exec("ROLLBACK TO SAVEPOINT first_billing");
    }
  }
  pqxx::row r = first ? *first : issue(tx, kRunChunk);
  ChunkResult c;
  c.units = r[0].as<int64_t>();
  c.last_unit = Text(r[1]);
  c.bills = r[2].as<int64_t>();
  c.management = r[3].as<int64_t>();
  c.lighting = r[4].as<int64_t>();
  c.parking = r[5].as<int64_t>();
  c.water = r[6].as<int64_t>();
  c.electricity = r[7].as<int64_t>();
  c.gas = r[8].as<int64_t>();
  return c;
}

const sql::Statement kRunAdvance = statements.Add(
    "bl_run_advance",
    absl::StrCat("UPDATE billing_runs SET state = CASE WHEN $7 THEN 3 ELSE 2 END, "
                 "units_done = units_done + $2, bills_issued = bills_issued + $3, "
                 "amount_fen = amount_fen + $4, chunks_done = chunks_done + 1, "
                 "cursor_estate = NULLIF($5, '')::uuid, cursor_unit = NULLIF($6, '')::uuid, "
                 "finished_at = CASE WHEN $7 THEN " WUYE_SQL_TIME("$8") " END "
                                                                        "WHERE id = $1 RETURNING ",
                 kRunCols));

void BillingStore::AdvanceRun(pqxx::work& tx, const std::string& run_id, const ChunkResult& c,
                              const std::string& cursor_estate, const std::string& cursor_unit,
                              bool done, absl::Time now, v1::BillingRun* out) {
  *out = RunRowOf(tx.exec_prepared1(kRunAdvance, run_id, c.units, c.bills, c.total(), cursor_estate,
                                    cursor_unit, done, Micros(now)));
}

// ---- bills ------------------------------------------------------------------------------

const sql::Statement kBillGet = statements.Add(
    "bl_bill_get",
    absl::StrCat("SELECT ", kBillCols, " FROM bills WHERE group_id = $1 AND id = $2"));

std::optional<v1::Bill> BillingStore::GetBill(pqxx::work& tx, const std::string& group,
                                              const std::string& id) {
  pqxx::result r = tx.exec_prepared(kBillGet, group, id);
  if (r.empty()) return std::nullopt;
  return BillRow(r[0]);
}

const sql::Statement kBillList = statements.Add(
    "bl_bill_list", absl::StrCat("SELECT ", kBillCols,
                                 " FROM bills WHERE group_id = $1 AND estate_id = $2 AND "
                                 "($3 = '' OR unit_id = NULLIF($3, '')::uuid) AND "
                                 "(NOT $4 OR paid_fen < amount_fen) AND id > ",
                                 WUYE_SQL_AFTER("$5"), " ORDER BY id LIMIT $6"));

std::vector<v1::Bill> BillingStore::ListBills(pqxx::work& tx, const std::string& group,
                                              const std::string& estate, const std::string& unit,
                                              bool open_only, const std::string& after, int limit) {
  std::vector<v1::Bill> out;
  for (const auto& r : tx.exec_prepared(kBillList, group, estate, unit, open_only, after, limit)) {
    out.push_back(BillRow(r));
  }
  return out;
}

const sql::Statement kUnitOwed = statements.Add(
    "bl_unit_owed",
    "SELECT COALESCE(sum(amount_fen - paid_fen), 0), count(*) FROM bills WHERE group_id = $1 "
    "AND unit_id = $2 AND paid_fen < amount_fen");

int64_t BillingStore::UnitOwed(pqxx::work& tx, const std::string& group, const std::string& unit,
                               int64_t* open_bills) {
  pqxx::row r = tx.exec_prepared1(kUnitOwed, group, unit);
  *open_bills = r[1].as<int64_t>();
  return r[0].as<int64_t>();
}

const sql::Statement kBillsOpenLocked = statements.Add(
    "bl_bills_open_locked",
    "SELECT id, " WUYE_SQL_MICROS("due_at") ", " WUYE_SQL_MICROS("issued_at") ", "
    "amount_fen - paid_fen FROM bills "
    "WHERE group_id = $1 AND unit_id = $2 AND paid_fen < amount_fen ORDER BY due_at, "
    "issued_at, id FOR UPDATE");

std::vector<OpenBill> BillingStore::LockOpenBills(pqxx::work& tx, const std::string& group,
                                                  const std::string& unit) {
  std::vector<OpenBill> out;
  for (const auto& r : tx.exec_prepared(kBillsOpenLocked, group, unit)) {
    out.push_back(OpenBill{Text(r[0]), TimeOf(r[1]), TimeOf(r[2]), r[3].as<int64_t>()});
  }
  return out;
}

const sql::Statement kBillsAddPaid =
    statements.Add("bl_bills_add_paid",
                   "UPDATE bills b SET paid_fen = b.paid_fen + d.delta FROM unnest($1::uuid[], "
                   "$2::bigint[]) AS d(id, delta) WHERE b.id = d.id");

void BillingStore::AddPaid(pqxx::work& tx,
                           const std::vector<std::pair<std::string, int64_t>>& deltas) {
  if (deltas.empty()) return;
  std::vector<std::string> ids, amounts;
  for (const auto& [id, delta] : deltas) {
    ids.push_back(id);
    amounts.push_back(std::to_string(delta));
  }
  tx.exec_prepared(kBillsAddPaid, PgArray(ids), PgArray(amounts));
}

const sql::Statement kBillChargeInsert = statements.Add(
    "bl_bill_charge_insert",
    "INSERT INTO bills (id, group_id, estate_id, unit_id, kind, period, other_fen, item, "
    "source, amount_fen, issued_at, due_at) VALUES ($1, $2, $3, $4, 2, $5::date, $8, $6, $7, "
    "$8, " WUYE_SQL_TIME("$9") ", " WUYE_SQL_TIME("$9") ")");

void BillingStore::InsertChargeBill(pqxx::work& tx, const std::string& group, const std::string& id,
                                    const std::string& estate, const std::string& unit,
                                    const std::string& period, const std::string& item,
                                    const std::string& source, int64_t amount, absl::Time issued) {
  tx.exec_prepared(kBillChargeInsert, id, group, estate, unit, period, item, source, amount,
                   Micros(issued));
}

}  // namespace wuye::billing
