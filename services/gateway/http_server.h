// The gateway's HTTP/1.1 server, on GNU libmicrohttpd (Debian's libmicrohttpd12): one
// thread per connection, keep-alive, HTTPS by flags (GnuTLS inside the library), limits on
// connections, header size and silence; bodies are handed to an HttpHandler whole, after
// it has accepted the request's head and named the largest body it takes.
//
// One thread per connection keeps a stream (a browser's open WatchTasks) simple and
// cheap to reason about; it costs a thread per open connection, bounded by
// max_connections. docs/operations.md#gateway says how to size it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/http.h"

struct MHD_Daemon;

namespace wuye::gateway {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port (IPv4, or [v6]:port); port 0 picks one
  std::string tls_cert_file;           // PEM chain; empty: plain HTTP
  std::string tls_key_file;
  // The pair is re-read when either file changes, looked at this often (a renewed Secret
  // takes effect without a restart; handshakes under way keep the pair they began with).
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // Largest request head (request line and headers); larger: HTTP 431, never parsed.
  size_t max_header_bytes = 16 << 10;
  // A connection that sends nothing (or takes no data) for this long is closed: an idle
  // keep-alive connection, or a client that stopped half-way through its request.
  absl::Duration idle_timeout = absl::Seconds(30);
  int max_connections = 1000;
  // After SIGTERM: requests in flight get this long, then what still runs is cancelled.
  absl::Duration shutdown_grace = absl::Seconds(15);
};

class HttpServer {
 public:
  // Binds and starts serving. `handler` is not owned and outlives the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           HttpHandler* handler);
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool serving() const { return serving_.load(); }

  // Stops taking connections, tells the handler to drain, waits for requests in flight up
  // to shutdown_grace, aborts the rest, closes every connection. Idempotent.
  void Shutdown();

  // Called by the library's callbacks.
  struct Exchange;
  HttpHandler* handler() const { return handler_; }
  std::atomic<int>& in_flight() { return in_flight_; }
  std::atomic<int>& connections() { return connections_; }

 private:
  HttpServer(HttpServerOptions options, HttpHandler* handler);

  HttpServerOptions options_;
  HttpHandler* handler_;
  std::unique_ptr<class TlsIdentity> tls_;  // the certificate served, when HTTPS
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::atomic<bool> serving_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<int> connections_{0};
};

}  // namespace wuye::gateway
