// The counter's tables of notices with their tickets, surveys and their responses. Every call takes
// the caller's group and filters by it.
#pragma once

#include <pqxx/pqxx>

#include "services/counter/notices.h"
#include "shared/db.h"

namespace wuye::counter {

class NoticesStore {
 public:
  explicit NoticesStore(Db& db);
};

}  // namespace wuye::counter
