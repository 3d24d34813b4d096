// PostgreSQL through libpqxx: a bounded pool of connections, named statements prepared on
// every connection, transactions that map database failures to absl::Status.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
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
  // The longest Ping (connecting included): a server that does not answer SELECT 1 in this
  // time is unreachable, whether the network is cut (packets vanish) or the server is frozen
  // (its kernel still acknowledges, so no TCP timeout would ever fire).
  absl::Duration ping_timeout = absl::Seconds(2);
};

// What the stall guard of a pool knows of one connection that is out of the pool, from the
// kernel's TCP figures (TCP_INFO) sampled now and then: whether the client has sent
// something since it last received anything, and since when. The server answers every
// statement within statement_timeout (it ends it then), so a connection waiting much longer
// is on a server that is frozen or cut off. The kernel's times are in jiffies: data sent in
// the jiffy of the last receipt counts as sent after it (a false wait costs only a ping).
class ReplyWait {
 public:
  // One sample: `bytes_received` so far, and how long ago data was last sent and received.
  // Returns how long the client has been waiting for a reply at `now` (zero: not waiting).
  absl::Duration Sample(uint64_t bytes_received, absl::Duration since_sent,
                        absl::Duration since_received, absl::Time now);

 private:
  uint64_t bytes_received_ = 0;
  absl::Time waiting_since_ = absl::InfiniteFuture();
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
  // The SQL registered under `name`, or "" when none is (for the benches, which replay a
  // call's statements with pgbench).
  std::string PreparedSql(const std::string& name);

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
  // calls; a lost one is replaced (once per call). Bounded by options.ping_timeout however
  // the server fails (refused, cut off, frozen). While the last two pings failed (the latest
  // recent), taking a connection from the pool fails at once with UNAVAILABLE instead of
  // waiting for connect_timeout: calls fail fast while the server is unreachable, and go
  // on as soon as a ping succeeds (a service pings every db_probe_interval).
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
  // The ping's own connection (raw libpq, so that every wait is bounded by a deadline).
  absl::Status PingOnce(absl::Time deadline, bool fresh);
  // Opens the ping connection to `url` (one host), every wait bounded by `deadline`.
  absl::Status ConnectPing(const std::string& url, absl::Time deadline);
  void ClosePingConnection();
  // The stall guard: every connection out of the pool is watched (a duplicate of its
  // socket, so that the number is never another's); one that has waited for a reply longer
  // than statement_timeout + ping_timeout (ping_timeout once a ping has failed) while the
  // server does not answer a ping has its socket shut from this side, so that the call
  // fails UNAVAILABLE instead of hanging until the server comes back.
  void Watch(const pqxx::connection* conn);
  void Unwatch(const pqxx::connection* conn);
  void GuardStalls();
  bool Unreachable() const;

  DbOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
  std::vector<std::pair<std::string, std::string>> statements_;
  // How many of statements_ each open connection has prepared.
  std::map<const pqxx::connection*, size_t> prepared_;
  std::mutex ping_mu_;
  struct pg_conn* ping_conn_ = nullptr;
  // The latest ping's outcome (monotonic times, ms): calls fail fast while it failed.
  std::atomic<bool> ping_failing_{false};
  int pings_failed_in_a_row_ = 0;  // under ping_mu_
  std::atomic<int64_t> ping_failed_at_ms_{0};
  struct Watched {
    int fd = -1;  // our duplicate of the connection's socket
    uint64_t serial = 0;
    ReplyWait wait;
    bool cut = false;
  };
  uint64_t watch_serial_ = 0;
  std::mutex watch_mu_;
  std::map<const pqxx::connection*, Watched> watched_;
  absl::Notification stop_guard_;
  std::thread guard_;
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
