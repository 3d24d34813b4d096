// Group commit: concurrent callers' writes go to PostgreSQL together, one statement and one
// commit (one WAL flush) for as many of them as arrived while the previous batch was
// written. A caller hands in its item and waits; whichever waiting caller finds a writer slot
// free takes everything queued (up to max_batch) and writes it for all of them. Alone, a
// caller writes its own item at once: no timer, no added latency.
//
// The write function gets the batch and returns one status for it; it must be all or
// nothing (one autocommitted statement, or one transaction); an exception it throws counts
// as INTERNAL. When a batch of several fails, each item is written again on its own, so that
// one bad item does not fail its neighbours; not after UNAVAILABLE (the outcome is unknown
// and the callers retry with their request_id) or DEADLINE_EXCEEDED (one by one would only
// multiply the wait).
//
// Backpressure: at most max_queue items wait; one more is refused RESOURCE_EXHAUSTED at
// once (the caller retries with its request_id). An item whose caller no longer wants it
// (its still_wanted check fails: the call was cancelled or its deadline passed) is not
// written; its caller gets that status.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "shared/status.h"

namespace wuye {

template <class Item>
class GroupCommit {
 public:
  using Write = std::function<absl::Status(absl::Span<Item* const>)>;

  using StillWanted = std::function<absl::Status()>;

  // max_queue 0: 4 × max_batch × max_writers.
  GroupCommit(Write write, size_t max_batch, int max_writers, size_t max_queue = 0)
      : write_(std::move(write)),
        max_batch_(max_batch),
        max_writers_(max_writers),
        max_queue_(max_queue > 0 ? max_queue : 4 * max_batch * static_cast<size_t>(max_writers)) {}

  // Writes `item` (in a batch with others, perhaps by another caller's thread) and returns
  // the outcome of its write. `still_wanted` (may be null) is asked, by whichever thread
  // writes the batch, just before the item would be written.
  absl::Status Submit(Item& item, StillWanted still_wanted = nullptr) {
    Pending mine;
    mine.item = &item;
    mine.still_wanted = std::move(still_wanted);
    mu_.Lock();
    if (queue_.size() >= max_queue_) {
      mu_.Unlock();
      return WithReason(absl::ResourceExhaustedError(
                            "too many writes waiting; retry later with the same request_id"),
                        "SERVER_BUSY");
    }
    queue_.push_back(&mine);
    // Woken only when its item is written, or when it is first in the queue and a writer
    // slot is free: then it writes the batch from the front. No caller wakes to find nothing
    // to do (each such wake-up is two context switches on a busy server).
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return mine.done ||
             (writers_ < max_writers_ && !queue_.empty() && queue_.front() == &mine);
    };
    while (true) {
      mu_.Await(absl::Condition(&ready));
      if (mine.done) break;
      std::vector<Pending*> batch;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      ++writers_;
      mu_.Unlock();
      WriteBatch(batch);
      mu_.Lock();
      --writers_;
      for (Pending* p : batch) p->done = true;
    }
    mu_.Unlock();
    return mine.status;
  }

  // Items waiting for a writer (for tests and metrics).
  size_t queued() {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  struct Pending {
    Item* item = nullptr;
    StillWanted still_wanted;
    absl::Status status;
    bool done = false;
  };

  void WriteBatch(std::vector<Pending*> batch) {
    // Callers that have gone get their status and are left out.
    std::vector<Pending*> wanted;
    wanted.reserve(batch.size());
    for (Pending* p : batch) {
      if (p->still_wanted) p->status = p->still_wanted();
      if (p->status.ok()) wanted.push_back(p);
    }
    if (wanted.empty()) return;
    batch = std::move(wanted);
    std::vector<Item*> items;
    items.reserve(batch.size());
    for (Pending* p : batch) items.push_back(p->item);
    absl::Status st = Call(items);
    if (st.ok() || batch.size() == 1 || st.code() == absl::StatusCode::kUnavailable ||
        st.code() == absl::StatusCode::kDeadlineExceeded) {
      for (Pending* p : batch) p->status = st;
      return;
    }
    for (Pending* p : batch) p->status = Call(absl::MakeConstSpan(&p->item, 1));
  }

  absl::Status Call(absl::Span<Item* const> items) {
    try {
      return write_(items);
    } catch (const std::exception&) {
      return absl::InternalError("group commit: the write failed");
    }
  }

  const Write write_;
  const size_t max_batch_;
  const int max_writers_;
  const size_t max_queue_;
  absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  int writers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wuye
