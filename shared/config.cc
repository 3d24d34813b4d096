#include "shared/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/secret.h"

ABSL_FLAG(std::string, listen, "", "host:port to serve gRPC on (default 0.0.0.0:<service port>)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus /metrics on (default 0.0.0.0:<service port + 1000>; "
          "\"off\" for none)");
ABSL_FLAG(std::string, pg_url, "", "PostgreSQL URL of the service's own database");
ABSL_FLAG(int, pg_pool_size, 8, "PostgreSQL connections in the pool");
ABSL_FLAG(absl::Duration, pg_statement_timeout, absl::Seconds(5), "statement_timeout");
ABSL_FLAG(absl::Duration, pg_acquire_timeout, absl::Seconds(2),
          "how long a call waits for a free connection");
ABSL_FLAG(absl::Duration, pg_ping_timeout, absl::Seconds(2),
          "the longest health ping of PostgreSQL; while the latest one failed, calls fail "
          "UNAVAILABLE at once, and a call waiting for an answer longer than "
          "pg_statement_timeout + this while pings fail has its connection cut");
ABSL_FLAG(std::string, redis_addr, "", "Redis host:port of the event bus");
ABSL_FLAG(std::string, jwt_issuer, "wuye", "required iss claim");
ABSL_FLAG(std::string, jwt_audience, "wuye", "required aud claim");
ABSL_FLAG(std::string, jwt_secret_file, "",
          "file holding the HS256 secret (or set WUYE_JWT_SECRET)");
ABSL_FLAG(std::string, jwt_es256_public_key_file, "",
          "PEM file of the ES256 public key(s): two during a rotation");
ABSL_FLAG(absl::Duration, jwt_max_lifetime, wuye::kDefaultMaxTokenLifetime,
          "tokens living longer (exp - iat) are refused");
ABSL_FLAG(bool, production, false,
          "production: only ES256 tokens; an HS256 secret is a start-up error");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(15),
          "how long in-flight calls may finish after SIGTERM");
ABSL_FLAG(absl::Duration, db_unhealthy_after, absl::Seconds(5),
          "PostgreSQL unreachable this long turns health NOT_SERVING");
ABSL_FLAG(absl::Duration, bus_retention, absl::Hours(24 * 7),
          "stream entries are trimmed only past this age, and once every group has them");
ABSL_FLAG(absl::Duration, bus_claim_idle, absl::Seconds(30),
          "an event pending this long on a consumer is taken over by another");
ABSL_FLAG(int, bus_max_deliveries, 5,
          "handler refusals before an event goes to the dead-letter stream");
ABSL_FLAG(absl::Duration, bus_max_wait, absl::Hours(24),
          "an event whose handler answers UNAVAILABLE this long goes to the dead-letter stream");
ABSL_FLAG(absl::Duration, bus_dead_retention, absl::Hours(24 * 30),
          "dead-letter entries are trimmed past this age");
ABSL_FLAG(absl::Duration, bus_keep_sent, absl::Hours(24),
          "sent outbox rows are deleted past this age (kept to re-send after a Redis loss)");
ABSL_FLAG(absl::Duration, bus_keep_keys, absl::Hours(24 * 30),
          "request_id answers and inbox rows are deleted past this age; must exceed "
          "--bus_retention");
ABSL_FLAG(std::string, redis_sentinels, "",
          "Redis under Sentinel: the sentinels, host:port,host:port (then --redis_addr is not used)");
ABSL_FLAG(std::string, redis_master, "wuye", "the name the sentinels know the primary by");
ABSL_FLAG(std::string, redis_sentinel_user, "",
          "the sentinels' ACL user (with WUYE_REDIS_SENTINEL_PASSWORD); empty: the default user");
ABSL_FLAG(int, bus_min_replicas, 0,
          "Redis replicas that must hold an event before its outbox row counts as sent");
ABSL_FLAG(absl::Duration, bus_replica_wait, absl::Seconds(1),
          "how long the relay waits for --bus_min_replicas (WAIT) before sending again");
ABSL_FLAG(absl::Duration, bus_relay_lease, absl::Seconds(30),
          "the relay leader's session ends after this long idle, freeing leadership for another "
          "replica (a frozen process); 0: never; raised to what one relay pass may take");
ABSL_FLAG(std::string, redis_user, "", "Redis ACL user (with WUYE_REDIS_PASSWORD)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

// Limits, TLS and PostgreSQL sessions (docs/operations.md, "Security and limits").
ABSL_FLAG(int, max_message_bytes, 1 << 20,
          "largest request of an ordinary method (refused RESOURCE_EXHAUSTED undecoded)");
ABSL_FLAG(int, bulk_message_bytes, 16 << 20,
          "largest request of a bulk method (ImportUnits, ImportCarrierCallLog)");
ABSL_FLAG(int, max_repeated_entries, 1000,
          "most entries of a repeated request field of an ordinary method");
ABSL_FLAG(int, grpc_max_threads, 64, "threads serving calls; beyond them RESOURCE_EXHAUSTED");
ABSL_FLAG(int, grpc_max_concurrent_streams, 64, "concurrent calls per client connection");
ABSL_FLAG(int, grpc_max_pollers, 8,
          "threads kept waiting for calls between calls (0: gRPC's default, 2); too few makes "
          "the server start and end threads under load");
ABSL_FLAG(bool, adaptive_limit, true,
          "each ordinary method works on at most as many calls at once as its latency allows; "
          "the excess is refused RESOURCE_EXHAUSTED before any work");
ABSL_FLAG(int, adaptive_limit_min, 8, "the adaptive limit never falls below this");
ABSL_FLAG(double, adaptive_limit_tolerance, 3.0,
          "how many times its unloaded latency a method's mean latency may reach before its "
          "limit shrinks");
ABSL_FLAG(absl::Duration, grpc_max_connection_age, absl::Minutes(30),
          "a client connection is closed (gracefully) after this long");
ABSL_FLAG(absl::Duration, grpc_max_connection_idle, absl::Minutes(10),
          "a client connection without calls is closed after this long");
ABSL_FLAG(bool, reflection, true, "serve gRPC server reflection (off in production)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain of the server; empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle; set: mutual TLS, clients must present a certificate it signed");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(60),
          "how often the TLS files are re-read (a renewed Secret needs no restart)");
ABSL_FLAG(absl::Duration, pg_keepalives_idle, absl::Seconds(30),
          "TCP keepalive idle time of every PostgreSQL connection (both ends)");
ABSL_FLAG(absl::Duration, pg_idle_in_transaction_timeout, absl::Seconds(60),
          "idle_in_transaction_session_timeout of every session");

namespace wuye {
namespace {

// The limits, TLS and PostgreSQL session flags, validated.
absl::Status LoadLimits(ServiceConfig* c) {
  ServerOptions& s = c->server;
  s.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  s.bulk_message_bytes = absl::GetFlag(FLAGS_bulk_message_bytes);
  s.max_repeated_entries = absl::GetFlag(FLAGS_max_repeated_entries);
  s.max_threads = absl::GetFlag(FLAGS_grpc_max_threads);
  s.max_concurrent_streams = absl::GetFlag(FLAGS_grpc_max_concurrent_streams);
  s.sync_max_pollers = absl::GetFlag(FLAGS_grpc_max_pollers);
  s.concurrency.enabled = absl::GetFlag(FLAGS_adaptive_limit);
  s.concurrency.min = absl::GetFlag(FLAGS_adaptive_limit_min);
  s.concurrency.tolerance = absl::GetFlag(FLAGS_adaptive_limit_tolerance);
  s.max_connection_age = absl::GetFlag(FLAGS_grpc_max_connection_age);
  s.max_connection_idle = absl::GetFlag(FLAGS_grpc_max_connection_idle);
  s.reflection = absl::GetFlag(FLAGS_reflection);
  s.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  s.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  s.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  s.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  c->db.keepalives_idle = absl::GetFlag(FLAGS_pg_keepalives_idle);
  c->db.idle_in_transaction_timeout = absl::GetFlag(FLAGS_pg_idle_in_transaction_timeout);
  if (s.max_message_bytes < 4096 || s.max_message_bytes > (64 << 20)) {
    return absl::InvalidArgumentError("max_message_bytes: must be 4096..64 MiB");
  }
  if (s.bulk_message_bytes < s.max_message_bytes || s.bulk_message_bytes > (256 << 20)) {
    return absl::InvalidArgumentError("bulk_message_bytes: must be max_message_bytes..256 MiB");
  }
  if (s.max_repeated_entries < 10) {
    return absl::InvalidArgumentError("max_repeated_entries: must be >= 10");
  }
  if (s.max_threads < 4) return absl::InvalidArgumentError("grpc_max_threads: must be >= 4");
  if (s.sync_max_pollers < 0 || s.sync_max_pollers > s.max_threads) {
    return absl::InvalidArgumentError("grpc_max_pollers: must be 0..grpc_max_threads");
  }
  if (s.concurrency.min < 1 || s.concurrency.min > s.max_threads) {
    return absl::InvalidArgumentError("adaptive_limit_min: must be 1..grpc_max_threads");
  }
  if (!(s.concurrency.tolerance >= 1.0 && s.concurrency.tolerance <= 100.0)) {
    return absl::InvalidArgumentError("adaptive_limit_tolerance: must be 1..100");
  }
  if (s.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("grpc_max_concurrent_streams: must be >= 1");
  }
  if (s.max_connection_age < absl::Seconds(10) || s.max_connection_idle < absl::Seconds(10)) {
    return absl::InvalidArgumentError("grpc_max_connection_age/idle: must be >= 10s");
  }
  if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file, tls_key_file: give both or neither");
  }
  if (!s.tls.client_ca_file.empty() && s.tls.cert_file.empty()) {
    return absl::InvalidArgumentError("tls_client_ca_file: needs tls_cert_file and tls_key_file");
  }
  if (s.tls.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("tls_reload_interval: must be >= 1s");
  }
  if (c->db.keepalives_idle < absl::Seconds(1) ||
      c->db.idle_in_transaction_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "pg_keepalives_idle, pg_idle_in_transaction_timeout: must be >= 1s");
  }
  return absl::OkStatus();
}

}  // namespace

void ParseFlagsWithEnv(int argc, char** argv, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  for (auto& [name, flag] : absl::GetAllFlags()) {
    std::string env = absl::StrCat("WUYE_", absl::AsciiStrToUpper(name));
    if (const char* value = std::getenv(env.c_str()); value != nullptr) {
      std::string error;
      if (!flag->ParseFrom(value, &error)) {
        std::fprintf(stderr, "%s: %s\n", env.c_str(), error.c_str());
        std::exit(2);
      }
    }
  }
  absl::ParseCommandLine(argc, argv);
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(int argc, char** argv, absl::string_view service,
                                                int default_port) {
  // --help: the flags every service has (this file) and the service's own.
  absl::FlagsUsageConfig usage;
  const std::string own = absl::StrCat("services/", service, "/");
  usage.contains_help_flags = [own](absl::string_view file) {
    return absl::EndsWith(file, "shared/config.cc") || absl::StrContains(file, own);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  ParseFlagsWithEnv(argc, argv,
                    absl::StrCat("wuye ", service, " service. Each flag also reads WUYE_<FLAG>."));
  ServiceConfig c;
  c.service = std::string(service);
  c.server.listen = absl::GetFlag(FLAGS_listen);
  if (c.server.listen.empty()) c.server.listen = absl::StrCat("0.0.0.0:", default_port);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (c.metrics_listen.empty()) c.metrics_listen = absl::StrCat("0.0.0.0:", default_port + 1000);
  if (c.metrics_listen == "off") c.metrics_listen.clear();
  c.server.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  c.server.db_unhealthy_after = absl::GetFlag(FLAGS_db_unhealthy_after);
  c.db.url = absl::GetFlag(FLAGS_pg_url);
  c.db.pool_size = absl::GetFlag(FLAGS_pg_pool_size);
  c.db.statement_timeout = absl::GetFlag(FLAGS_pg_statement_timeout);
  c.db.acquire_timeout = absl::GetFlag(FLAGS_pg_acquire_timeout);
  c.db.ping_timeout = absl::GetFlag(FLAGS_pg_ping_timeout);
  c.redis.addr = absl::GetFlag(FLAGS_redis_addr);
  c.redis.user = absl::GetFlag(FLAGS_redis_user);
  c.redis.sentinels = absl::StrSplit(absl::GetFlag(FLAGS_redis_sentinels), ',', absl::SkipEmpty());
  c.redis.master = absl::GetFlag(FLAGS_redis_master);
  c.redis.sentinel_user = absl::GetFlag(FLAGS_redis_sentinel_user);
  if (const char* pw = std::getenv("WUYE_REDIS_SENTINEL_PASSWORD")) c.redis.sentinel_password = pw;
  c.bus.min_replicas = absl::GetFlag(FLAGS_bus_min_replicas);
  c.bus.replica_wait = absl::GetFlag(FLAGS_bus_replica_wait);
  c.bus.relay_lease = absl::GetFlag(FLAGS_bus_relay_lease);
  if (const char* pw = std::getenv("WUYE_REDIS_PASSWORD")) c.redis.password = pw;
  c.bus.retention = absl::GetFlag(FLAGS_bus_retention);
  c.bus.claim_idle = absl::GetFlag(FLAGS_bus_claim_idle);
  c.bus.max_deliveries = absl::GetFlag(FLAGS_bus_max_deliveries);
  c.bus.max_wait = absl::GetFlag(FLAGS_bus_max_wait);
  c.bus.dead_retention = absl::GetFlag(FLAGS_bus_dead_retention);
  c.bus.keep_sent = absl::GetFlag(FLAGS_bus_keep_sent);
  c.bus.keep_keys = absl::GetFlag(FLAGS_bus_keep_keys);
  c.auth.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  c.auth.audience = absl::GetFlag(FLAGS_jwt_audience);
  if (const char* secret = std::getenv("WUYE_JWT_SECRET")) c.auth.hs256_secret = secret;
  if (std::string f = absl::GetFlag(FLAGS_jwt_secret_file); !f.empty()) {
    auto secret = ReadSecretFile("jwt_secret_file", f);
    if (!secret.ok()) return secret.status();
    c.auth.hs256_secret = *secret;
  }
  if (std::string f = absl::GetFlag(FLAGS_jwt_es256_public_key_file); !f.empty()) {
    auto pem = ReadSecretFile("jwt_es256_public_key_file", f);
    if (!pem.ok()) return pem.status();
    c.auth.es256_public_key_pem = *pem;
  }
  if (absl::Status st = LoadLimits(&c); !st.ok()) return st;
  c.auth.production = absl::GetFlag(FLAGS_production);
  c.auth.max_lifetime = absl::GetFlag(FLAGS_jwt_max_lifetime);
  if (c.auth.production && !c.auth.hs256_secret.empty()) {
    return absl::InvalidArgumentError(
        "jwt: an HS256 secret (WUYE_JWT_SECRET or --jwt_secret_file) is refused with "
        "--production: it could mint tokens for every group; give only "
        "--jwt_es256_public_key_file");
  }
  if (c.auth.production && c.auth.es256_public_key_pem.empty()) {
    return absl::InvalidArgumentError("jwt: --production needs --jwt_es256_public_key_file");
  }
  if (c.auth.max_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("jwt_max_lifetime: must be > 0");
  }
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &c.log_level)) {
    return absl::InvalidArgumentError("log_level: must be debug, info, warn or error");
  }
  if (c.db.url.empty()) return absl::InvalidArgumentError("pg_url: required (or WUYE_PG_URL)");
  if (c.db.pool_size < 1 || c.db.pool_size > 200) {
    return absl::InvalidArgumentError("pg_pool_size: must be 1..200");
  }
  if (c.db.ping_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("pg_ping_timeout: must be >= 100ms");
  }
  if (c.db.statement_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg_statement_timeout: must be > 0");
  }
  if (c.server.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("shutdown_grace: must be >= 0");
  }
  if (c.bus.claim_idle < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("bus_claim_idle: must be >= 100ms");
  }
  if (c.bus.max_deliveries < 1)
    return absl::InvalidArgumentError("bus_max_deliveries: must be >= 1");
  if (c.bus.max_wait < c.bus.claim_idle) {
    return absl::InvalidArgumentError("bus_max_wait: must be >= bus_claim_idle");
  }
  if (c.bus.dead_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("bus_dead_retention: must be > 0");
  }
  if (c.bus.keep_sent <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("bus_keep_sent: must be > 0");
  }
  // A redelivery of an entry still on the stream must find its inbox row.
  if (c.bus.keep_keys <= c.bus.retention) {
    return absl::InvalidArgumentError("bus_keep_keys: must exceed bus_retention");
  }
  if (c.bus.min_replicas < 0 || c.bus.min_replicas > 16) {
    return absl::InvalidArgumentError("bus_min_replicas: must be 0..16");
  }
  if (c.bus.replica_wait < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("bus_replica_wait: must be >= 10ms");
  }
  // A working leader's session may idle for a back-off (5 s; 1 s under Sentinel) and one
  // pass of Redis calls: asking each sentinel (connect, AUTH, the primary's address) and
  // connecting to the primary, then AUTH, ROLE and the pipeline, each command within its
  // timeout (and WAIT's with --bus_min_replicas). A shorter lease would move leadership while
  // nothing is wrong, so a shorter one is raised to that (and said). PostgreSQL takes at most
  // 2^31 - 1 ms.
  if (c.bus.relay_lease < absl::ZeroDuration() || c.bus.relay_lease > absl::Hours(24 * 24)) {
    return absl::InvalidArgumentError("bus_relay_lease: must be 0 (no lease) to 576h");
  }
  if (c.bus.relay_lease != absl::ZeroDuration()) {
    const int sentinels = static_cast<int>(c.redis.sentinels.size());
    const absl::Duration command =
        c.redis.command_timeout + (c.bus.min_replicas > 0 ? c.bus.replica_wait : absl::ZeroDuration());
    const absl::Duration least =
        (sentinels > 0 ? absl::Seconds(1) : absl::Seconds(5)) +
        c.redis.connect_timeout * (1 + sentinels) + (c.redis.command_timeout * 2) * sentinels +
        command * 3 + absl::Seconds(2);
    if (c.bus.relay_lease < least) {
      LogWarn("bus.relay_lease_raised")
          .Str("asked", absl::FormatDuration(c.bus.relay_lease))
          .Str("lease", absl::FormatDuration(least))
          .Str("why", "a working leader may idle that long: a back-off and one pass of Redis calls");
      c.bus.relay_lease = least;
    }
  }
  if (!c.redis.sentinels.empty() && c.redis.master.empty()) {
    return absl::InvalidArgumentError("redis_master: required with --redis_sentinels");
  }
  // Anyone who reaches a Redis off this host could forge events: it needs an ACL user.
  std::vector<std::string> redis_hosts = c.redis.sentinels;
  if (redis_hosts.empty() && !c.redis.addr.empty()) redis_hosts.push_back(c.redis.addr);
  for (const std::string& addr : redis_hosts) {
    std::string host = addr.substr(0, addr.rfind(':'));
    if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && c.redis.password.empty()) {
      return absl::InvalidArgumentError(
          "redis_addr: a Redis off this host needs WUYE_REDIS_PASSWORD (and --redis_user)");
    }
  }
  if (c.auth.hs256_secret.empty() && c.auth.es256_public_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "jwt: no key: set WUYE_JWT_SECRET, --jwt_secret_file or --jwt_es256_public_key_file");
  }
  return c;
}

}  // namespace wuye
