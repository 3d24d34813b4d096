// What the files of eldercare's store share beyond shared/sql.h: dates, which cross the wire
// as 'YYYY-MM-DD' text, and an estate's local day in SQL. Only eldercare_store*.cc include it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "services/eldercare/eldercare.h"
#include "shared/sql.h"
#include "shared/zone.h"

// The estate's local date at a time: eldercare's copy of the estate's zone, else the one
// default of every service (shared/zone.h).
#define LOCAL_DAY(ts, estate)                                                                  \
  "(" ts " AT TIME ZONE COALESCE(NULLIF((SELECT time_zone FROM dir_estates WHERE id = " estate \
  "), ''), " WUYE_SQL_DEFAULT_ESTATE_ZONE "))::date"

namespace wuye::eldercare::store_rows {

// 'YYYY-MM-DD' as a day; "" (a NULL date read as text) and anything else as none.
inline std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return std::nullopt;
  }
  return absl::CivilDay(y, m, d);
}

// A date field (read as text) as an API date; NULL reads as the empty Date.
inline v1::Date DateOf(const pqxx::field& f) {
  auto day = ParseDay(sql::Text(f));
  return day ? ToDate(*day) : v1::Date();
}

// A day as a date parameter; none as "" (NULLIF($n, '')::date in the statement).
inline std::string DayParam(const std::optional<absl::CivilDay>& day) {
  return day ? DayText(*day) : "";
}

// Every row of `res` read by `row`.
template <class T, class F>
std::vector<T> Rows(const pqxx::result& res, F row) {
  std::vector<T> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(row(r));
  return out;
}

}  // namespace wuye::eldercare::store_rows
