#include "services/duty/handover_flow.h"

#include <algorithm>

#include "shared/civil_date.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/duty_events.pb.h"

namespace wuye::duty {

absl::TimeZone HandoverFlow::ZoneOf(pqxx::work& tx, const std::string& group,
                                    const std::string& estate) {
  auto e = duty_.GetEstate(tx, group, estate);
  return EstateZone(e ? e->time_zone : "");
}

absl::Status HandoverFlow::OnEvent(pqxx::work& tx, const ev::Event& e, absl::Time now) {
  if (e.type() == "directory.shift.created") {
    ArmShift(tx, e.group_id(), e, now);
    return absl::OkStatus();
  }
  if (!ReadsHoldings(e.type())) return absl::OkStatus();
  WUYE_ASSIGN_OR_RETURN(HoldingReading r, ReadHoldings(e));
  for (const Holding& h : r.holdings) store_.PutHolding(tx, e.group_id(), h);
  for (const ServedRef& s : r.served) {
    store_.AddServed(tx, e.group_id(), s, LocalDay(s.at, ZoneOf(tx, e.group_id(), s.estate_id)));
  }
  return absl::OkStatus();
}

// The consumer has copied the shift already (or refused it); a shift it does not keep, or
// keeps as deleted, arms nothing.
void HandoverFlow::ArmShift(pqxx::work& tx, const std::string& group, const ev::Event& e,
                            absl::Time now) {
  ev::ShiftChanged shift;
  if (!e.payload().UnpackTo(&shift) || !IsValidId(shift.shift_id())) return;
  std::optional<ShiftRow> s = store_.GetShift(tx, group, shift.shift_id());
  if (!s || s->deleted || !TimesHandover(s->end, now)) return;
  pb::Settings settings = duty_.GetSettings(tx, group);
  Timer handover;
  handover.group_id = group;
  handover.kind = TimerKind::kHandover;
  handover.key = s->id;
  handover.estate_id = s->estate_id;
  handover.staff_id = s->staff_id;
  // A shift entered after it ended (a roster written late, or replayed) owes its
  // handover within the window from when the desk learnt of it: nobody was asked before.
  handover.base_at = std::max(s->end, now);
  handover.due_at = HandoverDue(handover.base_at, settings);
  store_.ArmTimer(tx, handover);
  // The day the shift starts is its day on duty (a night shift's log is the evening's).
  absl::CivilDay day = LocalDay(s->start, ZoneOf(tx, group, s->estate_id));
  Timer log;
  log.group_id = group;
  log.kind = TimerKind::kDailyLog;
  log.key = LogKey(s->staff_id, day);
  log.estate_id = s->estate_id;
  log.staff_id = s->staff_id;
  log.day = day;
  log.due_at = LogCutoff(day, settings, ZoneOf(tx, group, s->estate_id));
  store_.ArmTimer(tx, log);
}

void HandoverFlow::ArmDailyLog(pqxx::work& tx, const std::string& group, const std::string& estate,
                               const std::string& staff, absl::Time at) {
  absl::TimeZone tz = ZoneOf(tx, group, estate);
  absl::CivilDay day = LocalDay(at, tz);
  Timer log;
  log.group_id = group;
  log.kind = TimerKind::kDailyLog;
  log.key = LogKey(staff, day);
  log.estate_id = estate;
  log.staff_id = staff;
  log.day = day;
  log.due_at = LogCutoff(day, duty_.GetSettings(tx, group), tz);
  store_.ArmTimer(tx, log);
}

absl::Time HandoverFlow::DueOf(pqxx::work& tx, const Timer& t, const pb::Settings& settings) {
  if (t.kind == TimerKind::kHandover) return HandoverDue(t.base_at, settings);
  return LogCutoff(*t.day, settings, ZoneOf(tx, t.group_id, t.estate_id));
}

void HandoverFlow::Rearm(pqxx::work& tx, const std::string& group, const pb::Settings& settings) {
  for (const Timer& t : store_.UnfiredTimers(tx, group)) {
    if (t.kind == TimerKind::kDailyLog && !t.day) continue;
    absl::Time due = DueOf(tx, t, settings);
    if (due != t.due_at) store_.SetDue(tx, t, due);
  }
}

bool HandoverFlow::Fire(pqxx::work& tx, const Timer& t, absl::Time now) {
  store_.MarkFired(tx, t, now);
  const std::string& group = t.group_id;
  pb::Settings settings = duty_.GetSettings(tx, group);
  if (t.kind == TimerKind::kHandover) {
    std::optional<ShiftRow> s = store_.GetShift(tx, group, t.key);
    if (!s || s->deleted) return false;  // the roster took the shift back
    std::vector<int> roles = duty_.StaffRoles(tx, group, s->staff_id).value_or(std::vector<int>{});
    std::optional<HandoverFailure> failed =
        HandoverVerdict(s->staff_id, roles, store_.HandoverOfShift(tx, group, s->id), settings);
    if (!failed) return false;
    ev::HandoverMissing p;
    p.set_shift_id(s->id);
    p.set_estate_id(s->estate_id);
    p.set_staff_id(failed->staff_id);
    p.set_acknowledging(failed->acknowledging);
    *p.mutable_shift_end() = ToProtoTime(s->end);
    outbox_.Append(tx,
                   {.type = "duty.handover.missing",
                    .group_id = group,
                    .estate_id = s->estate_id,
                    .subject = s->id,
                    .subject_version = 1,
                    .payload = &p},
                   now, "");
    return true;
  }
  if (!t.day) return false;
  // Still a day on duty: the roster may have taken the shift back.
  absl::TimeZone tz = ZoneOf(tx, group, t.estate_id);
  if (!store_.OnDutyBetween(tx, group, t.estate_id, t.staff_id, absl::FromCivil(*t.day, tz),
                            absl::FromCivil(*t.day + 1, tz))) {
    return false;
  }
  if (store_.HasDailyLog(tx, group, t.estate_id, t.staff_id, *t.day)) return false;
  ev::DailyLogMissing p;
  p.set_staff_id(t.staff_id);
  p.set_estate_id(t.estate_id);
  *p.mutable_day() = CivilDateOf(*t.day);
  outbox_.Append(tx,
                 {.type = "duty.daily_log.missing",
                  .group_id = group,
                  .estate_id = t.estate_id,
                  .subject = t.key,
                  .subject_version = 1,
                  .payload = &p},
                 now, "");
  return true;
}

absl::StatusOr<int> HandoverJobs::FireDue(absl::Time now, int batch) {
  int published = 0;
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
    published = 0;
    for (const Timer& t : store_.DueTimers(tx, now, batch)) {
      if (flow_.Fire(tx, t, now)) ++published;
    }
    return absl::OkStatus();
  }));
  return published;
}

}  // namespace wuye::duty
