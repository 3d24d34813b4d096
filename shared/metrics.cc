#include "shared/metrics.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wuye {
namespace {
// Upper bounds of the latency buckets, in seconds.
constexpr double kBounds[Metrics::Histogram::kBuckets - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
}  // namespace

Metrics& Metrics::Global() {
  static Metrics* m = new Metrics();
  return *m;
}

void Metrics::RecordRpc(absl::string_view method, absl::StatusCode code, absl::Duration latency) {
  Add(absl::StrCat("wuye_rpc_total{method=\"", method, "\",code=\"", absl::StatusCodeToString(code),
                   "\"}"));
  Observe("wuye_rpc_seconds", "method", method, latency);
}

void Metrics::Observe(absl::string_view name, absl::string_view label, absl::string_view value,
                      absl::Duration latency) {
  double seconds = absl::ToDoubleSeconds(latency);
  int bucket = 0;
  while (bucket < Histogram::kBuckets - 1 && seconds > kBounds[bucket]) ++bucket;
  absl::MutexLock lock(&mu_);
  Histogram& h = latencies_[{std::string(name), absl::StrCat(label, "=\"", value, "\"")}];
  ++h.counts[bucket];
  ++h.total;
  h.sum += seconds;
}

void Metrics::Add(absl::string_view series, int64_t delta) {
  absl::MutexLock lock(&mu_);
  auto it = counters_.find(series);
  if (it == counters_.end()) it = counters_.emplace(std::string(series), 0).first;
  it->second += delta;
}

void Metrics::Set(absl::string_view series, double value) {
  absl::MutexLock lock(&mu_);
  gauges_[std::string(series)] = value;
}

int64_t Metrics::Counter(absl::string_view series) const {
  absl::MutexLock lock(&mu_);
  auto it = counters_.find(series);
  return it == counters_.end() ? 0 : it->second;
}

std::string Metrics::PrometheusText() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [series, value] : counters_) absl::StrAppend(&out, series, " ", value, "\n");
  for (const auto& [series, value] : gauges_) absl::StrAppend(&out, series, " ", value, "\n");
  for (const auto& [key, h] : latencies_) {
    const auto& [name, label] = key;
    int64_t cumulative = 0;
    for (int i = 0; i < Histogram::kBuckets; ++i) {
      cumulative += h.counts[i];
      std::string le = i < Histogram::kBuckets - 1 ? absl::StrCat(kBounds[i]) : "+Inf";
      absl::StrAppend(&out, name, "_bucket{", label, ",le=\"", le, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, name, "_sum{", label, "} ", h.sum, "\n", name, "_count{", label, "} ",
                    h.total, "\n");
  }
  return out;
}

}  // namespace wuye
