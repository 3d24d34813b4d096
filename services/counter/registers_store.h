// The counter's tables of keys and their loans and checks, cards, the registers. Every call takes
// the caller's group and filters by it.
#pragma once

#include <pqxx/pqxx>

#include "services/counter/registers.h"
#include "shared/db.h"

namespace wuye::counter {

class RegistersStore {
 public:
  explicit RegistersStore(Db& db);
};

}  // namespace wuye::counter
