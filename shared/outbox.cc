#include "shared/outbox.h"

#include "shared/ids.h"
#include "shared/proto_time.h"

namespace wuye {

Outbox::Outbox(Db& db, std::string producer) : producer_(std::move(producer)) {
  // No NOTIFY here: PostgreSQL serializes the commits of notifying transactions under one
  // global lock, which cost CreateUnit a third of its throughput. The relay polls instead.
  db.Prepare("wuye_outbox_append",
             "INSERT INTO wuye_outbox (event_id, type, envelope) "
             "VALUES ($1::uuid, $2, $3::bytea)");
  db.Prepare("wuye_outbox_append_many",
             "INSERT INTO wuye_outbox (event_id, type, envelope) "
             "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])");
}

wuye::events::v1::Event Outbox::Envelope(const EventDraft& draft, absl::Time now,
                                         absl::string_view trace_id) const {
  wuye::events::v1::Event event;
  event.set_event_id(NewId(now));
  event.set_type(draft.type);
  *event.mutable_occurred_at() = ToProtoTime(now);
  event.set_group_id(draft.group_id);
  event.set_estate_id(draft.estate_id);
  event.set_subject(draft.subject);
  event.set_subject_version(draft.subject_version);
  event.set_trace_id(std::string(trace_id));
  event.set_producer(producer_);
  if (draft.payload != nullptr) event.mutable_payload()->PackFrom(*draft.payload);
  return event;
}

void Outbox::AppendMany(pqxx::work& tx, const std::vector<EventDraft>& drafts, absl::Time now,
                        absl::string_view trace_id) const {
  if (drafts.empty()) return;
  std::vector<std::string> ids, types, envelopes;
  for (const auto& draft : drafts) {
    wuye::events::v1::Event event = Envelope(draft, now, trace_id);
    ids.push_back(event.event_id());
    types.push_back(event.type());
    envelopes.push_back(tx.esc_raw(event.SerializeAsString()));
  }
  tx.exec_prepared("wuye_outbox_append_many", PgArray(ids), PgArray(types), PgArray(envelopes));
}

wuye::events::v1::Event Outbox::Append(pqxx::work& tx, const EventDraft& draft, absl::Time now,
                                       absl::string_view trace_id) const {
  wuye::events::v1::Event event = Envelope(draft, now, trace_id);
  tx.exec_prepared("wuye_outbox_append", event.event_id(), event.type(),
                   tx.esc_raw(event.SerializeAsString()));
  return event;
}

}  // namespace wuye
