#include "shared/service_main.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "shared/log.h"
#include "shared/metrics_http.h"
#include "shared/server.h"
#include "shared/signals.h"
#include "wuye/service_list.h"

namespace wuye {

absl::StatusOr<std::unique_ptr<Db>> OpenServiceDatabase(const DbOptions& options,
                                                        const MigrationSet& migrations,
                                                        absl::Duration wait) {
  absl::Time deadline = absl::Now() + wait;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options);
  while (!db.ok() && db.status().code() == absl::StatusCode::kUnavailable &&
         absl::Now() < deadline) {
    LogWarn("db.waiting").Str("error", db.status().message());
    absl::SleepFor(absl::Seconds(1));
    db = Db::Open(options);
  }
  if (!db.ok()) return db.status();
  if (absl::Status st = ApplyMigrations(**db, {&platform_migrations(), &migrations}); !st.ok()) {
    return st;
  }
  return db;
}

int ServiceMain(int argc, char** argv, const ServiceSpec& given) {
  ServiceSpec spec = given;
  for (const ListedService& listed : kListedServices) {
    if (spec.name != listed.name) continue;
    if (spec.default_port == 0) spec.default_port = listed.port;
    absl::string_view names = listed.grpc_services;  // the first is the main one
    if (spec.grpc_service_name.empty())
      spec.grpc_service_name = std::string(names.substr(0, names.find(',')));
  }
  if (spec.default_port == 0 || spec.grpc_service_name.empty()) {
    std::fprintf(stderr, "%s: not in services.txt: give default_port and grpc_service_name\n",
                 spec.name.c_str());
    return 2;
  }
  ServiceHost::BlockTerminationSignals();
  IgnoreMutexDeadlockChecks();
  absl::StatusOr<ServiceConfig> config =
      LoadServiceConfig(argc, argv, spec.name, spec.default_port);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: bad configuration: %s\n", spec.name.c_str(),
                 std::string(config.status().message()).c_str());
    return 2;
  }
  SetLogService(spec.name);
  SetLogLevel(config->log_level);
  auto fail = [&](absl::string_view what, const absl::Status& st) {
    LogError(what).Str("error", st.ToString());
    return 1;
  };
  auto verifier = TokenVerifier::Create(config->auth);
  if (!verifier.ok()) return fail("auth.config", verifier.status());
  auto db = OpenServiceDatabase(config->db, *spec.migrations, absl::Seconds(60));
  if (!db.ok()) return fail("db.open", db.status());
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!config->metrics_listen.empty()) {
    auto endpoint = MetricsEndpoint::Start(config->metrics_listen);
    if (!endpoint.ok()) return fail("metrics.listen", endpoint.status());
    metrics = std::move(*endpoint);
    LogInfo("metrics.serving").Int("port", metrics->port());
  }
  ServiceParts parts{*config, **db, **verifier, SystemClock()};
  auto service = spec.make(parts);
  if (!service.ok()) return fail("service.init", service.status());
  // The bus: this service's outbox goes to its stream; other streams come in.
  std::unique_ptr<OutboxRelay> relay;
  std::unique_ptr<EventConsumer> consumer;
  if (!config->redis.addr.empty() || !config->redis.sentinels.empty()) {
    RelayOptions relay_options;
    relay_options.stream = StreamOf(spec.name);
    relay_options.retention = config->bus.retention;
    relay_options.dead_retention = config->bus.dead_retention;
    relay_options.keep_sent = config->bus.keep_sent;
    relay_options.keep_keys = config->bus.keep_keys;
    relay_options.min_replicas = config->bus.min_replicas;
    relay_options.replica_wait = config->bus.replica_wait;
    relay_options.lease = config->bus.relay_lease;
    // Under Sentinel an outage is mostly a failover, over in a few seconds: retry at least
    // every second (each retry asks the sentinels again) rather than backing off to 5 s.
    const absl::Duration redis_backoff =
        config->redis.sentinels.empty() ? relay_options.max_backoff : absl::Seconds(1);
    relay_options.max_backoff = redis_backoff;
    if (!config->redis.sentinels.empty() && config->bus.min_replicas == 0) {
      // Sentinel fails over to a replica, which lacks what the dead primary had not yet sent
      // it: without WAIT, those events are gone (docs/operations.md, Redis under Sentinel).
      LogWarn("bus.no_replica_wait")
          .Str("why", "under Sentinel, events on a primary that dies before replicating are lost")
          .Str("fix", "--bus_min_replicas=1");
    }
    relay = std::make_unique<OutboxRelay>(config->db, config->redis, relay_options);
    relay->Start();
    if (!spec.consumes.empty() && spec.make_handler) {
      ConsumerOptions consumer_options;
      consumer_options.group = spec.name;
      consumer_options.streams = spec.consumes;
      consumer_options.claim_idle = config->bus.claim_idle;
      consumer_options.max_deliveries = config->bus.max_deliveries;
      consumer_options.max_wait = config->bus.max_wait;
      consumer_options.min_replicas = config->bus.min_replicas;
      consumer_options.replica_wait = config->bus.replica_wait;
      consumer_options.max_backoff = std::min(consumer_options.max_backoff, redis_backoff);
      consumer = std::make_unique<EventConsumer>(**db, config->redis, consumer_options,
                                                 spec.make_handler(parts));
      consumer->Start();
    }
  } else {
    LogWarn("bus.disabled").Str("why", "no --redis_addr: events stay in the outbox");
  }
  std::vector<std::unique_ptr<PeriodicWorker>> workers;
  if (spec.make_workers) workers = spec.make_workers(parts);
  for (auto& worker : workers) worker->Start();
  ServiceHost host(config->server, db->get());
  host.AddService(service->get(), spec.grpc_service_name);
  if (metrics) metrics->SetReadiness([&host] { return host.serving(); });
  absl::Status served = host.ServeUntilSignal();
  for (auto& worker : workers) worker->Stop();
  if (consumer) consumer->Stop();
  if (relay) relay->Stop();
  if (metrics) metrics->SetReadiness([] { return false; });  // before host goes
  if (!served.ok()) return fail("server", served);
  return 0;
}

}  // namespace wuye
