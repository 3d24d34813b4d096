// EldercareStore: charges, the family-call fund and fee settings.
#include "services/eldercare/eldercare_store.h"
#include "shared/sql.h"

namespace wuye::eldercare {
namespace {

using sql::Bytes;
using sql::Micros;
using sql::Text;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& EldercareStore::MoneyStatements() { return statements; }

// ---- charges and the family-call fund ----------------------------------------------------

const sql::Statement kChargeInsert = statements.Add(
    "ec_charge_insert",
    "INSERT INTO charges (charge_id, group_id, estate_id, elder_id, kind, payer, amount_fen, "
    "quantity, created_at, settles_charge_id) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "$8, " WUYE_SQL_TIME("$9") ", NULLIF($10, '')::uuid)");

void EldercareStore::InsertCharge(pqxx::work& tx, const ChargeRow& c, absl::Time now) {
  tx.exec_prepared(kChargeInsert, c.charge_id, c.group_id, c.estate_id, c.elder_id,
                   static_cast<int>(c.line.kind), static_cast<int>(c.line.payer), c.line.amount_fen,
                   c.line.quantity, Micros(now), c.line.settles_charge_id);
}

const sql::Statement kChargeLastOfKind = statements.Add(
    "ec_charge_last_of_kind",
    "SELECT charge_id::text, amount_fen FROM charges WHERE group_id = $1 AND elder_id = $2 "
    "AND kind = $3 ORDER BY charge_id DESC LIMIT 1");

std::optional<std::pair<std::string, int64_t>> EldercareStore::LastChargeOfKind(
    pqxx::work& tx, const std::string& group, const std::string& elder, int kind) {
  pqxx::result res = tx.exec_prepared(kChargeLastOfKind, group, elder, kind);
  if (res.empty()) return std::nullopt;
  return std::pair{Text(res[0][0]), res[0][1].as<int64_t>()};
}

const sql::Statement kFundAdd = statements.Add("ec_fund_add",
    "UPDATE elders SET family_call_fund_fen = family_call_fund_fen + $3, version = version + 1, "
    "updated_at = " WUYE_SQL_TIME("$4") " WHERE group_id = $1 AND id = $2 RETURNING "
    "family_call_fund_fen");

int64_t EldercareStore::AddToFund(pqxx::work& tx, const std::string& group,
                                  const std::string& elder, int64_t delta, absl::Time now) {
  return tx.exec_prepared1(kFundAdd, group, elder, delta, Micros(now))[0].as<int64_t>();
}

// ---- fee settings ---------------------------------------------------------------------------

const sql::Statement kFeesGet = statements.Add(
    "ec_fees_get",
    "SELECT fees, version FROM fee_settings WHERE group_id = $1 AND estate_id IS NOT "
    "DISTINCT FROM NULLIF($2, '')::uuid");

std::pair<v1::ElderFees, int64_t> EldercareStore::GetFees(pqxx::work& tx, const std::string& group,
                                                          const std::string& estate) {
  v1::ElderFees fees;
  pqxx::result res = tx.exec_prepared(kFeesGet, group, estate);
  if (res.empty()) return {fees, 0};
  fees.ParseFromString(Bytes(res[0][0]));
  return {fees, res[0][1].as<int64_t>()};
}

const sql::Statement kFeesPut = statements.Add("ec_fees_put",
    "INSERT INTO fee_settings (group_id, estate_id, fees, version, updated_at) VALUES ($1, "
    "NULLIF($2, '')::uuid, $3::bytea, 1, " WUYE_SQL_TIME("$4") ") ON CONFLICT (group_id, "
    "COALESCE(estate_id, " WUYE_SQL_NIL_UUID ")) DO UPDATE SET fees = "
    "EXCLUDED.fees, version = fee_settings.version + 1, updated_at = EXCLUDED.updated_at "
    "RETURNING version");

int64_t EldercareStore::PutFees(pqxx::work& tx, const std::string& group, const std::string& estate,
                                const v1::ElderFees& fees, absl::Time now) {
  return tx
      .exec_prepared1(kFeesPut, group, estate, tx.esc_raw(fees.SerializeAsString()), Micros(now))[0]
      .as<int64_t>();
}

Fees EldercareStore::FeesFor(pqxx::work& tx, const std::string& group, const std::string& estate) {
  return ResolveFees(GetFees(tx, group, "").first, GetFees(tx, group, estate).first);
}

const sql::Statement kChargeTotals = statements.Add(
    "ec_charge_totals",
    "SELECT kind, sum(amount_fen)::bigint FROM charges WHERE group_id = $1 AND elder_id = $2 "
    "GROUP BY kind");

std::map<int, int64_t> EldercareStore::ChargeTotals(pqxx::work& tx, const std::string& group,
                                                    const std::string& elder) {
  std::map<int, int64_t> out;
  for (const auto& r : tx.exec_prepared(kChargeTotals, group, elder)) {
    out[r[0].as<int>()] = r[1].as<int64_t>();
  }
  return out;
}

}  // namespace wuye::eldercare
