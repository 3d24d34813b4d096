// Words for a task's place (issue #22 §2: "elderly-care emergency, building 3 unit 1201"):
// the desk's copy of the directory's buildings and units, and the words made of it. A
// task names a building and a unit, or a common area; never a name, a phone number or a
// health field.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/duty/duty.h"
#include "shared/db.h"
#include "wuye/common/v1/common.pb.h"

namespace wuye::duty {

// ---- pure ----------------------------------------------------------------------------

// "building 3 unit 1201" from the building's name ("3栋", "3幢", "A座", "3号楼": the
// counter dropped) and the unit's number; "unit 1201" without a building. "" when either
// would carry what looks like a phone number (a run of 7 or more digits) or a control
// character.
std::string UnitWords(absl::string_view building_name, absl::string_view number);
// A common area in the words the producer gave ("car park B2"), at most 60 characters;
// "common area" when they look like a phone number or carry a control character.
std::string CommonAreaWords(absl::string_view area);

// ---- the copy --------------------------------------------------------------------------

struct UnitCopy {
  std::string estate_id;
  std::string building_id;  // "" when none
  std::string number;
};

class PlaceStore {
 public:
  explicit PlaceStore(Db& db);

  // A building never changes once created: the first copy stays.
  void PutBuilding(pqxx::work& tx, const std::string& group, const std::string& id,
                   const std::string& estate, const std::string& name);
  // Newest version wins; an older or equal version changes nothing.
  void PutUnit(pqxx::work& tx, const std::string& group, const std::string& id,
               const UnitCopy& unit, int64_t version);
  // The words of a place: a common area's, or a unit's ("building 3 unit 1201") when the
  // copy knows the unit (of the group and the location's estate); else "".
  std::string Words(pqxx::work& tx, const std::string& group,
                    const wuye::common::v1::Location& location);
};

// Titles each draft with its kind and the words of its place (TitleOf).
void TitlePlaces(PlaceStore& places, pqxx::work& tx, const std::string& group,
                 std::vector<TaskDraft>& drafts);

}  // namespace wuye::duty
