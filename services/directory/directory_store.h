// The only code that knows the directory's tables. Every call takes the caller's group and
// filters by it; nothing here decides rules (directory.h) or permissions (the handlers).
//
// One class over one file per aggregate, each statement declared beside the method that
// runs it: directory_store.cc (groups and estates), _units.cc (buildings, units and their
// import), _residents.cc and _staff.cc (staff and their shifts).
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "shared/sql.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye {
const MigrationSet& directory_migrations();
}

namespace wuye::directory {

struct ImportResult {
  std::vector<v1::Building> buildings_created;
  std::vector<v1::Unit> units_created;
  int unchanged = 0;
  // Index in the request of the first unit that exists with other content, or -1.
  int first_conflict = -1;
  // Existing units whose hand-over or move-in day the import changed, as now stored.
  std::vector<v1::Unit> units_updated;
  // Index in the request of the first existing unit whose move-in day would fall before its
  // hand-over day once the given days are applied, or -1 (then nothing was updated).
  int first_bad_dates = -1;
};

class DirectoryStore {
 public:
  // Registers the named statements with `db`.
  explicit DirectoryStore(Db& db);

  void InsertGroup(pqxx::work& tx, const v1::Group& group, absl::Time now, v1::Group* out);
  std::optional<v1::Group> GetGroup(pqxx::work& tx, const std::string& id);

  void InsertEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now, v1::Estate* out);
  std::optional<v1::Estate> GetEstate(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update = false);
  // Writes every updatable field of `e` and bumps the version.
  void UpdateEstate(pqxx::work& tx, const v1::Estate& e, absl::Time now, v1::Estate* out);
  // `estate_ids` empty and `all` true: every estate of the group.
  std::vector<v1::Estate> ListEstates(pqxx::work& tx, const std::string& group, bool all,
                                      const std::vector<std::string>& estate_ids,
                                      const std::string& after, int limit);

  // False when (estate, name) is taken.
  bool InsertBuilding(pqxx::work& tx, const v1::Building& b, absl::Time now, v1::Building* out);
  std::optional<v1::Building> GetBuilding(pqxx::work& tx, const std::string& group,
                                          const std::string& id);
  std::vector<v1::Building> ListBuildings(pqxx::work& tx, const std::string& group,
                                          const std::string& estate_id, const std::string& after,
                                          int limit);

  // False when (building, number) is taken.
  bool InsertUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out);
  std::optional<v1::Unit> GetUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                                  bool for_update = false);
  void UpdateUnit(pqxx::work& tx, const v1::Unit& u, absl::Time now, v1::Unit* out);
  std::vector<v1::Unit> ListUnits(pqxx::work& tx, const std::string& group,
                                  const std::string& estate_id, const std::string& building_id,
                                  v1::Occupancy occupancy, const std::string& after, int limit);
  // Set-based: creates missing buildings and units in a few statements.
  ImportResult ImportUnits(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                           const std::vector<v1::ImportedUnit>& units, absl::Time now);

  void InsertResident(pqxx::work& tx, const v1::Resident& r, absl::Time now, v1::Resident* out);
  std::optional<v1::Resident> GetResident(pqxx::work& tx, const std::string& group,
                                          const std::string& id, bool for_update = false);
  void UpdateResident(pqxx::work& tx, const v1::Resident& r, absl::Time now, v1::Resident* out);
  // Marks a (locked, not yet removed) resident removed at `now`, a new version; the row is
  // kept but no longer read. `out` is the resident as last stored, at that version.
  void RemoveResident(pqxx::work& tx, const std::string& group, const std::string& id,
                      absl::Time now, v1::Resident* out);
  std::vector<v1::Resident> ListResidents(pqxx::work& tx, const std::string& group,
                                          const std::string& estate_id, const std::string& unit_id,
                                          const std::string& after, int limit);

  void InsertStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now, v1::Staff* out);
  std::optional<v1::Staff> GetStaff(pqxx::work& tx, const std::string& group, const std::string& id,
                                    bool for_update = false);
  void UpdateStaff(pqxx::work& tx, const v1::Staff& s, absl::Time now, v1::Staff* out);
  std::vector<v1::Staff> ListStaff(pqxx::work& tx, const std::string& group,
                                   const std::string& estate_id, v1::StaffRole role,
                                   v1::Skill skill, bool include_inactive,
                                   // Only staff with a home estate among `visible`, unless
                                   // `all_estates`.
                                   bool all_estates, const std::vector<std::string>& visible,
                                   const std::string& after, int limit);
  // How many of `estate_ids` are estates of the group.
  int CountEstates(pqxx::work& tx, const std::string& group,
                   const std::vector<std::string>& estate_ids);

  // False when the staff member already has a shift overlapping this one.
  bool InsertShift(pqxx::work& tx, const v1::Shift& s, absl::Time now, v1::Shift* out);
  std::optional<v1::Shift> GetShift(pqxx::work& tx, const std::string& group,
                                    const std::string& id);
  void DeleteShift(pqxx::work& tx, const std::string& group, const std::string& id);
  std::vector<v1::Shift> ListShifts(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& staff_id,
                                    absl::Time window_start, absl::Time window_end,
                                    const std::string& after, int limit);

 private:
  // The statements of each file, prepared by the constructor.
  static const sql::Statements& EstateStatements();    // directory_store.cc
  static const sql::Statements& UnitStatements();      // directory_store_units.cc
  static const sql::Statements& ResidentStatements();  // directory_store_residents.cc
  static const sql::Statements& StaffStatements();     // directory_store_staff.cc
};

}  // namespace wuye::directory
