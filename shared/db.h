// PostgreSQL through libpqxx: a bounded pool of connections, named statements prepared on
// every connection, transactions that map database failures to absl::Status.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace wuye {

struct DbOptions {
  // libpq connection URL, e.g. postgresql://wuye@127.0.0.1:54329/wuye_directory.
  std::string url;
  int pool_size = 8;
  absl::Duration acquire_timeout = absl::Seconds(2);
  absl::Duration statement_timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(3);
  // TCP keepalives on every connection, at both ends: a peer that vanished (a dead node, a
  // cut network) is noticed after idle + interval × count (about a minute), so PostgreSQL
  // ends the session and frees its locks (the relay's advisory lock among them).
  absl::Duration keepalives_idle = absl::Seconds(30);
  absl::Duration keepalives_interval = absl::Seconds(10);
  int keepalives_count = 3;
  // A session that stays idle inside a transaction this long is ended by the server.
  absl::Duration idle_in_transaction_timeout = absl::Seconds(60);
};

class Db {
 public:
  using Body = std::function<absl::Status(pqxx::work&)>;

  // Connects once to check the server is there; the pool opens further connections lazily.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const DbOptions& options);
  ~Db();

  // Registers a named statement; every connection prepares all of them before its next use
  // (stores register theirs when they are built). A name registered before is ignored.
  void Prepare(std::string name, std::string sql);

  // Runs `body` in a transaction and commits if it returns OK; rolls back otherwise.
  // Serialization failures and deadlocks are retried; a connection lost before COMMIT is
  // replaced and the body run again (so bodies must have no effect outside the database).
  // A connection lost during COMMIT is UNAVAILABLE: the outcome is unknown and the caller
  // retries with the same request_id.
  absl::Status Transact(const Body& body);

  using AutocommitBody = std::function<absl::Status(pqxx::nontransaction&)>;
  // Runs `body` on a connection without BEGIN/COMMIT: each statement commits on its own, one
  // round trip each. For a write that is one statement (group commit). A connection lost
  // meanwhile is UNAVAILABLE and not retried: the outcome is unknown and the caller retries
  // with the same request_id.
  absl::Status Autocommit(const AutocommitBody& body);

  // Runs `body` on a connection without a transaction (e.g. for LISTEN, or DDL).
  absl::Status WithConnection(const std::function<absl::Status(pqxx::connection&)>& body);

  // Runs one trivial query on a connection of its own, outside the pool, kept between
  // calls; a lost one is replaced (once per call).
  absl::Status Ping();

  const DbOptions& options() const { return options_; }

  // Maps a libpqxx exception (or any std::exception) to a status. The message never
  // contains the server's text, which can quote values.
  static absl::Status FromException(const std::exception& e);

 private:
  explicit Db(DbOptions options);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect();
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> conn, bool broken);

  DbOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
  std::vector<std::pair<std::string, std::string>> statements_;
  // How many of statements_ each open connection has prepared.
  std::map<const pqxx::connection*, size_t> prepared_;
  std::mutex ping_mu_;
  std::unique_ptr<pqxx::connection> ping_conn_;
};

// A PostgreSQL array literal ('{"a","b"}') for binding a list as one text parameter
// (cast in SQL: $1::text[]).
std::string PgArray(absl::Span<const std::string> items);
// Parses a one-dimensional text[] / uuid[] / int[] value as strings.
std::vector<std::string> ParsePgArray(const pqxx::field& field);

// The URL a connection of `options` opens: options.url with connect_timeout,
// application_name and libpq's keepalives (keepalives, keepalives_idle, _interval, _count)
// added, each unless the URL gives it; and tcp_user_timeout (sent data unacknowledged this
// long: the connection is dead) when `tcp_user_timeout` is not zero.
std::string ConnectionUrl(const DbOptions& options, absl::string_view application,
                          absl::Duration tcp_user_timeout = absl::ZeroDuration());

// The SET statements every session runs first: the server's end of the keepalives, the
// idle-in-transaction timeout and, when not zero, the server's tcp_user_timeout.
std::string SessionSettings(const DbOptions& options,
                            absl::Duration tcp_user_timeout = absl::ZeroDuration());

// Replaces the database name of a libpq URL ("postgresql://u@h:p/old?x" → ".../new?x").
std::string WithDatabase(absl::string_view url, absl::string_view database);

}  // namespace wuye
