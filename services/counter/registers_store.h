// The counter's tables of keys and their loans and checks, cards, the registers. Every call takes
// the caller's group and filters by it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/counter/registers.h"
#include "shared/db.h"

namespace wuye::counter {

// How a read takes its row: kShare for an answer, kLock (FOR UPDATE) before a change.
enum class RowLock { kShare, kLock };

class RegistersStore {
 public:
  explicit RegistersStore(Db& db);

  // Whether the estate is one of the group's in the counter's copy of the directory.
  bool EstateKnown(pqxx::work& tx, const std::string& group, const std::string& estate);

  // ---- keys ----
  // Inserts `key` (its id, estate, number, place, label, state, version and create_time
  // set); false when the estate has a key of that number already.
  bool InsertKey(pqxx::work& tx, const std::string& group, const pb::Key& key);
  std::optional<pb::Key> GetKey(pqxx::work& tx, const std::string& group, const std::string& id,
                                RowLock lock);
  std::vector<pb::Key> ListKeys(pqxx::work& tx, const std::string& group,
                                const std::string& estate, pb::KeyState state,
                                const std::string& after, int limit);
  // Every key of the estate, locked, in id order.
  std::vector<KeyAtCheck> LockKeysForCheck(pqxx::work& tx, const std::string& group,
                                           const std::string& estate);
  // The key's state and loan (loan "" for none); its version moves on.
  void SetKeyState(pqxx::work& tx, const std::string& group, const std::string& id,
                   pb::KeyState state, const std::string& loan_id);
  // Applies a check's plan at `at`: each key's state and last check time.
  void ApplyCheck(pqxx::work& tx, const std::string& group, const CheckPlan& plan, absl::Time at);
  void InsertCheck(pqxx::work& tx, const std::string& group, const pb::KeyCheck& check);

  void InsertLoan(pqxx::work& tx, const std::string& group, const pb::KeyLoan& loan);
  // Closes the open loan of `key_id` (returned at `at`, received by `by`) and returns it.
  std::optional<pb::KeyLoan> CloseLoan(pqxx::work& tx, const std::string& group,
                                       const std::string& key_id, absl::Time at,
                                       const std::string& by);
  std::vector<pb::KeyLoan> ListLoans(pqxx::work& tx, const std::string& group,
                                     const std::string& estate, const std::string& key_id,
                                     bool open_only, const std::string& after, int limit);

  // ---- cards ----
  void InsertCard(pqxx::work& tx, const std::string& group, const pb::Card& card,
                  const std::string& issued_by);
  std::optional<pb::Card> GetCard(pqxx::work& tx, const std::string& group, const std::string& id,
                                  RowLock lock);
  // The card of that number in the estate: the one issued if any, else the last issued;
  // locked.
  std::optional<pb::Card> LockCardByNumber(pqxx::work& tx, const std::string& group,
                                           const std::string& estate, const std::string& number);
  // Whether a card of that number is out (ISSUED) in the estate.
  bool NumberIssued(pqxx::work& tx, const std::string& group, const std::string& estate,
                    const std::string& number);
  // The card returned (state RETURNED) or blocked (state BLOCKED, with its replacement if
  // any) at `at`; its version moves on. Returns it as stored.
  pb::Card ReturnCard(pqxx::work& tx, const std::string& group, const std::string& id,
                      absl::Time at);
  pb::Card BlockCard(pqxx::work& tx, const std::string& group, const std::string& id,
                     absl::Time at, const std::string& replaced_by);
  std::vector<pb::Card> ListCards(pqxx::work& tx, const std::string& group,
                                  const pb::ListCardsRequest& filter, const std::string& after,
                                  int limit);

  // ---- registers ----
  void InsertEntry(pqxx::work& tx, const std::string& group, const pb::RegisterEntry& entry);
  std::optional<pb::RegisterEntry> GetEntry(pqxx::work& tx, const std::string& group,
                                            const std::string& id, RowLock lock);
  pb::RegisterEntry CloseEntry(pqxx::work& tx, const std::string& group, const std::string& id,
                               const std::string& to_name, absl::Time at, const std::string& by,
                               const std::string& matched);
  std::vector<pb::RegisterEntry> ListEntries(pqxx::work& tx, const std::string& group,
                                             const std::string& estate, pb::RegisterKind kind,
                                             bool open_only, const std::string& after, int limit);
};

}  // namespace wuye::counter
