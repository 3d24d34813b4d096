// PostgreSQL's LISTEN/NOTIFY on one channel: wakes what waits for a change another
// transaction — of this process or of another replica — has committed. A notification is
// a hint, not a record: PostgreSQL drops those sent while nobody listens, so after each
// (re)connection the listener says so (`on_reconnect`) and the waiter looks for itself.
// Senders notify in their own transaction (`SELECT pg_notify(channel, payload)`), which
// PostgreSQL delivers at commit and never after a rollback.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace wuye {

class PgListener {
 public:
  struct Options {
    std::string url;                          // libpq URL of the database the senders write to
    std::string channel;                      // an identifier: letters, digits and '_'
    absl::Duration retry = absl::Seconds(1);  // between connection attempts
  };
  // `on_notify(payload)` and `on_reconnect()` run on the listener's own thread.
  PgListener(Options options, std::function<void(const std::string&)> on_notify,
             std::function<void()> on_reconnect);
  ~PgListener();  // stops
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  void Start();
  void Stop();
  // Whether the listener is connected and listening now (for tests and health).
  bool listening() const { return listening_.load(); }

 private:
  void Run();

  Options options_;
  std::function<void(const std::string&)> on_notify_;
  std::function<void()> on_reconnect_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;
};

}  // namespace wuye
