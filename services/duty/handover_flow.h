// The write path of handovers and daily logs shared by the consumers (who holds and served
// what; a roster shift arms its timers), the handlers (a check-in arms its day's log timer;
// new settings move the deadlines) and the handover and log timer (HandoverJobs), which
// publishes duty.handover.missing and duty.daily_log.missing once each through the outbox.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/duty/duty_store.h"
#include "services/duty/handover.h"
#include "services/duty/handover_store.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::duty {

class HandoverFlow {
 public:
  HandoverFlow(DutyStore& duty, HandoverStore& store, Outbox& outbox)
      : duty_(duty), store_(store), outbox_(outbox) {}

  // What an event of another service changes here: holdings and served refs (intake,
  // dispatch), the timers of a new roster shift (directory.shift.created). Others: nothing.
  absl::Status OnEvent(pqxx::work& tx, const ev::Event& e, absl::Time now);
  // A check-in makes its local day a day on duty: the log timer of that day.
  void ArmDailyLog(pqxx::work& tx, const std::string& group, const std::string& estate,
                   const std::string& staff, absl::Time at);
  // New settings: every timer of the group not fired yet gets the deadline they give.
  void Rearm(pqxx::work& tx, const std::string& group, const pb::Settings& settings);
  // Fires one due timer: publishes what it finds missing; false when nothing was.
  bool Fire(pqxx::work& tx, const Timer& t, absl::Time now);

  absl::TimeZone ZoneOf(pqxx::work& tx, const std::string& group, const std::string& estate);

 private:
  void ArmShift(pqxx::work& tx, const std::string& group, const ev::Event& e, absl::Time now);
  absl::Time DueOf(pqxx::work& tx, const Timer& t, const pb::Settings& settings);

  DutyStore& duty_;
  HandoverStore& store_;
  Outbox& outbox_;
};

// The handover and log timer: each due timer claimed with FOR UPDATE SKIP LOCKED, checked
// and marked fired in one transaction, so replicas share them and each fires once.
class HandoverJobs {
 public:
  explicit HandoverJobs(Db& db)
      : db_(db), duty_(db), store_(db), outbox_(db, "duty"), flow_(duty_, store_, outbox_) {}

  // Fires up to `batch` due timers; returns how many published an event.
  absl::StatusOr<int> FireDue(absl::Time now, int batch = 200);

 private:
  Db& db_;
  DutyStore duty_;
  HandoverStore store_;
  Outbox outbox_;
  HandoverFlow flow_;
};

}  // namespace wuye::duty
