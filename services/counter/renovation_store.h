// The counter's tables of renovation: applications, consent, admissions, patrols, acceptance. Every
// call takes the caller's group and filters by it.
#pragma once

#include <pqxx/pqxx>

#include "services/counter/renovation.h"
#include "shared/db.h"

namespace wuye::counter {

class RenovationStore {
 public:
  explicit RenovationStore(Db& db);
};

}  // namespace wuye::counter
