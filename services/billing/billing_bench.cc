// billing_bench: the figures of issue #7, printed as one JSON object on stdout.
//
//  1. The billing run against a bare INSERT … SELECT (--units > 0). On a scratch database
//     with billing's schema (created on --pg_url's server and dropped afterwards), it seeds
//     --units handed-over units of one estate with generate_series, times a bare
//     `INSERT INTO bare_lines SELECT … FROM bl_units` of one bill line per unit into a plain
//     table, then times the billing run over the same units (BillingRunner ticks of --chunk
//     units, exactly what the service's worker does). Goal: run ≤ 2 × bare. For the reader,
//     also the same rows plainly inserted into `bills` (the table's own cost).
//  2. RecordPayment calls/s against a running wuye-billing (--target). Billing learns units
//     from the directory's events; so that the bench needs no directory, it seeds its group's
//     estate and units straight into the service's copy (--billing_pg_url, the service's own
//     database). Open loop: --threads client threads, each with its own channel, send at a
//     fixed total --rate for --duration; a call's latency counts from when it was due, so a
//     slow server shows as latency, not as fewer calls offered. Every call has its own
//     request_id and external transaction number. With --closed, a closed loop instead:
//     --threads clients, each one call in flight, for --duration (its capacity with that
//     many clients, the figure compared with pgbench running the same transaction).
//
//  3. --pgbench_script=PATH: writes the transaction one RecordPayment runs (for a unit with no
//     open bill, as in figure 2: the request_id's claim, the unit read and its lock, the
//     external transaction looked up, the open bills locked, the payment, the ledger
//     transaction and its entries — migration 012's statement trigger keeps the unit's
//     balance —, the event, the stored answer; BEGIN … COMMIT), each statement's SQL taken
//     from the store that registers it and its parameters those of a sample payment, as a
//     pgbench script over --payment_units units it seeds into --billing_pg_url (patterned
//     ids, so that the script picks one at random), fresh ids in every transaction
//     (shared/bench_support.h says how to run it); then exits.
//
// Token: minted for a fresh group from --jwt_secret (or WUYE_JWT_SECRET), or taken from
// WUYE_BENCH_TOKEN together with --group (the token's group).
//
// Exit code: 0 when every figure was measured without a failed call, 1 when calls failed,
// 2 when the benchmark could not run.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/billing/billing_jobs.h"
#include "services/billing/billing_store.h"
#include "shared/auth.h"
#include "shared/bench_support.h"
#include "shared/idempotency.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "services/billing/billing.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/ids.h"
#include "shared/migrate.h"
#include "wuye/billing/v1/billing.grpc.pb.h"

ABSL_FLAG(std::string, pg_url, "",
          "admin URL of the PostgreSQL server for the scratch "
          "database (default: WUYE_PG_URL)");
ABSL_FLAG(int, units, 1000000, "units of the billing-run figure (0: skip it)");
ABSL_FLAG(int, chunk, 100000, "units per billing-run transaction");
ABSL_FLAG(std::string, target, "", "host:port of a running wuye-billing (empty: skip)");
ABSL_FLAG(std::string, billing_pg_url, "", "the running service's database, to seed units");
ABSL_FLAG(std::string, jwt_secret, "", "the server's HS256 secret (default: WUYE_JWT_SECRET)");
ABSL_FLAG(std::string, group, "", "the group of WUYE_BENCH_TOKEN");
ABSL_FLAG(double, rate, 500, "RecordPayment calls offered per second, in total");
ABSL_FLAG(int, threads, 8, "client threads of the RecordPayment figure");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "how long the RecordPayment figure runs");
ABSL_FLAG(int, payment_units, 200, "units the payments spread over");
ABSL_FLAG(bool, closed, false,
          "RecordPayment in a closed loop instead: each of --threads clients one call in flight");
ABSL_FLAG(std::string, pgbench_script, "",
          "write one RecordPayment's transaction as a pgbench script to this file, and exit");

namespace {

namespace v1 = ::wuye::billing::v1;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "billing_bench: %s\n", what.c_str());
  std::exit(2);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

// ---- 1. the billing run against a bare insert ---------------------------------------------

nlohmann::json RunFigure(const std::string& admin_url, int units, int chunk) {
  const std::string name = absl::StrCat("wuye_billing_bench_", getpid());
  Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name));
  Exec(admin_url, absl::StrCat("CREATE DATABASE ", name));
  const std::string url = wuye::WithDatabase(admin_url, name);
  nlohmann::json out;
  try {
    wuye::DbOptions options;
    options.url = url;
    options.pool_size = 2;
    options.statement_timeout = absl::Seconds(600);
    auto db = wuye::Db::Open(options);
    if (!db.ok()) Fatal(db.status().ToString());
    absl::Status migrated =
        wuye::ApplyMigrations(**db, {&wuye::platform_migrations(), &wuye::billing_migrations()});
    if (!migrated.ok()) Fatal(migrated.ToString());

    const std::string group = wuye::NewId(absl::Now());
    const std::string estate = wuye::NewId(absl::Now());
    auto seed_start = SteadyClock::now();
    Exec(url,
         absl::StrCat("SET statement_timeout = 0; "
                      "INSERT INTO bl_estates VALUES ('",
                      estate, "', '", group,
                      "', 150, 'Asia/Shanghai', 1); "
                      "INSERT INTO bl_units (id, group_id, estate_id, area_centi, type, occupancy, "
                      "handed_over, version) SELECT ('00000000-0000-7000-8000-' || "
                      "lpad(to_hex(g), 12, '0'))::uuid, '",
                      group, "', '", estate,
                      "', 5000 + g % 10000, 1 + (g % 3), 1 + (g % 3), true, 1 "
                      "FROM generate_series(1, ",
                      units,
                      ") g; "
                      "ANALYZE bl_units; "
                      "CREATE TABLE bare_lines (unit_id uuid, period date, item text, "
                      "amount_fen bigint); CHECKPOINT"));
    double seed_s = Seconds(SteadyClock::now() - seed_start);

    auto bare_start = SteadyClock::now();
    Exec(url,
         "SET statement_timeout = 0; INSERT INTO bare_lines SELECT id, '2026-11-01', "
         "'management_fee', (area_centi * 150 + 50) / 100 FROM bl_units");
    double bare_s = Seconds(SteadyClock::now() - bare_start);
    Exec(url, "CHECKPOINT");
    // The same number of rows into `bills` itself (its width, its three indexes), with no
    // fees to work out, no numbering and no skipping: what the table alone costs.
    auto table_start = SteadyClock::now();
    Exec(url, absl::StrCat(
                  "SET statement_timeout = 0; INSERT INTO bills (id, group_id, estate_id, unit_id, "
                  "kind, period, management_fen, amount_fen, issued_at, due_at) SELECT id, "
                  "group_id, estate_id, id, 1, '2026-11-01', (area_centi * 150 + 50) / 100, "
                  "(area_centi * 150 + 50) / 100, now(), now() FROM bl_units"));
    double table_s = Seconds(SteadyClock::now() - table_start);
    Exec(url, "TRUNCATE bills; CHECKPOINT");

    wuye::billing::BillingStore store(**db);
    std::string run_id = wuye::NewId(absl::Now());
    absl::Status started = (*db)->Transact([&](pqxx::work& tx) {
      v1::BillingRun run;
      store.InsertRun(tx, group, run_id, estate, "2026-11-01", units, absl::Now(), "bench", &run);
      return absl::OkStatus();
    });
    if (!started.ok()) Fatal(started.ToString());
    wuye::billing::BillingRunner runner(**db, wuye::SystemClock(), chunk);
    auto run_start = SteadyClock::now();
    int ticks = 0;
    while (true) {
      auto did = runner.Tick();
      if (!did.ok()) Fatal(absl::StrCat("billing run: ", did.status().ToString()));
      if (*did == 0) break;
      ++ticks;
    }
    double run_s = Seconds(SteadyClock::now() - run_start);
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    int64_t bills = tx.exec1("SELECT count(*) FROM bills")[0].as<int64_t>();
    out = {{"units", units},
           {"seed_s", seed_s},
           {"bare_insert_s", bare_s},
           {"plain_insert_into_bills_s", table_s},
           {"billing_run_s", run_s},
           {"run_vs_plain_insert_into_bills", table_s > 0 ? run_s / table_s : 0},
           {"run_vs_bare", bare_s > 0 ? run_s / bare_s : 0},
           {"goal_run_vs_bare_at_most", 2.0},
           {"run_chunks", ticks},
           {"chunk_units", chunk},
           {"bills_issued", bills}};
  } catch (const std::exception& e) {
    Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
    Fatal(absl::StrCat("billing-run figure: ", e.what()));
  }
  Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
  return out;
}

// ---- 2. RecordPayment calls/s ---------------------------------------------------------------

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

nlohmann::json PaymentFigure(bool* failed) {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string seed_url = absl::GetFlag(FLAGS_billing_pg_url);
  if (seed_url.empty()) Fatal("--billing_pg_url is needed to seed the service's unit copy");
  std::string token = Env("WUYE_BENCH_TOKEN");
  std::string group = absl::GetFlag(FLAGS_group);
  if (token.empty()) {
    std::string secret = absl::GetFlag(FLAGS_jwt_secret);
    if (secret.empty()) secret = Env("WUYE_JWT_SECRET");
    if (secret.size() < 32) Fatal("give --jwt_secret / WUYE_JWT_SECRET or WUYE_BENCH_TOKEN");
    group = wuye::NewId(absl::Now());
    wuye::TokenClaims claims;
    claims.subject = "billing-bench";
    claims.group_id = group;
    claims.estate_ids = {"*"};
    claims.roles = {"finance_clerk"};
    claims.issued_at = absl::Now();
    claims.expires_at = absl::Now() + absl::Hours(1);
    auto minted = wuye::MintHs256(claims, secret);
    if (!minted.ok()) Fatal(minted.status().ToString());
    token = *minted;
  } else if (group.empty()) {
    Fatal("WUYE_BENCH_TOKEN needs --group, the token's group");
  }
  const int unit_count = std::max(1, absl::GetFlag(FLAGS_payment_units));
  const std::string estate = wuye::NewId(absl::Now());
  std::vector<std::string> units;
  for (int i = 0; i < unit_count; ++i) units.push_back(wuye::NewId(absl::Now()));
  {
    pqxx::connection conn(seed_url);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO bl_estates VALUES ($1, $2, 150, 'Asia/Shanghai', 1)", estate,
                   group);
    tx.exec_params(
        "INSERT INTO bl_units (id, group_id, estate_id, area_centi, type, occupancy, "
        "handed_over, version) SELECT u, $2, $3, 9000, 1, 2, true, 1 FROM unnest($1::uuid[]) u",
        wuye::PgArray(units), group, estate);
    tx.commit();
  }

  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const double rate = std::max(1.0, absl::GetFlag(FLAGS_rate));
  const auto duration = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 * threads / rate));
  const std::string run = wuye::NewId(absl::Now()).substr(24);
  std::atomic<long> ok{0}, errors{0};
  std::vector<std::vector<double>> latencies(threads);
  std::vector<std::string> first_error(threads);
  auto start = SteadyClock::now() + std::chrono::milliseconds(200);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto stub = v1::BillingService::NewStub(NewChannel(target));
      // Each thread's arrivals are evenly spread and offset from the others'.
      auto due = start + interval * t / threads;
      const bool closed = absl::GetFlag(FLAGS_closed);
      for (long seq = 0; closed ? SteadyClock::now() < start + duration : due < start + duration;
           ++seq, due += interval) {
        if (closed) {
          if (seq == 0) std::this_thread::sleep_until(start);
          due = SteadyClock::now();
        } else {
          std::this_thread::sleep_until(due);
        }
        v1::RecordPaymentRequest req;
        req.set_request_id(absl::StrCat("bench-", run, "-", t, "-", seq));
        auto* p = req.mutable_payment();
        p->set_unit_id(units[(seq * threads + t) % units.size()]);
        p->set_amount_fen(1000 + seq % 5000);
        p->set_method(v1::PAYMENT_METHOD_WECHAT_PAY);
        p->set_external_txn_no(absl::StrCat("BENCH", run, "-", t, "-", seq));
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        v1::Payment out;
        grpc::Status st = stub->RecordPayment(&ctx, req, &out);
        if (st.ok()) {
          ++ok;
          latencies[t].push_back(
              std::chrono::duration<double, std::milli>(SteadyClock::now() - due).count());
        } else {
          ++errors;
          if (first_error[t].empty()) first_error[t] = st.error_message();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  // From the first call's time to the last answer: above capacity the calls finish late, and
  // the rate answered is what the service can take.
  double seconds = Seconds(SteadyClock::now() - start);
  std::vector<double> all;
  std::string error;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    if (error.empty()) error = first_error[t];
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    if (all.empty()) return 0.0;
    size_t i = std::min(all.size() - 1, static_cast<size_t>(q * all.size()));
    return all[i];
  };
  *failed = errors.load() > 0;
  nlohmann::json out = {{"offered_per_s", absl::GetFlag(FLAGS_closed) ? 0.0 : rate},
                        {"closed_loop", absl::GetFlag(FLAGS_closed)},
                        {"record_payment_per_s", ok.load() / seconds},
                        {"ok", ok.load()},       {"errors", errors.load()},
                        {"p50_ms", pct(0.5)},    {"p99_ms", pct(0.99)},
                        {"threads", threads},    {"seconds", seconds}};
  if (!error.empty()) out["first_error"] = error;
  return out;
}

// ---- 3. the pgbench script of one RecordPayment -------------------------------------------

// The unit `n` (1..) of the script's units, as SQL (n an expression) and as text (n a number).
std::string ScriptUnitSql(const std::string& n) {
  return absl::StrCat("('00000000-0000-7000-8000-' || lpad(to_hex(", n, "::int), 12, '0'))");
}
std::string ScriptUnit(int n) {
  char hex[13];
  std::snprintf(hex, sizeof hex, "%012x", n);
  return absl::StrCat("00000000-0000-7000-8000-", hex);
}

void WritePgbenchScript(const std::string& url, const std::string& path) {
  namespace billing = ::wuye::billing;
  const int unit_count = std::max(1, absl::GetFlag(FLAGS_payment_units));
  const std::string group = wuye::NewId(absl::Now()), estate = wuye::NewId(absl::Now());
  wuye::DbOptions options;
  options.url = url;
  options.pool_size = 1;
  auto db = wuye::Db::Open(options);
  if (!db.ok()) Fatal(absl::StrCat("--billing_pg_url: ", db.status().ToString()));
  billing::BillingStore store(**db);  // registers the statements whose SQL is taken below
  wuye::PrepareIdempotency(**db);
  wuye::Outbox outbox(**db, "billing");

  const absl::Time now = absl::Now();
  const std::string unit = ScriptUnit(1);
  const std::string request_id = absl::StrCat("bench-pgbench-", wuye::NewId(now));
  const std::string payment_id = wuye::NewId(now);
  const std::string txn_no = absl::StrCat("BENCH", wuye::NewId(now).substr(24), "-0-0");
  const std::string ledger_txn = "00000000-0000-4000-8000-00000000fee1";  // :id from \gset
  const int64_t amount = 3500;
  const auto method = v1::PAYMENT_METHOD_WECHAT_PAY;
  const std::string micros = std::to_string(absl::ToUnixMicros(now));
  const std::string method_n = std::to_string(static_cast<int>(method));

  v1::RecordPaymentRequest req;
  req.set_request_id(request_id);
  auto* in = req.mutable_payment();
  in->set_unit_id(unit);
  in->set_amount_fen(amount);
  in->set_method(method);
  in->set_external_txn_no(txn_no);
  v1::Payment payment = *in;  // as the handler completes it: all of it credit, no open bill
  payment.set_id(payment_id);
  payment.set_estate_id(estate);
  payment.set_credit_fen(amount);
  *payment.mutable_paid_time() = wuye::ToProtoTime(now);
  wuye::events::v1::PaymentRecorded event;
  event.set_payment_id(payment.id());
  event.set_estate_id(payment.estate_id());
  event.set_unit_id(payment.unit_id());
  event.set_amount_fen(payment.amount_fen());
  event.set_method(billing::MethodName(payment.method()));
  event.set_credit_fen(payment.credit_fen());
  *event.mutable_paid_at() = payment.paid_time();
  wuye::events::v1::Event envelope = outbox.Envelope(
      {"billing.payment.recorded", group, estate, payment.id(), 1, &event}, now,
      "0af7651916cd43dd8448eb211c80319c");
  std::vector<std::string> accounts, units, amounts;
  for (const auto& e : billing::PaymentPostings(unit, method, amount, amount)) {
    if (e.amount_fen == 0) continue;  // as PostLedger skips it
    accounts.push_back(e.account);
    units.push_back(e.unit_id);
    amounts.push_back(std::to_string(e.amount_fen));
  }

  const std::vector<wuye::bench::Fresh> fresh = {
      {unit, ScriptUnitSql(":u")},
      {payment_id, wuye::bench::FreshUuid(0)},
      {envelope.event_id(), wuye::bench::FreshUuid(1)},
      {request_id, wuye::bench::FreshText("bench-pgbench-")},
      {txn_no, wuye::bench::FreshText("PGBENCH")},
      {ledger_txn, ":id"}};
  std::string script;
  try {
    pqxx::connection conn(url);
    {
      pqxx::work seed(conn);
      seed.exec_params("INSERT INTO bl_estates VALUES ($1, $2, 150, 'Asia/Shanghai', 1)", estate,
                       group);
      seed.exec_params(
          "INSERT INTO bl_units (id, group_id, estate_id, area_centi, type, occupancy, "
          "handed_over, version) SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, "
          "'0'))::uuid, $1, $2, 9000, 1, 2, true, 1 FROM generate_series(1, $3) g "
          "ON CONFLICT DO NOTHING",
          group, estate, unit_count);
      seed.commit();
    }
    pqxx::nontransaction tx(conn);
    struct Step {
      std::string statement;
      std::vector<std::optional<std::string>> values;
      bool gset = false;  // its one row's columns become variables (\gset)
    };
    const std::vector<Step> steps = {
        {"wuye_idem_claim",
         {group, request_id, "billing.RecordPayment", tx.esc_raw(wuye::RequestHash(req)),
          "billing-bench"}},
        {"bl_unit_get", {group, unit}},
        {"bl_unit_lock", {group, unit}},
        {"bl_payment_by_txn", {group, method_n, txn_no}},
        {"bl_bills_open_locked", {group, unit}},
        {"bl_payment_insert",
         {payment_id, group, estate, unit, std::to_string(amount), method_n, txn_no, "",
          std::to_string(amount), micros}},
        {"bl_ledger_txn", {group, estate, "payment", absl::StrCat("payment:", payment_id), micros},
         true},
        {"bl_ledger_entries",
         {ledger_txn, group, wuye::PgArray(accounts), wuye::PgArray(units),
          wuye::PgArray(amounts)}},
        {"wuye_outbox_append",
         {envelope.event_id(), envelope.type(), tx.esc_raw(envelope.SerializeAsString())}},
        {"wuye_idem_record", {group, request_id, tx.esc_raw(payment.SerializeAsString())}},
    };
    script = absl::StrCat(wuye::bench::kCounterLine, "\\set u random(1, ", unit_count, ")\n",
                          "BEGIN;\n");
    for (const Step& step : steps) {
      const std::string sql = (*db)->PreparedSql(step.statement);
      if (sql.empty()) Fatal(absl::StrCat("no statement ", step.statement));
      std::string line = wuye::bench::PgbenchStatement(
          sql, step.values, wuye::bench::ParameterTypes(tx, sql), fresh);
      if (step.gset) line = absl::StrCat(line.substr(0, line.size() - 2), " \\gset\n");
      absl::StrAppend(&script, "-- ", step.statement, "\n", line);
    }
    absl::StrAppend(&script, "COMMIT;\n");
  } catch (const std::exception& e) {
    Fatal(absl::StrCat("--pgbench_script: ", e.what()));
  }
  std::ofstream out(path);
  out << "-- One RecordPayment's transaction, written by billing_bench --pgbench_script.\n"
         "-- Run: pgbench -n -M prepared -D run=<a number new for each run> -D seq=0 -f "
         "THIS_FILE <billing's database>\n"
      << script;
  if (!out) Fatal(absl::StrCat("cannot write ", path));
  std::fprintf(stderr, "billing_bench: wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "billing_bench: the billing run against a bare INSERT … SELECT, and RecordPayment "
      "calls/s against a running wuye-billing; prints JSON.");
  absl::ParseCommandLine(argc, argv);
  if (const std::string path = absl::GetFlag(FLAGS_pgbench_script); !path.empty()) {
    if (absl::GetFlag(FLAGS_billing_pg_url).empty()) Fatal("--pgbench_script needs --billing_pg_url");
    WritePgbenchScript(absl::GetFlag(FLAGS_billing_pg_url), path);
    return 0;
  }
  nlohmann::json result;
  bool failed = false;
  if (absl::GetFlag(FLAGS_units) > 0) {
    std::string admin = absl::GetFlag(FLAGS_pg_url);
    if (admin.empty()) admin = Env("WUYE_PG_URL");
    if (admin.empty()) Fatal("--pg_url or WUYE_PG_URL is needed for the billing-run figure");
    result["billing_run"] =
        RunFigure(admin, absl::GetFlag(FLAGS_units), std::max(1000, absl::GetFlag(FLAGS_chunk)));
  }
  if (!absl::GetFlag(FLAGS_target).empty()) result["record_payment"] = PaymentFigure(&failed);
  std::printf("%s\n", result.dump(2).c_str());
  return failed ? 1 : 0;
}
