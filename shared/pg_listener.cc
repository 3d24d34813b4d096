#include "shared/pg_listener.h"

#include <pqxx/pqxx>

#include "shared/db.h"
#include "shared/log.h"

namespace wuye {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::string& channel,
           const std::function<void(const std::string&)>& fn)
      : pqxx::notification_receiver(c, channel), fn_(fn) {}
  void operator()(const std::string& payload, int) override { fn_(payload); }

 private:
  const std::function<void(const std::string&)>& fn_;
};

}  // namespace

PgListener::PgListener(Options options, std::function<void(const std::string&)> on_notify,
                       std::function<void()> on_reconnect)
    : options_(std::move(options)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)) {}

PgListener::~PgListener() { Stop(); }

void PgListener::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void PgListener::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::Run() {
  bool logged_down = false;
  while (!stop_) {
    try {
      // ConnectionUrl: with several hosts, the one that takes writes (NOTIFY is sent on
      // the primary and never reaches a standby), and keepalives so that a vanished server
      // is noticed.
      DbOptions db;
      db.url = options_.url;
      pqxx::connection conn(ConnectionUrl(db, "wuye-listener"));
      Receiver receiver(conn, options_.channel, on_notify_);
      conn.get_notifs();  // sends the LISTEN
      listening_ = true;
      logged_down = false;
      on_reconnect_();  // what was sent while nobody listened is lost: look again
      while (!stop_) conn.await_notification(0, 200000);  // wakes to see stop_
    } catch (const std::exception& e) {
      if (!logged_down) {
        LogWarn("pg_listener.down")
            .Str("channel", options_.channel)
            .Str("error", Db::FromException(e).message());
        logged_down = true;
      }
    }
    listening_ = false;
    for (absl::Time until = absl::Now() + options_.retry; !stop_ && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
}

}  // namespace wuye
