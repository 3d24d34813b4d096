#include "services/billing/eldercare_money_store.h"

#include "shared/db.h"

namespace wuye::billing {
namespace {

#define TS(param) "to_timestamp(" param "::float8 / 1000000)"

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
std::string Str(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }

constexpr char kChargeBillCols[] = "id, estate_id, unit_id, item, amount_fen, paid_fen";

ChargeBill ChargeBillRow(const pqxx::row& r) {
  return {Str(r[0]), Str(r[1]), Str(r[2]), Str(r[3]), r[4].as<int64_t>(), r[5].as<int64_t>()};
}

}  // namespace

EldercareMoneyStore::EldercareMoneyStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  prep("bl_ec_bill_by_source",
       std::string("SELECT ") + kChargeBillCols +
           " FROM bills WHERE group_id = $1 AND kind = 2 AND source = $2 FOR UPDATE");
  prep("bl_ec_bill_reduce",
       "UPDATE bills SET amount_fen = amount_fen - $2, other_fen = other_fen - $2 WHERE id = $1 "
       "AND amount_fen - paid_fen >= $2");
  prep("bl_ec_bills_of",
       std::string("SELECT ") + kChargeBillCols +
           " FROM bills WHERE group_id = $1 AND id = ANY($2::uuid[]) AND kind = 2 AND item LIKE "
           "'eldercare\\_%' ORDER BY id");
  // Debits positive, credits negative: a liability's balance is −sum.
  prep("bl_ec_settlement",
       "SELECT"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_billed' AND t.kind = "
       "'eldercare_charge' AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_payable' AND t.kind IN "
       "('eldercare_collected', 'eldercare_uncollected') AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_payable' AND t.kind = "
       "'eldercare_return' AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_receivable' AND t.kind = "
       "'eldercare_clinic_fee' AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = 'eldercare_deposit_held' AND "
       "t.kind IN ('eldercare_collected', 'eldercare_uncollected') AND t.created_at >= " TS(
           "$3") "), 0),"
                 " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = "
                 "'eldercare_deposit_held' AND t.kind = 'eldercare_refund' AND t.created_at >= " TS(
                     "$3") "), 0),"
                           " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = "
                           "'eldercare_deposit_held'), 0),"
                           " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = "
                           "'clinic_payable'), 0),"
                           " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = "
                           "'clinic_receivable'), 0),"
                           " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = "
                           "'clinic_billed'), 0)"
                           " FROM ledger_txns t JOIN ledger_entries e ON e.txn_id = t.id"
                           " WHERE t.group_id = $1 AND t.estate_id = $2 AND t.kind LIKE "
                           "'eldercare%' AND t.created_at < " TS("$4"));
  prep("bl_ec_estate_lock", "SELECT 1 FROM bl_estates WHERE group_id = $1 AND id = $2 FOR UPDATE");
  prep("bl_ec_clinic_balances",
       "SELECT COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_payable'), 0),"
       " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_receivable'), 0)"
       " FROM ledger_txns t JOIN ledger_entries e ON e.txn_id = t.id"
       " WHERE t.group_id = $1 AND t.estate_id = $2 AND t.kind LIKE 'eldercare%'");
  // 5.9 and 5.12: the settlement payments and the deposits lodged with the emergency centre.
  // Flows from $3, balances before $3 (the month's start) and before $4 (its end).
  prep("bl_ec_settlement_moves",
       "SELECT"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE t.kind = 'eldercare_clinic_settlement'"
       "   AND e.account LIKE 'cash:%' AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_payable'"
       "   AND t.created_at < " TS("$3") "), 0),"
       " COALESCE(sum(e.amount_fen) FILTER (WHERE e.account = 'clinic_receivable'"
       "   AND t.created_at < " TS("$3") "), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE t.kind = 'eldercare_deposit_lodged'"
       "   AND e.account = 'eldercare_deposit_at_emergency_centre'"
       "   AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(sum(e.amount_fen) FILTER (WHERE t.kind LIKE 'eldercare\\_deposit\\_back%'"
       "   AND e.account IN ('eldercare_deposit_at_emergency_centre',"
       "   'eldercare_deposit_refund_awaited') AND t.created_at >= " TS("$3") "), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE e.account IN"
       "   ('eldercare_deposit_at_emergency_centre', 'eldercare_deposit_refund_awaited')), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE"
       "   e.account = 'eldercare_deposit_refund_awaited'), 0),"
       " COALESCE(-sum(e.amount_fen) FILTER (WHERE t.kind LIKE 'eldercare\\_deposit\\_back%'"
       "   AND e.account = 'unit_credit' AND t.created_at >= " TS("$3") "), 0)"
       " FROM ledger_txns t JOIN ledger_entries e ON e.txn_id = t.id"
       " WHERE t.group_id = $1 AND t.estate_id = $2 AND t.kind LIKE 'eldercare%'"
       " AND t.created_at < " TS("$4"));
}

void EldercareMoneyStore::LockEstate(pqxx::work& tx, const std::string& group,
                                     const std::string& estate) {
  tx.exec_prepared("bl_ec_estate_lock", group, estate);
}

std::pair<int64_t, int64_t> EldercareMoneyStore::ClinicBalances(pqxx::work& tx,
                                                                const std::string& group,
                                                                const std::string& estate) {
  pqxx::row r = tx.exec_prepared1("bl_ec_clinic_balances", group, estate);
  return {r[0].as<int64_t>(), r[1].as<int64_t>()};
}

std::optional<ChargeBill> EldercareMoneyStore::LockChargeBill(pqxx::work& tx,
                                                              const std::string& group,
                                                              const std::string& source) {
  pqxx::result r = tx.exec_prepared("bl_ec_bill_by_source", group, source);
  if (r.empty()) return std::nullopt;
  return ChargeBillRow(r[0]);
}

void EldercareMoneyStore::ReduceBill(pqxx::work& tx, const std::string& bill, int64_t fen) {
  if (fen > 0) tx.exec_prepared("bl_ec_bill_reduce", bill, fen);
}

std::vector<ChargeBill> EldercareMoneyStore::EldercareBills(
    pqxx::work& tx, const std::string& group, const std::vector<std::string>& bill_ids) {
  std::vector<ChargeBill> out;
  if (bill_ids.empty()) return out;
  for (const auto& r : tx.exec_prepared("bl_ec_bills_of", group, PgArray(bill_ids))) {
    out.push_back(ChargeBillRow(r));
  }
  return out;
}

void EldercareMoneyStore::SettlementFigures(pqxx::work& tx, const std::string& group,
                                            const std::string& estate, absl::Time from,
                                            absl::Time to, v1::ClinicSettlement* out) {
  pqxx::row r = tx.exec_prepared1("bl_ec_settlement", group, estate, Micros(from), Micros(to));
  out->set_billed_for_clinic_fen(r[0].as<int64_t>());
  out->set_collected_for_clinic_fen(r[1].as<int64_t>());
  out->set_returned_for_clinic_fen(r[2].as<int64_t>());
  out->set_management_fee_fen(r[3].as<int64_t>());
  out->set_deposits_collected_fen(r[4].as<int64_t>());
  out->set_deposits_refunded_fen(r[5].as<int64_t>());
  out->set_deposits_held_fen(r[6].as<int64_t>());
  out->set_payable_to_clinic_fen(r[7].as<int64_t>());
  out->set_receivable_from_clinic_fen(r[8].as<int64_t>());
  out->set_uncollected_for_clinic_fen(r[9].as<int64_t>());
  pqxx::row m =
      tx.exec_prepared1("bl_ec_settlement_moves", group, estate, Micros(from), Micros(to));
  out->set_settled_fen(m[0].as<int64_t>());
  out->set_outstanding_at_start_fen(m[1].as<int64_t>() - m[2].as<int64_t>());
  out->set_deposits_lodged_fen(m[3].as<int64_t>());
  out->set_deposits_back_fen(m[4].as<int64_t>());
  out->set_deposits_at_emergency_centre_fen(m[5].as<int64_t>());
  out->set_deposits_refund_awaited_fen(m[6].as<int64_t>());
  // Refunds paid to credit: at exit from hand, and later as lodged deposits come back.
  out->set_deposits_refunded_fen(out->deposits_refunded_fen() + m[7].as<int64_t>());
}

}  // namespace wuye::billing
