// Process metrics in Prometheus text form. Labels are method names, codes and stream
// names — never personal data.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace wuye {

class Metrics {
 public:
  static Metrics& Global();

  // wuye_rpc_total{method,code} and wuye_rpc_seconds{method} histogram.
  void RecordRpc(absl::string_view method, absl::StatusCode code, absl::Duration latency);
  // A latency histogram `name`_bucket/_sum/_count with one label, e.g.
  // Observe("wuye_bus_delivery_seconds", "stream", "wuye.intake.events", d).
  void Observe(absl::string_view name, absl::string_view label, absl::string_view value,
               absl::Duration latency);
  // A monotonically increasing counter: `series` is the full name with labels,
  // e.g. `wuye_bus_dead_letters_total{stream="wuye.intake.events"}`.
  void Add(absl::string_view series, int64_t delta = 1);
  // A gauge, same naming.
  void Set(absl::string_view series, double value);
  int64_t Counter(absl::string_view series) const;

  std::string PrometheusText() const;

 public:
  struct Histogram {
    static constexpr int kBuckets = 12;
    int64_t counts[kBuckets] = {};
    int64_t total = 0;
    double sum = 0;
  };

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t, std::less<>> counters_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double, std::less<>> gauges_ ABSL_GUARDED_BY(mu_);
  // Keyed by the series prefix and its label, e.g. `wuye_rpc_seconds{method="x"`.
  std::map<std::pair<std::string, std::string>, Histogram> latencies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wuye
