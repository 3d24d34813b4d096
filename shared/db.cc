#include "shared/db.h"

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

}  // namespace

Db::Db(DbOptions options) : options_(std::move(options)) {}
Db::~Db() = default;

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const DbOptions& options) {
  if (options.url.empty()) return absl::InvalidArgumentError("pg_url: required");
  if (options.pool_size < 1) return absl::InvalidArgumentError("pg_pool_size: must be >= 1");
  std::unique_ptr<Db> db(new Db(options));
  if (absl::Status st = db->Ping(); !st.ok()) return st;
  return db;
}

void Db::Prepare(std::string name, std::string sql) {
  std::lock_guard lock(mu_);
  for (const auto& [known, _] : statements_) {
    if (known == name) return;  // registered before: once is enough
  }
  statements_.emplace_back(std::move(name), std::move(sql));
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
  return conn;
}

void Db::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
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
      broken = !(*conn)->is_open();
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

absl::Status Db::Ping() {
  // Watched every half second: one connection, kept. A short tcp_user_timeout so that a
  // ping to a vanished server fails in seconds instead of hanging on the kept connection.
  constexpr absl::Duration kPingTcpTimeout = absl::Seconds(5);
  std::lock_guard lock(ping_mu_);
  absl::Status st;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = ping_conn_ == nullptr || !ping_conn_->is_open();
    try {
      if (fresh) {
        ping_conn_.reset();
        ping_conn_ = std::make_unique<pqxx::connection>(
            ConnectionUrl(options_, "wuye-health", kPingTcpTimeout));
        pqxx::nontransaction(*ping_conn_).exec(SessionSettings(options_, kPingTcpTimeout));
      }
      pqxx::nontransaction tx(*ping_conn_);
      tx.exec("SELECT 1");
      return absl::OkStatus();
    } catch (const std::exception& e) {
      st = FromException(e);
      ping_conn_.reset();
      // A kept connection that broke (a server restart) is retried once on a new one.
      if (fresh) return st;
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
