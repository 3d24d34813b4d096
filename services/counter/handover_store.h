// The counter's tables of hand-over, move-in and defects. Every call takes the caller's group and
// filters by it.
#pragma once

#include <pqxx/pqxx>

#include "services/counter/handover.h"
#include "shared/db.h"

namespace wuye::counter {

class HandoverStore {
 public:
  explicit HandoverStore(Db& db);
};

}  // namespace wuye::counter
