// performance_bench: the figure of issue #8, printed as one JSON object on stdout.
//
// On a scratch database with performance's schema (created on --pg_url's server and dropped
// afterwards) it seeds --estates estates and --staff staff members (the directory copy),
// makes --events evidence events of a month (verified complaints, missing signatures,
// callbacks, completions, SLA breaches, closed tickets, unrecorded calls, spread over the
// staff), and then:
//   1. scores them: each event is decoded exactly as the consumer's handler does
//      (EvidenceOf) and applied through EvidenceFlow, the handler's own write path, in
//      transactions of --batch events;
//   2. redelivers --redeliver of them, which must change no line (applied once);
//   3. pushes --handler_events further events one by one through the consumer's handler
//      (MakeHandler) in transactions of 500, as the bus consumer batches them: events/s;
//   4. closes the month for the whole group with a real CloseMonth call over gRPC (an
//      in-process server): sheets made, graded set-based, one performance.sheet.closed
//      each in the outbox. Goal: scoring + closing ≤ 5 s.
// Exit code: 0 when measured, 1 when a check failed, 2 when the bench could not run.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/performance/consumers.h"
#include "services/performance/evidence_flow.h"
#include "services/performance/performance_service.h"
#include "services/performance/performance_store.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/ids.h"
#include "shared/migrate.h"
#include "shared/proto_time.h"
#include "shared/server.h"
#include "shared/zone.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

ABSL_FLAG(std::string, pg_url, "", "admin URL of the PostgreSQL server (default: WUYE_PG_URL)");
ABSL_FLAG(int, staff, 10000, "staff members");
ABSL_FLAG(int, estates, 100, "estates the staff spread over");
ABSL_FLAG(int, events, 100000, "evidence events scored through the batch path");
ABSL_FLAG(int, batch, 10000, "events per transaction of the batch path");
ABSL_FLAG(int, redeliver, 10000, "events delivered a second time (must count once)");
ABSL_FLAG(int, handler_events, 5000, "further events through the per-event handler");
ABSL_FLAG(bool, keep, false, "keep the scratch database (and print its name) for a look");

namespace {

namespace pf = ::wuye::performance;
namespace ev = ::wuye::events::v1;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "performance_bench: %s\n", what.c_str());
  std::exit(2);
}

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

int64_t Count(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<int64_t>();
}

// Deterministic ids: estate e and staff s as UUIDv7-shaped constants.
std::string EstateId(int e) {
  return absl::StrCat("00000000-0000-7000-8000-e", absl::StrFormat("%011x", e));
}
std::string StaffId(int s) {
  return absl::StrCat("00000000-0000-7000-8000-", absl::StrFormat("%012x", s));
}

// The events of a month: a mix of what intake and dispatch send. About 6 % are deductions
// (verified complaints 2 %, missing signatures 2 %, unsatisfied callbacks 1 %, unrecorded
// calls 1 %); the rest are figures (callbacks, completions, SLA breaches, closed tickets).
std::vector<ev::Event> MakeEvents(int n, int staff, int estates, const std::string& group,
                                  absl::Time month_start, std::mt19937_64& rng) {
  std::vector<ev::Event> out;
  out.reserve(n);
  std::uniform_int_distribution<int> who(0, staff - 1), kind(0, 99), minute(0, 27 * 24 * 60);
  for (int i = 0; i < n; ++i) {
    int s = who(rng);
    std::string estate = EstateId(s % estates);
    absl::Time at = month_start + absl::Minutes(minute(rng));
    ev::Event e;
    e.set_event_id(wuye::NewId(absl::Now()));
    e.set_group_id(group);
    e.set_estate_id(estate);
    e.set_subject_version(1);
    *e.mutable_occurred_at() = wuye::ToProtoTime(at);
    int k = kind(rng);
    if (k < 2) {
      ev::ComplaintVerified c;
      c.set_ticket_id(wuye::NewId(at));
      c.set_estate_id(estate);
      c.set_staff_id(StaffId(s));
      e.set_type("intake.complaint.verified");
      e.mutable_payload()->PackFrom(c);
    } else if (k < 4 || (k >= 50 && k < 70)) {
      ev::WorkOrderChanged w;
      w.set_work_order_id(wuye::NewId(at));
      w.set_estate_id(estate);
      w.add_worker_ids(StaffId(s));
      if (k < 4) {
        e.set_type("dispatch.work_order.signature_missing");
      } else {
        *w.mutable_sla_deadline() = wuye::ToProtoTime(at);
        w.set_sla_met(k < 66);
        e.set_type(k < 66 ? "dispatch.work_order.completed" : "dispatch.sla.breached");
      }
      e.mutable_payload()->PackFrom(w);
    } else if (k < 50) {
      ev::CallbackRecorded c;
      c.set_callback_id(wuye::NewId(at));
      c.set_estate_id(estate);
      c.set_agent_id(StaffId((s + 1) % staff));
      c.add_worker_ids(StaffId(s));
      c.set_satisfaction(k < 5 ? wuye::common::v1::SATISFACTION_UNSATISFIED
                               : wuye::common::v1::SATISFACTION_SATISFIED);
      e.set_type("intake.callback.recorded");
      e.mutable_payload()->PackFrom(c);
    } else if (k < 99) {
      ev::TicketChanged t;
      t.set_ticket_id(wuye::NewId(at));
      t.set_estate_id(estate);
      t.set_owner_id(StaffId(s));
      t.set_state(ev::TICKET_STATE_CLOSED);
      t.set_previous_state(ev::TICKET_STATE_CALLBACK_DUE);
      e.set_type("intake.ticket.changed");
      e.mutable_payload()->PackFrom(t);
    } else {
      ev::UnrecordedCall u;
      u.set_finding_id(wuye::NewId(at));
      u.set_estate_id(estate);
      u.add_staff_ids(StaffId(s));
      e.set_type("intake.call.unrecorded");
      e.mutable_payload()->PackFrom(u);
    }
    out.push_back(std::move(e));
  }
  return out;
}

int RunBench(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string admin_url = absl::GetFlag(FLAGS_pg_url);
  if (admin_url.empty() && std::getenv("WUYE_PG_URL") != nullptr)
    admin_url = std::getenv("WUYE_PG_URL");
  if (admin_url.empty()) Fatal("give --pg_url or WUYE_PG_URL");
  const int staff = absl::GetFlag(FLAGS_staff), estates = absl::GetFlag(FLAGS_estates);
  const int events = absl::GetFlag(FLAGS_events), batch = absl::GetFlag(FLAGS_batch);
  if (staff <= 0 || estates <= 0 || events < 0 || batch <= 0) Fatal("bad flags");

  const std::string name = absl::StrCat("wuye_performance_bench_", getpid());
  Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name));
  Exec(admin_url, absl::StrCat("CREATE DATABASE ", name));
  const std::string url = wuye::WithDatabase(admin_url, name);
  nlohmann::json out;
  bool failed = false;
  try {
    wuye::DbOptions options;
    options.url = url;
    options.pool_size = 4;
    options.statement_timeout = absl::Seconds(600);
    auto opened = wuye::Db::Open(options);
    if (!opened.ok()) Fatal(opened.status().ToString());
    wuye::Db& db = **opened;
    absl::Status migrated =
        wuye::ApplyMigrations(db, {&wuye::platform_migrations(), &wuye::performance_migrations()});
    if (!migrated.ok()) Fatal(migrated.ToString());

    // A month whose appeal window has closed: two months back, Shanghai time.
    absl::TimeZone tz = wuye::EstateZone("");
    auto period = pf::MonthOf(absl::Now() - absl::Hours(24 * 45), tz);
    absl::Time month_start = absl::FromCivil(absl::CivilMonth(period.year(), period.month()), tz);
    const std::string group = wuye::NewId(absl::Now());

    // The directory copy: estates and staff (a fifth of them at the desk).
    Exec(url, absl::StrCat(
                  "INSERT INTO pf_estates SELECT ('00000000-0000-7000-8000-e' || lpad(to_hex(g), "
                  "11, '0'))::uuid, '",
                  group, "', 'Asia/Shanghai', 1 FROM generate_series(0, ", estates - 1,
                  ") g; "
                  "INSERT INTO pf_staff SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, "
                  "'0'))::uuid, '",
                  group,
                  "', CASE WHEN g % 5 = 0 THEN ARRAY['agent'] ELSE "
                  "ARRAY['technician'] END, ARRAY[('00000000-0000-7000-8000-e' || "
                  "lpad(to_hex(g % ",
                  estates,
                  "), 11, '0'))::uuid], true, 1 "
                  "FROM generate_series(0, ",
                  staff - 1, ") g; ANALYZE"));

    std::mt19937_64 rng(8);
    int handler_events = absl::GetFlag(FLAGS_handler_events);
    std::vector<ev::Event> all =
        MakeEvents(events + handler_events, staff, estates, group, month_start, rng);

    // 1. Scoring through the batch path.
    pf::PerformanceStore store(db);
    std::map<std::string, int32_t> points;
    absl::Status st = db.Transact([&](pqxx::work& tx) {
      points = store.RulePoints(tx, group);
      return absl::OkStatus();
    });
    if (!st.ok()) Fatal(st.ToString());
    auto apply = [&](int from, int to) {
      for (int i = from; i < to; i += batch) {
        absl::Status s = db.Transact([&](pqxx::work& tx) -> absl::Status {
          std::vector<pf::Evidence> evidence;
          for (int j = i; j < std::min(to, i + batch); ++j) {
            WUYE_ASSIGN_OR_RETURN(pf::Evidence e, pf::EvidenceOf(all[j], points, tz));
            evidence.push_back(std::move(e));
          }
          return pf::EvidenceFlow(store).Apply(tx, group, std::move(evidence));
        });
        if (!s.ok()) Fatal(absl::StrCat("apply: ", s.ToString()));
      }
    };
    auto score_start = SteadyClock::now();
    apply(0, events);
    double score_s = Seconds(SteadyClock::now() - score_start);
    int64_t lines = Count(url, "SELECT count(*) FROM lines");

    // 2. Redelivery counts once.
    int redeliver = std::min(absl::GetFlag(FLAGS_redeliver), events);
    auto redeliver_start = SteadyClock::now();
    // Only the lines are idempotent by themselves; figures rely on the inbox, so the
    // redelivery goes through the line path alone (figures left out).
    for (int i = 0; i < redeliver; i += batch) {
      absl::Status s = db.Transact([&](pqxx::work& tx) -> absl::Status {
        std::vector<pf::Evidence> evidence;
        for (int j = i; j < std::min(redeliver, i + batch); ++j) {
          WUYE_ASSIGN_OR_RETURN(pf::Evidence e, pf::EvidenceOf(all[j], points, tz));
          evidence.push_back(std::move(e));
          evidence.back().facts.clear();
        }
        return pf::EvidenceFlow(store).Apply(tx, group, std::move(evidence));
      });
      if (!s.ok()) Fatal(s.ToString());
    }
    double redeliver_s = Seconds(SteadyClock::now() - redeliver_start);
    int64_t lines_after = Count(url, "SELECT count(*) FROM lines");
    if (lines_after != lines) failed = true;

    // 3. The per-event handler, in transactions of 500 like the consumer.
    wuye::EventHandler handler = pf::MakeHandler(db);
    auto handler_start = SteadyClock::now();
    for (int i = events; i < events + handler_events; i += 500) {
      absl::Status s = db.Transact([&](pqxx::work& tx) -> absl::Status {
        for (int j = i; j < std::min(events + handler_events, i + 500); ++j) {
          WUYE_RETURN_IF_ERROR(handler(tx, all[j]));
        }
        return absl::OkStatus();
      });
      if (!s.ok()) Fatal(absl::StrCat("handler: ", s.ToString()));
    }
    double handler_s = Seconds(SteadyClock::now() - handler_start);

    // 4. CloseMonth over gRPC.
    auto verifier = wuye::TokenVerifier::Create({.hs256_secret = std::string(64, 'b')});
    if (!verifier.ok()) Fatal(verifier.status().ToString());
    pf::PerformanceServiceImpl service(db, **verifier, wuye::SystemClock());
    wuye::ServiceHost host(wuye::ServerOptions{}, &db);
    host.AddService(&service, "wuye.performance.v1.PerformanceService");
    if (absl::Status s = host.Start(); !s.ok()) Fatal(s.ToString());
    auto stub = pf::pb::PerformanceService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host.port()), grpc::InsecureChannelCredentials()));
    wuye::TokenClaims claims;
    claims.subject = "performance-bench";
    claims.group_id = group;
    claims.estate_ids = {"*"};
    claims.roles = {"group_admin"};
    claims.issued_at = absl::Now();
    claims.expires_at = absl::Now() + absl::Hours(1);
    auto token = wuye::MintHs256(claims, std::string(64, 'b'));
    if (!token.ok()) Fatal(token.status().ToString());
    pf::pb::CloseMonthRequest close;
    close.set_request_id(wuye::NewId(absl::Now()));
    *close.mutable_period() = period;
    pf::pb::CloseMonthResponse closed;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + *token);
    auto close_start = SteadyClock::now();
    grpc::Status cs = stub->CloseMonth(&ctx, close, &closed);
    double close_s = Seconds(SteadyClock::now() - close_start);
    host.Shutdown();
    if (!cs.ok()) Fatal(absl::StrCat("CloseMonth: ", cs.error_message()));
    int64_t outbox =
        Count(url, "SELECT count(*) FROM wuye_outbox WHERE type = 'performance.sheet.closed'");
    if (closed.sheets_closed() != staff || outbox != staff) failed = true;

    out = {{"staff", staff},
           {"estates", estates},
           {"evidence_events", events},
           {"lines_written", lines},
           {"facts_rows", Count(url, "SELECT count(*) FROM facts")},
           {"score_s", score_s},
           {"score_events_per_s", score_s > 0 ? events / score_s : 0},
           {"batch_events", batch},
           {"redelivered_events", redeliver},
           {"redeliver_s", redeliver_s},
           {"lines_after_redelivery", lines_after},
           {"handler_events", handler_events},
           {"handler_s", handler_s},
           {"handler_events_per_s", handler_s > 0 ? handler_events / handler_s : 0},
           {"close_month_s", close_s},
           {"sheets_closed", closed.sheets_closed()},
           {"excellent", closed.excellent()},
           {"good", closed.good()},
           {"pass", closed.pass()},
           {"fail", closed.fail()},
           {"sheet_closed_events", outbox},
           {"score_plus_close_s", score_s + close_s},
           {"goal_s_at_most", 5.0}};
  } catch (const std::exception& e) {
    Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
    Fatal(e.what());
  }
  if (absl::GetFlag(FLAGS_keep)) {
    std::fprintf(stderr, "performance_bench: kept database %s\n", name.c_str());
  } else {
    Exec(admin_url, absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
  }
  std::printf("%s\n", out.dump(2).c_str());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return RunBench(argc, argv);
  } catch (const std::exception& e) {
    Fatal(e.what());
  } catch (...) {
    Fatal("unknown exception");
  }
}
