#include "shared/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace wuye {

ServiceHost::ServiceHost(ServerOptions options, Db* db) : options_(std::move(options)), db_(db) {}

ServiceHost::~ServiceHost() {
  if (server_ != nullptr && !stopping_.load()) Shutdown();
  stop_watch_.HasBeenNotified() ? void() : stop_watch_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

void ServiceHost::AddService(grpc::Service* service, std::string health_name) {
  services_.emplace_back(service, std::move(health_name));
}

absl::Status ServiceHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  // Keep idle connections from load balancers alive, and tolerate clients' pings.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  for (auto& [service, name] : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen ", options_.listen, ": could not bind"));
  }
  SetServing(db_ == nullptr || db_->Ping().ok());
  if (db_ != nullptr) watcher_ = std::thread([this] { WatchDatabase(); });
  LogInfo("server.started").Str("listen", options_.listen).Int("port", port_);
  return absl::OkStatus();
}

void ServiceHost::SetServing(bool serving) {
  if (stopping_.load()) serving = false;
  bool was = serving_.exchange(serving);
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);  // the overall "" entry and every service name
  for (auto& [service, name] : services_) health->SetServingStatus(name, serving);
  Metrics::Global().Set("wuye_serving", serving ? 1 : 0);
  if (was != serving) LogInfo(serving ? "health.serving" : "health.not_serving");
}

void ServiceHost::WatchDatabase() {
  absl::Time last_ok = absl::Now();
  while (!stop_watch_.WaitForNotificationWithTimeout(options_.db_probe_interval)) {
    absl::Time now = absl::Now();
    if (db_->Ping().ok()) {
      last_ok = now;
      if (!serving_.load()) SetServing(true);
    } else if (serving_.load() && now - last_ok >= options_.db_unhealthy_after) {
      LogWarn("db.unreachable").Num("seconds", absl::ToDoubleSeconds(now - last_ok));
      SetServing(false);
    }
  }
}

void ServiceHost::Shutdown() {
  if (stopping_.exchange(true)) return;
  LogInfo("server.draining").Num("grace_s", absl::ToDoubleSeconds(options_.shutdown_grace));
  SetServing(false);
  if (!stop_watch_.HasBeenNotified()) stop_watch_.Notify();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.shutdown_grace));
  server_->Wait();
  LogInfo("server.stopped");
}

void ServiceHost::BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status ServiceHost::ServeUntilSignal() {
  if (absl::Status st = Start(); !st.ok()) return st;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  LogInfo("server.signal").Int("signal", sig);
  Shutdown();
  return absl::OkStatus();
}

}  // namespace wuye
