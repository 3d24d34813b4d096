// The Prometheus scrape endpoint of a service: plain HTTP/1.1 on its own port, so a scraper
// (or a NetworkPolicy) never needs the gRPC port. Serves
//   GET /metrics  the process's Metrics in Prometheus text format 0.0.4;
//   GET /healthz  "ok" while the process runs (the liveness probe);
//   GET /readyz   200 while the readiness function says so, else 503: the probe to use when
//                 the gRPC port speaks TLS (Kubernetes' gRPC probes cannot).
// One thread accepts; each connection is answered on a thread of its own, at most
// kMaxClients at once (one more is answered 503 at once), and each has kRequestDeadline in
// all to send its request and take the answer: a client that connects and sends nothing,
// or trickles, holds one slot for at most that long and never the others.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wuye {

class MetricsEndpoint {
 public:
  // Binds `listen` ("host:port"; port 0 picks a free one) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(absl::string_view listen);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  static constexpr int kMaxClients = 8;
  static constexpr int kRequestDeadlineMillis = 3000;

  int port() const { return port_; }
  void Stop();
  // What /readyz answers (until set: ready).
  void SetReadiness(std::function<bool()> ready);

 private:
  MetricsEndpoint(int fd, int port);
  void Serve();
  void Answer(int client);

  int fd_;
  int port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable idle_;
  int clients_ = 0;              // connections being answered
  std::function<bool()> ready_;  // guarded by mu_
};

}  // namespace wuye
