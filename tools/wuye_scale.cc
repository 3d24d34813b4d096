// wuye-scale: one cell at a large group's size (issue #26 §5, docs/scaling.md). It loads a
// group of --estates estates with --units_per_estate households each, a resident per
// household and --staff staff, then plays a month of traffic compressed: about
// --tickets_per_household tickets per household (repairs become work orders in dispatch
// over the bus, a share of those worked to completion), the month's billing run over every
// unit, a payment from most households, and elders enrolled and visited. Each phase is a
// closed loop of --concurrency callers; where a service runs two replicas (the addresses
// are comma lists), the first half of a phase calls replica one only and the second half
// both, so the two rates come from the same run and the same data.
//
// It prints, per phase: calls, the rate held, p50 / p99, the machine's CPU use and what the
// database's active sessions waited on (sampled every 200 ms), and from those what bounded
// the rate (CPU, locks, I/O, or the callers); then each service's database size per month
// of traffic (growth over the traffic phases, scaled to the whole month when a phase was cut
// short by --budget). The load generator runs on the same two cores: its share is in the
// CPU figure, and the figures are those of this machine, not of a production node.
//
//   wuye-scale --directory=h:p[,h:p] --intake=… --dispatch=… --billing=… --eldercare=…
//              --pg_url=postgresql://…/postgres --jwt_secret_file=… [--json_out=F]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/db.h"
#include "shared/id_number.h"
#include "shared/proto_time.h"
#include "shared/zone.h"
#include "tools/rpc_client.h"
#include "wuye/billing/v1/billing.grpc.pb.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"
#include "wuye/performance/v1/performance.grpc.pb.h"

ABSL_FLAG(std::string, directory, "127.0.0.1:50051", "directory replicas, host:port[,host:port]");
ABSL_FLAG(std::string, intake, "127.0.0.1:50052", "intake replicas");
ABSL_FLAG(std::string, dispatch, "127.0.0.1:50053", "dispatch replicas");
ABSL_FLAG(std::string, billing, "127.0.0.1:50054", "billing replicas");
ABSL_FLAG(std::string, eldercare, "127.0.0.1:50056", "eldercare replicas (empty: no elders)");
ABSL_FLAG(std::string, performance, "",
          "performance replicas (empty: no score sheets read)");
ABSL_FLAG(std::string, pg_url, "", "the cell's PostgreSQL, any database (sizes and waits)");
ABSL_FLAG(std::string, jwt_secret_file, ".local/jwt-secret", "the services' HS256 secret");
ABSL_FLAG(std::string, run, "", "names this run's request ids (default: the time)");
ABSL_FLAG(int, estates, 1000, "estates of the group");
ABSL_FLAG(int, units_per_estate, 300, "households per estate");
ABSL_FLAG(int, staff, 5000, "staff of the group (spread over the estates)");
ABSL_FLAG(double, tickets_per_household, 2.0, "tickets per household in the month");
ABSL_FLAG(double, orders_worked_share, 0.1,
          "share of the work orders worked to completion (six calls each)");
ABSL_FLAG(double, paying_share, 0.9, "share of households that pay the month's bill");
ABSL_FLAG(double, elder_share, 0.01, "share of households with an elder enrolled");
ABSL_FLAG(int, months, 1,
          "months of traffic played one after another (a later month's rates against the "
          "first's show whether a year of data costs more per call than a month)");
ABSL_FLAG(double, sheets_share, 1.0,
          "share of the staff whose score sheet is read each month (performance.GetSheet)");
ABSL_FLAG(int, statements_top, 8,
          "statements per database in the cost-per-call report (pg_stat_statements)");
ABSL_FLAG(std::string, statements_watch,
          "unit_balances,ledger_entries WHERE unit_id,AND origin = ,DELETE FROM wuye_,month_counts",
          "statements shown in the cost-per-call report whatever their rank: comma-separated "
          "pieces of their text");
ABSL_FLAG(int, concurrency, 32, "callers in each closed loop");
ABSL_FLAG(absl::Duration, budget, absl::Minutes(40),
          "the whole run; each traffic phase gets its share and stops there");
ABSL_FLAG(std::string, json_out, "", "write the figures here as JSON");

namespace {

namespace dir = ::wuye::directory::v1;
namespace itk = ::wuye::intake::v1;
namespace dsp = ::wuye::dispatch::v1;
namespace bil = ::wuye::billing::v1;
namespace eld = ::wuye::eldercare::v1;
namespace prf = ::wuye::performance::v1;
namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
using ::wuye::tools::Await;
using ::wuye::tools::Call;
using ::wuye::tools::Mint;
using ::wuye::tools::Replicas;

constexpr char kTool[] = "scale";
constexpr int64_t kAreaCentiM2 = 8850;  // every unit 88.50 m²
constexpr int64_t kFeeFenPerM2 = 150;   // 1.50 yuan per m² and month

void Say(const std::string& s) { std::cerr << "scale: " << s << std::endl; }
[[noreturn]] void Die(const std::string& s) { wuye::tools::Die(kTool, s); }
void Must(const grpc::Status& st, const std::string& what) {
  if (!st.ok()) Die(absl::StrCat(what, ": ", st.error_code(), " ", st.error_message()));
}

// ---- What the machine and the database did while a phase ran --------------------------

// Busy and total jiffies of all CPUs, from /proc/stat.
std::pair<uint64_t, uint64_t> CpuJiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  uint64_t busy = user + nice + system + irq + softirq + steal;
  return {busy, busy + idle + iowait};
}

// Samples, every 200 ms until stopped, what the database's active sessions wait on.
class Sampler {
 public:
  explicit Sampler(std::string pg_url) : pg_url_(std::move(pg_url)) {
    start_cpu_ = CpuJiffies();
    thread_ = std::thread([this] { Run(); });
  }
  ~Sampler() { Stop(); }
  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }
  double cpu_busy() const { return cpu_busy_; }
  // Share of active-session samples per wait kind: "CPU" (no wait), "Lock", "LWLock", "IO",
  // "Client", "IPC", …
  std::map<std::string, double> waits() const {
    std::map<std::string, double> out;
    int64_t total = 0;
    for (const auto& [kind, n] : waits_) total += n;
    for (const auto& [kind, n] : waits_) out[kind] = total == 0 ? 0 : double(n) / total;
    return out;
  }

 private:
  void Run() {
    std::unique_ptr<pqxx::connection> conn;
    try {
      conn = std::make_unique<pqxx::connection>(pg_url_);
    } catch (const std::exception&) {
    }
    while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
      if (conn == nullptr) continue;
      try {
        pqxx::nontransaction tx(*conn);
        for (const auto& row :
             tx.exec("SELECT COALESCE(wait_event_type, 'CPU'), count(*) FROM pg_stat_activity "
                     "WHERE state = 'active' AND backend_type = 'client backend' "
                     "AND pid <> pg_backend_pid() GROUP BY 1")) {
          waits_[row[0].as<std::string>()] += row[1].as<int64_t>();
        }
      } catch (const std::exception&) {
      }
    }
    auto end = CpuJiffies();
    uint64_t total = end.second - start_cpu_.second;
    cpu_busy_ = total == 0 ? 0 : double(end.first - start_cpu_.first) / total;
  }

  std::string pg_url_;
  std::pair<uint64_t, uint64_t> start_cpu_;
  std::map<std::string, int64_t> waits_;
  double cpu_busy_ = 0;
  absl::Notification stop_;
  std::thread thread_;
};

// What bounded a closed loop's rate: the CPUs when they were nearly all busy, else the
// database's dominant wait, else the callers (the loop's own concurrency).
std::string LimitOf(double cpu_busy, const std::map<std::string, double>& waits) {
  if (cpu_busy >= 0.9) return "CPU";
  auto share = [&](const char* kind) {
    auto it = waits.find(kind);
    return it == waits.end() ? 0.0 : it->second;
  };
  if (share("Lock") + share("LWLock") >= 0.3) return "locks";
  if (share("IO") >= 0.3) return "I/O";
  return "callers";
}

// ---- Closed loops --------------------------------------------------------------------

struct Phase {
  std::string name;
  int replicas = 1;
  int64_t asked = 0, ok = 0, failed = 0;
  double seconds = 0, rate = 0, p50_ms = 0, p99_ms = 0, cpu_busy = 0;
  std::map<std::string, double> waits;
  std::string limit;
  bool cut_short = false;
  std::string first_error;
};

// Runs call(i, replicas) for i in [from, to) with --concurrency callers until done or
// `deadline`; each call's latency counts when it succeeds.
Phase Loop(const std::string& name, int64_t from, int64_t to, int replicas, absl::Time deadline,
           const std::function<grpc::Status(int64_t i, int replicas)>& call) {
  Phase p;
  p.name = name;
  p.replicas = replicas;
  p.asked = to - from;
  std::atomic<int64_t> next{from}, ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(std::max<int64_t>(0, to - from)));
  Sampler sampler(absl::GetFlag(FLAGS_pg_url));
  const absl::Time start = absl::Now();
  std::vector<std::thread> callers;
  for (int c = 0; c < absl::GetFlag(FLAGS_concurrency); ++c) {
    callers.emplace_back([&] {
      std::vector<double> mine;
      for (int64_t i; (i = next.fetch_add(1)) < to;) {
        if (absl::Now() > deadline) break;
        absl::Time t0 = absl::Now();
        grpc::Status st = call(i, replicas);
        if (st.ok()) {
          ++ok;
          mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        } else {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          if (p.first_error.empty()) {
            p.first_error = absl::StrCat(st.error_code(), " ", st.error_message());
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      ms.insert(ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : callers) t.join();
  p.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  sampler.Stop();
  p.ok = ok;
  p.failed = failed;
  p.cut_short = p.ok + p.failed < p.asked;
  p.rate = p.seconds > 0 ? p.ok / p.seconds : 0;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  p.p50_ms = at(0.5);
  p.p99_ms = at(0.99);
  p.cpu_busy = sampler.cpu_busy();
  p.waits = sampler.waits();
  p.limit = LimitOf(p.cpu_busy, p.waits);
  Say(absl::StrFormat("%-28s r=%d %8lld ok %6lld failed %7.1f s %8.0f/s p99 %6.1f ms  %s",
                      name, replicas, static_cast<long long>(p.ok),
                      static_cast<long long>(p.failed), p.seconds, p.rate, p.p99_ms, p.limit));
  if (!p.first_error.empty()) Say("  first failure: " + p.first_error);
  return p;
}

// A phase of `n` calls: the first half on one replica, the second on all (when there are
// two); one phase only when the service has one replica.
std::vector<Phase> Halves(const std::string& name, int64_t n, size_t replicas, absl::Time deadline,
                          const std::function<grpc::Status(int64_t, int)>& call) {
  if (replicas < 2) return {Loop(name, 0, n, 1, deadline, call)};
  absl::Time mid = absl::Now() + (deadline - absl::Now()) / 2;
  std::vector<Phase> out;
  out.push_back(Loop(name, 0, n / 2, 1, mid, call));
  out.push_back(Loop(name, n / 2, n, static_cast<int>(replicas), deadline, call));
  return out;
}

// ---- The database ----------------------------------------------------------------------

std::map<std::string, int64_t> DatabaseSizes(const std::string& pg_url) {
  std::map<std::string, int64_t> out;
  try {
    pqxx::connection conn(pg_url);
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec("SELECT datname, pg_database_size(datname) FROM pg_database "
                                   "WHERE datname LIKE 'wuye\\_%'")) {
      out[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
  } catch (const std::exception& e) {
    Say(absl::StrCat("database sizes: ", e.what()));
  }
  return out;
}

int64_t CountIn(const std::string& pg_url, const std::string& db, const std::string& sql,
                const std::string& group) {
  try {
    pqxx::connection conn(wuye::WithDatabase(pg_url, db));
    pqxx::nontransaction tx(conn);
    return tx.exec_params1("/* wuye-scale */ " + sql, group)[0].as<int64_t>(0);
  } catch (const std::exception&) {
    return -1;
  }
}

// ---- What each statement costs per call (pg_stat_statements) ---------------------------
//
// Timings on a shared machine say little; the buffers a statement touches per call say
// exactly how much of the table it reads. The first month's figures against the last
// month's show which statements read more as history accumulates (issue 26 §5: a year of
// data should cost per call what a month does). Needs the cell's PostgreSQL started with
// shared_preload_libraries = pg_stat_statements (scripts/scale.sh: WUYE_PG_STAT_STATEMENTS).

struct StatementCost {
  std::string db, query;
  int64_t calls = 0;
  double blocks = 0;  // shared_blks_hit + shared_blks_read, all calls
  double rows = 0;
  double BlocksPerCall() const { return calls > 0 ? blocks / calls : 0; }
  double RowsPerCall() const { return calls > 0 ? rows / calls : 0; }
};
using StatementCosts = std::map<std::pair<std::string, int64_t>, StatementCost>;  // db, queryid

// The extension in every service database (and postgres, where it is read); false when the
// server was not started with the library.
bool EnableStatements(const std::string& pg_url) {
  try {
    std::vector<std::string> dbs{"postgres"};
    {
      pqxx::connection conn(pg_url);
      pqxx::nontransaction tx(conn);
      for (const auto& row :
           tx.exec("SELECT datname FROM pg_database WHERE datname LIKE 'wuye\\_%'")) {
        dbs.push_back(row[0].as<std::string>());
      }
    }
    for (const auto& db : dbs) {
      pqxx::connection conn(wuye::WithDatabase(pg_url, db));
      pqxx::nontransaction tx(conn);
      tx.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      tx.exec("SELECT count(*) FROM pg_stat_statements");  // fails when not preloaded
    }
    return true;
  } catch (const std::exception& e) {
    Say(absl::StrCat("no cost per call (pg_stat_statements): ", e.what()));
    return false;
  }
}

void ResetStatements(const std::string& pg_url) {
  try {
    pqxx::connection conn(pg_url);
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_stat_statements_reset()");
  } catch (const std::exception& e) {
    Say(absl::StrCat("pg_stat_statements_reset: ", e.what()));
  }
}

// Every service database's statements since the last reset, the tool's own left out (they
// carry the comment /* wuye-scale */).
StatementCosts ReadStatements(const std::string& pg_url) {
  StatementCosts out;
  try {
    pqxx::connection conn(pg_url);
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec(
             "SELECT d.datname, s.queryid, min(s.query), sum(s.calls)::bigint, "
             "sum(s.shared_blks_hit + s.shared_blks_read)::float8, sum(s.rows)::float8 "
             "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
             "WHERE d.datname LIKE 'wuye\\_%' AND s.toplevel AND s.queryid IS NOT NULL "
             "AND s.query NOT LIKE '%wuye-scale%' GROUP BY 1, 2")) {
      StatementCost c;
      c.db = row[0].as<std::string>();
      c.query = row[2].as<std::string>();
      c.calls = row[3].as<int64_t>();
      c.blocks = row[4].as<double>();
      c.rows = row[5].as<double>();
      out[{c.db, row[1].as<int64_t>()}] = std::move(c);
    }
  } catch (const std::exception& e) {
    Say(absl::StrCat("pg_stat_statements: ", e.what()));
  }
  return out;
}

// A statement's text on one line, at most `width` characters.
std::string OneLine(const std::string& sql, size_t width) {
  std::string out;
  for (char ch : sql) {
    if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
    if (ch == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(ch);
  }
  if (out.size() > width) out = out.substr(0, width - 3) + "...";
  return out;
}

// The report: per database, the statements that touch the most buffers per call in the last
// month, with the first month's figure and the ratio; then every statement whose buffers per
// call grew by half or more (the ones to fix). FIGURE lines for the lead, JSON for the file.
std::string ReportStatements(const StatementCosts& first, const StatementCosts& last, int months) {
  // A timer's sweep runs a few times a compressed month: two calls are enough to compare.
  constexpr int64_t kMinCalls = 2;
  constexpr double kGrowth = 1.5;   // "grows with history"
  constexpr double kMinBlocks = 4;  // less is an index lookup and its heap page
  const int top = std::max(1, absl::GetFlag(FLAGS_statements_top));
  struct Row {
    std::string db;
    int64_t queryid;
    const StatementCost* a;
    const StatementCost* b;
    double ratio;
  };
  const std::vector<std::string> watch =
      absl::StrSplit(absl::GetFlag(FLAGS_statements_watch), ',', absl::SkipEmpty());
  auto watched = [&](const std::string& sql) {
    return std::any_of(watch.begin(), watch.end(),
                       [&](const std::string& w) { return absl::StrContains(sql, w); });
  };
  std::map<std::string, std::vector<Row>> by_db;
  for (const auto& [key, b] : last) {
    auto it = first.find(key);
    if (it == first.end() || b.calls < kMinCalls || it->second.calls < kMinCalls) continue;
    const StatementCost& a = it->second;
    const double ratio =
        a.BlocksPerCall() > 0 ? b.BlocksPerCall() / a.BlocksPerCall() : b.BlocksPerCall() > 0;
    by_db[key.first].push_back({key.first, key.second, &a, &b, ratio});
  }
  std::printf("\n  cost per call (pg_stat_statements): buffers touched (shared hit + read) and rows "
              "per call,\n  month 1 against month %d (ratio 1.00: a statement reads as much with %d "
              "months of history as with one)\n", months, months);
  std::printf("  %-18s %7s %9s %7s %9s %7s %6s %6s  %s\n", "database", "calls1", "blk/call1",
              "callsN", "blk/callN", "ratio", "rows1", "rowsN", "statement");
  std::ostringstream json;
  std::vector<Row> growing;
  for (auto& [db, rows] : by_db) {
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
      return x.b->BlocksPerCall() > y.b->BlocksPerCall();
    });
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      const bool grows = r.ratio >= kGrowth && r.b->BlocksPerCall() >= kMinBlocks;
      if (grows) growing.push_back(r);
      if (static_cast<int>(i) >= top && !grows && !watched(r.b->query)) continue;
      std::printf("  %-18s %7lld %9.1f %7lld %9.1f %6.2f%s %6.1f %6.1f  %s\n", db.c_str(),
                  static_cast<long long>(r.a->calls), r.a->BlocksPerCall(),
                  static_cast<long long>(r.b->calls), r.b->BlocksPerCall(), r.ratio,
                  grows ? "!" : " ", r.a->RowsPerCall(), r.b->RowsPerCall(),
                  OneLine(r.b->query, 110).c_str());
      std::printf("FIGURE scale.per_call db=%s queryid=%lld months=%d calls_m1=%lld "
                  "blocks_per_call_m1=%.1f calls_mN=%lld blocks_per_call_mN=%.1f ratio=%.2f "
                  "rows_per_call_m1=%.1f rows_per_call_mN=%.1f grows=%d sql=\"%s\"\n",
                  db.c_str(), static_cast<long long>(r.queryid), months,
                  static_cast<long long>(r.a->calls), r.a->BlocksPerCall(),
                  static_cast<long long>(r.b->calls), r.b->BlocksPerCall(), r.ratio,
                  r.a->RowsPerCall(), r.b->RowsPerCall(), grows ? 1 : 0,
                  absl::StrReplaceAll(OneLine(r.b->query, 160), {{"\"", "'"}}).c_str());
      json << (json.tellp() > 0 ? ", " : "")
           << absl::StrFormat(
                  "{\"db\": \"%s\", \"queryid\": %d, \"calls_m1\": %d, \"blocks_per_call_m1\": "
                  "%.2f, \"calls_mN\": %d, \"blocks_per_call_mN\": %.2f, \"ratio\": %.3f, "
                  "\"grows\": %s}",
                  db, r.queryid, r.a->calls, r.a->BlocksPerCall(), r.b->calls,
                  r.b->BlocksPerCall(), r.ratio, grows ? "true" : "false");
    }
  }
  std::printf("FIGURE scale.per_call_growing months=%d statements=%zu\n", months, growing.size());
  if (!growing.empty()) {
    std::printf("\n  growing with history (ratio >= %.1f and >= %.0f buffers a call): %zu\n",
                kGrowth, kMinBlocks, growing.size());
    for (const Row& r : growing) {
      std::printf("    %-18s %6.1f -> %7.1f  %s\n", r.db.c_str(), r.a->BlocksPerCall(),
                  r.b->BlocksPerCall(), OneLine(r.b->query, 200).c_str());
    }
  }
  return json.str();
}

// ---- The cell --------------------------------------------------------------------------

struct Cell {
  Replicas<dir::DirectoryService> directory;
  Replicas<itk::IntakeService> intake;
  Replicas<dsp::DispatchService> dispatch;
  Replicas<bil::BillingService> billing;
  Replicas<eld::ElderCareService> eldercare;
  Replicas<prf::PerformanceService> performance;
  std::string group_id;
  std::vector<std::string> estates;
  std::vector<std::string> units;      // estate e's units at [e * per, (e + 1) * per)
  std::vector<std::string> residents;  // of units[i]
  std::vector<std::string> staff;      // ids, as made
  std::string admin, agent, supervisor, clerk, care, manager;
};

// Eighteen characters that pass GB 11643: born 1940–1959, distinct for every `i` below
// 6 720 000 (20 years × 12 months × 28 days × 1 000 sequence numbers). Each part comes from
// its own digits of `i`: taken modulo together, households a hundred apart shared one
// number after 210 of them.
std::string ElderIdNumber(int64_t i) {
  const int seq = static_cast<int>(i % 1000), day = static_cast<int>(i / 1000 % 28),
            month = static_cast<int>(i / 28000 % 12), year = static_cast<int>(i / 336000 % 20);
  std::string body =
      absl::StrFormat("310104%04d%02d%02d%03d", 1940 + year, 1 + month, 1 + day, seq);
  return body + wuye::IdCheckCharacter(body);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("wuye-scale: one cell at a large group's size, measured");
  absl::ParseCommandLine(argc, argv);
  const std::string secret =
      wuye::tools::ReadJwtSecret(kTool, absl::GetFlag(FLAGS_jwt_secret_file));
  const std::string pg_url = absl::GetFlag(FLAGS_pg_url);
  if (pg_url.empty()) Die("--pg_url is required");
  std::string run = absl::GetFlag(FLAGS_run);
  if (run.empty()) run = absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone());
  const int estates = absl::GetFlag(FLAGS_estates);
  const int per = absl::GetFlag(FLAGS_units_per_estate);
  if (estates < 1 || per < 1 || per > 200000) Die("--estates and --units_per_estate must be > 0");
  const int64_t households = int64_t{estates} * per;
  const absl::Time run_start = absl::Now();
  const absl::Duration budget = absl::GetFlag(FLAGS_budget);
  const absl::Duration call_budget = absl::Seconds(60);

  Cell cell{Replicas<dir::DirectoryService>(absl::GetFlag(FLAGS_directory)),
            Replicas<itk::IntakeService>(absl::GetFlag(FLAGS_intake)),
            Replicas<dsp::DispatchService>(absl::GetFlag(FLAGS_dispatch)),
            Replicas<bil::BillingService>(absl::GetFlag(FLAGS_billing)),
            Replicas<eld::ElderCareService>(absl::GetFlag(FLAGS_eldercare)),
            Replicas<prf::PerformanceService>(absl::GetFlag(FLAGS_performance))};
  if (cell.directory.empty() || cell.intake.empty() || cell.dispatch.empty() ||
      cell.billing.empty()) {
    Die("--directory, --intake, --dispatch and --billing are required");
  }
  std::vector<Phase> phases;
  auto keep = [&](std::vector<Phase> more) {
    for (auto& p : more) phases.push_back(std::move(p));
  };

  // ---- Load: the group, its estates, units, residents and staff ----
  Say(absl::StrCat("loading ", estates, " estates, ", households, " households, ",
                   absl::GetFlag(FLAGS_staff), " staff"));
  const std::string platform = Mint(secret, "", "wuye-scale", wuye::roles::kPlatformAdmin);
  {
    dir::CreateGroupRequest req;
    req.set_request_id("scale-group-" + run);
    req.mutable_group()->set_name("Scale group " + run);
    dir::Group group;
    Must(Call(
             platform, [&](auto* c) { return cell.directory.Pick(0)->CreateGroup(c, req, &group); },
             call_budget),
         "CreateGroup");
    cell.group_id = group.id();
  }
  cell.admin = Mint(secret, cell.group_id, "scale-admin", wuye::roles::kGroupAdmin);
  cell.agent = Mint(secret, cell.group_id, "scale-agent", wuye::roles::kAgent);
  cell.supervisor = Mint(secret, cell.group_id, "scale-supervisor", wuye::roles::kSupervisor);
  cell.clerk = Mint(secret, cell.group_id, "scale-clerk", wuye::roles::kFinanceClerk);
  cell.care = Mint(secret, cell.group_id, "scale-care", wuye::roles::kCareWorker);
  cell.manager = Mint(secret, cell.group_id, "scale-manager", wuye::roles::kEstateManager);
  const absl::Time load_deadline = absl::InfiniteFuture();
  cell.estates.resize(estates);
  keep({Loop("directory.CreateEstate", 0, estates, 1, load_deadline, [&](int64_t e, int) {
    dir::CreateEstateRequest req;
    req.set_request_id(absl::StrCat("scale-estate-", run, "-", e));
    req.mutable_estate()->set_name(absl::StrCat("Estate ", e + 1));
    req.mutable_estate()->set_time_zone("Asia/Shanghai");
    req.mutable_estate()->set_management_fee_fen_per_m2(kFeeFenPerM2);
    req.mutable_estate()->set_household_count(per);
    dir::Estate made;
    grpc::Status st = Call(
        cell.admin, [&](auto* c) { return cell.directory.Pick(e)->CreateEstate(c, req, &made); },
        call_budget);
    cell.estates[e] = made.id();
    return st;
  })});
  cell.units.resize(households);
  keep({Loop("directory.ImportUnits", 0, estates, 1, load_deadline, [&](int64_t e, int) {
    dir::ImportUnitsRequest req;
    req.set_request_id(absl::StrCat("scale-units-", run, "-", e));
    req.set_estate_id(cell.estates[e]);
    for (int i = 0; i < per; ++i) {
      dir::ImportedUnit* u = req.add_units();
      u->set_building_name(absl::StrCat(i / 100 + 1, "栋"));
      u->set_number(absl::StrFormat("%d%02d", i % 100 / 4 + 1, i % 4 + 1));
      u->set_building_area_m2(absl::StrFormat("%d.%02d", kAreaCentiM2 / 100, kAreaCentiM2 % 100));
      u->set_occupancy(dir::OCCUPANCY_SELF_OCCUPIED);
      u->set_handed_over(true);
      u->set_floor(i % 100 / 4 + 1);
    }
    dir::ImportUnitsResponse resp;
    grpc::Status st = Call(
        cell.admin, [&](auto* c) { return cell.directory.Pick(e)->ImportUnits(c, req, &resp); },
        call_budget);
    if (!st.ok()) return st;
    dir::ListUnitsRequest list;
    list.set_estate_id(cell.estates[e]);
    list.set_page_size(1000);
    int64_t k = int64_t{e} * per;
    do {
      dir::ListUnitsResponse page;
      st = Call(
          cell.admin, [&](auto* c) { return cell.directory.Pick(e)->ListUnits(c, list, &page); },
          call_budget);
      if (!st.ok()) return st;
      for (const auto& u : page.units()) {
        if (k < int64_t{e + 1} * per) cell.units[k++] = u.id();
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
    return st;
  })});
  const int staff = absl::GetFlag(FLAGS_staff);
  const absl::Time now = absl::Now();
  cell.staff.resize(staff);
  keep(Halves("directory.CreateStaff", staff, cell.directory.size(), load_deadline,
              [&](int64_t t, int use) {
                dir::CreateStaffRequest req;
                req.set_request_id(absl::StrCat("scale-staff-", run, "-", t));
                dir::Staff* st = req.mutable_staff();
                st->set_name(absl::StrCat("Staff ", t + 1));
                // Per estate: technicians (plumbing, electrical) first, then agents.
                if (t % 5 < 3) {
                  st->add_roles(dir::STAFF_ROLE_TECHNICIAN);
                  st->add_skills(dir::SKILL_PLUMBING);
                  st->add_skills(dir::SKILL_ELECTRICAL);
                } else {
                  st->add_roles(dir::STAFF_ROLE_AGENT);
                }
                st->add_home_estate_ids(cell.estates[t % estates]);
                st->mutable_start_date()->set_year(2020);
                st->mutable_start_date()->set_month(1);
                st->mutable_start_date()->set_day(1);
                dir::Staff made;
                grpc::Status s = Call(
                    cell.admin,
                    [&](auto* c) { return cell.directory.Pick(t, use)->CreateStaff(c, req, &made); },
                    call_budget);
                cell.staff[t] = made.id();
                if (!s.ok() || t % 5 >= 3) return s;
                // The technicians on shift for the whole run (dispatch assigns on shift only).
                dir::CreateShiftRequest shift;
                shift.set_request_id(absl::StrCat("scale-shift-", run, "-", t));
                shift.mutable_shift()->set_estate_id(cell.estates[t % estates]);
                shift.mutable_shift()->set_staff_id(made.id());
                *shift.mutable_shift()->mutable_start_time() =
                    wuye::ToProtoTime(now - absl::Minutes(5));
                *shift.mutable_shift()->mutable_end_time() = wuye::ToProtoTime(now + absl::Hours(12));
                dir::Shift made_shift;
                return Call(
                    cell.admin,
                    [&](auto* c) {
                      return cell.directory.Pick(t, use)->CreateShift(c, shift, &made_shift);
                    },
                    call_budget);
              }));
  cell.residents.resize(households);
  keep(Halves("directory.CreateResident", households, cell.directory.size(), load_deadline,
              [&](int64_t i, int use) {
                dir::CreateResidentRequest req;
                req.set_request_id(absl::StrCat("scale-resident-", run, "-", i));
                req.mutable_resident()->set_unit_id(cell.units[i]);
                req.mutable_resident()->set_name(absl::StrCat("Resident ", i + 1));
                req.mutable_resident()->set_role(dir::RESIDENT_ROLE_OWNER);
                // The birth date the elder's ID number carries (eldercare checks the two).
                const absl::CivilDay born = wuye::IdBirthDate(ElderIdNumber(i));
                req.mutable_resident()->mutable_date_of_birth()->set_year(
                    static_cast<int32_t>(born.year()));
                req.mutable_resident()->mutable_date_of_birth()->set_month(born.month());
                req.mutable_resident()->mutable_date_of_birth()->set_day(born.day());
                dir::Resident made;
                grpc::Status st = Call(
                    cell.admin,
                    [&](auto* c) {
                      return cell.directory.Pick(i, use)->CreateResident(c, req, &made);
                    },
                    call_budget);
                cell.residents[i] = made.id();
                return st;
              }));
  // Intake and dispatch learn the estates, units and residents from the directory's
  // events: wait until they know them all.
  {
    bool known = Await(
        [&] {
          return CountIn(pg_url, "wuye_intake", "SELECT count(*) FROM estates WHERE group_id = $1",
                         cell.group_id) >= estates &&
                 CountIn(pg_url, "wuye_dispatch",
                         "SELECT count(*) FROM dir_residents WHERE group_id = $1",
                         cell.group_id) >= households;
        },
        absl::Minutes(10));
    if (!known) Say("intake or dispatch has not heard of the whole group after 10 minutes");
  }
  const auto sizes_before = DatabaseSizes(pg_url);
  const absl::Time traffic_start = absl::Now();
  const absl::Duration traffic_budget = std::max(absl::Minutes(1), budget - (traffic_start - run_start));
  Say(absl::StrCat("loaded in ", absl::FormatDuration(traffic_start - run_start),
                   "; a month of traffic within ", absl::FormatDuration(traffic_budget)));

  const int months = std::max(1, absl::GetFlag(FLAGS_months));
  const int64_t tickets =
      static_cast<int64_t>(households * absl::GetFlag(FLAGS_tickets_per_household));
  int64_t tickets_made = 0, orders_before = 0;
  const absl::CivilMonth this_month(absl::ToCivilMonth(absl::Now(), absl::UTCTimeZone()));
  // Cost per call: the statements of month 1, and of the last month, each from a reset.
  const bool statements = EnableStatements(pg_url);
  StatementCosts first_month, last_month;
  for (int m = 0; m < months; ++m) {
  if (statements && (m == 0 || m == months - 1)) ResetStatements(pg_url);
  // Month m of `months`, its billing period counted back from this month; each phase's name
  // carries the month when there are several.
  const absl::Duration month_budget = traffic_budget / months;
  const std::string mo = months > 1 ? absl::StrCat(" m", m + 1) : "";
  const std::string mrun = absl::StrCat(run, "-m", m);
  // ---- Tickets: repairs (a work order each), consultations answered at once, complaints ----
  std::vector<std::string> ticket_ids(tickets);
  auto ticket_deadline = absl::Now() + month_budget * 0.4;
  keep(Halves("intake.CreateTicket" + mo, tickets, cell.intake.size(), ticket_deadline,
              [&](int64_t i, int use) {
                const int64_t h = i % households;
                itk::CreateTicketRequest req;
                req.set_request_id(absl::StrCat("scale-ticket-", mrun, "-", i));
                itk::Ticket* t = req.mutable_ticket();
                t->set_estate_id(cell.estates[h / per]);
                t->mutable_location()->set_unit_id(cell.units[h]);
                t->set_resident_id(cell.residents[h]);
                t->set_channel(i % 3 == 0 ? common::CHANNEL_HOTLINE : common::CHANNEL_APP);
                switch (i % 10) {
                  case 0: case 1: case 2: case 3: case 4:
                    t->set_kind(common::TICKET_KIND_REPAIR_UNIT);
                    t->set_category(i % 2 ? common::WORK_CATEGORY_PLUMBING
                                          : common::WORK_CATEGORY_ELECTRICAL);
                    t->set_priority(common::PRIORITY_SMALL);
                    t->set_summary("Tap dripping in the kitchen");
                    break;
                  case 5: case 6: case 7:
                    t->set_kind(common::TICKET_KIND_CONSULTATION);
                    t->set_summary("When is the water cut next week?");
                    req.set_answer("Tuesday 09:00–12:00, notice posted in the lobby");
                    break;
                  default:
                    t->set_kind(common::TICKET_KIND_COMPLAINT);
                    t->set_summary("Noise from the renovation next door after 18:00");
                    break;
                }
                itk::Ticket made;
                grpc::Status st = Call(
                    cell.agent,
                    [&](auto* c) { return cell.intake.Pick(i, use)->CreateTicket(c, req, &made); },
                    call_budget);
                ticket_ids[i] = made.id();
                return st;
              }));
  for (const auto& id : ticket_ids) tickets_made += !id.empty();

  // ---- Callbacks: the complaints resolved with their result, then called back (回访) ----
  std::vector<int64_t> complaints;
  for (int64_t i = 0; i < tickets; ++i) {
    if (i % 10 >= 8 && !ticket_ids[i].empty()) complaints.push_back(i);
  }
  keep(Halves("intake: complaint called back" + mo, static_cast<int64_t>(complaints.size()),
              cell.intake.size(), absl::Now() + month_budget * 0.1, [&](int64_t k, int use) {
                const std::string& id = ticket_ids[complaints[k]];
                auto* in = cell.intake.Pick(k, use);
                itk::ResolveTicketRequest resolve;
                resolve.set_request_id(absl::StrCat("scale-resolve-", mrun, "-", k));
                resolve.set_id(id);
                resolve.set_result("Spoke with the neighbour; works end by 18:00 from now on");
                itk::Ticket t;
                grpc::Status st = Call(
                    cell.supervisor, [&](auto* c) { return in->ResolveTicket(c, resolve, &t); },
                    call_budget);
                if (!st.ok() || t.state() != ev::TICKET_STATE_CALLBACK_DUE) return st;
                itk::RecordCallbackRequest req;
                req.set_request_id(absl::StrCat("scale-callback-", mrun, "-", k));
                req.mutable_callback()->set_ticket_id(id);
                req.mutable_callback()->set_satisfaction(k % 7 == 0
                                                             ? common::SATISFACTION_NEUTRAL
                                                             : common::SATISFACTION_SATISFIED);
                itk::Callback cb;
                return Call(
                    cell.supervisor, [&](auto* c) { return in->RecordCallback(c, req, &cb); },
                    call_budget);
              }));

  // ---- Dispatch: the orders its consumer makes of the repairs, then a share worked ----
  int64_t repairs = 0;
  for (int64_t i = 0; i < tickets; ++i) repairs += i % 10 < 5 && !ticket_ids[i].empty();
  const int64_t repairs_so_far = orders_before;
  {
    Sampler sampler(pg_url);
    const absl::Time t0 = absl::Now();
    int64_t orders = 0;
    Await(
        [&] {
          orders = CountIn(pg_url, "wuye_dispatch",
                           "SELECT count(*) FROM work_orders WHERE group_id = $1 AND origin = 2",
                           cell.group_id);
          return orders >= repairs_so_far + repairs;
        },
        std::max(absl::Minutes(1), month_budget * 0.1));
    sampler.Stop();
    Phase p;
    p.name = "dispatch: orders from events" + mo;
    p.asked = repairs;
    p.ok = orders - repairs_so_far;
    orders_before = orders;
    p.seconds = absl::ToDoubleSeconds(absl::Now() - t0);  // the drain after the last ticket
    // The consumer's pace: orders over the time between the first and the last one made.
    const int64_t spread_ms = CountIn(
        pg_url, "wuye_dispatch",
        "SELECT COALESCE(extract(epoch FROM max(created_at) - min(created_at)) * 1000, 0)::bigint "
        "FROM (SELECT created_at FROM work_orders WHERE group_id = $1 AND origin = 2 "
        "ORDER BY created_at DESC LIMIT " + std::to_string(std::max<int64_t>(1, p.ok)) + ") o",
        cell.group_id);
    p.rate = spread_ms > 0 ? p.ok * 1000.0 / spread_ms : 0;
    p.cpu_busy = sampler.cpu_busy();
    p.waits = sampler.waits();
    p.limit = "the tickets' pace";
    p.cut_short = p.ok < repairs;
    Say(absl::StrFormat("%-28s %lld of %lld orders, the last %.1f s after the last ticket", p.name,
                        static_cast<long long>(p.ok), static_cast<long long>(repairs),
                        p.seconds));
    phases.push_back(p);
  }
  // The orders worked: a share of those dispatch has assigned (an order waits while its
  // estate's technicians are all busy: a month's repairs arrive here within minutes).
  std::vector<std::pair<std::string, std::string>> worked;  // order, its worker
  try {
    pqxx::connection conn(wuye::WithDatabase(pg_url, "wuye_dispatch"));
    pqxx::nontransaction tx(conn);
    const int64_t want = static_cast<int64_t>(
        repairs * std::clamp(absl::GetFlag(FLAGS_orders_worked_share), 0.0, 1.0));
    for (const auto& row : tx.exec_params(
             "/* wuye-scale */ SELECT id::text, worker_ids[1]::text FROM work_orders "
             "WHERE group_id = $1 "
             "AND origin = 2 AND state = 2 ORDER BY id LIMIT $2",
             cell.group_id, want)) {
      worked.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    }
  } catch (const std::exception& e) {
    Say(absl::StrCat("the assigned orders could not be read: ", e.what()));
  }
  keep(Halves("dispatch: an order worked" + mo, static_cast<int64_t>(worked.size()),
              cell.dispatch.size(), absl::Now() + month_budget * 0.4, [&](int64_t k, int use) {
                const auto& [order_id, worker] = worked[k];
                const std::string rid = absl::StrCat("scale-order-", mrun, "-", order_id, "-");
                auto* d = cell.dispatch.Pick(k, use);
                dsp::WorkOrder out;
                auto step = [&](auto&& rpc) {
                  return Call(cell.supervisor, [&](auto* c) { return rpc(c); }, call_budget);
                };
                grpc::Status st = step([&](auto* c) {
                  dsp::AcceptWorkOrderRequest req;
                  req.set_request_id(rid + "accept");
                  req.set_id(order_id);
                  req.set_staff_id(worker);
                  return d->AcceptWorkOrder(c, req, &out);
                });
                for (auto [name, progress] :
                     {std::pair{"en-route", dsp::PROGRESS_STEP_EN_ROUTE},
                      std::pair{"on-site", dsp::PROGRESS_STEP_ON_SITE},
                      std::pair{"done", dsp::PROGRESS_STEP_WORK_DONE}}) {
                  if (!st.ok()) return st;
                  st = step([&](auto* c) {
                    dsp::RecordProgressRequest req;
                    req.set_request_id(rid + name);
                    req.set_id(order_id);
                    req.set_step(progress);
                    req.set_staff_id(worker);
                    return d->RecordProgress(c, req, &out);
                  });
                }
                if (!st.ok()) return st;
                st = step([&](auto* c) {
                  dsp::SignWorkOrderRequest req;
                  req.set_request_id(rid + "sign");
                  req.set_id(order_id);
                  req.mutable_signature()->set_resident_name("Resident");
                  req.mutable_signature()->set_method(dsp::SIGN_METHOD_DEVICE);
                  return d->SignWorkOrder(c, req, &out);
                });
                if (!st.ok()) return st;
                return step([&](auto* c) {
                  dsp::CompleteWorkOrderRequest req;
                  req.set_request_id(rid + "complete");
                  req.set_id(order_id);
                  return d->CompleteWorkOrder(c, req, &out);
                });
              }));

  // ---- Billing: the month's run over every unit, then the payments ----
  {
    const absl::CivilMonth month = this_month - (months - 1 - m);
    bil::StartBillingRunRequest req;
    req.set_request_id("scale-run-" + mrun);
    req.mutable_period()->set_year(static_cast<int32_t>(month.year()));
    req.mutable_period()->set_month(month.month());
    bil::BillingRun billing_run;
    Sampler sampler(pg_url);
    const absl::Time t0 = absl::Now();
    Must(Call(
             cell.clerk,
             [&](auto* c) { return cell.billing.Pick(0)->StartBillingRun(c, req, &billing_run); },
             call_budget),
         "StartBillingRun");
    Await(
        [&] {
          bil::GetBillingRunRequest get;
          get.set_id(billing_run.id());
          return Call(
                     cell.clerk,
                     [&](auto* c) { return cell.billing.Pick(0)->GetBillingRun(c, get, &billing_run); },
                     call_budget)
                     .ok() &&
                 billing_run.state() == bil::RUN_STATE_DONE;
        },
        std::max(absl::Minutes(2), month_budget * 0.15));
    sampler.Stop();
    Phase p;
    p.name = "billing: the month's run" + mo;
    p.asked = households;
    p.ok = billing_run.bills_issued();
    p.seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    p.rate = p.seconds > 0 ? p.ok / p.seconds : 0;
    p.cpu_busy = sampler.cpu_busy();
    p.waits = sampler.waits();
    p.limit = LimitOf(p.cpu_busy, p.waits);
    p.cut_short = billing_run.state() != bil::RUN_STATE_DONE;
    Say(absl::StrFormat("%-28s %lld bills in %.1f s (%.0f/s)", p.name,
                        static_cast<long long>(p.ok), p.seconds, p.rate));
    phases.push_back(p);
  }
  const int64_t payers =
      static_cast<int64_t>(households * std::clamp(absl::GetFlag(FLAGS_paying_share), 0.0, 1.0));
  const int64_t fee_fen = kAreaCentiM2 * kFeeFenPerM2 / 100;
  keep(Halves("billing.RecordPayment" + mo, payers, cell.billing.size(),
              absl::Now() + month_budget * 0.2, [&](int64_t i, int use) {
                // Every payer at its own unit, spread over the estates.
                const int64_t h = i * households / std::max<int64_t>(1, payers);
                bil::RecordPaymentRequest req;
                req.set_request_id(absl::StrCat("scale-pay-", mrun, "-", h));
                bil::Payment* p = req.mutable_payment();
                p->set_unit_id(cell.units[h]);
                // A household in ten pays a quarter ahead: the rest is its credit (预交), and
                // every household then looks at its account, as the app shows it after paying.
                p->set_amount_fen(h % 10 == 0 ? 3 * fee_fen : fee_fen);
                p->set_method(i % 2 ? bil::PAYMENT_METHOD_WECHAT_PAY : bil::PAYMENT_METHOD_ALIPAY);
                p->set_external_txn_no(absl::StrCat("scale-", mrun, "-", h));
                bil::Payment out;
                grpc::Status st = Call(
                    cell.clerk,
                    [&](auto* c) { return cell.billing.Pick(i, use)->RecordPayment(c, req, &out); },
                    call_budget);
                if (!st.ok()) return st;
                bil::GetUnitAccountRequest get;
                get.set_unit_id(cell.units[h]);
                bil::UnitAccount account;
                return Call(
                    cell.clerk,
                    [&](auto* c) {
                      return cell.billing.Pick(i, use)->GetUnitAccount(c, get, &account);
                    },
                    call_budget);
              }));

  // ---- Score sheets: each staff member's sheet of the month, read by the estate manager ----
  if (!cell.performance.empty()) {
    const absl::CivilMonth period(
        absl::ToCivilMonth(absl::Now(), wuye::EstateZone(wuye::kDefaultEstateZone)));
    const int64_t readers = static_cast<int64_t>(
        cell.staff.size() * std::clamp(absl::GetFlag(FLAGS_sheets_share), 0.0, 1.0));
    keep(Halves("performance.GetSheet" + mo, readers, cell.performance.size(),
                absl::Now() + month_budget * 0.05, [&](int64_t k, int use) {
                  const int64_t t = k * static_cast<int64_t>(cell.staff.size()) /
                                    std::max<int64_t>(1, readers);
                  prf::GetSheetRequest req;
                  req.set_staff_id(cell.staff[t]);
                  req.mutable_period()->set_year(static_cast<int32_t>(period.year()));
                  req.mutable_period()->set_month(period.month());
                  prf::Sheet sheet;
                  grpc::Status st = Call(
                      cell.manager,
                      [&](auto* c) {
                        return cell.performance.Pick(k, use)->GetSheet(c, req, &sheet);
                      },
                      call_budget);
                  // A staff member with nothing on the month's sheet yet is an answer too.
                  return st.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : st;
                }));
  }

  // ---- Elders: enrolled and visited ----
  if (!cell.eldercare.empty() && m == 0) {
    const int64_t elders =
        static_cast<int64_t>(households * std::clamp(absl::GetFlag(FLAGS_elder_share), 0.0, 1.0));
    keep(Halves("eldercare: enrol and visit", elders, cell.eldercare.size(),
                absl::Now() + month_budget * 0.1, [&](int64_t i, int use) {
                  const int64_t h = i * households / std::max<int64_t>(1, elders);
                  auto* e = cell.eldercare.Pick(i, use);
                  eld::EnrolElderRequest req;
                  req.set_request_id(absl::StrCat("scale-elder-", run, "-", h));
                  req.set_resident_id(cell.residents[h]);
                  req.set_id_number(ElderIdNumber(h));
                  eld::Consent* consent = req.mutable_consent();
                  consent->set_scope("home elderly care and health records");
                  consent->set_version("2026-01");
                  *consent->mutable_signed_at() = wuye::ToProtoTime(absl::Now() - absl::Hours(1));
                  consent->set_signed_by(absl::StrCat("Resident ", h + 1));
                  eld::FamilyContact* fc = req.add_family_contacts();
                  fc->set_name("Child");
                  fc->set_relation("child");
                  fc->set_phone("13800000000");
                  eld::Elder elder;
                  grpc::Status st = Call(
                      cell.agent, [&](auto* c) { return e->EnrolElder(c, req, &elder); },
                      call_budget);
                  if (!st.ok()) return st;
                  eld::RecordVisitRequest visit;
                  visit.set_request_id(absl::StrCat("scale-visit-", run, "-", h));
                  visit.set_elder_id(elder.id());
                  *visit.mutable_visited_at() = elder.create_time();
                  visit.set_observations("In good spirits; medicine box refilled.");
                  visit.set_care_plan_followed(true);
                  eld::Visit v;
                  return Call(
                      cell.care, [&](auto* c) { return e->RecordVisit(c, visit, &v); },
                      call_budget);
                }));
  }

  if (statements && m == 0) first_month = ReadStatements(pg_url);
  if (statements && m == months - 1) last_month = ReadStatements(pg_url);
  }  // months

  // ---- Figures ----
  const auto sizes_after = DatabaseSizes(pg_url);
  // The share of the month's tickets the run got through scales the growth to a month.
  const double month_share = tickets > 0 ? double(tickets_made) / tickets : double(months);
  std::printf("\nscale: %d estates, %lld households, %d staff; %lld of %lld tickets "
              "(%.1f months' worth) in %s\n",
              estates, static_cast<long long>(households), staff,
              static_cast<long long>(tickets_made), static_cast<long long>(tickets * months),
              month_share, absl::FormatDuration(absl::Now() - traffic_start).c_str());
  std::printf("\n  %-34s %3s %9s %9s %8s %8s %5s  %s\n", "phase", "r", "calls", "rate/s", "p50 ms",
              "p99 ms", "cpu", "bounded by");
  for (const Phase& p : phases) {
    std::printf("  %-34s %3d %9lld %9.0f %8.1f %8.1f %4.0f%%  %s%s\n", p.name.c_str(), p.replicas,
                static_cast<long long>(p.ok), p.rate, p.p50_ms, p.p99_ms, 100 * p.cpu_busy,
                p.limit.c_str(), p.cut_short ? " (cut short by --budget)" : "");
  }
  if (months > 1) {
    // A later month against the first: the same calls on a database holding more months.
    auto pace = [&](const std::string& name) {
      int64_t ok = 0;
      double seconds = 0, p99 = 0;
      for (const Phase& p : phases) {
        if (p.name == name && p.replicas == 1) {
          ok += p.ok;
          seconds += p.seconds;
          p99 = p.p99_ms;
        }
      }
      return std::pair{seconds > 0 ? ok / seconds : 0.0, p99};
    };
    std::printf("\n  month %d against month 1 (one replica; 1.00 = a month's data costs what a "
                "year's does)\n", months);
    for (const char* call : {"intake.CreateTicket", "billing.RecordPayment"}) {
      auto first = pace(absl::StrCat(call, " m1"));
      auto last = pace(absl::StrCat(call, " m", months));
      std::printf("  %-30s rate %.2f×  p99 %.2f×\n", call,
                  first.first > 0 ? last.first / first.first : 0.0,
                  first.second > 0 ? last.second / first.second : 0.0);
    }
  }
  const std::string statements_json =
      statements ? ReportStatements(first_month, last_month, months) : "";
  std::printf("\n  %-22s %12s %12s %16s\n", "database", "after load", "after month",
              "per month of traffic");
  std::ostringstream json_sizes;
  for (const auto& [db, after] : sizes_after) {
    auto it = sizes_before.find(db);
    const int64_t before = it == sizes_before.end() ? 0 : it->second;
    const double per_month = month_share > 0 ? (after - before) / month_share : 0;
    std::printf("  %-22s %9.1f MB %9.1f MB %13.1f MB\n", db.c_str(), before / 1e6, after / 1e6,
                per_month / 1e6);
    json_sizes << (json_sizes.tellp() > 0 ? ", " : "")
               << absl::StrFormat("\"%s\": {\"after_load\": %d, \"per_month\": %.0f}", db, before,
                                  per_month);
  }
  if (std::string f = absl::GetFlag(FLAGS_json_out); !f.empty()) {
    std::ofstream out(f);
    out << "{\"estates\": " << estates << ", \"households\": " << households
        << ", \"staff\": " << staff << ", \"month_share\": " << month_share << ", \"phases\": [";
    for (size_t i = 0; i < phases.size(); ++i) {
      const Phase& p = phases[i];
      out << (i ? ", " : "")
          << absl::StrFormat(
                 "{\"name\": \"%s\", \"replicas\": %d, \"ok\": %d, \"failed\": %d, \"rate\": "
                 "%.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"cpu\": %.3f, \"limit\": \"%s\", "
                 "\"cut_short\": %s}",
                 p.name, p.replicas, p.ok, p.failed, p.rate, p.p50_ms, p.p99_ms, p.cpu_busy,
                 p.limit, p.cut_short ? "true" : "false");
    }
    out << "], \"databases\": {" << json_sizes.str() << "}, \"statements\": ["
        << statements_json << "]}\n";
  }
  int64_t failed = 0;
  for (const Phase& p : phases) failed += p.failed;
  return failed == 0 ? 0 : 1;
}
