// The tables of handovers, daily logs, who holds and served what, and the handover and log
// timers (migrations/004_handover_log.sql). Every call takes the caller's group and filters
// by it, except DueTimers, which reads across groups and returns each timer's group.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/duty/duty_store.h"
#include "services/duty/handover.h"
#include "shared/db.h"
#include "wuye/duty/v1/duty.pb.h"

namespace wuye::duty {

// A roster shift as duty's copy has it.
struct ShiftRow {
  std::string id, estate_id, staff_id;
  absl::Time start, end;
  bool deleted = false;
};

enum class TimerKind { kHandover = 1, kDailyLog = 2 };

struct Timer {
  std::string group_id;
  TimerKind kind = TimerKind::kHandover;
  std::string key;  // the shift id; or LogKey(staff, day)
  std::string estate_id, staff_id;
  absl::Time base_at = absl::InfinitePast();  // handover: the shift's end
  std::optional<absl::CivilDay> day;          // daily log: the day on duty
  absl::Time due_at;
};

class HandoverStore {
 public:
  explicit HandoverStore(Db& db);

  // ---- holdings and served refs ----
  void PutHolding(pqxx::work& tx, const std::string& group, const Holding& h);
  void AddServed(pqxx::work& tx, const std::string& group, const ServedRef& s, absl::CivilDay day);
  // The open tickets and work orders `staff` holds at the estate, and the tasks given to
  // them or acknowledged by them and not done, as refs, sorted.
  std::vector<std::string> OpenRefsOf(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, const std::string& staff);

  // ---- the roster ----
  std::optional<ShiftRow> GetShift(pqxx::work& tx, const std::string& group, const std::string& id);
  // The staff member's shift at the estate running at `now`, else the last one ended
  // within a day; deleted shifts never.
  std::optional<ShiftRow> ShiftNear(pqxx::work& tx, const std::string& group,
                                    const std::string& estate, const std::string& staff,
                                    absl::Time now);

  // ---- handovers ----
  // False when the shift was handed over before.
  bool InsertHandover(pqxx::work& tx, const std::string& group, const pb::Handover& h);
  std::optional<pb::Handover> GetHandover(pqxx::work& tx, const std::string& group,
                                          const std::string& id, bool for_update);
  void Acknowledge(pqxx::work& tx, const std::string& group, const std::string& id, absl::Time at,
                   const std::string& note);
  // Handovers of the estate made in [from, to), of `staff` as outgoing or incoming ("" any).
  std::vector<pb::Handover> ListHandovers(pqxx::work& tx, const std::string& group,
                                          const std::string& estate, absl::Time from, absl::Time to,
                                          const std::string& staff, const IdPage& page);
  std::optional<HandoverFound> HandoverOfShift(pqxx::work& tx, const std::string& group,
                                               const std::string& shift_id);

  // ---- daily logs ----
  // The log as it stands (served refs and notes; no notes yet: an empty log).
  pb::DailyLog GetDailyLog(pqxx::work& tx, const std::string& group, const std::string& estate,
                           const std::string& staff, absl::CivilDay day);
  void PutDailyLogNotes(pqxx::work& tx, const std::string& group, const std::string& estate,
                        const std::string& staff, absl::CivilDay day, const std::string& notes,
                        absl::Time now);
  // Whether the person was on duty at the estate in [from, to): a kept roster shift
  // starting then, or a check-in then.
  bool OnDutyBetween(pqxx::work& tx, const std::string& group, const std::string& estate,
                     const std::string& staff, absl::Time from, absl::Time to);
  // Whether the person wrote a log (non-blank notes) for the day.
  bool HasDailyLog(pqxx::work& tx, const std::string& group, const std::string& estate,
                   const std::string& staff, absl::CivilDay day);

  // ---- timers ----
  // Arms a timer once: a timer armed before keeps its row (and its firing).
  void ArmTimer(pqxx::work& tx, const Timer& t);
  // Across groups: timers due at `now` not fired yet, locked with SKIP LOCKED.
  std::vector<Timer> DueTimers(pqxx::work& tx, absl::Time now, int limit);
  void MarkFired(pqxx::work& tx, const Timer& t, absl::Time at);
  // The group's timers not fired yet, locked (new settings move their deadlines).
  std::vector<Timer> UnfiredTimers(pqxx::work& tx, const std::string& group);
  void SetDue(pqxx::work& tx, const Timer& t, absl::Time due);
};

}  // namespace wuye::duty
