// The counter's tables of violation and dispute cases, their actions and inspections. Every call
// takes the caller's group and filters by it.
#pragma once

#include <pqxx/pqxx>

#include "services/counter/cases.h"
#include "shared/db.h"

namespace wuye::counter {

class CasesStore {
 public:
  explicit CasesStore(Db& db);
};

}  // namespace wuye::counter
