#include "services/counter/cases_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

pb::Case CaseOf(const pqxx::field& f) {
  pb::Case c;
  c.ParseFromString(sql::Bytes(f));
  return c;
}

}  // namespace

CasesStore::CasesStore(Db& db) { statements.PrepareOn(db); }

const sql::Statement kEstateKnown = statements.Add(
    "ct_case_estate_known", "SELECT count(*) FROM dir_estates WHERE group_id = $1 AND id = $2");

bool CasesStore::EstateKnown(pqxx::work& tx, const std::string& group, const std::string& estate) {
  return tx.exec_prepared1(kEstateKnown, group, estate)[0].as<int64_t>() > 0;
}

const sql::Statement kInsert = statements.Add(
    "ct_case_insert",
    "INSERT INTO cases (id, group_id, estate_id, kind, state, renovation_id, body, version, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, " WUYE_SQL_TIME(
        "$9") ")");

void CasesStore::Insert(pqxx::work& tx, const std::string& group, const pb::Case& c,
                        absl::Time now) {
  tx.exec_prepared(kInsert, c.id(), group, c.estate_id(), static_cast<int>(c.kind()),
                   static_cast<int>(c.state()), c.renovation_id(),
                   pqxx::binarystring(c.SerializeAsString()), c.version(), sql::Micros(now));
}

const sql::Statement kGet =
    statements.Add("ct_case_get", "SELECT body FROM cases WHERE group_id = $1 AND id = $2");
const sql::Statement kGetForUpdate = statements.Add(
    "ct_case_get_for_update", "SELECT body FROM cases WHERE group_id = $1 AND id = $2 FOR UPDATE");

std::optional<pb::Case> CasesStore::Get(pqxx::work& tx, const std::string& group,
                                        const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kGetForUpdate : kGet, group, id);
  if (r.empty()) return std::nullopt;
  return CaseOf(r[0][0]);
}

const sql::Statement kUpdate = statements.Add(
    "ct_case_update",
    "UPDATE cases SET state = $3, body = $4, version = $5, updated_at = " WUYE_SQL_TIME(
        "$6") " WHERE group_id = $1 AND id = $2");

void CasesStore::Update(pqxx::work& tx, const std::string& group, const pb::Case& c,
                        absl::Time now) {
  tx.exec_prepared(kUpdate, group, c.id(), static_cast<int>(c.state()),
                   pqxx::binarystring(c.SerializeAsString()), c.version(), sql::Micros(now));
}

const sql::Statement kList =
    statements.Add("ct_case_list",
                   "SELECT body, id FROM cases WHERE group_id = $1 AND estate_id = $2 "
                   "AND ($3 = 0 OR state = $3) AND ($4 = 0 OR kind = $4) "
                   "AND ($5 = '' OR renovation_id = NULLIF($5, '')::uuid) "
                   "AND id > " WUYE_SQL_AFTER("$6") " ORDER BY id LIMIT $7");

std::vector<pb::Case> CasesStore::List(pqxx::work& tx, const std::string& group,
                                       const std::string& estate, int state, int kind,
                                       const std::string& renovation, const PageRequest& page) {
  std::vector<pb::Case> out;
  for (const auto& row :
       tx.exec_prepared(kList, group, estate, state, kind, renovation, page.after, page.size + 1)) {
    out.push_back(CaseOf(row[0]));
  }
  return out;
}

const sql::Statement kInspectionInsert = statements.Add(
    "ct_case_inspection_insert",
    "INSERT INTO case_inspections (id, group_id, case_id, inspector_staff_id, handled, note, "
    "inspected_at) VALUES ($1, $2, $3, $4, $5, $6, " WUYE_SQL_TIME("$7") ")");

void CasesStore::InsertInspection(pqxx::work& tx, const std::string& group, const std::string& id,
                                  const std::string& case_id, const std::string& inspector,
                                  bool handled, const std::string& note, absl::Time now) {
  tx.exec_prepared(kInspectionInsert, id, group, case_id, inspector, handled, note,
                   sql::Micros(now));
}

}  // namespace wuye::counter
