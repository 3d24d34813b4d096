// What the files of the directory's store share beyond shared/sql.h: an optional uuid
// parameter in SQL, and reading results into API messages. Only directory_store*.cc include it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "shared/sql.h"

// An optional uuid parameter: "" is NULL ("any").
#define OPT_UUID(param) "NULLIF(" param ", '')::uuid"

namespace wuye::directory::store_rows {

// Every row of `res` read by `row`.
template <class T, class F>
std::vector<T> Rows(const pqxx::result& res, F row) {
  std::vector<T> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(row(r));
  return out;
}

// The first row of `res` read by `row`, or none.
template <class T, class F>
std::optional<T> One(const pqxx::result& res, F row) {
  if (res.empty()) return std::nullopt;
  return row(res[0]);
}

// Runs an INSERT ... ON CONFLICT DO NOTHING RETURNING statement; false when a unique or
// exclusion constraint stopped it (nothing came back).
template <class... Args>
bool TryInsert(pqxx::work& tx, pqxx::result* out, const sql::Statement& name, Args&&... args) {
  *out = tx.exec_prepared(name, std::forward<Args>(args)...);
  return !out->empty();
}

}  // namespace wuye::directory::store_rows
