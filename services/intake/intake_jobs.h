// Intake's periodic work: the consultation timer. A consultation (咨询) not answered by its
// due time (002_… 2.2.2 "解决不了的应向主管请示后五分钟内给予回复", five minutes counted in the
// desk's open hours of 000_… 二.5; AnswerDue in ticket.h) is
// published once as "intake.consultation.overdue" (ConsultationOverdue), for the duty
// desk's team lead. Durable: the due time and whether it was published are the ticket's
// row; replicas share the due rows with FOR UPDATE SKIP LOCKED, so each fires once.
//
// The 12345 timers (issue 27 §3): a 12345 order no reply of which reached the city's
// platform (none recorded, or recorded and not exported nor posted) is published once as
// "intake.hotline.due_soon" from its warn time (--hotline_due_soon_working_days working
// days before its due time) and once as "intake.hotline.overdue" past its due time, both
// for the person on duty (duty's consumer). Durable and shared the same way.
//
// The complaint reply's timers (issue #27 §1, complaint_reply.h): a complaint whose written
// reply (the handling result) is not given is published once as
// "intake.complaint.reply_due_soon" from its warn time and once as
// "intake.complaint.reply_overdue" past its due time, for the supervisor on duty. Durable
// and shared the same way.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shared/db.h"
#include "shared/outbox.h"

namespace wuye::intake {

class IntakeJobs {
 public:
  explicit IntakeJobs(Db& db);

  // Publishes up to `batch` consultations overdue at `now`; returns how many.
  absl::StatusOr<int> ConsultationsOverdue(absl::Time now, int batch = 200);
  // Publishes up to `batch` 12345 orders due soon at `now` (one already past its due time
  // is left to HotlinesOverdue); returns how many were published.
  absl::StatusOr<int> HotlinesDueSoon(absl::Time now, int batch = 200);
  // Publishes up to `batch` 12345 orders past their due time with no reply delivered.
  absl::StatusOr<int> HotlinesOverdue(absl::Time now, int batch = 200);
  // Publishes up to `batch` complaints whose reply is due soon at `now` (one already past
  // its due time is left to RepliesOverdue); returns how many were published.
  absl::StatusOr<int> RepliesDueSoon(absl::Time now, int batch = 200);
  // Publishes up to `batch` complaints past their reply's due time without it.
  absl::StatusOr<int> RepliesOverdue(absl::Time now, int batch = 200);

 private:
  Db& db_;
  Outbox outbox_;
};

}  // namespace wuye::intake
