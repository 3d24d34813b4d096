// Configuration of a service process: flags, each with an environment fallback
// WUYE_<FLAG_NAME_IN_CAPITALS> (a flag on the command line wins), validated at start.
// Secrets come only from the environment or files, and are never logged.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/auth.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/redis.h"
#include "shared/server.h"

namespace wuye {

struct BusConfig {
  absl::Duration retention = absl::Hours(24 * 7);        // stream entries kept at least this long
  absl::Duration claim_idle = absl::Seconds(30);         // pending this long → taken over
  int max_deliveries = 5;                                // handler refusals → dead-letter stream
  absl::Duration max_wait = absl::Hours(24);             // waiting this long → dead-letter stream
  absl::Duration dead_retention = absl::Hours(24 * 30);  // dead letters trimmed past this age
  int min_replicas = 0;                                  // Redis replicas an event must reach
  absl::Duration replica_wait = absl::Seconds(1);        // how long the relay waits for them
  absl::Duration relay_lease = absl::Seconds(30);        // the relay leader's idle session ends
                                                         // (raised to what a pass may take)
  absl::Duration keep_sent = absl::Hours(24);            // sent outbox rows deleted past this age
  absl::Duration keep_keys = absl::Hours(24 * 30);       // request ids, inbox rows: the same
};

struct ServiceConfig {
  std::string service;  // "directory"
  ServerOptions server;
  DbOptions db;
  RedisOptions redis;
  BusConfig bus;
  AuthConfig auth;
  LogLevel log_level = LogLevel::kInfo;
  // host:port of the Prometheus endpoint (shared/metrics_http.h); empty: none.
  std::string metrics_listen;
};

// Applies WUYE_* environment values to flags, parses argv (exits with usage on a bad flag),
// then builds and validates the config. `default_port` is the service's well-known port,
// used when --listen is not given. --pg_url and a JWT key are required.
absl::StatusOr<ServiceConfig> LoadServiceConfig(int argc, char** argv, absl::string_view service,
                                                int default_port);

// The same environment-then-argv parsing, for tools.
void ParseFlagsWithEnv(int argc, char** argv, absl::string_view usage);

}  // namespace wuye
