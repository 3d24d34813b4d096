// The transactional outbox: an event is written in the same transaction as the change it
// describes, so that it exists if and only if the change committed. The relay (bus) moves
// it to the producing service's stream, wuye.<service>.events.
#pragma once

#include <google/protobuf/message.h>

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "shared/db.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye {

struct EventDraft {
  std::string type;  // "directory.unit.created"
  std::string group_id;
  std::string estate_id;
  std::string subject;
  int64_t subject_version = 0;
  const google::protobuf::Message* payload = nullptr;
};

class Outbox {
 public:
  // `producer` is the service name, e.g. "directory". Registers its statement with `db`.
  Outbox(Db& db, std::string producer);

  // Appends the event to the outbox inside `tx` and returns its envelope.
  wuye::events::v1::Event Append(pqxx::work& tx, const EventDraft& draft, absl::Time now,
                                 absl::string_view trace_id) const;

  // Appends many events with one statement (bulk changes such as imports).
  void AppendMany(pqxx::work& tx, const std::vector<EventDraft>& drafts, absl::Time now,
                  absl::string_view trace_id) const;

  // The envelope Append would write, for a caller that inserts its rows (event_id, type,
  // envelope) into wuye_outbox with a statement of its own (group commit).
  wuye::events::v1::Event Envelope(const EventDraft& draft, absl::Time now,
                                   absl::string_view trace_id) const;

  const std::string& producer() const { return producer_; }
  std::string stream() const { return "wuye." + producer_ + ".events"; }

 private:
  std::string producer_;
};

}  // namespace wuye
