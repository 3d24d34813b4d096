#include "shared/concurrency_limit.h"

#include <gtest/gtest.h>

namespace wuye {
namespace {

constexpr absl::Duration kBase = absl::Milliseconds(2);

// Drives a limit window by window: `calls` in flight at once, each taking `latency`.
class Driver {
 public:
  explicit Driver(ConcurrencyLimitOptions options) : limit(options), options_(options) {}

  // One window: every call of it acquired first (so `calls` are in flight together), then
  // released with `latency`, the clock moving on by the window's time. Returns how many
  // acquisitions were refused.
  int Window(int calls, absl::Duration latency) {
    int refused = 0, held = 0;
    for (int i = 0; i < std::max(calls, options_.window_samples); ++i) {
      if (i > 0 && i % calls == 0) ReleaseAll(&held, latency);
      if (limit.TryAcquire()) {
        ++held;
      } else {
        ++refused;
      }
    }
    ReleaseAll(&held, latency);
    return refused;
  }

  ConcurrencyLimit limit;

 private:
  // Each release moves the clock a tenth of a window's time: a window closes at exactly
  // window_samples samples.
  void ReleaseAll(int* held, absl::Duration latency) {
    for (; *held > 0; --*held) {
      now_ += options_.window_time / 10;
      limit.Release(latency, now_);
    }
  }

  ConcurrencyLimitOptions options_;
  absl::Time now_ = absl::UnixEpoch();
};

TEST(ConcurrencyLimit, RefusesTheCallBeyondTheLimitAndTakesItOnceASlotIsFree) {
  ConcurrencyLimit limit({.initial = 8, .min = 8, .max = 8});
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(limit.TryAcquire()) << i;
  EXPECT_FALSE(limit.TryAcquire());
  EXPECT_EQ(limit.in_flight(), 8);  // the refusal took nothing
  limit.Release(kBase, absl::UnixEpoch());
  EXPECT_TRUE(limit.TryAcquire());
}

TEST(ConcurrencyLimit, DisabledCountsButNeverRefuses) {
  ConcurrencyLimit limit({.enabled = false, .initial = 8, .min = 8, .max = 8});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limit.TryAcquire());
  EXPECT_EQ(limit.in_flight(), 100);
}

TEST(ConcurrencyLimit, GrowsWhileTheLatencyHoldsAndTheCallsComeNearIt) {
  Driver d({.initial = 16, .min = 8, .max = 64});
  for (int w = 0; w < 30; ++w) d.Window(d.limit.limit(), kBase);
  EXPECT_EQ(d.limit.limit(), 64);
  EXPECT_EQ(d.limit.baseline(), kBase);
}

TEST(ConcurrencyLimit, AnIdleMethodDoesNotEarnALargerLimit) {
  Driver d({.initial = 16, .min = 8, .max = 64});
  for (int w = 0; w < 30; ++w) d.Window(2, kBase);
  EXPECT_EQ(d.limit.limit(), 16);
}

TEST(ConcurrencyLimit, ShrinksToTheFloorWhenLatencyClimbsAndRefusesTheExcess) {
  Driver d({.initial = 32, .min = 8, .max = 64});
  d.Window(32, kBase);  // the unloaded latency
  int refused = 0;
  for (int w = 0; w < 10; ++w) refused = d.Window(40, kBase * 6);
  EXPECT_EQ(d.limit.limit(), 8);
  EXPECT_GT(refused, 0);
  // Within tolerance again, it climbs back.
  for (int w = 0; w < 10; ++w) d.Window(d.limit.limit(), kBase);
  EXPECT_GT(d.limit.limit(), 8);
}

TEST(ConcurrencyLimit, SettlesWhereTheLatencyIsAFewTimesTheUnloaded) {
  // A server whose latency grows with the calls in flight past 8 (a queue behind 8 workers):
  // the limit must stop where the latency is within tolerance (plus the growth step).
  Driver d({.initial = 32, .min = 4, .max = 64, .tolerance = 2.0});
  auto latency = [](int in_flight) { return kBase * std::max(1.0, in_flight / 8.0); };
  d.Window(8, kBase);  // learnt before the load came
  for (int w = 0; w < 200; ++w) d.Window(d.limit.limit(), latency(d.limit.limit()));
  EXPECT_GE(d.limit.limit(), 12);
  EXPECT_LE(d.limit.limit(), 32);
}

TEST(ConcurrencyLimit, ABusyMethodKeepsItsBaseline) {
  // Calls queue behind 8 workers: an hour of overload must not teach it that slow is normal.
  Driver d({.initial = 32, .min = 8, .max = 64, .tolerance = 2.0, .windows_to_relearn = 5});
  d.Window(8, kBase);
  for (int w = 0; w < 500; ++w) d.Window(64, kBase * std::max(1.0, d.limit.limit() / 8.0));
  EXPECT_EQ(d.limit.baseline(), kBase);
  EXPECT_LE(d.limit.limit(), 24);
}

TEST(ConcurrencyLimit, RelearnsTheBaselineOfAMethodSlowerForGood) {
  Driver d({.initial = 16, .min = 8, .max = 64, .windows_to_relearn = 5});
  d.Window(16, kBase);
  // Five times slower whatever the calls in flight: once at the floor for five windows, it
  // takes that as the method's latency now, and grows again.
  for (int w = 0; w < 20; ++w) d.Window(d.limit.limit(), kBase * 5);
  EXPECT_EQ(d.limit.baseline(), kBase * 5);
  for (int w = 0; w < 20; ++w) d.Window(d.limit.limit(), kBase * 5);
  EXPECT_EQ(d.limit.limit(), 64);
}

}  // namespace
}  // namespace wuye
