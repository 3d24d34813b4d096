// EldercareStore: health records (the card's metadata and the sealed values, with the keys
// they are under) and the audit trail of their reads and writes; SealedRecords.
#include <algorithm>

#include "services/eldercare/eldercare_store.h"
#include "shared/ids.h"
#include "shared/sql.h"
#include "shared/status.h"

namespace wuye::eldercare {
namespace {

using sql::Bytes;
using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

}  // namespace

const sql::Statements& EldercareStore::HealthStatements() { return statements; }

// ---- health card metadata --------------------------------------------------------------

const sql::Statement kCardMeta = statements.Add("ec_card_meta",
    "SELECT version, " WUYE_SQL_MICROS("updated_at") " FROM health_cards WHERE group_id = $1 AND "
    "elder_id = $2");

std::pair<int64_t, absl::Time> EldercareStore::CardMeta(pqxx::work& tx, const std::string& group,
                                                        const std::string& elder) {
  pqxx::result res = tx.exec_prepared(kCardMeta, group, elder);
  if (res.empty()) return {0, absl::UnixEpoch()};
  return {res[0][0].as<int64_t>(), TimeOf(res[0][1])};
}

const sql::Statement kCardUpsert = statements.Add("ec_card_upsert",
    "INSERT INTO health_cards (elder_id, group_id, version, updated_at, updated_by) VALUES ($2, "
    "$1, 1, " WUYE_SQL_TIME("$4") ", $3) ON CONFLICT (elder_id) DO UPDATE SET version = "
    "health_cards.version + 1, updated_at = EXCLUDED.updated_at, updated_by = "
    "EXCLUDED.updated_by WHERE health_cards.group_id = EXCLUDED.group_id RETURNING version");

int64_t EldercareStore::UpsertCardMeta(pqxx::work& tx, const std::string& group,
                                       const std::string& elder, const std::string& actor,
                                       absl::Time now) {
  return tx.exec_prepared1(kCardUpsert, group, elder, actor, Micros(now))[0].as<int64_t>();
}

// ---- audit ---------------------------------------------------------------------------

const sql::Statement kAuditInsert = statements.Add(
    "ec_audit_insert",
    "INSERT INTO audit_log (id, group_id, elder_id, actor, actor_roles, action, fields, purpose, "
    "break_glass, trace_id, at) VALUES ($1, $2, $3, $4, $5::text[], $6, $7::text[], $8, $9, "
    "$10, " WUYE_SQL_TIME("$11") ")");

void EldercareStore::InsertAudit(pqxx::work& tx, const AuditRow& a, absl::Time now) {
  tx.exec_prepared(kAuditInsert, NewId(now), a.group_id, a.elder_id, a.actor,
                   PgArray(a.actor_roles), a.action, PgArray(a.fields), a.purpose, a.break_glass,
                   a.trace_id, Micros(now));
}

const sql::Statement kAuditList = statements.Add("ec_audit_list",
    "SELECT id, elder_id, actor, actor_roles, action, fields, purpose, break_glass, trace_id, "
    WUYE_SQL_MICROS("at") " FROM audit_log WHERE group_id = $1 AND elder_id = $2 AND (NOT $3 OR "
    "break_glass) AND id < " WUYE_SQL_BEFORE("$4") " ORDER BY id DESC LIMIT $5");

std::vector<v1::AuditEntry> EldercareStore::ListAudit(pqxx::work& tx, const std::string& group,
                                                      const std::string& elder,
                                                      bool break_glass_only,
                                                      const std::string& after, int limit) {
  std::vector<v1::AuditEntry> out;
  for (const auto& r : tx.exec_prepared(kAuditList, group, elder, break_glass_only, after, limit)) {
    v1::AuditEntry a;
    a.set_id(Text(r[0]));
    a.set_elder_id(Text(r[1]));
    a.set_actor(Text(r[2]));
    for (auto& role : ParsePgArray(r[3])) a.add_actor_roles(role);
    a.set_action(Text(r[4]));
    for (auto& f : ParsePgArray(r[5])) a.add_fields(f);
    a.set_purpose(Text(r[6]));
    a.set_break_glass(r[7].as<bool>());
    a.set_trace_id(Text(r[8]));
    *a.mutable_at() = Stamp(r[9]);
    out.push_back(std::move(a));
  }
  return out;
}

// ---- sealed values ---------------------------------------------------------------------

const sql::Statement kSealedPut = statements.Add("ec_sealed_put",
    "INSERT INTO sealed_values (group_id, record_table, record_id, field, key_id, blob, "
    "updated_at, elder_id) VALUES ($1, $2, $3, $4, $5, $6::bytea, " WUYE_SQL_TIME("$7") ", $8) "
    "ON CONFLICT (record_table, record_id, field) DO UPDATE SET key_id = EXCLUDED.key_id, blob = "
    "EXCLUDED.blob, updated_at = EXCLUDED.updated_at WHERE sealed_values.group_id = "
    "EXCLUDED.group_id");

void EldercareStore::PutSealed(pqxx::work& tx, const SealedPlace& p, const SealedValue& v,
                               const std::string& elder_id, absl::Time now) {
  tx.exec_prepared(kSealedPut, p.group_id, p.table, p.row_id, p.field, v.key_id, tx.esc_raw(v.blob),
                   Micros(now), elder_id);
}

const sql::Statement kSealedGet = statements.Add(
    "ec_sealed_get",
    "SELECT field, key_id, blob FROM sealed_values WHERE group_id = $1 AND record_table = $2 "
    "AND record_id = $3");

std::map<std::string, SealedValue> EldercareStore::GetSealed(pqxx::work& tx,
                                                             const std::string& group,
                                                             const std::string& table,
                                                             const std::string& record) {
  std::map<std::string, SealedValue> out;
  for (const auto& r : tx.exec_prepared(kSealedGet, group, table, record)) {
    out[Text(r[0])] = SealedValue{Text(r[1]), Bytes(r[2])};
  }
  return out;
}

const sql::Statement kSealedNotUnder =
    statements.Add("ec_sealed_not_under",
                   "SELECT group_id, record_table, record_id, field, key_id, blob, elder_id FROM "
                   "sealed_values "
                   "WHERE key_id <> $1 ORDER BY record_table, record_id, field LIMIT $2 "
                   "FOR UPDATE SKIP LOCKED");

std::vector<SealedRow> EldercareStore::SealedNotUnder(pqxx::work& tx, const std::string& active,
                                                      int limit) {
  std::vector<SealedRow> out;
  for (const auto& r : tx.exec_prepared(kSealedNotUnder, active, limit)) {
    out.push_back({SealedPlace{Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3])},
                   SealedValue{Text(r[4]), Bytes(r[5])}, Text(r[6])});
  }
  return out;
}

const sql::Statement kSealedCountNotUnder = statements.Add(
    "ec_sealed_count_not_under", "SELECT count(*) FROM sealed_values WHERE key_id <> $1");

int64_t EldercareStore::CountNotUnder(pqxx::work& tx, const std::string& active) {
  return tx.exec_prepared1(kSealedCountNotUnder, active)[0].as<int64_t>();
}

// ---- SealedRecords ------------------------------------------------------------------------

absl::Status SealedRecords::Write(pqxx::work& tx, const std::string& group,
                                  const std::string& elder, const std::string& table,
                                  const std::string& record,
                                  const std::vector<std::pair<std::string, std::string>>& fields,
                                  absl::Time now) {
  for (const auto& [field, plaintext] : fields) {
    SealedPlace place{group, table, record, field};
    WUYE_ASSIGN_OR_RETURN(SealedValue sealed, keys_.Seal(place, plaintext));
    store_.PutSealed(tx, place, sealed, elder, now);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> SealedRecords::Read(
    pqxx::work& tx, const std::string& group, const std::string& table, const std::string& record,
    const std::vector<std::string>& only) {
  std::map<std::string, std::string> out;
  for (const auto& [field, sealed] : store_.GetSealed(tx, group, table, record)) {
    if (!only.empty() && std::find(only.begin(), only.end(), field) == only.end()) continue;
    WUYE_ASSIGN_OR_RETURN(out[field], keys_.Open(SealedPlace{group, table, record, field}, sealed));
  }
  return out;
}

}  // namespace wuye::eldercare
