// BillingStore: payments and how they were allocated to bills, and the ledger every movement
// of money is posted to.
#include "absl/strings/str_cat.h"
#include "services/billing/billing_store.h"
#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kPaymentCols[] =
    "id, estate_id, unit_id, amount_fen, method, external_txn_no, COALESCE(bill_id::text, ''), "
    "credit_fen, " WUYE_SQL_MICROS("paid_at") ", reversed, reversal_reason";

}  // namespace

const sql::Statements& BillingStore::PaymentStatements() { return statements; }

// ---- payments ---------------------------------------------------------------------------

const sql::Statement kAllocations = statements.Add(
    "bl_allocations",
    "SELECT bill_id, amount_fen FROM allocations WHERE payment_id = $1 ORDER BY bill_id");

namespace {
v1::Payment PaymentRow(pqxx::work& tx, const pqxx::row& r) {
  v1::Payment p;
  p.set_id(Text(r[0]));
  p.set_estate_id(Text(r[1]));
  p.set_unit_id(Text(r[2]));
  p.set_amount_fen(r[3].as<int64_t>());
  p.set_method(static_cast<v1::PaymentMethod>(r[4].as<int>()));
  p.set_external_txn_no(Text(r[5]));
  p.set_bill_id(Text(r[6]));
  p.set_credit_fen(r[7].as<int64_t>());
  *p.mutable_paid_time() = Stamp(r[8]);
  p.set_reversed(r[9].as<bool>());
  p.set_reversal_reason(Text(r[10]));
  for (const auto& a : tx.exec_prepared(kAllocations, p.id())) {
    auto* alloc = p.add_allocations();
    alloc->set_bill_id(Text(a[0]));
    alloc->set_amount_fen(a[1].as<int64_t>());
  }
  return p;
}
}  // namespace

const sql::Statement kPaymentInsert = statements.Add(
    "bl_payment_insert",
    "INSERT INTO payments (id, group_id, estate_id, unit_id, amount_fen, method, "
    "external_txn_no, bill_id, credit_fen, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "NULLIF($8, '')::uuid, $9, " WUYE_SQL_TIME("$10") ") "
    "ON CONFLICT (group_id, method, external_txn_no) DO NOTHING RETURNING 1");

bool BillingStore::InsertPayment(pqxx::work& tx, const std::string& group, const v1::Payment& p) {
  pqxx::result r =
      tx.exec_prepared(kPaymentInsert, p.id(), group, p.estate_id(), p.unit_id(), p.amount_fen(),
                       static_cast<int>(p.method()), p.external_txn_no(), p.bill_id(),
                       p.credit_fen(), Micros(FromProtoTime(p.paid_time())));
  return !r.empty();
}

const sql::Statement kPaymentGet = statements.Add(
    "bl_payment_get",
    absl::StrCat("SELECT ", kPaymentCols, " FROM payments WHERE group_id = $1 AND id = $2"));
const sql::Statement kPaymentGetLocked =
    statements.Add("bl_payment_get_locked",
                   absl::StrCat("SELECT ", kPaymentCols,
                                " FROM payments WHERE group_id = $1 AND id = $2 FOR UPDATE"));

std::optional<v1::Payment> BillingStore::GetPayment(pqxx::work& tx, const std::string& group,
                                                    const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kPaymentGetLocked : kPaymentGet, group, id);
  if (r.empty()) return std::nullopt;
  return PaymentRow(tx, r[0]);
}

const sql::Statement kPaymentByTxn = statements.Add(
    "bl_payment_by_txn",
    absl::StrCat("SELECT ", kPaymentCols,
                 " FROM payments WHERE group_id = $1 AND method = $2 AND external_txn_no = $3"));

std::optional<v1::Payment> BillingStore::GetPaymentByTxn(pqxx::work& tx, const std::string& group,
                                                         int method, const std::string& txn_no) {
  pqxx::result r = tx.exec_prepared(kPaymentByTxn, group, method, txn_no);
  if (r.empty()) return std::nullopt;
  return PaymentRow(tx, r[0]);
}

const sql::Statement kAllocationsInsert =
    statements.Add("bl_allocations_insert",
                   "INSERT INTO allocations (payment_id, bill_id, amount_fen) SELECT $1, b, a FROM "
                   "unnest($2::uuid[], $3::bigint[]) AS x(b, a)");

void BillingStore::InsertAllocations(
    pqxx::work& tx, const std::string& payment,
    const std::vector<std::pair<std::string, int64_t>>& allocations) {
  if (allocations.empty()) return;
  std::vector<std::string> ids, amounts;
  for (const auto& [id, amount] : allocations) {
    ids.push_back(id);
    amounts.push_back(std::to_string(amount));
  }
  tx.exec_prepared(kAllocationsInsert, payment, PgArray(ids), PgArray(amounts));
}

const sql::Statement kPaymentReverse =
    statements.Add("bl_payment_reverse",
                   "UPDATE payments SET reversed = true, reversal_reason = $2, "
                   "reversed_at = " WUYE_SQL_TIME("$3") " WHERE id = $1");

void BillingStore::MarkReversed(pqxx::work& tx, const std::string& payment,
                                const std::string& reason, absl::Time now) {
  tx.exec_prepared(kPaymentReverse, payment, reason, Micros(now));
}

// ---- ledger -----------------------------------------------------------------------------

const sql::Statement kLedgerTxn = statements.Add(
    "bl_ledger_txn",
    "INSERT INTO ledger_txns (id, group_id, estate_id, kind, ref, created_at) VALUES "
    "(gen_random_uuid(), $1, $2, $3, $4, " WUYE_SQL_TIME("$5") ") "
    "ON CONFLICT (group_id, ref) DO NOTHING RETURNING id");

const sql::Statement kLedgerEntries = statements.Add(
    "bl_ledger_entries",
    "INSERT INTO ledger_entries (txn_id, group_id, account, unit_id, amount_fen) SELECT $1, "
    "$2, a, NULLIF(u, '')::uuid, x FROM unnest($3::text[], $4::text[], $5::bigint[]) AS "
    "e(a, u, x)");

bool BillingStore::PostLedger(pqxx::work& tx, const std::string& group, const std::string& estate,
                              const std::string& kind, const std::string& ref,
                              const std::vector<LedgerEntry>& entries, absl::Time now) {
  pqxx::result r = tx.exec_prepared(kLedgerTxn, group, estate, kind, ref, Micros(now));
  if (r.empty()) return false;
  std::vector<std::string> accounts, units, amounts;
  for (const auto& e : entries) {
    if (e.amount_fen == 0) continue;
    accounts.push_back(e.account);
    units.push_back(e.unit_id);
    amounts.push_back(std::to_string(e.amount_fen));
  }
  tx.exec_prepared(kLedgerEntries, Text(r[0][0]), group, PgArray(accounts), PgArray(units),
                   PgArray(amounts));
  return true;
}

const sql::Statement kLedgerCheck = statements.Add(
    "bl_ledger_check",
    "WITH t AS (SELECT t.id, COALESCE(sum(e.amount_fen), 0) AS s, count(e.*) AS n, "
    "COALESCE(sum(e.amount_fen) FILTER (WHERE e.amount_fen > 0), 0) AS d FROM ledger_txns t "
    "LEFT JOIN ledger_entries e ON e.txn_id = t.id WHERE t.group_id = $1 GROUP BY t.id) "
    "SELECT count(*), COALESCE(sum(n), 0), COALESCE(sum(s), 0), COALESCE(sum(d), 0), "
    "count(*) FILTER (WHERE s <> 0 OR n < 2) FROM t");

v1::LedgerCheck BillingStore::CheckLedger(pqxx::work& tx, const std::string& group) {
  pqxx::row r = tx.exec_prepared1(kLedgerCheck, group);
  v1::LedgerCheck c;
  c.set_transactions(r[0].as<int64_t>());
  c.set_entries(r[1].as<int64_t>());
  c.set_sum_fen(r[2].as<int64_t>());
  c.set_debits_fen(r[3].as<int64_t>());
  c.set_unbalanced_transactions(r[4].as<int64_t>());
  c.set_balanced(c.sum_fen() == 0 && c.unbalanced_transactions() == 0);
  return c;
}

// The running sum migration 012 keeps of the unit's entries on the account (issue 26 §5: not a
// sum over the unit's whole history).
const sql::Statement kUnitLiability = statements.Add(
    "bl_unit_liability",
    "SELECT COALESCE(-(SELECT sum_fen FROM unit_balances WHERE unit_id = $2 AND account = $3 "
    "AND group_id = $1), 0)");

int64_t BillingStore::UnitLiability(pqxx::work& tx, const std::string& group,
                                    const std::string& unit, const std::string& account) {
  return tx.exec_prepared1(kUnitLiability, group, unit, account)[0].as<int64_t>();
}

}  // namespace wuye::billing
