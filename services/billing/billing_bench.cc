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
//     request_id and external transaction number.
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
      for (long seq = 0; due < start + duration; ++seq, due += interval) {
        std::this_thread::sleep_until(due);
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
  nlohmann::json out = {{"offered_per_s", rate}, {"record_payment_per_s", ok.load() / seconds},
                        {"ok", ok.load()},       {"errors", errors.load()},
                        {"p50_ms", pct(0.5)},    {"p99_ms", pct(0.99)},
                        {"threads", threads},    {"seconds", seconds}};
  if (!error.empty()) out["first_error"] = error;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "billing_bench: the billing run against a bare INSERT … SELECT, and RecordPayment "
      "calls/s against a running wuye-billing; prints JSON.");
  absl::ParseCommandLine(argc, argv);
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
