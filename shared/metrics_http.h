// The Prometheus scrape endpoint of a service: plain HTTP/1.1 on its own port, so a scraper
// (or a NetworkPolicy) never needs the gRPC port. Serves
//   GET /metrics  the process's Metrics in Prometheus text format 0.0.4;
//   GET /healthz  "ok" while the process runs (for humans; probes use gRPC health).
// One thread, one request at a time: a scrape is a few kilobytes every few seconds.
#pragma once

#include <atomic>
#include <memory>
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

  int port() const { return port_; }
  void Stop();

 private:
  MetricsEndpoint(int fd, int port);
  void Serve();
  void Answer(int client) const;

  int fd_;
  int port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace wuye
