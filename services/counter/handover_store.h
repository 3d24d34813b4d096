// The counter's tables of hand-over, move-in and defects (migrations/002_handover.sql). Every
// call takes the caller's group and filters by it. Objects are stored whole (`body`) with
// the columns filters need; a hand-over's defect counts are computed when read.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/counter/handover.h"
#include "shared/db.h"
#include "shared/sealing.h"

namespace wuye::counter {

class HandoverStore {
 public:
  explicit HandoverStore(Db& db);

  // ---- hand-overs ----
  void InsertHandover(pqxx::work& tx, const std::string& group, const pb::Handover& h);
  // `id_digest` ("" keeps the stored one) and the hand-over day travel beside the body.
  void UpdateHandover(pqxx::work& tx, const std::string& group, const pb::Handover& h,
                      const std::string& id_digest = "");
  // With its unit's defect counts; `lock` takes the row FOR UPDATE.
  std::optional<pb::Handover> GetHandover(pqxx::work& tx, const std::string& group,
                                          const std::string& id, bool lock = false);
  // The unit's hand-over that is not completed, if any.
  std::optional<pb::Handover> OpenHandoverOf(pqxx::work& tx, const std::string& group,
                                             const std::string& unit);
  // The hand-over day of the unit's signed hand-over, if it has one.
  std::optional<absl::CivilDay> HandoverDayOf(pqxx::work& tx, const std::string& group,
                                              const std::string& unit);
  // By id; `state` 0 and `unit` "" for all; ids after `after`, at most `limit`.
  std::vector<pb::Handover> ListHandovers(pqxx::work& tx, const std::string& group,
                                          const std::string& estate, int state,
                                          const std::string& unit, const std::string& after,
                                          int limit);

  // A sealed value (the owner's ID number), replacing the place's previous one.
  void PutSealed(pqxx::work& tx, const SealedPlace& place, const SealedValue& value,
                 absl::Time now);

  // ---- move-ins ----
  // The next move-in's number for the unit (1 for the first).
  int32_t NextMoveInSeq(pqxx::work& tx, const std::string& group, const std::string& unit);
  void InsertMoveIn(pqxx::work& tx, const std::string& group, const pb::MoveIn& m, int32_t seq);

  // ---- defects ----
  void InsertDefect(pqxx::work& tx, const std::string& group, const pb::Defect& d);
  void UpdateDefect(pqxx::work& tx, const std::string& group, const pb::Defect& d);
  std::optional<pb::Defect> GetDefect(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool lock = false);
  std::vector<pb::Defect> ListDefects(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, const std::string& unit, int state,
                                      const std::string& after, int limit);
};

}  // namespace wuye::counter
