#include "shared/worker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace wuye {

PeriodicWorker::PeriodicWorker(std::string name, absl::Duration interval, Tick tick,
                               absl::Duration max_backoff)
    : name_(std::move(name)),
      interval_(interval),
      tick_(std::move(tick)),
      max_backoff_(max_backoff) {}

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void PeriodicWorker::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void PeriodicWorker::Run() {
  absl::Duration pause = interval_;
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<int> handled = tick_();
    if (!handled.ok()) {
      LogWarn("worker.failed").Str("worker", name_).Str("error", handled.status().ToString());
      Metrics::Global().Add(absl::StrCat("wuye_worker_failures_total{worker=\"", name_, "\"}"));
      pause = std::min(pause * 2, max_backoff_);
    } else {
      pause = interval_;
      if (*handled > 0) {
        Metrics::Global().Add(absl::StrCat("wuye_worker_items_total{worker=\"", name_, "\"}"),
                              *handled);
        continue;
      }
    }
    stop_.WaitForNotificationWithTimeout(pause);
  }
}

}  // namespace wuye
