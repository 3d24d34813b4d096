// A background loop of a service: timers that fire durable deadlines, report builders,
// sweeps. It calls `tick` every `interval` until stopped; a failing tick is logged and
// retried with a growing pause (up to `max_backoff`), so a database outage does not spin.
//
// A tick must be safe to run on every replica at once (claim work with
// `FOR UPDATE SKIP LOCKED`, or take an advisory lock): replicas do not coordinate otherwise.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace wuye {

class PeriodicWorker {
 public:
  // `tick` returns how many items it handled; when that is > 0 the next tick runs at once
  // (a backlog drains without waiting a whole interval).
  using Tick = std::function<absl::StatusOr<int>()>;

  PeriodicWorker(std::string name, absl::Duration interval, Tick tick,
                 absl::Duration max_backoff = absl::Seconds(10));
  ~PeriodicWorker();
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  void Start();
  // Stops after the tick in progress; idempotent.
  void Stop();
  const std::string& name() const { return name_; }

 private:
  void Run();

  std::string name_;
  absl::Duration interval_;
  Tick tick_;
  absl::Duration max_backoff_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace wuye
