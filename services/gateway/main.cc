// wuye-gateway: one HTTP door for browsers, mini-programs and curl. The Connect protocol
// and gRPC-Web over every RPC of every service (docs/api/http.md), transcoded to the
// services' gRPC; health and metrics like every service; on SIGTERM it stops taking
// connections, lets calls finish up to --shutdown_grace, ends open streams with
// "unavailable" (clients reconnect elsewhere) and exits 0.
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/gateway/gateway.h"
#include "services/gateway/http_server.h"
#include "shared/config.h"
#include "shared/log.h"
#include "shared/metrics_http.h"
#include "shared/secret.h"
#include "shared/server.h"
#include "shared/signals.h"

// Shared with every service (shared/config.cc).
ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(absl::Duration, tls_reload_interval);
ABSL_DECLARE_FLAG(absl::Duration, shutdown_grace);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(std::string, jwt_secret_file);
ABSL_DECLARE_FLAG(bool, production);

ABSL_FLAG(std::string, upstream, "127.0.0.1:{port}",
          "address of a service; {name} and {port} are replaced from services.txt "
          "(in Kubernetes: wuye-{name}:50051)");
ABSL_FLAG(std::string, upstreams, "",
          "addresses of single services over --upstream: name=host:port,… (e.g. a service "
          "run elsewhere)");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "CA bundle the services' TLS certificates chain to; empty: plaintext to the services");
ABSL_FLAG(std::string, upstream_cert_file, "",
          "PEM client certificate the gateway presents to services that require one (mutual TLS)");
ABSL_FLAG(std::string, upstream_key_file, "", "PEM private key of --upstream_cert_file");
ABSL_FLAG(std::string, cors_origins, "",
          "comma-separated browser origins allowed by CORS (https://desk.example.com); empty: none");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "largest request body of an ordinary method (HTTP 413 beyond)");
ABSL_FLAG(int64_t, max_bulk_body_bytes, 16 << 20, "largest request body of a bulk import method");
ABSL_FLAG(int64_t, max_header_bytes, 16 << 10, "largest request head (HTTP 431 beyond)");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(30),
          "a connection silent this long is closed (idle keep-alive, or a stalled request)");
ABSL_FLAG(int, max_connections, 1000, "open connections at most (one thread each)");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(30),
          "deadline of a unary call whose client names none (connect-timeout-ms, grpc-timeout)");
ABSL_FLAG(std::string, cells_file, "",
          "where groups live when this gateway fronts several cells (docs/scaling.md); "
          "read again when it changes; empty: one cell");
ABSL_FLAG(std::string, console_dir, "",
          "the web console's built files (web/console/dist), served at /; empty: no console");
ABSL_FLAG(std::string, local_sign_in_file, "",
          "local sign-in for the console (never in production): a file of group ids, one a "
          "line, whose staff may sign in with tokens minted from WUYE_JWT_SECRET; empty: off");
ABSL_FLAG(std::string, oidc_issuer, "",
          "the group's OpenID Connect provider for the console's sign-in (its issuer identifier, "
          "https://…); told to the console at GET /console/config; empty: none");
ABSL_FLAG(std::string, oidc_client_id, "", "the console's client id at that provider (a public client)");
ABSL_FLAG(std::string, oidc_scopes, "openid", "scopes the console asks for, space-separated; must include openid");
ABSL_FLAG(absl::Duration, max_timeout, absl::Minutes(5), "cap of any deadline a client names");

namespace {

constexpr int kDefaultPort = 50080;

int Fail(absl::string_view what, const absl::Status& st) {
  wuye::LogError(what).Str("error", st.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  wuye::ServiceHost::BlockTerminationSignals();
  wuye::IgnoreMutexDeadlockChecks();
  // --help lists this file's flags; the ones it shares with every service are named here.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "gateway/main.cc"); };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  wuye::ParseFlagsWithEnv(argc, argv,
                          "the Connect protocol and gRPC-Web over every service (docs/api/http.md).\n"
                          "Also, as every service: --listen (0.0.0.0:50080), --metrics_listen "
                          "(0.0.0.0:51080, or off), --tls_cert_file, --tls_key_file, --tls_reload_interval, "
                          "--shutdown_grace, --log_level, --production; with --local_sign_in_file, "
                          "WUYE_JWT_SECRET or --jwt_secret_file. Each flag also reads WUYE_<FLAG>.");
  wuye::SetLogService("gateway");
  wuye::LogLevel level;
  if (!wuye::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "gateway: bad configuration: log_level: want debug, info, warn or error\n");
    return 2;
  }
  wuye::SetLogLevel(level);

  wuye::gateway::GatewayOptions g;
  g.upstream = absl::GetFlag(FLAGS_upstream);
  for (absl::string_view pair : absl::StrSplit(absl::GetFlag(FLAGS_upstreams), ',', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    g.upstreams[kv.first] = kv.second;
  }
  g.upstream_ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  g.upstream_cert_file = absl::GetFlag(FLAGS_upstream_cert_file);
  g.upstream_key_file = absl::GetFlag(FLAGS_upstream_key_file);
  g.cors_origins = absl::StrSplit(absl::GetFlag(FLAGS_cors_origins), ',', absl::SkipWhitespace());
  g.max_body_bytes = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_max_body_bytes)));
  g.max_bulk_body_bytes = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_max_bulk_body_bytes)));
  g.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  g.max_timeout = absl::GetFlag(FLAGS_max_timeout);
  g.console_dir = absl::GetFlag(FLAGS_console_dir);
  g.cells_file = absl::GetFlag(FLAGS_cells_file);
  g.oidc.issuer = absl::GetFlag(FLAGS_oidc_issuer);
  g.oidc.client_id = absl::GetFlag(FLAGS_oidc_client_id);
  g.oidc.scopes = absl::GetFlag(FLAGS_oidc_scopes);
  g.local_sign_in.groups_file = absl::GetFlag(FLAGS_local_sign_in_file);
  if (!g.local_sign_in.groups_file.empty()) {
    if (absl::GetFlag(FLAGS_production)) {
      std::fprintf(stderr, "gateway: bad configuration: local_sign_in_file: never in production\n");
      return 2;
    }
    if (const char* secret = std::getenv("WUYE_JWT_SECRET")) g.local_sign_in.jwt_secret = secret;
    if (std::string f = absl::GetFlag(FLAGS_jwt_secret_file); !f.empty()) {
      auto secret = wuye::ReadSecretFile("jwt_secret_file", f);
      if (!secret.ok()) {
        std::fprintf(stderr, "gateway: bad configuration: %s\n", std::string(secret.status().message()).c_str());
        return 2;
      }
      g.local_sign_in.jwt_secret = *secret;
    }
    wuye::LogWarn("gateway.local_sign_in")
        .Str("why", "anyone who reaches this gateway may sign in as any staff of the groups listed");
  }
  auto gateway = wuye::gateway::Gateway::Create(std::move(g));
  if (!gateway.ok()) {
    std::fprintf(stderr, "gateway: bad configuration: %s\n", std::string(gateway.status().message()).c_str());
    return 2;
  }

  wuye::gateway::HttpServerOptions h;
  h.listen = absl::GetFlag(FLAGS_listen);
  if (h.listen.empty()) h.listen = absl::StrCat("0.0.0.0:", kDefaultPort);
  h.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  h.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  h.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  h.max_header_bytes = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_max_header_bytes)));
  h.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  h.max_connections = absl::GetFlag(FLAGS_max_connections);
  h.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);

  std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (metrics_listen.empty()) metrics_listen = absl::StrCat("0.0.0.0:", kDefaultPort + 1000);
  std::unique_ptr<wuye::MetricsEndpoint> metrics;
  if (metrics_listen != "off") {
    auto endpoint = wuye::MetricsEndpoint::Start(metrics_listen);
    if (!endpoint.ok()) return Fail("metrics.listen", endpoint.status());
    metrics = std::move(*endpoint);
    metrics->SetReadiness([] { return false; });
  }
  auto server = wuye::gateway::HttpServer::Start(std::move(h), gateway->get());
  if (!server.ok()) return Fail("http.listen", server.status());
  wuye::gateway::HttpServer* http = server->get();
  if (metrics) metrics->SetReadiness([http] { return http->serving(); });
  wuye::LogInfo("gateway.serving")
      .Int("port", (*server)->port())
      .Int("methods", static_cast<int64_t>((*gateway)->route_count()))
      .Str("upstream", absl::GetFlag(FLAGS_upstream));

  const int sig = wuye::WaitForTerminationSignal();
  wuye::LogInfo("gateway.signal").Int("signal", sig);
  if (metrics) metrics->SetReadiness([] { return false; });
  (*server)->Shutdown();
  wuye::LogInfo("gateway.stopped");
  return 0;
}
