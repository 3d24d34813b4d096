#include "services/duty/task_signal.h"

#include <chrono>

namespace wuye::duty {

void TaskSignal::Notify(const std::string& estate) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++estates_[estate];
  }
  cv_.notify_all();
}

void TaskSignal::NotifyAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++all_;
  }
  cv_.notify_all();
}

uint64_t TaskSignal::Wait(const std::string& estate, uint64_t seen, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto now = [&] {
    auto it = estates_.find(estate);
    return all_ + (it == estates_.end() ? 0 : it->second);
  };
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return now() != seen; });
  return now();
}

ListeningTaskSignal::ListeningTaskSignal(const std::string& url)
    : listener_(
          {.url = url, .channel = kTaskChannel},
          [this](const std::string& estate) { signal_.Notify(estate); },
          [this] { signal_.NotifyAll(); }) {
  listener_.Start();
}

}  // namespace wuye::duty
