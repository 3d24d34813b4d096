// How many calls of one method a server works on at once, adapting to the latency it sees.
//
// A server offered more than it can do queues the excess somewhere: for its threads, for the
// CPU, for PostgreSQL. Every accepted call then waits behind the queue. The limit refuses the
// excess at the door instead, RESOURCE_EXHAUSTED before any work is done, so the calls it
// accepts keep close to their unloaded latency and the caller can back off or go elsewhere.
//
// The limit is found, not configured (after the gradient limiters of TCP Vegas and Netflix's
// concurrency-limits): calls are sampled in windows, and a window's mean latency is compared
// with the baseline, the lowest window mean seen (the latency with no queue). While the mean
// stays within `tolerance` of it the limit grows by its square root per window (only when
// the calls in flight came near it: an idle method does not earn a large limit); past it the
// limit shrinks in proportion, at most by half a window. Under a long overload the baseline
// does not drift up with the queue (the fault of a baseline that is a moving average): it is
// raised only when the limit has sat at its floor for `windows_to_relearn` windows and the
// latency stayed high, i.e. the method became slower for good (a bigger database, a slower
// disk), not busier.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace wuye {

struct ConcurrencyLimitOptions {
  bool enabled = true;
  int initial = 32;  // the limit before anything was measured
  int min = 8;       // never fewer calls in flight than this
  int max = 64;      // nor more (the server's threads bound them anyway)
  // How far a window's mean latency may rise over the baseline before the limit shrinks.
  double tolerance = 3.0;
  // A window closes once it has this many samples and has lasted this long.
  int window_samples = 20;
  absl::Duration window_time = absl::Milliseconds(100);
  // Windows at the floor, the latency still over tolerance, before the baseline is re-learnt.
  int windows_to_relearn = 50;
};

class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(ConcurrencyLimitOptions options);

  // Takes a slot, or returns false: the call is refused.
  bool TryAcquire();
  // Gives the slot back with the call's latency; `now` closes windows (tests pass their own).
  void Release(absl::Duration latency, absl::Time now);

  int limit() const { return limit_.load(std::memory_order_relaxed); }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // The baseline latency (zero until a window closed).
  absl::Duration baseline() const;

 private:
  void CloseWindow(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ConcurrencyLimitOptions options_;
  std::atomic<int> limit_;
  std::atomic<int> in_flight_{0};
  // The most calls in flight seen in the current window (at acquire).
  std::atomic<int> window_peak_{0};

  mutable absl::Mutex mu_;
  double limit_exact_ ABSL_GUARDED_BY(mu_);
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t window_count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration window_sum_ ABSL_GUARDED_BY(mu_);
  absl::Duration base_ ABSL_GUARDED_BY(mu_) = absl::InfiniteDuration();
  // The windows in a row closed with the limit at its floor, and their lowest mean.
  int floor_windows_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration floor_min_ ABSL_GUARDED_BY(mu_) = absl::InfiniteDuration();
};

}  // namespace wuye
