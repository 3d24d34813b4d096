#include "shared/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, listen, "", "host:port to serve gRPC on (default 0.0.0.0:<service port>)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus /metrics on (default 0.0.0.0:<service port + 1000>; "
          "\"off\" for none)");
ABSL_FLAG(std::string, pg_url, "", "PostgreSQL URL of the service's own database");
ABSL_FLAG(int, pg_pool_size, 8, "PostgreSQL connections in the pool");
ABSL_FLAG(absl::Duration, pg_statement_timeout, absl::Seconds(5), "statement_timeout");
ABSL_FLAG(absl::Duration, pg_acquire_timeout, absl::Seconds(2),
          "how long a call waits for a free connection");
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
ABSL_FLAG(int, max_message_bytes, 32 << 20, "largest request or response");
ABSL_FLAG(absl::Duration, bus_retention, absl::Hours(24 * 7),
          "stream entries are trimmed only past this age, and once every group has them");
ABSL_FLAG(absl::Duration, bus_claim_idle, absl::Seconds(30),
          "an event pending this long on a consumer is taken over by another");
ABSL_FLAG(int, bus_max_deliveries, 5, "deliveries before an event goes to the dead-letter stream");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace wuye {
namespace {

absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read the file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(ss.str()));
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
  ParseFlagsWithEnv(argc, argv, absl::StrCat("wuye ", service, " service"));
  ServiceConfig c;
  c.service = std::string(service);
  c.server.listen = absl::GetFlag(FLAGS_listen);
  if (c.server.listen.empty()) c.server.listen = absl::StrCat("0.0.0.0:", default_port);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (c.metrics_listen.empty()) c.metrics_listen = absl::StrCat("0.0.0.0:", default_port + 1000);
  if (c.metrics_listen == "off") c.metrics_listen.clear();
  c.server.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  c.server.db_unhealthy_after = absl::GetFlag(FLAGS_db_unhealthy_after);
  c.server.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.db.url = absl::GetFlag(FLAGS_pg_url);
  c.db.pool_size = absl::GetFlag(FLAGS_pg_pool_size);
  c.db.statement_timeout = absl::GetFlag(FLAGS_pg_statement_timeout);
  c.db.acquire_timeout = absl::GetFlag(FLAGS_pg_acquire_timeout);
  c.redis.addr = absl::GetFlag(FLAGS_redis_addr);
  if (const char* pw = std::getenv("WUYE_REDIS_PASSWORD")) c.redis.password = pw;
  c.bus.retention = absl::GetFlag(FLAGS_bus_retention);
  c.bus.claim_idle = absl::GetFlag(FLAGS_bus_claim_idle);
  c.bus.max_deliveries = absl::GetFlag(FLAGS_bus_max_deliveries);
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
  if (c.db.statement_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg_statement_timeout: must be > 0");
  }
  if (c.server.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("shutdown_grace: must be >= 0");
  }
  if (c.server.max_message_bytes < 4096) {
    return absl::InvalidArgumentError("max_message_bytes: must be >= 4096");
  }
  if (c.bus.claim_idle < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("bus_claim_idle: must be >= 100ms");
  }
  if (c.bus.max_deliveries < 1)
    return absl::InvalidArgumentError("bus_max_deliveries: must be >= 1");
  if (c.auth.hs256_secret.empty() && c.auth.es256_public_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "jwt: no key: set WUYE_JWT_SECRET, --jwt_secret_file or --jwt_es256_public_key_file");
  }
  return c;
}

}  // namespace wuye
