// The counter's tables of violation and dispute cases, their actions and inspections. Every call
// takes the caller's group and filters by it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/counter/cases.h"
#include "shared/db.h"
#include "shared/paging.h"

namespace wuye::counter {

class CasesStore {
 public:
  explicit CasesStore(Db& db);

  // Whether the estate is one of the group's (the counter's copy of the directory).
  bool EstateKnown(pqxx::work& tx, const std::string& group, const std::string& estate);

  void Insert(pqxx::work& tx, const std::string& group, const pb::Case& c, absl::Time now);
  std::optional<pb::Case> Get(pqxx::work& tx, const std::string& group, const std::string& id,
                              bool for_update);
  // Writes `c` (its version already raised).
  void Update(pqxx::work& tx, const std::string& group, const pb::Case& c, absl::Time now);
  // The estate's cases by id, filtered by state, kind and renovation when given.
  std::vector<pb::Case> List(pqxx::work& tx, const std::string& group, const std::string& estate,
                             int state, int kind, const std::string& renovation,
                             const PageRequest& page);

  void InsertInspection(pqxx::work& tx, const std::string& group, const std::string& id,
                        const std::string& case_id, const std::string& inspector, bool handled,
                        const std::string& note, absl::Time now);
};

}  // namespace wuye::counter
