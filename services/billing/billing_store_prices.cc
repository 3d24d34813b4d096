// BillingStore: the group's standard prices, the estates' prices and their fee schedules.
#include "absl/strings/str_cat.h"
#include "services/billing/billing_store.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Bytes;
using sql::Micros;
using sql::Stamp;
using sql::Text;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kEstatePriceCols[] =
    "p.estate_id, p.item_code, s.name, p.price_fen, p.standard_price_fen, s.per, p.withdrawn, "
    "p.version, " WUYE_SQL_MICROS("p.effective_at");

v1::EstatePrice EstatePriceRow(const pqxx::row& r) {
  v1::EstatePrice p;
  p.set_estate_id(Text(r[0]));
  p.set_item_code(Text(r[1]));
  p.set_name(Text(r[2]));
  p.set_price_fen(r[3].as<int64_t>());
  p.set_standard_price_fen(r[4].as<int64_t>());
  p.set_per(Text(r[5]));
  p.set_withdrawn(r[6].as<bool>());
  p.set_version(r[7].as<int64_t>());
  *p.mutable_effective_time() = Stamp(r[8]);
  return p;
}

}  // namespace

const sql::Statements& BillingStore::PriceStatements() { return statements; }

// ---- prices and schedules -----------------------------------------------------------------

const sql::Statement kStdPricePut = statements.Add(
    "bl_std_price_put",
    "INSERT INTO standard_prices (group_id, item_code, name, price_fen, per, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, " WUYE_SQL_TIME("$6") ") "
    "ON CONFLICT (group_id, item_code) DO UPDATE "
    "SET name = excluded.name, price_fen = excluded.price_fen, per = excluded.per, "
    "version = standard_prices.version + 1, updated_at = excluded.updated_at "
    "RETURNING item_code, name, price_fen, per, version, " WUYE_SQL_MICROS("updated_at"));

void BillingStore::PutStandardPrice(pqxx::work& tx, const std::string& group,
                                    const v1::StandardPrice& p, absl::Time now,
                                    v1::StandardPrice* out) {
  pqxx::row r = tx.exec_prepared1(kStdPricePut, group, p.item_code(), p.name(), p.price_fen(),
                                  p.per(), Micros(now));
  out->set_item_code(Text(r[0]));
  out->set_name(Text(r[1]));
  out->set_price_fen(r[2].as<int64_t>());
  out->set_per(Text(r[3]));
  out->set_version(r[4].as<int64_t>());
  *out->mutable_update_time() = Stamp(r[5]);
}

const sql::Statement kEstatePricesOfItem =
    statements.Add("bl_estate_prices_of_item",
                   "SELECT estate_id::text, price_fen FROM estate_prices "
                   "WHERE group_id = $1 AND item_code = $2 AND NOT withdrawn ORDER BY estate_id");

std::vector<std::pair<std::string, int64_t>> BillingStore::EstatePricesOfItem(
    pqxx::work& tx, const std::string& group, const std::string& code) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : tx.exec_prepared(kEstatePricesOfItem, group, code)) {
    out.emplace_back(Text(r[0]), r[1].as<int64_t>());
  }
  return out;
}

const sql::Statement kStdPriceGet = statements.Add(
    "bl_std_price_get",
    "SELECT item_code, name, price_fen, per, version, " WUYE_SQL_MICROS("updated_at") " FROM "
    "standard_prices WHERE group_id = $1 AND item_code = $2");

std::optional<v1::StandardPrice> BillingStore::GetStandardPrice(pqxx::work& tx,
                                                                const std::string& group,
                                                                const std::string& code) {
  pqxx::result res = tx.exec_prepared(kStdPriceGet, group, code);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  v1::StandardPrice p;
  p.set_item_code(Text(r[0]));
  p.set_name(Text(r[1]));
  p.set_price_fen(r[2].as<int64_t>());
  p.set_per(Text(r[3]));
  p.set_version(r[4].as<int64_t>());
  *p.mutable_update_time() = Stamp(r[5]);
  return p;
}

const sql::Statement kEstatePricePut = statements.Add(
    "bl_estate_price_put",
    "INSERT INTO estate_prices (group_id, estate_id, item_code, price_fen, "
    "standard_price_fen, withdrawn, effective_at) VALUES ($1, $2, $3, $4, $5, $6, "
    WUYE_SQL_TIME("$7") ") "
    "ON CONFLICT (estate_id, item_code) DO UPDATE SET price_fen = excluded.price_fen, "
    "standard_price_fen = excluded.standard_price_fen, withdrawn = excluded.withdrawn, "
    "version = estate_prices.version + 1, effective_at = excluded.effective_at "
    "RETURNING version");

const sql::Statement kEstatePrices = statements.Add(
    "bl_estate_prices",
    absl::StrCat("SELECT ", kEstatePriceCols,
                 " FROM estate_prices p JOIN standard_prices s ON s.group_id = p.group_id AND "
                 "s.item_code = p.item_code WHERE p.group_id = $1 AND p.estate_id = $2 "
                 "AND ($3 = '' OR p.item_code = $3) ORDER BY p.item_code"));

void BillingStore::PutEstatePrice(pqxx::work& tx, const std::string& group,
                                  const v1::EstatePrice& p, absl::Time now, v1::EstatePrice* out) {
  tx.exec_prepared1(kEstatePricePut, group, p.estate_id(), p.item_code(), p.price_fen(),
                    p.standard_price_fen(), p.withdrawn(), Micros(now));
  pqxx::result r = tx.exec_prepared(kEstatePrices, group, p.estate_id(), p.item_code());
  *out = EstatePriceRow(r[0]);
}

const sql::Statement kEstatePricesPage = statements.Add(
    "bl_estate_prices_page",
    absl::StrCat("SELECT ", kEstatePriceCols,
                 " FROM estate_prices p JOIN standard_prices s ON s.group_id = p.group_id AND "
                 "s.item_code = p.item_code WHERE p.group_id = $1 AND p.estate_id = $2 "
                 "AND p.item_code > $3 ORDER BY p.item_code LIMIT $4"));

std::vector<v1::EstatePrice> BillingStore::ListEstatePrices(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate,
                                                            const std::string& after_code,
                                                            int limit) {
  std::vector<v1::EstatePrice> out;
  for (const auto& r : tx.exec_prepared(kEstatePricesPage, group, estate, after_code, limit)) {
    out.push_back(EstatePriceRow(r));
  }
  return out;
}

const sql::Statement kScheduleGet = statements.Add(
    "bl_schedule_get",
    "SELECT schedule, version FROM fee_schedules WHERE group_id = $1 AND estate_id = $2");

v1::FeeSchedule BillingStore::GetSchedule(pqxx::work& tx, const std::string& group,
                                          const std::string& estate) {
  v1::FeeSchedule s;
  pqxx::result r = tx.exec_prepared(kScheduleGet, group, estate);
  if (!r.empty()) {
    s.ParseFromString(Bytes(r[0][0]));
    s.set_version(r[0][1].as<int64_t>());
  } else {
    s.set_due_day(15);
  }
  s.set_estate_id(estate);
  return s;
}

const sql::Statement kSchedulePut = statements.Add(
    "bl_schedule_put",
    "INSERT INTO fee_schedules (group_id, estate_id, schedule) VALUES ($1, $2, $3) "
    "ON CONFLICT (estate_id) DO UPDATE SET schedule = excluded.schedule, "
    "version = fee_schedules.version + 1 WHERE fee_schedules.group_id = excluded.group_id "
    "RETURNING version");

void BillingStore::PutSchedule(pqxx::work& tx, const std::string& group, const v1::FeeSchedule& s,
                               v1::FeeSchedule* out) {
  v1::FeeSchedule stored = s;
  stored.clear_version();
  pqxx::result r =
      tx.exec_prepared(kSchedulePut, group, s.estate_id(), tx.esc_raw(stored.SerializeAsString()));
  *out = s;
  out->set_version(r.empty() ? 0 : r[0][0].as<int64_t>());
}

}  // namespace wuye::billing
