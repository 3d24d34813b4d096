// bus_bench: the event bus against its baseline, on the local PostgreSQL and Redis.
//   1. raw pipelined XADD of envelope-sized entries (the baseline);
//   2. end to end: events committed to an outbox by producers as fast as they go, relayed,
//      and applied by a consumer (inbox row + handler insert), until all are applied;
//   3. delivery latency (commit to applied) at a fixed offered load, open loop; with --busy,
//      once more with a CPU-bound process pinned to the last CPU (shared/bench_support.h).
// Prints table rows like scripts/bench.sh's and writes JSON. Loopback only, bounded in time.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "shared/bench_support.h"
#include "shared/bus.h"
#include "shared/config.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/service_main.h"

ABSL_FLAG(std::string, bench_pg_url, "", "URL of an empty scratch database");
ABSL_FLAG(std::string, bench_redis_addr, "", "Redis host:port");
ABSL_FLAG(int, seconds, 10, "duration of each measured phase");
ABSL_FLAG(int, rate, 500, "offered load (events/s) of the latency phase");
ABSL_FLAG(int, producers, 2, "producer threads of the throughput phase");
ABSL_FLAG(int, events_per_commit, 500, "events per producer transaction (throughput phase)");
ABSL_FLAG(int, consumers, 1, "consumers in the group (threads of this process)");
ABSL_FLAG(int, consumer_batch, 500, "entries a consumer reads and applies per transaction");
ABSL_FLAG(std::string, json_out, "", "where to write the figures as JSON");
ABSL_FLAG(bool, busy, false, "the latency phase once more, with a CPU hog on the last CPU");

namespace wuye {
namespace {

const MigrationSet& BenchMigrations() {
  static const MigrationSet kSet{
      "busbench", {{"001_applied.sql", "CREATE TABLE applied (event_id uuid NOT NULL)"}}};
  return kSet;
}

// An envelope of the size a directory unit event has.
std::string SampleEnvelope() {
  events::v1::Event e;
  e.set_event_id(NewId(absl::Now()));
  e.set_type("directory.unit.updated");
  e.set_group_id(NewId(absl::Now()));
  e.set_estate_id(NewId(absl::Now()));
  e.set_subject(NewId(absl::Now()));
  e.mutable_payload()->set_type_url("type.googleapis.com/wuye.events.v1.UnitChanged");
  e.mutable_payload()->set_value(std::string(180, 'x'));
  return e.SerializeAsString();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

int Run() {
  const int seconds = absl::GetFlag(FLAGS_seconds);
  RedisOptions redis;
  redis.addr = absl::GetFlag(FLAGS_bench_redis_addr);
  DbOptions db_options;
  db_options.url = absl::GetFlag(FLAGS_bench_pg_url);
  db_options.pool_size = 8;
  auto db = OpenServiceDatabase(db_options, BenchMigrations(), absl::Seconds(10));
  if (!db.ok()) {
    std::fprintf(stderr, "bus_bench: %s\n", db.status().ToString().c_str());
    return 2;
  }
  std::string tag = NewId(absl::Now()).substr(24);

  // 1. Raw pipelined XADD, same pipeline depth as the relay.
  double raw_rate = 0;
  {
    RedisConnection conn(redis);
    std::string stream = "bench.raw." + tag, env = SampleEnvelope();
    std::vector<std::vector<std::string>> batch(
        500, {"XADD", stream, "*", "type", "directory.unit.updated", "env", env});
    int64_t sent = 0;
    absl::Time start = absl::Now(), end = start + absl::Seconds(seconds);
    while (absl::Now() < end) {
      auto replies = conn.Pipeline(batch);
      if (!replies.ok()) {
        std::fprintf(stderr, "bus_bench: XADD: %s\n", replies.status().ToString().c_str());
        return 1;
      }
      sent += static_cast<int64_t>(batch.size());
    }
    raw_rate = sent / absl::ToDoubleSeconds(absl::Now() - start);
    (void)conn.Command({"DEL", stream});
  }

  // The bus under test: one relay, one consumer, as a service runs them.
  std::string stream = "bench.bus." + tag;
  Outbox outbox(**db, "bench");
  RelayOptions relay_options;
  relay_options.stream = stream;
  OutboxRelay relay(db_options, redis, relay_options);
  std::atomic<int64_t> applied{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<bool> measure_latency{false};
  std::atomic<bool> handler_inserts{false};
  ConsumerOptions consumer_options;
  consumer_options.group = "bench";
  consumer_options.streams = {stream};
  consumer_options.block = absl::Milliseconds(100);
  consumer_options.batch = absl::GetFlag(FLAGS_consumer_batch);
  EventHandler handler = [&](pqxx::work& tx, const events::v1::Event& e) {
    if (handler_inserts.load()) {
      tx.exec_params("INSERT INTO applied (event_id) VALUES ($1::uuid)", e.event_id());
    }
    if (measure_latency.load()) {
      double ms = absl::ToDoubleMilliseconds(absl::Now() - FromProtoTime(e.occurred_at()));
      std::lock_guard lock(mu);
      latencies_ms.push_back(ms);
    }
    applied.fetch_add(1);
    return absl::OkStatus();
  };
  // Several consumers of one group in one process, as replicas would be.
  std::vector<std::unique_ptr<EventConsumer>> consumers;
  for (int i = 0; i < absl::GetFlag(FLAGS_consumers); ++i) {
    consumers.push_back(std::make_unique<EventConsumer>(**db, redis, consumer_options, handler));
  }
  relay.Start();
  for (auto& c : consumers) c->Start();

  auto commit = [&](int events) {
    return (*db)->Transact([&](pqxx::work& tx) {
      std::vector<EventDraft> drafts;
      for (int i = 0; i < events; ++i) {
        drafts.push_back({"bench.thing.happened", "group", "", absl::StrCat(i), 1, nullptr});
      }
      if (events == 1) {
        outbox.Append(tx, drafts[0], absl::Now(), "");
      } else {
        outbox.AppendMany(tx, drafts, absl::Now(), "");
      }
      return absl::OkStatus();
    });
  };
  auto drain = [&](int64_t target) {
    absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (applied.load() < target && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return applied.load() >= target;
  };

  // 2. Throughput: producers commit as fast as they can; the clock stops when the consumer
  // has applied everything they committed. Once with a handler that only counts (the bus
  // alone: outbox row, relay, inbox row, ack), once with a handler that inserts a row.
  struct Throughput {
    double rate = 0;
    int64_t events = 0;
    bool drained = false;
  };
  auto throughput = [&](bool inserts) {
    handler_inserts = inserts;
    Throughput t;
    int64_t base = applied.load();
    std::atomic<int64_t> produced{0};
    absl::Time start = absl::Now(), stop_producing = start + absl::Seconds(seconds);
    std::vector<std::thread> producers;
    for (int p = 0; p < absl::GetFlag(FLAGS_producers); ++p) {
      producers.emplace_back([&] {
        const int n = absl::GetFlag(FLAGS_events_per_commit);
        while (absl::Now() < stop_producing) {
          if (commit(n).ok()) produced.fetch_add(n);
        }
      });
    }
    for (auto& th : producers) th.join();
    t.drained = drain(base + produced.load());
    t.events = produced.load();
    t.rate = (applied.load() - base) / absl::ToDoubleSeconds(absl::Now() - start);
    return t;
  };
  Throughput bus_only = throughput(false);
  Throughput with_insert = throughput(true);
  bool drained = bus_only.drained && with_insert.drained;
  double e2e_rate = bus_only.rate;

  // 3. Latency at a fixed offered load: one event per transaction on a fixed schedule.
  const int rate = absl::GetFlag(FLAGS_rate);
  auto latency = [&](std::vector<double>* out) {
    {
      std::lock_guard lock(mu);
      latencies_ms.clear();
    }
    int64_t before = applied.load();
    measure_latency = true;
    int64_t offered = 0;
    absl::Time t0 = absl::Now();
    for (int64_t i = 0; i < static_cast<int64_t>(rate) * seconds; ++i) {
      absl::Time due = t0 + absl::Seconds(1) * i / rate;
      absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
      if (commit(1).ok()) ++offered;
    }
    bool done = drain(before + offered);
    measure_latency = false;
    std::lock_guard lock(mu);
    *out = latencies_ms;
    return done;
  };
  std::vector<double> quiet_ms, busy_ms;
  bool latency_drained = latency(&quiet_ms);
  const bool busy = absl::GetFlag(FLAGS_busy);
  if (busy) {
    bench::CpuHog hog(bench::LastCpu());
    absl::SleepFor(absl::Milliseconds(200));
    latency_drained = latency(&busy_ms) && latency_drained && hog.running();
  }
  for (auto& c : consumers) c->Stop();
  relay.Stop();
  {
    RedisConnection conn(redis);
    (void)conn.Command({"DEL", stream, DeadLetterStream(stream)});
  }

  double p50 = Percentile(quiet_ms, 0.50), p99 = Percentile(quiet_ms, 0.99);
  double busy_p50 = Percentile(busy_ms, 0.50), busy_p99 = Percentile(busy_ms, 0.99);
  auto row = [](const std::string& figure, const std::string& value, const std::string& base,
                const std::string& ratio) {
    std::printf("%-34s %-22s %-34s %s\n", figure.c_str(), value.c_str(), base.c_str(),
                ratio.c_str());
  };
  row("raw pipelined XADD (500/pipeline)", absl::StrFormat("%.0f /s", raw_rate), "-", "-");
  row("bus end to end (outbox→applied)", absl::StrFormat("%.0f events/s", bus_only.rate),
      absl::StrFormat("%.0f /s raw XADD", raw_rate),
      absl::StrFormat("%.3f", bus_only.rate / raw_rate));
  row("  + a handler inserting a row", absl::StrFormat("%.0f events/s", with_insert.rate),
      absl::StrFormat("%.0f /s raw XADD", raw_rate),
      absl::StrFormat("%.3f", with_insert.rate / raw_rate));
  row("",
      absl::StrFormat("%d producers x %d events/commit", absl::GetFlag(FLAGS_producers),
                      absl::GetFlag(FLAGS_events_per_commit)),
      "", "");
  row(absl::StrFormat("bus latency p50 / p99 @ %d/s", rate),
      absl::StrFormat("%.1f / %.1f ms", p50, p99), "-", "-");
  if (busy) {
    row(absl::StrFormat("  the same, a CPU hog on CPU %d", bench::LastCpu()),
        absl::StrFormat("%.1f / %.1f ms", busy_p50, busy_p99), "goal p99 <= 20 ms", "-");
  }
  bool ok = drained && latency_drained;
  if (!ok) std::printf("PROBLEMS: the consumer did not apply every event within 120 s\n");

  if (std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ofstream out(path);
    out << absl::StrFormat(
        "{\"raw_xadd_per_s\": %.1f, \"bus_events_per_s\": %.1f, \"bus_ratio_to_raw\": %.4f, "
        "\"bus_with_insert_events_per_s\": %.1f, \"latency_rate_per_s\": %d, "
        "\"latency_p50_ms\": %.2f, \"latency_p99_ms\": %.2f, \"busy\": %s, "
        "\"busy_latency_p50_ms\": %.2f, \"busy_latency_p99_ms\": %.2f, \"complete\": %s}\n",
        raw_rate, e2e_rate, e2e_rate / raw_rate, with_insert.rate, rate, p50, p99,
        busy ? "true" : "false", busy_p50, busy_p99, ok ? "true" : "false");
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace wuye

int main(int argc, char** argv) {
  wuye::ParseFlagsWithEnv(argc, argv, "bus_bench: the event bus against raw XADD");
  wuye::SetLogLevel(wuye::LogLevel::kWarn);
  return wuye::Run();
}
