#include "services/counter/registers_store.h"

#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::counter {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

// A nullable time column, set on `*out` only when present.
void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) { *out = Stamp(f); }

int64_t DueMicros(bool has, const google::protobuf::Timestamp& t) {
  return has ? Micros(FromProtoTime(t)) : -1;
}

const sql::Statement kEstateKnown = statements.Add(
    "ct_rg_estate_known", "SELECT 1 FROM dir_estates WHERE group_id = $1 AND id = $2");

// ---- keys -------------------------------------------------------------------------------

constexpr char kKeyCols[] =
    "id, estate_id, number, COALESCE(unit_id::text, ''), common_area, label, state, "
    "COALESCE(current_loan_id::text, ''), " WUYE_SQL_MICROS("last_check_at") ", version, "
    WUYE_SQL_MICROS("created_at");

pb::Key KeyRow(const pqxx::row& r) {
  pb::Key k;
  k.set_id(Text(r[0]));
  k.set_estate_id(Text(r[1]));
  k.mutable_opens()->set_estate_id(k.estate_id());
  k.set_number(Text(r[2]));
  if (std::string unit = Text(r[3]); !unit.empty()) {
    k.mutable_opens()->set_unit_id(unit);
  } else {
    k.mutable_opens()->set_common_area(Text(r[4]));
  }
  k.set_label(Text(r[5]));
  k.set_state(static_cast<pb::KeyState>(r[6].as<int>()));
  k.set_current_loan_id(Text(r[7]));
  if (!r[8].is_null()) SetTime(r[8], k.mutable_last_check_time());
  k.set_version(r[9].as<int64_t>());
  *k.mutable_create_time() = Stamp(r[10]);
  return k;
}

const sql::Statement kKeyInsert = statements.Add(
    "ct_key_insert",
    "INSERT INTO office_keys (id, group_id, estate_id, number, unit_id, common_area, label, "
    "state, version, created_at) VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid, $6, $7, $8, $9, "
    WUYE_SQL_TIME("$10") ") ON CONFLICT (group_id, estate_id, number) DO NOTHING");

const sql::Statement kKeyGet = statements.Add(
    "ct_key_get", std::string("SELECT ") + kKeyCols +
                      " FROM office_keys WHERE group_id = $1 AND id = $2");
const sql::Statement kKeyLock = statements.Add(
    "ct_key_lock", std::string("SELECT ") + kKeyCols +
                       " FROM office_keys WHERE group_id = $1 AND id = $2 FOR UPDATE");

const sql::Statement kKeyList = statements.Add(
    "ct_key_list", std::string("SELECT ") + kKeyCols +
                       " FROM office_keys WHERE group_id = $1 AND estate_id = $2 "
                       "AND ($3 = 0 OR state = $3) AND id > " WUYE_SQL_AFTER("$4") " "
                       "ORDER BY id LIMIT $5");

const sql::Statement kKeysForCheck = statements.Add(
    "ct_key_lock_estate",
    "SELECT id, number, state FROM office_keys WHERE group_id = $1 AND estate_id = $2 "
    "ORDER BY id FOR UPDATE");

const sql::Statement kKeySetState = statements.Add(
    "ct_key_set_state",
    "UPDATE office_keys SET state = $3, current_loan_id = NULLIF($4, '')::uuid, "
    "version = version + 1 WHERE group_id = $1 AND id = $2");

const sql::Statement kKeyApplyCheck = statements.Add(
    "ct_key_apply_check",
    "UPDATE office_keys k SET state = c.state, version = k.version + 1, last_check_at = "
    WUYE_SQL_TIME("$4") " FROM unnest($2::uuid[], $3::int[]) AS c(id, state) "
    "WHERE k.group_id = $1 AND k.id = c.id");

const sql::Statement kKeyCheckInsert = statements.Add(
    "ct_keycheck_insert",
    "INSERT INTO key_checks (id, group_id, estate_id, checked_at, checked_by, keys_registered, "
    "keys_found, keys_lent, missing_numbers) VALUES ($1, $2, $3, " WUYE_SQL_TIME("$4")
    ", $5, $6, $7, $8, $9::text[])");

constexpr char kLoanCols[] =
    "id, key_id, estate_id, borrower_staff_id, borrower_name, purpose, "
    WUYE_SQL_MICROS("lent_at") ", " WUYE_SQL_MICROS("due_at") ", "
    WUYE_SQL_MICROS("returned_at") ", lent_by, received_by";

pb::KeyLoan LoanRow(const pqxx::row& r) {
  pb::KeyLoan l;
  l.set_id(Text(r[0]));
  l.set_key_id(Text(r[1]));
  l.set_estate_id(Text(r[2]));
  l.set_borrower_staff_id(Text(r[3]));
  l.set_borrower_name(Text(r[4]));
  l.set_purpose(Text(r[5]));
  *l.mutable_lend_time() = Stamp(r[6]);
  if (!r[7].is_null()) SetTime(r[7], l.mutable_due_time());
  if (!r[8].is_null()) SetTime(r[8], l.mutable_return_time());
  l.set_lent_by(Text(r[9]));
  l.set_received_by(Text(r[10]));
  return l;
}

const sql::Statement kLoanInsert = statements.Add(
    "ct_loan_insert",
    "INSERT INTO key_loans (id, group_id, estate_id, key_id, borrower_staff_id, borrower_name, "
    "purpose, lent_at, due_at, lent_by) VALUES ($1, $2, $3, $4, $5, $6, $7, " WUYE_SQL_TIME("$8")
    ", " WUYE_SQL_TIME_OR_NULL("$9") ", $10)");

const sql::Statement kLoanClose = statements.Add(
    "ct_loan_close", std::string("UPDATE key_loans SET returned_at = ") + WUYE_SQL_TIME("$3") +
                         ", received_by = $4 WHERE group_id = $1 AND key_id = $2 "
                         "AND returned_at IS NULL RETURNING " + kLoanCols);

const sql::Statement kLoanList = statements.Add(
    "ct_loan_list", std::string("SELECT ") + kLoanCols +
                        " FROM key_loans WHERE group_id = $1 AND estate_id = $2 "
                        "AND ($3 = '' OR key_id = NULLIF($3, '')::uuid) "
                        "AND (NOT $4 OR returned_at IS NULL) "
                        "AND id > " WUYE_SQL_AFTER("$5") " ORDER BY id LIMIT $6");

// ---- cards ------------------------------------------------------------------------------

constexpr char kCardCols[] =
    "id, estate_id, kind, number, COALESCE(unit_id::text, ''), COALESCE(resident_id::text, ''), "
    "holder_name, state, " WUYE_SQL_MICROS("issued_at") ", " WUYE_SQL_MICROS("returned_at") ", "
    WUYE_SQL_MICROS("blocked_at") ", COALESCE(replaced_by::text, ''), "
    "COALESCE(replaces::text, ''), fee_fen, version";

pb::Card CardRow(const pqxx::row& r) {
  pb::Card c;
  c.set_id(Text(r[0]));
  c.set_estate_id(Text(r[1]));
  c.set_kind(static_cast<pb::CardKind>(r[2].as<int>()));
  c.set_number(Text(r[3]));
  c.set_unit_id(Text(r[4]));
  c.set_resident_id(Text(r[5]));
  c.set_holder_name(Text(r[6]));
  c.set_state(static_cast<pb::CardState>(r[7].as<int>()));
  *c.mutable_issue_time() = Stamp(r[8]);
  if (!r[9].is_null()) *c.mutable_return_time() = Stamp(r[9]);
  if (!r[10].is_null()) *c.mutable_block_time() = Stamp(r[10]);
  c.set_replaced_by_card_id(Text(r[11]));
  c.set_replaces_card_id(Text(r[12]));
  c.set_fee_fen(r[13].as<int64_t>());
  c.set_version(r[14].as<int64_t>());
  return c;
}

const sql::Statement kCardInsert = statements.Add(
    "ct_card_insert",
    "INSERT INTO cards (id, group_id, estate_id, kind, number, unit_id, resident_id, holder_name, "
    "state, issued_at, issued_by, replaces, fee_fen, version) VALUES ($1, $2, $3, $4, $5, "
    "NULLIF($6, '')::uuid, NULLIF($7, '')::uuid, $8, $9, " WUYE_SQL_TIME("$10") ", $11, "
    "NULLIF($12, '')::uuid, $13, $14)");

const sql::Statement kCardGet = statements.Add(
    "ct_card_get", std::string("SELECT ") + kCardCols +
                       " FROM cards WHERE group_id = $1 AND id = $2");
const sql::Statement kCardLock = statements.Add(
    "ct_card_lock", std::string("SELECT ") + kCardCols +
                        " FROM cards WHERE group_id = $1 AND id = $2 FOR UPDATE");

// The issued card first, then the latest; its row is locked after the choice.
const sql::Statement kCardByNumber = statements.Add(
    "ct_card_by_number",
    "SELECT id FROM cards WHERE group_id = $1 AND estate_id = $2 AND number = $3 "
    "ORDER BY (state = 1) DESC, issued_at DESC, id DESC LIMIT 1");

const sql::Statement kCardNumberIssued = statements.Add(
    "ct_card_number_issued",
    "SELECT 1 FROM cards WHERE group_id = $1 AND estate_id = $2 AND number = $3 AND state = 1");

const sql::Statement kCardReturn = statements.Add(
    "ct_card_return", std::string("UPDATE cards SET state = 2, returned_at = ") +
                          WUYE_SQL_TIME("$3") +
                          ", version = version + 1 WHERE group_id = $1 AND id = $2 RETURNING " +
                          kCardCols);

const sql::Statement kCardBlock = statements.Add(
    "ct_card_block", std::string("UPDATE cards SET state = 3, blocked_at = ") +
                         WUYE_SQL_TIME("$3") +
                         ", replaced_by = NULLIF($4, '')::uuid, version = version + 1 "
                         "WHERE group_id = $1 AND id = $2 RETURNING " + kCardCols);

const sql::Statement kCardList = statements.Add(
    "ct_card_list", std::string("SELECT ") + kCardCols +
                        " FROM cards WHERE group_id = $1 AND estate_id = $2 "
                        "AND ($3 = 0 OR kind = $3) AND ($4 = 0 OR state = $4) "
                        "AND ($5 = '' OR unit_id = NULLIF($5, '')::uuid) "
                        "AND id > " WUYE_SQL_AFTER("$6") " ORDER BY id LIMIT $7");

// ---- registers --------------------------------------------------------------------------

constexpr char kEntryCols[] =
    "id, estate_id, kind, description, person_name, COALESCE(unit_id::text, ''), kept_at, "
    WUYE_SQL_MICROS("due_at") ", " WUYE_SQL_MICROS("opened_at") ", opened_by, closed, "
    "closed_to_name, " WUYE_SQL_MICROS("closed_at") ", closed_by, "
    "COALESCE(matched_entry_id::text, '')";

pb::RegisterEntry EntryRow(const pqxx::row& r) {
  pb::RegisterEntry e;
  e.set_id(Text(r[0]));
  e.set_estate_id(Text(r[1]));
  e.set_kind(static_cast<pb::RegisterKind>(r[2].as<int>()));
  e.set_description(Text(r[3]));
  e.set_person_name(Text(r[4]));
  e.set_unit_id(Text(r[5]));
  e.set_kept_at(Text(r[6]));
  if (!r[7].is_null()) *e.mutable_due_time() = Stamp(r[7]);
  *e.mutable_open_time() = Stamp(r[8]);
  e.set_opened_by(Text(r[9]));
  e.set_closed(r[10].as<bool>());
  e.set_closed_to_name(Text(r[11]));
  if (!r[12].is_null()) *e.mutable_close_time() = Stamp(r[12]);
  e.set_closed_by(Text(r[13]));
  e.set_matched_entry_id(Text(r[14]));
  return e;
}

const sql::Statement kEntryInsert = statements.Add(
    "ct_entry_insert",
    "INSERT INTO register_entries (id, group_id, estate_id, kind, description, person_name, "
    "unit_id, kept_at, due_at, opened_at, opened_by) VALUES ($1, $2, $3, $4, $5, $6, "
    "NULLIF($7, '')::uuid, $8, " WUYE_SQL_TIME_OR_NULL("$9") ", " WUYE_SQL_TIME("$10") ", $11)");

const sql::Statement kEntryGet = statements.Add(
    "ct_entry_get", std::string("SELECT ") + kEntryCols +
                        " FROM register_entries WHERE group_id = $1 AND id = $2");
const sql::Statement kEntryLock = statements.Add(
    "ct_entry_lock", std::string("SELECT ") + kEntryCols +
                         " FROM register_entries WHERE group_id = $1 AND id = $2 FOR UPDATE");

const sql::Statement kEntryClose = statements.Add(
    "ct_entry_close", std::string("UPDATE register_entries SET closed = true, closed_to_name = $3, "
                                  "closed_at = ") +
                          WUYE_SQL_TIME("$4") +
                          ", closed_by = $5, matched_entry_id = NULLIF($6, '')::uuid "
                          "WHERE group_id = $1 AND id = $2 RETURNING " + kEntryCols);

const sql::Statement kEntryList = statements.Add(
    "ct_entry_list", std::string("SELECT ") + kEntryCols +
                         " FROM register_entries WHERE group_id = $1 AND estate_id = $2 "
                         "AND ($3 = 0 OR kind = $3) AND (NOT $4 OR NOT closed) "
                         "AND id > " WUYE_SQL_AFTER("$5") " ORDER BY id LIMIT $6");

}  // namespace

RegistersStore::RegistersStore(Db& db) { statements.PrepareOn(db); }

bool RegistersStore::EstateKnown(pqxx::work& tx, const std::string& group,
                                 const std::string& estate) {
  return !tx.exec_prepared(kEstateKnown, group, estate).empty();
}

// ---- keys ---------------------------------------------------------------------------------

bool RegistersStore::InsertKey(pqxx::work& tx, const std::string& group, const pb::Key& k) {
  pqxx::result r = tx.exec_prepared(kKeyInsert, k.id(), group, k.estate_id(), k.number(),
                                    k.opens().unit_id(), k.opens().common_area(), k.label(),
                                    static_cast<int>(k.state()), k.version(),
                                    Micros(FromProtoTime(k.create_time())));
  return r.affected_rows() == 1;
}

std::optional<pb::Key> RegistersStore::GetKey(pqxx::work& tx, const std::string& group,
                                              const std::string& id, RowLock lock) {
  pqxx::result r = tx.exec_prepared(lock == RowLock::kLock ? kKeyLock : kKeyGet, group, id);
  if (r.empty()) return std::nullopt;
  return KeyRow(r[0]);
}

std::vector<pb::Key> RegistersStore::ListKeys(pqxx::work& tx, const std::string& group,
                                              const std::string& estate, pb::KeyState state,
                                              const std::string& after, int limit) {
  std::vector<pb::Key> out;
  for (const auto& row :
       tx.exec_prepared(kKeyList, group, estate, static_cast<int>(state), after, limit)) {
    out.push_back(KeyRow(row));
  }
  return out;
}

std::vector<KeyAtCheck> RegistersStore::LockKeysForCheck(pqxx::work& tx, const std::string& group,
                                                         const std::string& estate) {
  std::vector<KeyAtCheck> out;
  for (const auto& row : tx.exec_prepared(kKeysForCheck, group, estate)) {
    out.push_back({Text(row[0]), Text(row[1]), static_cast<pb::KeyState>(row[2].as<int>())});
  }
  return out;
}

void RegistersStore::SetKeyState(pqxx::work& tx, const std::string& group, const std::string& id,
                                 pb::KeyState state, const std::string& loan_id) {
  tx.exec_prepared(kKeySetState, group, id, static_cast<int>(state), loan_id);
}

void RegistersStore::ApplyCheck(pqxx::work& tx, const std::string& group, const CheckPlan& plan,
                                absl::Time at) {
  if (plan.changes.empty()) return;
  std::vector<std::string> ids, states;
  for (const auto& c : plan.changes) {
    ids.push_back(c.id);
    states.push_back(std::to_string(static_cast<int>(c.state)));
  }
  tx.exec_prepared(kKeyApplyCheck, group, PgArray(ids), PgArray(states), Micros(at));
}

void RegistersStore::InsertCheck(pqxx::work& tx, const std::string& group,
                                 const pb::KeyCheck& c) {
  std::vector<std::string> missing(c.missing_numbers().begin(), c.missing_numbers().end());
  tx.exec_prepared(kKeyCheckInsert, c.id(), group, c.estate_id(),
                   Micros(FromProtoTime(c.check_time())), c.checked_by(), c.keys_registered(),
                   c.keys_found(), c.keys_lent(), PgArray(missing));
}

void RegistersStore::InsertLoan(pqxx::work& tx, const std::string& group, const pb::KeyLoan& l) {
  tx.exec_prepared(kLoanInsert, l.id(), group, l.estate_id(), l.key_id(), l.borrower_staff_id(),
                   l.borrower_name(), l.purpose(), Micros(FromProtoTime(l.lend_time())),
                   DueMicros(l.has_due_time(), l.due_time()), l.lent_by());
}

std::optional<pb::KeyLoan> RegistersStore::CloseLoan(pqxx::work& tx, const std::string& group,
                                                     const std::string& key_id, absl::Time at,
                                                     const std::string& by) {
  pqxx::result r = tx.exec_prepared(kLoanClose, group, key_id, Micros(at), by);
  if (r.empty()) return std::nullopt;
  return LoanRow(r[0]);
}

std::vector<pb::KeyLoan> RegistersStore::ListLoans(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& key_id, bool open_only,
                                                   const std::string& after, int limit) {
  std::vector<pb::KeyLoan> out;
  for (const auto& row :
       tx.exec_prepared(kLoanList, group, estate, key_id, open_only, after, limit)) {
    out.push_back(LoanRow(row));
  }
  return out;
}

// ---- cards --------------------------------------------------------------------------------

void RegistersStore::InsertCard(pqxx::work& tx, const std::string& group, const pb::Card& c,
                                const std::string& issued_by) {
  tx.exec_prepared(kCardInsert, c.id(), group, c.estate_id(), static_cast<int>(c.kind()),
                   c.number(), c.unit_id(), c.resident_id(), c.holder_name(),
                   static_cast<int>(c.state()), Micros(FromProtoTime(c.issue_time())), issued_by,
                   c.replaces_card_id(), c.fee_fen(), c.version());
}

std::optional<pb::Card> RegistersStore::GetCard(pqxx::work& tx, const std::string& group,
                                                const std::string& id, RowLock lock) {
  pqxx::result r = tx.exec_prepared(lock == RowLock::kLock ? kCardLock : kCardGet, group, id);
  if (r.empty()) return std::nullopt;
  return CardRow(r[0]);
}

std::optional<pb::Card> RegistersStore::LockCardByNumber(pqxx::work& tx, const std::string& group,
                                                         const std::string& estate,
                                                         const std::string& number) {
  pqxx::result r = tx.exec_prepared(kCardByNumber, group, estate, number);
  if (r.empty()) return std::nullopt;
  return GetCard(tx, group, Text(r[0][0]), RowLock::kLock);
}

bool RegistersStore::NumberIssued(pqxx::work& tx, const std::string& group,
                                  const std::string& estate, const std::string& number) {
  return !tx.exec_prepared(kCardNumberIssued, group, estate, number).empty();
}

pb::Card RegistersStore::ReturnCard(pqxx::work& tx, const std::string& group,
                                    const std::string& id, absl::Time at) {
  return CardRow(tx.exec_prepared1(kCardReturn, group, id, Micros(at)));
}

pb::Card RegistersStore::BlockCard(pqxx::work& tx, const std::string& group, const std::string& id,
                                   absl::Time at, const std::string& replaced_by) {
  return CardRow(tx.exec_prepared1(kCardBlock, group, id, Micros(at), replaced_by));
}

std::vector<pb::Card> RegistersStore::ListCards(pqxx::work& tx, const std::string& group,
                                                const pb::ListCardsRequest& f,
                                                const std::string& after, int limit) {
  std::vector<pb::Card> out;
  for (const auto& row :
       tx.exec_prepared(kCardList, group, f.estate_id(), static_cast<int>(f.kind()),
                        static_cast<int>(f.state()), f.unit_id(), after, limit)) {
    out.push_back(CardRow(row));
  }
  return out;
}

// ---- registers ----------------------------------------------------------------------------

void RegistersStore::InsertEntry(pqxx::work& tx, const std::string& group,
                                 const pb::RegisterEntry& e) {
  tx.exec_prepared(kEntryInsert, e.id(), group, e.estate_id(), static_cast<int>(e.kind()),
                   e.description(), e.person_name(), e.unit_id(), e.kept_at(),
                   DueMicros(e.has_due_time(), e.due_time()),
                   Micros(FromProtoTime(e.open_time())), e.opened_by());
}

std::optional<pb::RegisterEntry> RegistersStore::GetEntry(pqxx::work& tx, const std::string& group,
                                                          const std::string& id, RowLock lock) {
  pqxx::result r = tx.exec_prepared(lock == RowLock::kLock ? kEntryLock : kEntryGet, group, id);
  if (r.empty()) return std::nullopt;
  return EntryRow(r[0]);
}

pb::RegisterEntry RegistersStore::CloseEntry(pqxx::work& tx, const std::string& group,
                                             const std::string& id, const std::string& to_name,
                                             absl::Time at, const std::string& by,
                                             const std::string& matched) {
  return EntryRow(
      tx.exec_prepared1(kEntryClose, group, id, to_name, Micros(at), by, matched));
}

std::vector<pb::RegisterEntry> RegistersStore::ListEntries(pqxx::work& tx, const std::string& group,
                                                           const std::string& estate,
                                                           pb::RegisterKind kind, bool open_only,
                                                           const std::string& after, int limit) {
  std::vector<pb::RegisterEntry> out;
  for (const auto& row : tx.exec_prepared(kEntryList, group, estate, static_cast<int>(kind),
                                          open_only, after, limit)) {
    out.push_back(EntryRow(row));
  }
  return out;
}

}  // namespace wuye::counter
