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
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace wuye {

template <class Item>
class GroupCommit {
 public:
  using Write = std::function<absl::Status(absl::Span<Item* const>)>;

  GroupCommit(Write write, size_t max_batch, int max_writers)
      : write_(std::move(write)), max_batch_(max_batch), max_writers_(max_writers) {}

  // Writes `item` (in a batch with others, perhaps by another caller's thread) and returns
  // the outcome of its write.
  absl::Status Submit(Item& item) {
    Pending mine;
    mine.item = &item;
    std::unique_lock lock(mu_);
    queue_.push_back(&mine);
    while (!mine.done) {
      if (writers_ >= max_writers_ || queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      std::vector<Pending*> batch;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      ++writers_;
      lock.unlock();
      WriteBatch(batch);
      lock.lock();
      --writers_;
      for (Pending* p : batch) p->done = true;
      cv_.notify_all();
    }
    return mine.status;
  }

 private:
  struct Pending {
    Item* item = nullptr;
    absl::Status status;
    bool done = false;
  };

  void WriteBatch(const std::vector<Pending*>& batch) {
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  int writers_ = 0;
};

}  // namespace wuye
