#include "services/duty/places.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "shared/ids.h"
#include "shared/sql.h"
#include "shared/text.h"

namespace wuye::duty {
namespace {

using sql::Text;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

// Whether `s` may stand in a task's text: no control character and no run of 7 or more
// digits (a phone number, spaced or dashed or not).
bool Speakable(absl::string_view s) {
  int run = 0;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
    if (absl::ascii_isdigit(u)) {
      if (++run >= 7) return false;
    } else if (c != ' ' && c != '-') {
      run = 0;
    }
  }
  return true;
}

}  // namespace

std::string UnitWords(absl::string_view building_name, absl::string_view number) {
  number = absl::StripAsciiWhitespace(number);
  absl::string_view building = absl::StripAsciiWhitespace(building_name);
  if (number.empty() || !Speakable(number) || !Speakable(building)) return "";
  int number_chars = Utf8Chars(number), building_chars = Utf8Chars(building);
  if (number_chars < 0 || number_chars > 20 || building_chars < 0 || building_chars > 40) {
    return "";
  }
  // The counter of a building's name (3栋, 3幢, A座, 3号楼, 3楼) reads as "building 3".
  for (absl::string_view counter : {"号楼", "栋", "幢", "座", "楼"}) {
    absl::string_view rest = building;
    if (absl::ConsumeSuffix(&rest, counter) && !rest.empty()) {
      building = absl::StripAsciiWhitespace(rest);
      break;
    }
  }
  if (building.empty()) return absl::StrCat("unit ", number);
  return absl::StrCat("building ", building, " unit ", number);
}

std::string CommonAreaWords(absl::string_view area) {
  area = absl::StripAsciiWhitespace(area);
  if (area.empty()) return "";
  int chars = Utf8Chars(area);
  if (!Speakable(area) || chars < 0 || chars > 60) return "common area";
  return std::string(area);
}

PlaceStore::PlaceStore(Db& db) { statements.PrepareOn(db); }

const sql::Statement kBuildingPut = statements.Add(
    "du_building_put",
    "INSERT INTO dir_buildings (id, group_id, estate_id, name) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO NOTHING");

void PlaceStore::PutBuilding(pqxx::work& tx, const std::string& group, const std::string& id,
                             const std::string& estate, const std::string& name) {
  tx.exec_prepared(kBuildingPut, id, group, estate, name);
}

const sql::Statement kUnitPut = statements.Add(
    "du_unit_put",
    "INSERT INTO dir_units (id, group_id, estate_id, building_id, number, version) VALUES ($1, "
    "$2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET estate_id = excluded.estate_id, "
    "building_id = excluded.building_id, number = excluded.number, version = excluded.version "
    "WHERE dir_units.version < excluded.version AND dir_units.group_id = excluded.group_id");

void PlaceStore::PutUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                         const UnitCopy& u, int64_t version) {
  tx.exec_prepared(kUnitPut, id, group, u.estate_id, u.building_id, u.number, version);
}

const sql::Statement kUnitWords = statements.Add(
    "du_unit_words",
    "SELECT u.number, b.name FROM dir_units u LEFT JOIN dir_buildings b ON b.group_id = "
    "u.group_id AND b.id::text = u.building_id WHERE u.group_id = $1 AND u.id = $2 AND "
    "($3 = '' OR u.estate_id = NULLIF($3, '')::uuid)");

std::string PlaceStore::Words(pqxx::work& tx, const std::string& group,
                              const wuye::common::v1::Location& l) {
  if (l.place_case() == wuye::common::v1::Location::kCommonArea) {
    return CommonAreaWords(l.common_area());
  }
  if (l.place_case() != wuye::common::v1::Location::kUnitId || !IsValidId(l.unit_id())) {
    return "";
  }
  std::string estate = IsValidId(l.estate_id()) ? l.estate_id() : "";
  pqxx::result r = tx.exec_prepared(kUnitWords, group, l.unit_id(), estate);
  if (r.empty()) return "";
  return UnitWords(Text(r[0][1]), Text(r[0][0]));
}

void TitlePlaces(PlaceStore& places, pqxx::work& tx, const std::string& group,
                 std::vector<TaskDraft>& drafts) {
  for (TaskDraft& d : drafts) {
    d.title = TitleOf(d.kind, places.Words(tx, group, d.location), d.subject_words);
  }
}

}  // namespace wuye::duty
