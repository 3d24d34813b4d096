// Wakes WatchTasks screens when a task of their estate changes, in any replica: TaskFlow
// notifies channel kTaskChannel with the estate id in the change's transaction, and each
// process's PgListener turns the notification into a new generation of that estate. A
// screen waits for its estate's generation to move, or for its poll interval, which is
// the fallback when the listener is down.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "shared/pg_listener.h"

namespace wuye::duty {

inline constexpr char kTaskChannel[] = "wuye_duty_tasks";

class TaskSignal {
 public:
  // A task of `estate` changed.
  void Notify(const std::string& estate);
  // Anything may have changed (the listener reconnected).
  void NotifyAll();
  // The estate's generation now; blocks until it differs from `seen` or `timeout` passes.
  uint64_t Wait(const std::string& estate, uint64_t seen, absl::Duration timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t all_ = 0;  // added to every estate's own generation
  absl::flat_hash_map<std::string, uint64_t> estates_;
};

// A TaskSignal fed by PostgreSQL's notifications on the duty database of `url`.
class ListeningTaskSignal {
 public:
  explicit ListeningTaskSignal(const std::string& url);
  TaskSignal& signal() { return signal_; }

 private:
  TaskSignal signal_;
  PgListener listener_;
};

}  // namespace wuye::duty
