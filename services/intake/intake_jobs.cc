#include "services/intake/intake_jobs.h"

#include <memory>

#include "services/intake/complaint_reply.h"
#include "shared/proto_time.h"
#include "shared/sql.h"
#include "shared/status.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

// Across groups: consultations still waiting for their answer whose due time has passed
// and that were not published yet, locked so that replicas take different ones; marked
// published in the same statement's transaction.
const sql::Statement kDue = statements.Add(
    "in_consultations_overdue",
    "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
    "WHERE state = 1 AND kind = 1 AND NOT overdue_published AND answer_due_at < " WUYE_SQL_TIME(
        "$1") " ORDER BY answer_due_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kMark =
    statements.Add("in_consultation_overdue_mark",
                   "UPDATE tickets SET overdue_published = true WHERE group_id = $1 AND id = $2");

// Across groups, the 12345 orders no reply of which reached the city's platform yet (issue
// 27 §3: a reply recorded but not exported or posted still needs action) whose warn time
// (due time) has come and that were not published yet, locked so that replicas take
// different ones.
const sql::Statement kHotlineDueSoon =
    statements.Add("in_hotline_due_soon",
                   "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
                   "WHERE hotline_order IS NOT NULL AND hotline_delivered_at IS NULL AND NOT "
                   "hotline_due_soon_published AND hotline_warn_at <= " WUYE_SQL_TIME(
                       "$1") " ORDER BY hotline_warn_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kHotlineDueSoonMark = statements.Add(
    "in_hotline_due_soon_mark",
    "UPDATE tickets SET hotline_due_soon_published = true WHERE group_id = $1 AND id = $2");
const sql::Statement kHotlineOverdue =
    statements.Add("in_hotline_overdue",
                   "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
                   "WHERE hotline_order IS NOT NULL AND hotline_delivered_at IS NULL AND NOT "
                   "hotline_overdue_published AND external_due_at < " WUYE_SQL_TIME(
                       "$1") " ORDER BY external_due_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kHotlineOverdueMark = statements.Add(
    "in_hotline_overdue_mark",
    "UPDATE tickets SET hotline_overdue_published = true WHERE group_id = $1 AND id = $2");

// Across groups, the complaints whose written reply was not given and whose warn time (due
// time) has come, not published yet, locked so that replicas take different ones.
const sql::Statement kReplyDueSoon = statements.Add(
    "in_reply_due_soon",
    "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
    "WHERE reply_due_at IS NOT NULL AND reply_given_at IS NULL AND NOT "
    "reply_due_soon_published AND reply_warn_at <= " WUYE_SQL_TIME(
        "$1") " ORDER BY reply_warn_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kReplyDueSoonMark = statements.Add(
    "in_reply_due_soon_mark",
    "UPDATE tickets SET reply_due_soon_published = true WHERE group_id = $1 AND id = $2");
const sql::Statement kReplyOverdue = statements.Add(
    "in_reply_overdue",
    "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
    "WHERE reply_due_at IS NOT NULL AND reply_given_at IS NULL AND NOT "
    "reply_overdue_published AND reply_due_at < " WUYE_SQL_TIME(
        "$1") " ORDER BY reply_due_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kReplyOverdueMark = statements.Add(
    "in_reply_overdue_mark",
    "UPDATE tickets SET reply_overdue_published = true WHERE group_id = $1 AND id = $2");

// One deadline timer of the tickets: the rows whose time has come (id, group, estate, body;
// locked, SKIP LOCKED), the statement marking one published, the event's type and payload,
// and — for a warning before the due time — the ticket's due time: a row already past it is
// marked and left to the overdue timer ("overdue" says it all).
struct TicketTimer {
  const sql::Statement& due;
  const sql::Statement& mark;
  const char* type;
  std::unique_ptr<google::protobuf::Message> (*payload)(const std::string& id,
                                                        const std::string& estate,
                                                        const v1::Ticket& t);
  absl::Time (*warns_before)(const v1::Ticket& t) = nullptr;
};

// The ticket's place, the estate's when it names none.
common::Location PlaceOf(const std::string& estate, const v1::Ticket& t) {
  common::Location where = t.location();
  if (where.estate_id().empty()) where.set_estate_id(estate);
  return where;
}

std::unique_ptr<google::protobuf::Message> ConsultationPayload(const std::string& id,
                                                               const std::string& estate,
                                                               const v1::Ticket& t) {
  auto p = std::make_unique<ev::ConsultationOverdue>();
  p->set_ticket_id(id);
  p->set_estate_id(estate);
  *p->mutable_location() = PlaceOf(estate, t);
  p->set_owner_id(t.owner_id());
  *p->mutable_answer_due_at() = t.answer_due_time();
  return p;
}

std::unique_ptr<google::protobuf::Message> HotlinePayload(const std::string& id,
                                                          const std::string& estate,
                                                          const v1::Ticket& t) {
  auto p = std::make_unique<ev::HotlineOrderEvent>();
  p->set_ticket_id(id);
  p->set_estate_id(estate);
  *p->mutable_location() = PlaceOf(estate, t);
  p->set_owner_id(t.owner_id());
  p->set_city(t.hotline().city());
  p->set_order_number(t.hotline().order_number());
  *p->mutable_hotline_received_at() = t.hotline().hotline_received_time();
  *p->mutable_due_at() = t.external_due_time();
  // A reply recorded but not yet delivered: when (the duty desk's words say so).
  if (t.hotline().has_reply_time()) *p->mutable_replied_at() = t.hotline().reply_time();
  return p;
}

std::unique_ptr<google::protobuf::Message> ReplyPayload(const std::string&, const std::string&,
                                                        const v1::Ticket& t) {
  return std::make_unique<ev::ComplaintReplyEvent>(ComplaintReplyEventOf(t));
}

absl::Time HotlineDueTime(const v1::Ticket& t) { return FromProtoTime(t.external_due_time()); }
absl::Time ReplyDueTime(const v1::Ticket& t) {
  return FromProtoTime(t.complaint_reply().due_time());
}

const TicketTimer kConsultationOverdue{kDue, kMark, "intake.consultation.overdue",
                                       &ConsultationPayload};
const TicketTimer kHotlineDueSoonTimer{kHotlineDueSoon, kHotlineDueSoonMark,
                                       "intake.hotline.due_soon", &HotlinePayload, &HotlineDueTime};
const TicketTimer kHotlineOverdueTimer{kHotlineOverdue, kHotlineOverdueMark,
                                       "intake.hotline.overdue", &HotlinePayload};
const TicketTimer kReplyDueSoonTimer{kReplyDueSoon, kReplyDueSoonMark,
                                     "intake.complaint.reply_due_soon", &ReplyPayload,
                                     &ReplyDueTime};
const TicketTimer kReplyOverdueTimer{kReplyOverdue, kReplyOverdueMark,
                                     "intake.complaint.reply_overdue", &ReplyPayload};

// Publishes up to `batch` rows of `timer` whose time has come at `now`, each once: marked in
// the transaction that publishes it.
absl::StatusOr<int> Fire(Db& db, Outbox& outbox, const TicketTimer& timer, absl::Time now,
                         int batch) {
  int published = 0;
  WUYE_RETURN_IF_ERROR(db.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    for (const auto& row : tx.exec_prepared(timer.due, sql::Micros(now), batch)) {
      std::string id = sql::Text(row[0]), group = sql::Text(row[1]), estate = sql::Text(row[2]);
      v1::Ticket t;
      t.ParseFromString(sql::Bytes(row[3]));
      tx.exec_prepared(timer.mark, group, id);
      if (timer.warns_before != nullptr && timer.warns_before(t) < now) continue;
      std::unique_ptr<google::protobuf::Message> p = timer.payload(id, estate, t);
      outbox.Append(tx,
                    {.type = timer.type,
                     .group_id = group,
                     .estate_id = estate,
                     .subject = id,
                     .subject_version = 0,
                     .payload = p.get()},
                    now, "");
      ++published;
    }
    return absl::OkStatus();
  }));
  return published;
}

}  // namespace

IntakeJobs::IntakeJobs(Db& db) : db_(db), outbox_(db, "intake") { statements.PrepareOn(db); }

absl::StatusOr<int> IntakeJobs::ConsultationsOverdue(absl::Time now, int batch) {
  return Fire(db_, outbox_, kConsultationOverdue, now, batch);
}

absl::StatusOr<int> IntakeJobs::HotlinesDueSoon(absl::Time now, int batch) {
  return Fire(db_, outbox_, kHotlineDueSoonTimer, now, batch);
}

absl::StatusOr<int> IntakeJobs::HotlinesOverdue(absl::Time now, int batch) {
  return Fire(db_, outbox_, kHotlineOverdueTimer, now, batch);
}

absl::StatusOr<int> IntakeJobs::RepliesDueSoon(absl::Time now, int batch) {
  return Fire(db_, outbox_, kReplyDueSoonTimer, now, batch);
}

absl::StatusOr<int> IntakeJobs::RepliesOverdue(absl::Time now, int batch) {
  return Fire(db_, outbox_, kReplyOverdueTimer, now, batch);
}

}  // namespace wuye::intake
