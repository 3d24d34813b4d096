#include "shared/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace wuye {
namespace {

struct Item {
  int id = 0;
  bool bad = false;
  int writes = 0;  // how often a successful batch held it
};

TEST(GroupCommitTest, EveryItemIsWrittenOnceAndSlowWritesGather) {
  std::mutex mu;
  std::vector<size_t> sizes;
  GroupCommit<Item> commit(
      [&](absl::Span<Item* const> batch) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::lock_guard lock(mu);
        sizes.push_back(batch.size());
        for (Item* item : batch) ++item->writes;
        return absl::OkStatus();
      },
      /*max_batch=*/8, /*max_writers=*/2);
  constexpr int kThreads = 16, kPerThread = 20;
  std::vector<Item> items(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(commit.Submit(items[t * kPerThread + i]).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Item& item : items) EXPECT_EQ(item.writes, 1);
  size_t most = 0, total = 0;
  for (size_t n : sizes) {
    EXPECT_LE(n, 8u);
    most = std::max(most, n);
    total += n;
  }
  EXPECT_EQ(total, items.size());
  EXPECT_GT(most, 1u) << "16 callers on 2 slow writers never shared a batch";
}

TEST(GroupCommitTest, AloneACallerWritesItsOwnItem) {
  int batches = 0;
  GroupCommit<Item> commit(
      [&](absl::Span<Item* const> batch) {
        ++batches;
        EXPECT_EQ(batch.size(), 1u);
        return absl::OkStatus();
      },
      8, 2);
  Item a, b;
  EXPECT_TRUE(commit.Submit(a).ok());
  EXPECT_TRUE(commit.Submit(b).ok());
  EXPECT_EQ(batches, 2);
}

TEST(GroupCommitTest, ABadItemFailsAloneAndUnavailableFailsTheBatch) {
  std::atomic<bool> unavailable{false};
  std::atomic<int> gate{0};
  GroupCommit<Item> commit(
      [&](absl::Span<Item* const> batch) -> absl::Status {
        // Hold the first writer until the others queued up behind it.
        if (gate.fetch_add(1) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (unavailable) return absl::UnavailableError("connection lost");
        for (Item* item : batch) {
          if (item->bad) return absl::InvalidArgumentError("bad item");
        }
        for (Item* item : batch) ++item->writes;
        return absl::OkStatus();
      },
      8, 1);
  std::vector<Item> items(6);
  items[3].bad = true;
  std::vector<absl::Status> got(items.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < items.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = commit.Submit(items[i]); });
    if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(got[i].code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(items[i].writes, 0);
    } else {
      EXPECT_TRUE(got[i].ok()) << i << ": " << got[i];
      EXPECT_EQ(items[i].writes, 1) << i;
    }
  }

  unavailable = true;
  gate = 0;
  std::vector<Item> more(4);
  threads.clear();
  std::vector<absl::Status> lost(more.size());
  for (size_t i = 0; i < more.size(); ++i) {
    threads.emplace_back([&, i] { lost[i] = commit.Submit(more[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : lost) EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
}

TEST(GroupCommitTest, AWriteThatThrowsFailsItsItemsAndTheNextCallsGoOn) {
  bool fail = true;
  GroupCommit<Item> commit(
      [&](absl::Span<Item* const>) -> absl::Status {
        if (fail) throw std::runtime_error("boom");
        return absl::OkStatus();
      },
      8, 1);
  Item a, b;
  EXPECT_EQ(commit.Submit(a).code(), absl::StatusCode::kInternal);
  fail = false;
  EXPECT_TRUE(commit.Submit(b).ok());  // the writer slot was given back
}

// Issue 20, item 10: the queue is bounded, and a caller that has gone is not written for.
// A writer held inside its write keeps the others queued; the test waits on the queue's
// length, never on time.
class HeldWriter {
 public:
  GroupCommit<Item>::Write Write() {
    return [this](absl::Span<Item* const> batch) {
      {
        std::unique_lock lock(mu_);
        ++entered_;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
      }
      for (Item* item : batch) ++item->writes;
      return absl::OkStatus();
    };
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return entered_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
};

void WaitQueued(GroupCommit<Item>& commit, size_t n) {
  while (commit.queued() < n) std::this_thread::yield();
}

TEST(GroupCommitTest, AFullQueueRefusesResourceExhaustedAtOnce) {
  HeldWriter held;
  GroupCommit<Item> commit(held.Write(), /*max_batch=*/8, /*max_writers=*/1, /*max_queue=*/2);
  Item first, second, third, refused;
  absl::Status s1, s2, s3;
  std::thread t1([&] { s1 = commit.Submit(first); });
  held.WaitEntered();  // the first is being written: the queue is empty again
  std::thread t2([&] { s2 = commit.Submit(second); });
  std::thread t3([&] { s3 = commit.Submit(third); });
  WaitQueued(commit, 2);
  absl::Status st = commit.Submit(refused);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_EQ(ErrorReason(st), "SERVER_BUSY");
  EXPECT_EQ(refused.writes, 0);
  held.Release();
  t1.join();
  t2.join();
  t3.join();
  EXPECT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(first.writes + second.writes + third.writes, 3);
}

TEST(GroupCommitTest, AnItemWhoseCallerHasGoneIsNotWritten) {
  HeldWriter held;
  GroupCommit<Item> commit(held.Write(), 8, 1);
  Item first, gone, wanted;
  absl::Status s1, s_gone, s_wanted;
  std::atomic<bool> deadline_passed{false};
  std::thread t1([&] { s1 = commit.Submit(first); });
  held.WaitEntered();
  std::thread t2([&] {
    s_gone = commit.Submit(gone, [&] {
      return deadline_passed ? absl::DeadlineExceededError("deadline") : absl::OkStatus();
    });
  });
  std::thread t3([&] { s_wanted = commit.Submit(wanted, [] { return absl::OkStatus(); }); });
  WaitQueued(commit, 2);
  deadline_passed = true;  // while it waited, its caller's deadline passed
  held.Release();
  t1.join();
  t2.join();
  t3.join();
  EXPECT_TRUE(s1.ok());
  EXPECT_EQ(s_gone.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(gone.writes, 0);
  EXPECT_TRUE(s_wanted.ok());
  EXPECT_EQ(wanted.writes, 1);
}

}  // namespace
}  // namespace wuye
