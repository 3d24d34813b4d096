// Serving a wuye service: one ServiceHost per process. It builds the gRPC server with the
// standard health service and reflection, message-size limits and keepalive; watches the
// service's PostgreSQL and tells the truth in health; and on SIGTERM/SIGINT goes
// NOT_SERVING, stops taking calls, lets in-flight calls finish up to a deadline, and
// returns so that main can exit 0.
#pragma once

#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "shared/db.h"

namespace wuye {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  int max_message_bytes = 32 << 20;
  absl::Duration shutdown_grace = absl::Seconds(15);
  // Health turns NOT_SERVING when PostgreSQL has not answered for this long.
  absl::Duration db_unhealthy_after = absl::Seconds(5);
  absl::Duration db_probe_interval = absl::Milliseconds(500);
};

class ServiceHost {
 public:
  // `db` may be null (no database to watch). Neither it nor the services are owned.
  ServiceHost(ServerOptions options, Db* db);
  ~ServiceHost();

  void AddService(grpc::Service* service, std::string health_name);
  absl::Status Start();
  int port() const { return port_; }

  // Health NOT_SERVING, no new calls, in-flight calls get up to shutdown_grace.
  void Shutdown();
  // Whether health currently says SERVING.
  bool serving() const { return serving_.load(); }

  // Blocks SIGTERM and SIGINT in this thread and every thread started after it; call first
  // thing in main.
  static void BlockTerminationSignals();
  // Start(), wait for SIGTERM/SIGINT, Shutdown().
  absl::Status ServeUntilSignal();

 private:
  void WatchDatabase();
  void SetServing(bool serving);

  ServerOptions options_;
  Db* db_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> serving_{false};
  std::atomic<bool> stopping_{false};
  absl::Notification stop_watch_;
  std::thread watcher_;
};

}  // namespace wuye
