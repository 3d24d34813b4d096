#include "services/counter/handover_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

using sql::Bytes;
using sql::Text;

sql::Statements statements;

pqxx::binarystring Blob(const std::string& bytes) { return pqxx::binarystring(bytes); }

// The hand-over's body without what is computed when read.
std::string HandoverBody(const pb::Handover& h) {
  pb::Handover stored = h;
  stored.clear_defects_open();
  stored.clear_defects_closed();
  return stored.SerializeAsString();
}

std::string HandoverDay(const pb::Handover& h) {
  return h.has_handover_date() && HandedOver(h.state())
             ? DayText(absl::CivilDay(h.handover_date().year(), h.handover_date().month(),
                                      h.handover_date().day()))
             : "";
}

// A hand-over row: body, then its unit's open and closed defects.
pb::Handover HandoverOf(const pqxx::row& row) {
  pb::Handover h;
  h.ParseFromString(Bytes(row[0]));
  h.set_defects_open(row[1].as<int32_t>());
  h.set_defects_closed(row[2].as<int32_t>());
  return h;
}

#define WUYE_HANDOVER_COLUMNS                                                                \
  "h.body, "                                                                                 \
  "(SELECT count(*) FROM defects d WHERE d.group_id = h.group_id AND d.unit_id = h.unit_id " \
  "AND d.state NOT IN (5, 6))::int, "                                                        \
  "(SELECT count(*) FROM defects d WHERE d.group_id = h.group_id AND d.unit_id = h.unit_id " \
  "AND d.state IN (5, 6))::int "

}  // namespace

HandoverStore::HandoverStore(Db& db) { statements.PrepareOn(db); }

// ---- hand-overs --------------------------------------------------------------------------------

const sql::Statement kHandoverInsert =
    statements.Add("ct_handover_insert",
                   "INSERT INTO handovers (id, group_id, estate_id, unit_id, state, version, body) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7)");

void HandoverStore::InsertHandover(pqxx::work& tx, const std::string& group,
                                   const pb::Handover& h) {
  tx.exec_prepared(kHandoverInsert, h.id(), group, h.estate_id(), h.unit_id(),
                   static_cast<int>(h.state()), h.version(), Blob(HandoverBody(h)));
}

const sql::Statement kHandoverUpdate =
    statements.Add("ct_handover_update",
                   "UPDATE handovers SET state = $3, version = $4, body = $5, "
                   "handover_date = NULLIF($6, '')::date, "
                   "id_digest = CASE WHEN length($7::bytea) > 0 THEN $7::bytea ELSE id_digest END "
                   "WHERE group_id = $1 AND id = $2");

void HandoverStore::UpdateHandover(pqxx::work& tx, const std::string& group, const pb::Handover& h,
                                   const std::string& id_digest) {
  tx.exec_prepared(kHandoverUpdate, group, h.id(), static_cast<int>(h.state()), h.version(),
                   Blob(HandoverBody(h)), HandoverDay(h), Blob(id_digest));
}

const sql::Statement kHandoverGet =
    statements.Add("ct_handover_get", "SELECT " WUYE_HANDOVER_COLUMNS
                                      "FROM handovers h WHERE h.group_id = $1 AND h.id = $2");
const sql::Statement kHandoverGetLocked = statements.Add(
    "ct_handover_get_locked", "SELECT " WUYE_HANDOVER_COLUMNS
                              "FROM handovers h WHERE h.group_id = $1 AND h.id = $2 FOR UPDATE");

std::optional<pb::Handover> HandoverStore::GetHandover(pqxx::work& tx, const std::string& group,
                                                       const std::string& id, bool lock) {
  pqxx::result r = tx.exec_prepared(lock ? kHandoverGetLocked : kHandoverGet, group, id);
  if (r.empty()) return std::nullopt;
  return HandoverOf(r[0]);
}

const sql::Statement kHandoverOpen =
    statements.Add("ct_handover_open", "SELECT " WUYE_HANDOVER_COLUMNS
                                       "FROM handovers h WHERE h.group_id = $1 AND h.unit_id = $2 "
                                       "AND h.state < 6 LIMIT 1");

std::optional<pb::Handover> HandoverStore::OpenHandoverOf(pqxx::work& tx, const std::string& group,
                                                          const std::string& unit) {
  pqxx::result r = tx.exec_prepared(kHandoverOpen, group, unit);
  if (r.empty()) return std::nullopt;
  return HandoverOf(r[0]);
}

const sql::Statement kHandoverDay =
    statements.Add("ct_handover_day",
                   "SELECT handover_date::text FROM handovers WHERE group_id = $1 AND unit_id = $2 "
                   "AND handover_date IS NOT NULL ORDER BY id LIMIT 1");

std::optional<absl::CivilDay> HandoverStore::HandoverDayOf(pqxx::work& tx, const std::string& group,
                                                           const std::string& unit) {
  pqxx::result r = tx.exec_prepared(kHandoverDay, group, unit);
  if (r.empty()) return std::nullopt;
  absl::CivilDay day;
  if (!absl::ParseCivilTime(Text(r[0][0]), &day)) return std::nullopt;
  return day;
}

const sql::Statement kHandoverList =
    statements.Add("ct_handover_list",
                   "SELECT " WUYE_HANDOVER_COLUMNS
                   "FROM handovers h WHERE h.group_id = $1 AND h.estate_id = $2 "
                   "AND ($3 = 0 OR h.state = $3) AND ($4 = '' OR h.unit_id = NULLIF($4, '')::uuid) "
                   "AND h.id > " WUYE_SQL_AFTER("$5") " ORDER BY h.id LIMIT $6");

std::vector<pb::Handover> HandoverStore::ListHandovers(pqxx::work& tx, const std::string& group,
                                                       const std::string& estate, int state,
                                                       const std::string& unit,
                                                       const std::string& after, int limit) {
  std::vector<pb::Handover> out;
  for (const auto& row :
       tx.exec_prepared(kHandoverList, group, estate, state, unit, after, limit)) {
    out.push_back(HandoverOf(row));
  }
  return out;
}

const sql::Statement kSealedPut = statements.Add(
    "ct_sealed_put",
    "INSERT INTO sealed_values (group_id, record_table, record_id, field, key_id, blob, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, " WUYE_SQL_TIME("$7") ") "
    "ON CONFLICT (record_table, record_id, field) DO UPDATE SET key_id = EXCLUDED.key_id, "
    "blob = EXCLUDED.blob, updated_at = EXCLUDED.updated_at "
    "WHERE sealed_values.group_id = EXCLUDED.group_id");

void HandoverStore::PutSealed(pqxx::work& tx, const SealedPlace& p, const SealedValue& v,
                              absl::Time now) {
  tx.exec_prepared(kSealedPut, p.group_id, p.table, p.row_id, p.field, v.key_id, Blob(v.blob),
                   sql::Micros(now));
}

// ---- move-ins ----------------------------------------------------------------------------------

const sql::Statement kMoveInSeq = statements.Add(
    "ct_move_in_seq",
    "SELECT COALESCE(max(seq), 0) + 1 FROM move_ins WHERE group_id = $1 AND unit_id = $2");

int32_t HandoverStore::NextMoveInSeq(pqxx::work& tx, const std::string& group,
                                     const std::string& unit) {
  return tx.exec_prepared1(kMoveInSeq, group, unit)[0].as<int32_t>();
}

const sql::Statement kMoveInInsert =
    statements.Add("ct_move_in_insert",
                   "INSERT INTO move_ins (id, group_id, estate_id, unit_id, seq, body) "
                   "VALUES ($1, $2, $3, $4, $5, $6)");

void HandoverStore::InsertMoveIn(pqxx::work& tx, const std::string& group, const pb::MoveIn& m,
                                 int32_t seq) {
  tx.exec_prepared(kMoveInInsert, m.id(), group, m.estate_id(), m.unit_id(), seq,
                   Blob(m.SerializeAsString()));
}

// ---- defects -----------------------------------------------------------------------------------

const sql::Statement kDefectInsert = statements.Add(
    "ct_defect_insert",
    "INSERT INTO defects (id, group_id, estate_id, unit_id, handover_id, state, version, body) "
    "VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid, $6, $7, $8)");

void HandoverStore::InsertDefect(pqxx::work& tx, const std::string& group, const pb::Defect& d) {
  tx.exec_prepared(kDefectInsert, d.id(), group, d.estate_id(), d.unit_id(), d.handover_id(),
                   static_cast<int>(d.state()), d.version(), Blob(d.SerializeAsString()));
}

const sql::Statement kDefectUpdate = statements.Add(
    "ct_defect_update",
    "UPDATE defects SET state = $3, version = $4, body = $5 WHERE group_id = $1 AND id = $2");

void HandoverStore::UpdateDefect(pqxx::work& tx, const std::string& group, const pb::Defect& d) {
  tx.exec_prepared(kDefectUpdate, group, d.id(), static_cast<int>(d.state()), d.version(),
                   Blob(d.SerializeAsString()));
}

const sql::Statement kDefectGet =
    statements.Add("ct_defect_get", "SELECT body FROM defects WHERE group_id = $1 AND id = $2");
const sql::Statement kDefectGetLocked = statements.Add(
    "ct_defect_get_locked", "SELECT body FROM defects WHERE group_id = $1 AND id = $2 FOR UPDATE");

std::optional<pb::Defect> HandoverStore::GetDefect(pqxx::work& tx, const std::string& group,
                                                   const std::string& id, bool lock) {
  pqxx::result r = tx.exec_prepared(lock ? kDefectGetLocked : kDefectGet, group, id);
  if (r.empty()) return std::nullopt;
  pb::Defect d;
  d.ParseFromString(Bytes(r[0][0]));
  return d;
}

const sql::Statement kDefectList =
    statements.Add("ct_defect_list",
                   "SELECT body FROM defects WHERE group_id = $1 AND estate_id = $2 "
                   "AND ($3 = '' OR unit_id = NULLIF($3, '')::uuid) AND ($4 = 0 OR state = $4) "
                   "AND id > " WUYE_SQL_AFTER("$5") " ORDER BY id LIMIT $6");

std::vector<pb::Defect> HandoverStore::ListDefects(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& unit, int state,
                                                   const std::string& after, int limit) {
  std::vector<pb::Defect> out;
  for (const auto& row : tx.exec_prepared(kDefectList, group, estate, unit, state, after, limit)) {
    pb::Defect d;
    d.ParseFromString(Bytes(row[0]));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace wuye::counter
