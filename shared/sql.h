// What every store's SQL shares: how times and paging cursors cross the wire, how a row's
// fields are read, and named statements declared beside the store method that runs them.
//
//   namespace {
//   sql::Statements statements;  // first, before the statements of this file
//   const sql::Statement kGroupGet = statements.Add("dir_group_get", R"(
//       SELECT id, name, )" WUYE_SQL_MICROS("created_at") R"( FROM groups WHERE id = $1)");
//   }  // namespace
//
//   DirectoryStore::DirectoryStore(Db& db) { statements.PrepareOn(db); }
//   ... tx.exec_prepared(kGroupGet, id) ...
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "shared/db.h"

// Times cross the wire as Unix microseconds (bigint): a timestamptz column read as µs, and a
// µs parameter used as a timestamptz. WUYE_SQL_TIME_OR_NULL takes -1 for "no time" (NULL).
#define WUYE_SQL_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define WUYE_SQL_TIME(param) "to_timestamp(" param "::float8 / 1000000)"
#define WUYE_SQL_TIME_OR_NULL(param) "to_timestamp(NULLIF(" param "::bigint, -1)::float8 / 1000000)"

// Paging by id: an empty cursor parameter means "from the start" — the lowest uuid for
// ascending order, the highest for descending order.
#define WUYE_SQL_NIL_UUID "'00000000-0000-0000-0000-000000000000'::uuid"
#define WUYE_SQL_MAX_UUID "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"
#define WUYE_SQL_AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, " WUYE_SQL_NIL_UUID ")"
#define WUYE_SQL_BEFORE(param) "COALESCE(NULLIF(" param ", '')::uuid, " WUYE_SQL_MAX_UUID ")"

namespace wuye::sql {

// A statement's name, as libpqxx's exec_prepared takes it.
using Statement = std::string;

// The named statements of one store, each declared at namespace scope next to the method
// that runs it. Define the list before its statements in the same file: objects of one
// translation unit are initialised in the order they are defined.
class Statements {
 public:
  // Declares `sql` under `name` (prefixed by the service, e.g. "dir_") and returns the name.
  Statement Add(std::string name, std::string sql) {
    list_.emplace_back(name, std::move(sql));
    return name;
  }

  // Registers every statement with `db`; a store calls it from its constructor.
  void PrepareOn(Db& db) const {
    for (const auto& [name, text] : list_) db.Prepare(name, text);
  }

  size_t size() const { return list_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> list_;
};

// ---- parameters ----------------------------------------------------------------------------

// A time as the µs parameter WUYE_SQL_TIME takes.
inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// ---- row readers ---------------------------------------------------------------------------

// A text (or uuid, date, …) field as text; NULL reads as "".
inline std::string Text(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }

// A WUYE_SQL_MICROS column as a time; NULL reads as absl::InfinitePast().
inline absl::Time TimeOf(const pqxx::field& f) {
  return f.is_null() ? absl::InfinitePast() : absl::FromUnixMicros(f.as<int64_t>());
}

// A WUYE_SQL_MICROS column as a protobuf Timestamp; NULL reads as the empty Timestamp.
inline google::protobuf::Timestamp Stamp(const pqxx::field& f) {
  google::protobuf::Timestamp ts;
  if (f.is_null()) return ts;
  const int64_t us = f.as<int64_t>();
  int64_t seconds = us / 1000000, rest = us % 1000000;
  if (rest < 0) rest += 1000000, --seconds;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rest * 1000));
  return ts;
}

// A bytea field as its bytes; NULL reads as "".
inline std::string Bytes(const pqxx::field& f) {
  return f.is_null() ? "" : pqxx::binarystring(f).str();
}

}  // namespace wuye::sql
