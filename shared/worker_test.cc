#include "shared/worker.h"

#include <gtest/gtest.h>

#include <atomic>

#include "shared/testing/test_env.h"

namespace wuye {
namespace {

TEST(PeriodicWorkerTest, DrainsABacklogWithoutWaitingAndStopsCleanly) {
  std::atomic<int> backlog{5};
  std::atomic<int> ticks{0};
  PeriodicWorker worker("drain", absl::Hours(1), [&]() -> absl::StatusOr<int> {
    ++ticks;
    if (backlog == 0) return 0;
    --backlog;
    return 1;
  });
  worker.Start();
  // The interval is an hour: only the "handled > 0, go on" rule can drain five items.
  EXPECT_TRUE(testing::WaitFor([&] { return backlog == 0 && ticks >= 6; }, absl::Seconds(10)));
  worker.Stop();
  int after = ticks;
  worker.Stop();  // idempotent
  EXPECT_EQ(ticks, after);
}

TEST(PeriodicWorkerTest, AFailingTickIsRetried) {
  std::atomic<int> calls{0};
  PeriodicWorker worker(
      "flaky", absl::Milliseconds(1),
      [&]() -> absl::StatusOr<int> {
        if (++calls < 3) return absl::UnavailableError("database: unavailable");
        return 0;
      },
      absl::Milliseconds(5));
  worker.Start();
  EXPECT_TRUE(testing::WaitFor([&] { return calls >= 4; }, absl::Seconds(10)));
}

}  // namespace
}  // namespace wuye
