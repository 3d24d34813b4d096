#include "shared/concurrency_limit.h"

#include <algorithm>
#include <cmath>

namespace wuye {

ConcurrencyLimit::ConcurrencyLimit(ConcurrencyLimitOptions options)
    : options_(options),
      limit_(std::clamp(options.initial, options.min, options.max)),
      limit_exact_(limit_.load()) {}

bool ConcurrencyLimit::TryAcquire() {
  int now_in = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (options_.enabled && now_in > limit_.load(std::memory_order_relaxed)) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  int peak = window_peak_.load(std::memory_order_relaxed);
  while (now_in > peak && !window_peak_.compare_exchange_weak(peak, now_in)) {
  }
  return true;
}

void ConcurrencyLimit::Release(absl::Duration latency, absl::Time now) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  if (window_count_ == 0) window_start_ = now;
  ++window_count_;
  window_sum_ += latency;
  if (window_count_ >= options_.window_samples && now - window_start_ >= options_.window_time) {
    CloseWindow(now);
  }
}

absl::Duration ConcurrencyLimit::baseline() const {
  absl::MutexLock lock(&mu_);
  return base_ == absl::InfiniteDuration() ? absl::ZeroDuration() : base_;
}

void ConcurrencyLimit::CloseWindow(absl::Time now) {
  const absl::Duration mean = window_sum_ / window_count_;
  const int peak = window_peak_.exchange(in_flight_.load(std::memory_order_relaxed));
  window_count_ = 0;
  window_sum_ = absl::ZeroDuration();
  window_start_ = now;

  base_ = std::min(base_, mean);
  if (limit_exact_ <= options_.min) {
    floor_min_ = std::min(floor_min_, mean);
    if (++floor_windows_ >= options_.windows_to_relearn) {
      base_ = floor_min_;  // as slow with the fewest calls in flight: slower for good
      floor_windows_ = 0;
      floor_min_ = absl::InfiniteDuration();
    }
  } else {
    floor_windows_ = 0;
    floor_min_ = absl::InfiniteDuration();
  }
  const absl::Duration base = base_;

  // Within tolerance the gradient is 1 and the limit grows by its square root; beyond it
  // the limit shrinks in proportion to the excess, never by more than half at once.
  const double gradient = std::clamp(
      options_.tolerance * absl::FDivDuration(base, std::max(mean, absl::Nanoseconds(1))), 0.5,
      1.0);
  double next = limit_exact_ * gradient + std::sqrt(limit_exact_);
  // A method that never came near its limit has not shown it can take more.
  if (peak * 2 < limit_exact_) next = std::min(next, limit_exact_);
  limit_exact_ = std::clamp(next, static_cast<double>(options_.min),
                            static_cast<double>(options_.max));
  limit_.store(static_cast<int>(limit_exact_), std::memory_order_relaxed);
}

}  // namespace wuye
