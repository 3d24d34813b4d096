// BillingStore: the group's billing settings.
#include "services/billing/billing_store.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& BillingStore::SettingsStatements() { return statements; }

const sql::Statement kSettingsGet = statements.Add(
    "bl_settings_get", "SELECT settings, version FROM billing_settings WHERE group_id = $1");

v1::BillingSettings BillingStore::GetSettings(pqxx::work& tx, const std::string& group) {
  v1::BillingSettings s;
  pqxx::result r = tx.exec_prepared(kSettingsGet, group);
  if (!r.empty()) {
    s.ParseFromString(sql::Bytes(r[0][0]));
    s.set_version(r[0][1].as<int64_t>());
  }
  return s;
}

const sql::Statement kSettingsPut = statements.Add(
    "bl_settings_put",
    "INSERT INTO billing_settings (group_id, settings, grace_days) VALUES ($1, $2, $3) "
    "ON CONFLICT (group_id) DO UPDATE SET settings = excluded.settings, grace_days = "
    "excluded.grace_days, version = billing_settings.version + 1 RETURNING version");

int64_t BillingStore::PutSettings(pqxx::work& tx, const std::string& group,
                                  const v1::BillingSettings& s) {
  v1::BillingSettings stored = s;
  stored.clear_version();
  return tx
      .exec_prepared1(kSettingsPut, group, tx.esc_raw(stored.SerializeAsString()),
                      s.collection_grace_days())[0]
      .as<int64_t>();
}

}  // namespace wuye::billing
