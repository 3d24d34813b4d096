#include "shared/testing/events.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shared/ids.h"
#include "shared/testing/test_env.h"

namespace wuye::testing {

events::v1::Event TestEvent(absl::string_view type, absl::string_view group,
                            const google::protobuf::Message& payload) {
  events::v1::Event e;
  e.set_event_id(NewId(absl::Now()));
  e.set_type(std::string(type));
  e.set_group_id(std::string(group));
  e.mutable_payload()->PackFrom(payload);
  return e;
}

absl::Status Deliver(Db& db, const EventHandler& handler, const events::v1::Event& event) {
  return db.Transact([&](pqxx::work& tx) { return handler(tx, event); });
}

TestBus::TestBus() : TestBus(RedisAddr()) {}

TestBus::TestBus(std::string redis_addr) : suffix_(NewId(absl::Now()).substr(24)) {
  redis_.addr = std::move(redis_addr);
}

TestBus::~TestBus() { Stop(); }

std::string TestBus::Stream(absl::string_view tag) const {
  return absl::StrCat("wuye.t", suffix_, tag, ".events");
}

void TestBus::Relay(const std::string& db_url, const std::string& stream, absl::Duration poll) {
  RelayOptions options;
  options.stream = stream;
  options.poll = poll;
  DbOptions db;
  db.url = db_url;
  relays_.push_back(std::make_unique<OutboxRelay>(db, redis_, options));
  relays_.back()->Start();
}

EventConsumer& TestBus::Consume(Db& db, const std::string& group, const std::string& stream,
                                const std::string& producer, EventHandler handler) {
  ConsumerOptions options;
  options.group = group;
  options.streams = {stream};
  options.producers[stream] = producer;
  options.block = absl::Milliseconds(100);
  return Consume(db, std::move(options), std::move(handler));
}

EventConsumer& TestBus::Consume(Db& db, ConsumerOptions options, EventHandler handler) {
  consumers_.push_back(
      std::make_unique<EventConsumer>(db, redis_, std::move(options), std::move(handler)));
  consumers_.back()->Start();
  return *consumers_.back();
}

void TestBus::Stop() {
  for (auto& c : consumers_) c->Stop();
  for (auto& r : relays_) r->Stop();
}

}  // namespace wuye::testing
