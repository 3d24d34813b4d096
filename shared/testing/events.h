// Events in service tests: an envelope as another service's outbox would write it, handed
// to a service's consumer handler directly (Deliver), or a real bus of the test's own
// (TestBus: an outbox relay per stand-in producer and EventConsumers on streams with a
// prefix of the test's own, on the shared Redis).
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/bus.h"
#include "shared/db.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::testing {

// An envelope with a fresh event id, `type`, `group` and `payload` packed; the test sets
// whatever else it needs (subject, subject_version, estate_id, occurred_at).
events::v1::Event TestEvent(absl::string_view type, absl::string_view group,
                            const google::protobuf::Message& payload);

// Applies `event` through a consumer's `handler` in one transaction, as EventConsumer does
// for one delivery (without the inbox: a test that needs "applied once" uses TestBus).
absl::Status Deliver(Db& db, const EventHandler& handler, const events::v1::Event& event);

// A bus of the test's own: streams named after a random suffix, relays and consumers that
// are started when added and stopped by Stop() (or when it goes): consumers first, then
// relays, each in the order added.
class TestBus {
 public:
  // On the shared test Redis (RedisAddr()), or on `redis_addr`.
  TestBus();
  explicit TestBus(std::string redis_addr);
  ~TestBus();

  const RedisOptions& redis() const { return redis_; }
  // "wuye.t<suffix><tag>.events": a stream no other test uses.
  std::string Stream(absl::string_view tag) const;
  // Relays the outbox of the database at `db_url` to `stream`.
  void Relay(const std::string& db_url, const std::string& stream,
             absl::Duration poll = absl::Milliseconds(20));
  // Consumer group `group` on `stream`, which only `producer` may write (shared/bus.h,
  // ForgeryOf: a stand-in stream must say whose it is), with its inbox in `db`.
  EventConsumer& Consume(Db& db, const std::string& group, const std::string& stream,
                         const std::string& producer, EventHandler handler);
  // The same with options of the test's own.
  EventConsumer& Consume(Db& db, ConsumerOptions options, EventHandler handler);
  void Stop();

 private:
  RedisOptions redis_;
  std::string suffix_;
  std::vector<std::unique_ptr<EventConsumer>> consumers_;
  std::vector<std::unique_ptr<OutboxRelay>> relays_;
};

}  // namespace wuye::testing
