#include "services/intake/intake_jobs.h"

#include "services/intake/complaint_reply.h"
#include "shared/proto_time.h"
#include "shared/sql.h"
#include "shared/status.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye::intake {
namespace {

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

// Across groups, the 12345 orders without a reply whose warn time (due time) has come and
// that were not published yet, locked so that replicas take different ones.
const sql::Statement kHotlineDueSoon = statements.Add(
    "in_hotline_due_soon",
    "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
    "WHERE hotline_order IS NOT NULL AND hotline_replied_at IS NULL AND NOT "
    "hotline_due_soon_published AND hotline_warn_at <= " WUYE_SQL_TIME(
        "$1") " ORDER BY hotline_warn_at LIMIT $2 FOR UPDATE SKIP LOCKED");
const sql::Statement kHotlineDueSoonMark = statements.Add(
    "in_hotline_due_soon_mark",
    "UPDATE tickets SET hotline_due_soon_published = true WHERE group_id = $1 AND id = $2");
const sql::Statement kHotlineOverdue = statements.Add(
    "in_hotline_overdue",
    "SELECT id::text, group_id::text, estate_id::text, body FROM tickets "
    "WHERE hotline_order IS NOT NULL AND hotline_replied_at IS NULL AND NOT "
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

}  // namespace

IntakeJobs::IntakeJobs(Db& db) : db_(db), outbox_(db, "intake") { statements.PrepareOn(db); }

absl::StatusOr<int> IntakeJobs::ConsultationsOverdue(absl::Time now, int batch) {
  int published = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    for (const auto& row : tx.exec_prepared(kDue, sql::Micros(now), batch)) {
      std::string id = sql::Text(row[0]), group = sql::Text(row[1]), estate = sql::Text(row[2]);
      wuye::intake::v1::Ticket t;
      t.ParseFromString(sql::Bytes(row[3]));
      tx.exec_prepared(kMark, group, id);
      ev::ConsultationOverdue p;
      p.set_ticket_id(id);
      p.set_estate_id(estate);
      *p.mutable_location() = t.location();
      if (p.location().estate_id().empty()) p.mutable_location()->set_estate_id(estate);
      p.set_owner_id(t.owner_id());
      *p.mutable_answer_due_at() = t.answer_due_time();
      outbox_.Append(tx,
                     {.type = "intake.consultation.overdue",
                      .group_id = group,
                      .estate_id = estate,
                      .subject = id,
                      .subject_version = 0,
                      .payload = &p},
                     now, "");
      ++published;
    }
    return absl::OkStatus();
  }));
  return published;
}

absl::StatusOr<int> IntakeJobs::Hotline(absl::Time now, int batch, bool overdue) {
  int published = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    for (const auto& row :
         tx.exec_prepared(overdue ? kHotlineOverdue : kHotlineDueSoon, sql::Micros(now), batch)) {
      std::string id = sql::Text(row[0]), group = sql::Text(row[1]), estate = sql::Text(row[2]);
      wuye::intake::v1::Ticket t;
      t.ParseFromString(sql::Bytes(row[3]));
      tx.exec_prepared(overdue ? kHotlineOverdueMark : kHotlineDueSoonMark, group, id);
      // Imported after its due time: "overdue" says it all.
      if (!overdue && FromProtoTime(t.external_due_time()) < now) continue;
      ev::HotlineOrderEvent p;
      p.set_ticket_id(id);
      p.set_estate_id(estate);
      *p.mutable_location() = t.location();
      if (p.location().estate_id().empty()) p.mutable_location()->set_estate_id(estate);
      p.set_owner_id(t.owner_id());
      p.set_city(t.hotline().city());
      p.set_order_number(t.hotline().order_number());
      *p.mutable_hotline_received_at() = t.hotline().hotline_received_time();
      *p.mutable_due_at() = t.external_due_time();
      outbox_.Append(tx,
                     {.type = overdue ? "intake.hotline.overdue" : "intake.hotline.due_soon",
                      .group_id = group,
                      .estate_id = estate,
                      .subject = id,
                      .subject_version = 0,
                      .payload = &p},
                     now, "");
      ++published;
    }
    return absl::OkStatus();
  }));
  return published;
}

absl::StatusOr<int> IntakeJobs::HotlinesDueSoon(absl::Time now, int batch) {
  return Hotline(now, batch, false);
}

absl::StatusOr<int> IntakeJobs::HotlinesOverdue(absl::Time now, int batch) {
  return Hotline(now, batch, true);
}

}  // namespace wuye::intake

namespace wuye::intake {

absl::StatusOr<int> IntakeJobs::Replies(absl::Time now, int batch, bool overdue) {
  int published = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    for (const auto& row :
         tx.exec_prepared(overdue ? kReplyOverdue : kReplyDueSoon, sql::Micros(now), batch)) {
      std::string id = sql::Text(row[0]), group = sql::Text(row[1]);
      wuye::intake::v1::Ticket t;
      t.ParseFromString(sql::Bytes(row[3]));
      tx.exec_prepared(overdue ? kReplyOverdueMark : kReplyDueSoonMark, group, id);
      // Already past its due time when the warning came round: "overdue" says it all.
      if (!overdue && FromProtoTime(t.complaint_reply().due_time()) < now) continue;
      ev::ComplaintReplyEvent p = ComplaintReplyEventOf(t);
      outbox_.Append(tx,
                     {.type = overdue ? "intake.complaint.reply_overdue"
                                      : "intake.complaint.reply_due_soon",
                      .group_id = group,
                      .estate_id = t.estate_id(),
                      .subject = id,
                      .subject_version = 0,
                      .payload = &p},
                     now, "");
      ++published;
    }
    return absl::OkStatus();
  }));
  return published;
}

absl::StatusOr<int> IntakeJobs::RepliesDueSoon(absl::Time now, int batch) {
  return Replies(now, batch, false);
}

absl::StatusOr<int> IntakeJobs::RepliesOverdue(absl::Time now, int batch) {
  return Replies(now, batch, true);
}

}  // namespace wuye::intake
