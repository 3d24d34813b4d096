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
}

}  // namespace wuye::billing
