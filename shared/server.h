// Serving a wuye service: one ServiceHost per process. It builds the gRPC server with the
// standard health service and reflection, message-size limits, a resource quota, keepalive
// and (by flags) TLS or mutual TLS; watches the
// service's PostgreSQL and tells the truth in health; and on SIGTERM/SIGINT goes
// NOT_SERVING, stops taking calls, lets in-flight calls finish up to a deadline, and
// returns so that main can exit 0.
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "shared/concurrency_limit.h"
#include "shared/db.h"

namespace wuye {

// The gRPC methods whose requests may be up to ServerOptions::bulk_message_bytes.
inline constexpr const char* kBulkMethods[] = {
    "/wuye.directory.v1.DirectoryService/ImportUnits",
    "/wuye.intake.v1.IntakeService/ImportCarrierCallLog",
};

// Server TLS: PEM files (a Kubernetes Secret mount), re-read when they change.
struct TlsOptions {
  std::string cert_file;  // the server's certificate chain; empty: plaintext
  std::string key_file;   // its private key
  // CA bundle that client certificates must chain to; set: mutual TLS (a client without a
  // valid certificate is refused during the handshake).
  std::string client_ca_file;
  absl::Duration reload_interval = absl::Seconds(60);
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  // Largest request of an ordinary method. Requests are received as bytes and measured
  // before they are decoded: a larger one is refused RESOURCE_EXHAUSTED and never parsed.
  int max_message_bytes = 1 << 20;
  // Largest request of a bulk method (kBulkMethods); also the transport's receive limit.
  int bulk_message_bytes = 16 << 20;
  // Most entries of any repeated field of an ordinary method's request (at any depth); more
  // is INVALID_ARGUMENT naming the field. Bulk methods bound their own lists.
  int max_repeated_entries = 1000;
  // Largest response.
  int max_response_bytes = 32 << 20;
  // Resource quota: threads serving calls (a call beyond them is refused
  // RESOURCE_EXHAUSTED), concurrent calls per connection, and how long a connection lives
  // or may stay idle before the server closes it (clients reconnect; in-flight calls get
  // connection_age_grace).
  int max_threads = 64;
  // Most threads kept polling for calls between calls (gRPC's MAX_POLLERS; 0: gRPC's own).
  int sync_max_pollers = 0;
  int max_concurrent_streams = 64;
  // Each ordinary unary method's adaptive limit on the calls it works on at once (beyond it
  // RESOURCE_EXHAUSTED, before the method runs); its max is at most max_threads.
  ConcurrencyLimitOptions concurrency;
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  absl::Duration max_connection_idle = absl::Minutes(10);
  TlsOptions tls;
  // gRPC server reflection (for grpcurl and the auth suite). Served by ServiceHost, not by
  // gRPC's plugin: its requests are measured before they are decoded, and one over
  // max_message_bytes is refused RESOURCE_EXHAUSTED like an ordinary method's. Production
  // still turns it off (it tells anyone the whole API).
  bool reflection = true;
  absl::Duration shutdown_grace = absl::Seconds(15);
  // Health turns NOT_SERVING when PostgreSQL has not answered for this long.
  absl::Duration db_unhealthy_after = absl::Seconds(5);
  absl::Duration db_probe_interval = absl::Milliseconds(500);
};

// INVALID_ARGUMENT naming the first repeated field of `message`, at any depth (as
// "staff.roles" or "units[2].tiers"), that has more than `max_entries` entries. ServiceHost
// applies it to every ordinary request (ServerOptions::max_repeated_entries).
absl::Status CheckRepeatedFields(const google::protobuf::Message& message, int max_entries);

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
  std::unique_ptr<grpc::Service> reflection_;  // when options_.reflection
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> serving_{false};
  std::atomic<bool> stopping_{false};
  absl::Notification stop_watch_;
  std::thread watcher_;
};

}  // namespace wuye
