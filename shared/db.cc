#include "shared/db.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_received (glibc's lacks it)
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <typeinfo>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace wuye {
namespace {

// The pool's gauges (one pool per service process).
void PoolFigures(int open, size_t idle) {
  Metrics::Global().Set("wuye_db_pool_open", open);
  Metrics::Global().Set("wuye_db_pool_in_use", open - static_cast<double>(idle));
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits until `fd` is ready for `events`; false when `deadline` passed first (or on error).
bool WaitSocket(int fd, short events, absl::Time deadline) {
  if (fd < 0) return false;
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

const absl::Status& PingDown() {
  static const absl::Status* st = new absl::Status(absl::UnavailableError("database: unavailable"));
  return *st;
}

absl::Status PingTimedOut() {
  return absl::UnavailableError("database: no answer within ping_timeout");
}

// The ping connection's tcp_user_timeout, at both ends, so that the server also drops the
// session of a client that vanished.
constexpr absl::Duration kPingTcpTimeout = absl::Seconds(5);

// One URL per host of a libpq URL in the multi-host form ("…@a:1,b:2/db?x" → "…@a:1/db?x",
// "…@b:2/db?x"); the URL itself when it names one host (or names them in its query). The
// ping tries them one by one, each with its own deadline: libpq's asynchronous connect moves
// to the next host on a refusal but never on a timeout, so a first host that answers
// nothing (its machine gone) would otherwise make every ping fail.
std::vector<std::string> HostUrls(const std::string& url) {
  size_t from = url.find("://");
  if (from == std::string::npos) return {url};
  from += 3;
  size_t end = url.find_first_of("/?", from);
  if (end == std::string::npos) end = url.size();
  size_t at = url.rfind('@', end);
  size_t hosts_from = at == std::string::npos || at < from ? from : at + 1;
  absl::string_view hosts(url.data() + hosts_from, end - hosts_from);
  if (!absl::StrContains(hosts, ',')) return {url};
  std::vector<std::string> out;
  for (absl::string_view host : absl::StrSplit(hosts, ',', absl::SkipEmpty())) {
    out.push_back(absl::StrCat(url.substr(0, hosts_from), host, url.substr(end)));
  }
  return out;
}

// Sends `sql` on a ping connection and reads every result, each wait bounded by `deadline`.
absl::Status RunBounded(PGconn* conn, const char* sql, absl::Time deadline) {
  if (PQsendQuery(conn, sql) != 1) return PingDown();
  for (;;) {
    int flushed = PQflush(conn);
    if (flushed == 0) break;
    if (flushed < 0) return PingDown();
    if (!WaitSocket(PQsocket(conn), POLLOUT | POLLIN, deadline)) return PingTimedOut();
    if (PQconsumeInput(conn) != 1) return PingDown();
  }
  bool ok = true;
  for (;;) {
    while (PQisBusy(conn)) {
      if (!WaitSocket(PQsocket(conn), POLLIN, deadline)) return PingTimedOut();
      if (PQconsumeInput(conn) != 1) return PingDown();
    }
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) break;
    ExecStatusType status = PQresultStatus(result);
    ok = ok && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK);
    PQclear(result);
  }
  return ok ? absl::OkStatus() : PingDown();
}

}  // namespace

absl::Duration ReplyWait::Sample(uint64_t bytes_received, absl::Duration since_sent,
                                 absl::Duration since_received, absl::Time now) {
  if (bytes_received != bytes_received_) {  // an answer came: any wait before it is over
    bytes_received_ = bytes_received;
    waiting_since_ = absl::InfiniteFuture();
  }
  // Nothing sent since the last answer. The kernel keeps these times in jiffies (4 ms at
  // HZ=250): a statement sent in the jiffy of the last answer looks like it, and counts as
  // sent after it. Counting a wait that is none costs only a ping (the server answers).
  if (since_sent > since_received) {
    waiting_since_ = absl::InfiniteFuture();
    return absl::ZeroDuration();
  }
  if (waiting_since_ == absl::InfiniteFuture()) waiting_since_ = now - since_sent;
  return now - waiting_since_;
}

Db::Db(DbOptions options) : options_(std::move(options)) {}

Db::~Db() {
  if (!stop_guard_.HasBeenNotified()) stop_guard_.Notify();
  if (guard_.joinable()) guard_.join();
  ClosePingConnection();
  for (auto& [conn, w] : watched_) close(w.fd);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const DbOptions& options) {
  if (options.url.empty()) return absl::InvalidArgumentError("pg_url: required");
  if (options.pool_size < 1) return absl::InvalidArgumentError("pg_pool_size: must be >= 1");
  if (options.ping_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg_ping_timeout: must be > 0");
  }
  std::unique_ptr<Db> db(new Db(options));
  if (absl::Status st = db->Ping(); !st.ok()) return st;
  db->guard_ = std::thread([raw = db.get()] { raw->GuardStalls(); });
  return db;
}

bool Db::Unreachable() const {
  // Recent: a failed ping older than this says nothing of now (nobody pings any more).
  const int64_t recent_ms = absl::ToInt64Milliseconds(options_.ping_timeout * 2 + absl::Seconds(1));
  return ping_failing_.load() && SteadyMillis() - ping_failed_at_ms_.load() < recent_ms;
}

void Db::Watch(const pqxx::connection* conn) {
  int fd = conn->sock();
  int dup = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return;
  std::lock_guard lock(watch_mu_);
  Watched& w = watched_[conn];
  if (w.fd >= 0) close(w.fd);
  w = Watched{};
  w.fd = dup;
  w.serial = ++watch_serial_;
}

void Db::Unwatch(const pqxx::connection* conn) {
  std::lock_guard lock(watch_mu_);
  auto it = watched_.find(conn);
  if (it == watched_.end()) return;
  close(it->second.fd);
  watched_.erase(it);
}

void Db::GuardStalls() {
  // A server answers within statement_timeout (it ends the statement then); past that and
  // a ping's time, the server is asked directly. While the latest ping failed already, a
  // wait of one ping's time is enough to ask.
  while (!stop_guard_.WaitForNotificationWithTimeout(absl::Milliseconds(250))) {
    const absl::Duration limit =
        Unreachable() ? options_.ping_timeout : options_.statement_timeout + options_.ping_timeout;
    std::vector<std::pair<const pqxx::connection*, uint64_t>> stalled;
    {
      std::lock_guard lock(watch_mu_);
      absl::Time now = absl::Now();
      for (auto& [conn, w] : watched_) {
        struct tcp_info info {};
        socklen_t len = sizeof info;
        if (w.cut || getsockopt(w.fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) continue;
        if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) {
          continue;  // an old kernel: no byte counts
        }
        absl::Duration waited = w.wait.Sample(
            info.tcpi_bytes_received, absl::Milliseconds(info.tcpi_last_data_sent),
            absl::Milliseconds(info.tcpi_last_data_recv), now);
        if (waited > limit) stalled.emplace_back(conn, w.serial);
      }
    }
    if (stalled.empty()) continue;
    // A server that answers a ping is alive: the statement runs under a longer
    // statement_timeout of its own (SET LOCAL), or waits for a lock; it is left alone.
    if (Ping().ok()) continue;
    std::lock_guard lock(watch_mu_);
    for (const auto& [conn, serial] : stalled) {
      auto it = watched_.find(conn);
      if (it == watched_.end() || it->second.serial != serial || it->second.cut) continue;
      // The call blocked on it sees the connection end: UNAVAILABLE (outcome unknown during
      // a COMMIT, so the caller retries with its request_id).
      shutdown(it->second.fd, SHUT_RDWR);
      it->second.cut = true;
      Metrics::Global().Add("wuye_db_stalled_cuts_total");
      LogWarn("db.stalled_connection_cut");
    }
  }
}

void Db::Prepare(std::string name, std::string sql) {
  std::lock_guard lock(mu_);
  for (const auto& [known, _] : statements_) {
    if (known == name) return;  // registered before: once is enough
  }
  statements_.emplace_back(std::move(name), std::move(sql));
}

std::string Db::PreparedSql(const std::string& name) {
  std::lock_guard lock(mu_);
  for (const auto& [known, sql] : statements_) {
    if (known == name) return sql;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Db::Connect() {
  try {
    auto conn = std::make_unique<pqxx::connection>(ConnectionUrl(options_, "wuye"));
    {
      pqxx::nontransaction tx(*conn);
      tx.exec(absl::StrCat("SET statement_timeout = ",
                           absl::ToInt64Milliseconds(options_.statement_timeout)));
      tx.exec("SET TIME ZONE 'UTC'");
      tx.exec(SessionSettings(options_));
    }
    return conn;
  } catch (const std::exception& e) {
    return FromException(e);
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Db::Acquire() {
  if (Unreachable()) {
    Metrics::Global().Add("wuye_db_fail_fast_total");
    return absl::UnavailableError("database: unreachable");
  }
  std::unique_lock lock(mu_);
  auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(options_.acquire_timeout);
  if (idle_.empty() && open_ >= options_.pool_size)
    Metrics::Global().Add("wuye_db_acquire_waits_total");
  while (idle_.empty() && open_ >= options_.pool_size) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      Metrics::Global().Add("wuye_db_acquire_timeouts_total");
      return absl::UnavailableError("database: no connection free in time");
    }
  }
  std::unique_ptr<pqxx::connection> conn;
  if (!idle_.empty()) {
    conn = std::move(idle_.back());
    idle_.pop_back();
  } else {
    ++open_;
    lock.unlock();
    auto fresh = Connect();
    lock.lock();
    if (!fresh.ok()) {
      --open_;
      cv_.notify_one();
      Metrics::Global().Add("wuye_db_connect_failures_total");
      return fresh.status();
    }
    conn = std::move(*fresh);
  }
  // Statements registered since this connection last ran are prepared now.
  size_t& done = prepared_[conn.get()];
  for (; done < statements_.size(); ++done) {
    conn->prepare(statements_[done].first, statements_[done].second);
  }
  PoolFigures(open_, idle_.size());
  lock.unlock();
  Watch(conn.get());
  return conn;
}

void Db::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  Unwatch(conn.get());
  std::lock_guard lock(mu_);
  if (broken || !conn->is_open()) {
    // One lost connection usually means the server restarted: the idle ones are gone too.
    open_ -= 1 + static_cast<int>(idle_.size());
    prepared_.erase(conn.get());
    for (const auto& c : idle_) prepared_.erase(c.get());
    idle_.clear();
  } else {
    idle_.push_back(std::move(conn));
  }
  PoolFigures(open_, idle_.size());
  cv_.notify_one();
}

namespace {
constexpr char kReadOnlySqlState[] = "25006";

bool IsReadOnlyServer(const std::exception& e) {
  auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  return sql != nullptr && sql->sqlstate() == kReadOnlySqlState;
}
}  // namespace

absl::Status Db::FromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return absl::UnavailableError(
        "database: connection lost during commit; the outcome is unknown, retry with the "
        "same request_id");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return absl::UnavailableError("database: unavailable");
  }
  // In libpqxx 6.4 these derive from failure, not sql_error.
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) {
    return absl::UnavailableError(
        "database: the statement's outcome is unknown; retry with the same request_id");
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) {
    return absl::AbortedError("database: concurrent update, retry");
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    LogWarn("db.error").Str("sqlstate", state);
    if (state == "57014") return absl::DeadlineExceededError("database: statement timed out");
    if (state == "40001" || state == "40P01") {
      return absl::AbortedError("database: concurrent update, retry");
    }
    if (state == "23505") return absl::AlreadyExistsError("already exists");
    if (state == "57P01" || state == "57P02" || state == "57P03" || state.rfind("08", 0) == 0) {
      return absl::UnavailableError("database: unavailable");
    }
    // read_only_sql_transaction: the connection reached a standby, or a primary demoted after
    // a failover. Not this request's fault; the pool drops the connection (IsReadOnlyServer).
    if (state == kReadOnlySqlState) {
      return absl::UnavailableError("database: the server is read-only (a standby)");
    }
    return absl::InternalError(absl::StrCat("database: error ", state));
  }
  // The exception text can quote values: log only its kind.
  LogError("db.exception").Str("kind", typeid(e).name());
  return absl::InternalError("database: unexpected error");
}

absl::Status Db::Transact(const Body& body) {
  constexpr int kAttempts = 4;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto conn = Acquire();
    if (!conn.ok()) return conn.status();
    bool broken = false;
    bool retry = false;
    try {
      pqxx::work tx(**conn);
      last = body(tx);
      if (last.ok()) {
        tx.commit();
      } else {
        tx.abort();
      }
    } catch (const pqxx::in_doubt_error& e) {
      broken = true;
      last = FromException(e);
    } catch (const pqxx::broken_connection& e) {
      broken = true;
      retry = true;  // nothing was committed: run the body again on a fresh connection
      last = FromException(e);
    } catch (const std::exception& e) {
      last = FromException(e);
      // A read-only server will not take this write on any of its connections: drop them all
      // and run the body again (nothing was committed) on one that libpq finds read-write.
      broken = !(*conn)->is_open() || IsReadOnlyServer(e);
      retry = last.code() == absl::StatusCode::kAborted ||
              (broken && last.code() == absl::StatusCode::kUnavailable);
    }
    Release(std::move(*conn), broken);
    if (!retry) return last;
  }
  return last;
}

absl::Status Db::Autocommit(const AutocommitBody& body) {
  return WithConnection([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    return body(tx);
  });
}

absl::Status Db::WithConnection(const std::function<absl::Status(pqxx::connection&)>& body) {
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  absl::Status st;
  bool broken = false;
  try {
    st = body(**conn);
  } catch (const std::exception& e) {
    st = FromException(e);
    broken = !(*conn)->is_open() || st.code() == absl::StatusCode::kUnavailable;
  }
  Release(std::move(*conn), broken);
  return st;
}

void Db::ClosePingConnection() {
  if (ping_conn_ != nullptr) PQfinish(ping_conn_);
  ping_conn_ = nullptr;
}

absl::Status Db::ConnectPing(const std::string& url, absl::Time deadline) {
  ClosePingConnection();
  ping_conn_ = PQconnectStart(url.c_str());
  if (ping_conn_ == nullptr || PQstatus(ping_conn_) == CONNECTION_BAD) return PingDown();
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (polling != PGRES_POLLING_OK) {
    if (polling == PGRES_POLLING_FAILED) return PingDown();
    if (!WaitSocket(PQsocket(ping_conn_), polling == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                    deadline)) {
      return PingTimedOut();
    }
    polling = PQconnectPoll(ping_conn_);
  }
  if (PQsetnonblocking(ping_conn_, 1) != 0) return PingDown();
  const std::string settings = SessionSettings(options_, kPingTcpTimeout);
  return RunBounded(ping_conn_, settings.c_str(), deadline);
}

absl::Status Db::PingOnce(absl::Time deadline, bool fresh) {
  if (fresh) {
    absl::Status st = PingDown();
    for (const std::string& url :
         HostUrls(ConnectionUrl(options_, "wuye-health", kPingTcpTimeout))) {
      // Each host its own ping_timeout (within the whole ping's deadline).
      st = ConnectPing(url, std::min(deadline, absl::Now() + options_.ping_timeout));
      if (st.ok()) break;
    }
    if (!st.ok()) return st;
  }
  return RunBounded(ping_conn_, "SELECT 1", deadline);
}

absl::Status Db::Ping() {
  // Watched every half second by the service: one connection, kept, every wait bounded.
  std::lock_guard lock(ping_mu_);
  const absl::Time deadline =
      absl::Now() + options_.ping_timeout *
                        static_cast<int64_t>(HostUrls(options_.url).size());
  absl::Status st;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = ping_conn_ == nullptr || PQstatus(ping_conn_) != CONNECTION_OK;
    st = PingOnce(deadline, fresh);
    if (st.ok()) break;
    ClosePingConnection();
    // A kept connection that broke (a server restart) is retried once on a new one.
    if (fresh || absl::Now() >= deadline) break;
  }
  if (st.ok()) {
    pings_failed_in_a_row_ = 0;
    ping_failing_ = false;
  } else {
    Metrics::Global().Add("wuye_db_ping_failures_total");
    // Calls fail fast only after two pings in a row failed: one slow answer of a busy
    // server is not an outage.
    if (++pings_failed_in_a_row_ >= 2) {
      ping_failed_at_ms_ = SteadyMillis();
      ping_failing_ = true;
    }
  }
  return st;
}

std::string PgArray(absl::Span<const std::string> items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::vector<std::string> ParsePgArray(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  pqxx::array_parser parser = field.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

std::string ConnectionUrl(const DbOptions& options, absl::string_view application,
                          absl::Duration tcp_user_timeout) {
  std::string url = options.url;
  size_t query = url.find('?');
  auto given = [&](absl::string_view name) {
    if (query == std::string::npos) return false;
    for (absl::string_view param : absl::StrSplit(absl::string_view(url).substr(query + 1), '&')) {
      if (absl::StartsWith(param, absl::StrCat(name, "="))) return true;
    }
    return false;
  };
  std::vector<std::string> add;
  auto add_unless_given = [&](absl::string_view name, const std::string& value) {
    if (!given(name)) add.push_back(absl::StrCat(name, "=", value));
  };
  add_unless_given("connect_timeout", absl::StrCat(std::max<int64_t>(
                                          1, absl::ToInt64Seconds(options.connect_timeout))));
  add.push_back(absl::StrCat("application_name=", application));
  // Several hosts (a primary and its standbys, libpq's multi-host form): connect to the one
  // that takes writes, whichever it is now, so that a promoted standby is found without a
  // restart.
  size_t hosts_from = url.find("://");
  hosts_from = hosts_from == std::string::npos ? 0 : hosts_from + 3;
  absl::string_view hosts =
      absl::string_view(url).substr(hosts_from, url.find_first_of("/?", hosts_from) - hosts_from);
  if (absl::StrContains(hosts, ',')) add_unless_given("target_session_attrs", "read-write");
  add_unless_given("keepalives", "1");
  add_unless_given("keepalives_idle", absl::StrCat(std::max<int64_t>(
                                          1, absl::ToInt64Seconds(options.keepalives_idle))));
  add_unless_given(
      "keepalives_interval",
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(options.keepalives_interval))));
  add_unless_given("keepalives_count", absl::StrCat(std::max(1, options.keepalives_count)));
  if (tcp_user_timeout > absl::ZeroDuration()) {
    add_unless_given("tcp_user_timeout", absl::StrCat(absl::ToInt64Milliseconds(tcp_user_timeout)));
  }
  return absl::StrCat(url, query == std::string::npos ? "?" : "&", absl::StrJoin(add, "&"));
}

std::string SessionSettings(const DbOptions& options, absl::Duration tcp_user_timeout) {
  std::string sql =
      absl::StrCat("SET tcp_keepalives_idle = ",
                   std::max<int64_t>(1, absl::ToInt64Seconds(options.keepalives_idle)),
                   "; SET tcp_keepalives_interval = ",
                   std::max<int64_t>(1, absl::ToInt64Seconds(options.keepalives_interval)),
                   "; SET tcp_keepalives_count = ", std::max(1, options.keepalives_count),
                   "; SET idle_in_transaction_session_timeout = ",
                   absl::ToInt64Milliseconds(options.idle_in_transaction_timeout));
  if (tcp_user_timeout > absl::ZeroDuration()) {
    absl::StrAppend(&sql, "; SET tcp_user_timeout = ", absl::ToInt64Milliseconds(tcp_user_timeout));
  }
  return sql;
}

std::string WithDatabase(absl::string_view url, absl::string_view database) {
  size_t scheme = url.find("://");
  size_t start = scheme == absl::string_view::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', start);
  size_t query = url.find('?', start);
  absl::string_view host = url.substr(0, std::min(slash, query));
  absl::string_view rest = query == absl::string_view::npos ? "" : url.substr(query);
  return absl::StrCat(host, "/", database, rest);
}

}  // namespace wuye
