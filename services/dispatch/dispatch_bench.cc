// dispatch_bench: the automatic assignment decision with --staff staff on shift in one
// estate (the eligible-staff query with open loads and last assignments, and the ranking),
// and — unless --bus=false — an intake ticket's work request to "assigned" across the bus at
// --rate requests per second (open loop: each request is sent at its scheduled time and its
// latency measured from that time).
//
// Self-contained: it makes databases of its own on the PostgreSQL of WUYE_PG_URL and uses
// the Redis of WUYE_REDIS_ADDR (`eval "$(scripts/servers.sh env)"`), with dispatch's real
// store, consumer, outbox relays and stream consumers in process.
// Prints one JSON object on stdout.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/dispatch/consumers.h"
#include "services/dispatch/work_order_flow.h"
#include "shared/bus.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

ABSL_FLAG(int, staff, 500, "staff on shift with the skill in the estate");
ABSL_FLAG(int, open_orders, 1500, "open orders spread over them before measuring");
ABSL_FLAG(int, decisions, 1000, "assignment decisions to time");
ABSL_FLAG(bool, explain, false, "print the plan of the eligible-staff query on stderr");
ABSL_FLAG(bool, bus, true, "also measure intake ticket → assigned across the bus");
ABSL_FLAG(double, rate, 200, "work requests per second for the bus measurement");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "how long the bus load runs");

namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
using ::wuye::dispatch::Candidate;
using ::wuye::dispatch::WorkOrderFlow;

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

std::string Figures(std::vector<absl::Duration> v) {
  if (v.empty()) return "{\"n\": 0}";
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return Ms(v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]);
  };
  return absl::StrCat("{\"n\": ", v.size(), ", \"p50_ms\": ", at(0.50), ", \"p90_ms\": ", at(0.90),
                      ", \"p99_ms\": ", at(0.99), ", \"max_ms\": ", Ms(v.back()), "}");
}

ev::Event Envelope(const std::string& group, const std::string& type,
                   const google::protobuf::Message& payload) {
  ev::Event e;
  e.set_event_id(wuye::NewId(absl::Now()));
  e.set_type(type);
  e.set_group_id(group);
  e.set_subject_version(1);
  e.mutable_payload()->PackFrom(payload);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  wuye::testing::TestDatabase tdb;
  std::unique_ptr<wuye::Db> db = tdb.Open(wuye::dispatch_migrations(), 8);
  const wuye::Clock& clock = wuye::SystemClock();
  wuye::EventHandler handler = wuye::dispatch::MakeHandler(*db, clock);
  std::string group = wuye::NewId(absl::Now()), estate = wuye::NewId(absl::Now());
  absl::Time now = absl::Now();

  // The directory copy: the estate, --staff plumbers on shift.
  std::vector<std::string> staff;
  auto apply = [&](const ev::Event& e) {
    absl::Status st = db->Transact([&](pqxx::work& tx) { return handler(tx, e); });
    if (!st.ok()) {
      std::fprintf(stderr, "setup: %s\n", st.ToString().c_str());
      std::exit(2);
    }
  };
  ev::EstateChanged es;
  es.set_estate_id(estate);
  es.set_time_zone("Asia/Shanghai");
  es.set_version(1);
  apply(Envelope(group, "directory.estate.created", es));
  for (int i = 0; i < absl::GetFlag(FLAGS_staff); ++i) {
    ev::StaffChanged s;
    s.set_staff_id(wuye::NewId(absl::Now()));
    s.add_skills(ev::SKILL_PLUMBING);
    s.add_home_estate_ids(estate);
    s.set_active(true);
    s.set_version(1);
    apply(Envelope(group, "directory.staff.created", s));
    ev::ShiftChanged sh;
    sh.set_shift_id(wuye::NewId(absl::Now()));
    sh.set_estate_id(estate);
    sh.set_staff_id(s.staff_id());
    *sh.mutable_start_time() = wuye::ToProtoTime(now - absl::Hours(1));
    *sh.mutable_end_time() = wuye::ToProtoTime(now + absl::Hours(12));
    apply(Envelope(group, "directory.shift.created", sh));
    staff.push_back(s.staff_id());
  }
  // Open load: orders assigned round-robin, written straight into the assignments table.
  absl::Status seeded = db->Transact([&](pqxx::work& tx) -> absl::Status {
    for (int i = 0; i < absl::GetFlag(FLAGS_open_orders); ++i) {
      tx.exec_params(
          "INSERT INTO assignments (work_order_id, staff_id, group_id, assigned_at, open) "
          "VALUES ($1, $2, $3, now() - ($4::int * interval '1 second'), true)",
          wuye::NewId(absl::Now()), staff[i % staff.size()], group, i);
    }
    tx.exec0(
        "INSERT INTO staff_load SELECT staff_id, group_id, count(*) FILTER (WHERE open), "
        "max(assigned_at) FROM assignments GROUP BY staff_id, group_id");
    return absl::OkStatus();
  });
  if (!seeded.ok()) return 2;
  // Statistics as autovacuum would have them on a table that has been in use.
  (void)db->WithConnection([](pqxx::connection& c) {
    pqxx::nontransaction(c).exec0("ANALYZE");
    return absl::OkStatus();
  });

  if (absl::GetFlag(FLAGS_explain)) {
    (void)db->Transact([&](pqxx::work& tx) {
      std::string sql = absl::StrCat("EXPLAIN ANALYZE EXECUTE dp_eligible('", group, "', '", estate,
                                     "', ", static_cast<int>(ev::SKILL_PLUMBING), ", ",
                                     absl::ToUnixMicros(absl::Now()), ", '{}')");
      // Used once, so that the connection has prepared it.
      wuye::dispatch::DispatchStore(*db).Eligible(tx, group, estate, ev::SKILL_PLUMBING,
                                                  absl::Now(), {});
      for (const auto& r : tx.exec(sql)) std::fprintf(stderr, "%s\n", r[0].c_str());
      return absl::OkStatus();
    });
  }
  // 1. The decision: the eligible query and the ranking, in a read transaction each.
  WorkOrderFlow flow(*db);
  std::vector<absl::Duration> decision, ranking;
  std::string chosen;
  for (int i = 0; i < absl::GetFlag(FLAGS_decisions); ++i) {
    absl::Time start = absl::Now();
    absl::Status st = db->Transact([&](pqxx::work& tx) -> absl::Status {
      std::vector<Candidate> eligible =
          flow.store().Eligible(tx, group, estate, ev::SKILL_PLUMBING, absl::Now(), {});
      absl::Time rank_start = absl::Now();
      auto d = wuye::dispatch::ChooseWorker(std::move(eligible), absl::Now());
      ranking.push_back(absl::Now() - rank_start);
      chosen = d.chosen_staff_id();
      return absl::OkStatus();
    });
    if (!st.ok()) return 1;
    decision.push_back(absl::Now() - start);
  }

  // 2. One work request applied by dispatch's consumer (create, quote, clock, choice,
  //    events), in its own transaction: the service's side of the bus path.
  std::vector<absl::Duration> apply_times;
  for (int i = 0; i < 200; ++i) {
    ev::WorkRequested w;
    w.set_ticket_id(wuye::NewId(absl::Now()));
    w.set_estate_id(estate);
    w.mutable_location()->set_estate_id(estate);
    w.mutable_location()->set_common_area("Building 1 lobby");
    w.set_kind(common::TICKET_KIND_REPAIR_COMMON);
    w.set_category(common::WORK_CATEGORY_PLUMBING);
    w.set_priority(common::PRIORITY_SMALL);
    absl::Time start = absl::Now();
    apply(Envelope(group, "intake.work.requested", w));
    apply_times.push_back(absl::Now() - start);
  }

  std::string bus = "null";
  if (absl::GetFlag(FLAGS_bus)) {
    // 2. Intake stand-in → its stream → dispatch's consumer → dispatch's stream → a
    //    follower that notes when each ticket's "assigned" arrives.
    static const wuye::MigrationSet kNone{"bench_intake", {}};
    wuye::testing::TestDatabase intake_db;
    std::unique_ptr<wuye::Db> intake = intake_db.Open(kNone, 8);
    std::string suffix = wuye::NewId(absl::Now()).substr(24);
    std::string intake_stream = absl::StrCat("wuye.bench", suffix, "i.events");
    std::string dispatch_stream = absl::StrCat("wuye.bench", suffix, "d.events");
    wuye::RedisOptions redis;
    redis.addr = wuye::testing::RedisAddr();
    auto relay = [&](const std::string& url, const std::string& stream) {
      wuye::RelayOptions options;
      options.stream = stream;
      wuye::DbOptions o;
      o.url = url;
      auto r = std::make_unique<wuye::OutboxRelay>(o, redis, options);
      r->Start();
      return r;
    };
    auto consumer = [&](const std::string& name, const std::string& stream) {
      wuye::ConsumerOptions options;
      options.group = name;
      options.streams = {stream};
      options.producers[stream] = stream == intake_stream ? "intake" : "dispatch";
      options.block = absl::Milliseconds(50);
      return options;
    };
    auto intake_relay = relay(intake_db.url(), intake_stream);
    auto dispatch_relay = relay(tdb.url(), dispatch_stream);
    wuye::EventConsumer dispatch_consumer(*db, redis, consumer("dispatch", intake_stream), handler);
    std::mutex mu;
    std::map<std::string, absl::Time> sent;
    std::vector<absl::Duration> latency;
    wuye::EventRouter assigned;
    assigned.On<ev::WorkOrderChanged>(
        "dispatch.work_order.assigned",
        [&](pqxx::work&, const ev::Event&, const ev::WorkOrderChanged& p) {
          absl::Time at = absl::Now();
          std::lock_guard<std::mutex> lock(mu);
          auto it = sent.find(p.ticket_id());
          if (it != sent.end()) latency.push_back(at - it->second);
          return absl::OkStatus();
        });
    wuye::EventConsumer follower(*intake, redis, consumer("intake", dispatch_stream),
                                 assigned.Handler());
    dispatch_consumer.Start();
    follower.Start();
    wuye::Outbox outbox(*intake, "intake");
    int total = static_cast<int>(absl::GetFlag(FLAGS_rate) *
                                 absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)));
    absl::Duration gap = absl::Seconds(1) / absl::GetFlag(FLAGS_rate);
    absl::Time begin = absl::Now();
    std::atomic<int> failed{0};
    std::vector<std::thread> senders;
    const int kSenders = 4;
    senders.reserve(kSenders);
    for (int t = 0; t < kSenders; ++t) {
      senders.emplace_back([&, t] {
        for (int i = t; i < total; i += kSenders) {
          absl::Time scheduled = begin + gap * i;
          absl::SleepFor(scheduled - absl::Now());
          ev::WorkRequested w;
          w.set_ticket_id(wuye::NewId(absl::Now()));
          w.set_estate_id(estate);
          w.mutable_location()->set_estate_id(estate);
          w.mutable_location()->set_common_area("Building 1 lobby");
          w.set_kind(common::TICKET_KIND_REPAIR_COMMON);
          w.set_category(common::WORK_CATEGORY_PLUMBING);
          w.set_priority(common::PRIORITY_SMALL);
          {
            std::lock_guard<std::mutex> lock(mu);
            sent[w.ticket_id()] = scheduled;
          }
          absl::Status st = intake->Transact([&](pqxx::work& tx) {
            outbox.Append(tx, {"intake.work.requested", group, estate, w.ticket_id(), 0, &w},
                          absl::Now(), "bench");
            return absl::OkStatus();
          });
          if (!st.ok()) ++failed;
        }
      });
    }
    for (auto& s : senders) s.join();
    wuye::testing::WaitFor(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return static_cast<int>(latency.size()) >= total - failed.load();
        },
        absl::Seconds(30));
    dispatch_consumer.Stop();
    follower.Stop();
    intake_relay->Stop();
    dispatch_relay->Stop();
    std::lock_guard<std::mutex> lock(mu);
    bus = absl::StrCat("{\"rate_per_s\": ", absl::GetFlag(FLAGS_rate), ", \"sent\": ", total,
                       ", \"send_failed\": ", failed.load(), ", \"assigned\": ", latency.size(),
                       ", \"latency\": ", Figures(latency), "}");
  }

  std::printf(
      "{\"bench\": \"dispatch\", \"staff_on_shift\": %zu, \"open_orders\": %d,\n"
      " \"assignment_decision\": %s,\n \"ranking_only\": %s,\n"
      " \"work_request_applied\": %s,\n"
      " \"ticket_to_assigned_over_bus\": %s}\n",
      staff.size(), absl::GetFlag(FLAGS_open_orders), Figures(decision).c_str(),
      Figures(ranking).c_str(), Figures(apply_times).c_str(), bus.c_str());
  return chosen.empty() ? 1 : 0;
}
