// The one write path of a unit's changes, shared by UpdateUnit's handler and the counter's
// events (consumers.cc): the changed unit is checked as UpdateUnit checks it, stored as its
// next version and published as "directory.unit.updated" through the outbox, in the
// caller's transaction.
#pragma once

#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/directory/directory_store.h"
#include "shared/outbox.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye::directory {

class UnitFlow {
 public:
  UnitFlow(DirectoryStore& store, Outbox& outbox) : store_(store), outbox_(outbox) {}

  // `unit`: a unit read locked (DirectoryStore::GetUnit for update) with the changes applied.
  // Checks it (PrepareUnit, fields named under `prefix`; nothing is written on refusal),
  // stores it with version + 1 and update_time `now`, and appends its "directory.unit.updated"
  // event (group: the unit's). `out`: the unit as stored.
  absl::Status Save(pqxx::work& tx, v1::Unit& unit, absl::string_view prefix, absl::Time now,
                    const std::string& trace_id, v1::Unit* out);

 private:
  DirectoryStore& store_;
  Outbox& outbox_;
};

}  // namespace wuye::directory
