#include "services/dispatch/work_order_flow.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/work_calendar_store.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::dispatch {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

WorkOrderFlow::WorkOrderFlow(Db& db) : store_(db), outbox_(db, "dispatch") {}

Act WorkOrderFlow::System(absl::Time now) {
  Act act;
  act.actor.set_subject("dispatch");
  act.actor.add_roles("service");
  act.now = now;
  return act;
}

pb::SlaPolicy WorkOrderFlow::EffectivePolicy(pqxx::work& tx, const std::string& group,
                                             const std::string& estate) {
  PolicyLayers layers = store_.Layers(tx, group, estate);
  pb::SlaPolicy policy = DefaultPolicy();
  if (layers.group) policy = MergePolicy(policy, *layers.group);
  if (estate.empty()) return policy;
  if (layers.estate) policy = MergePolicy(policy, *layers.estate);
  // The directory's zone of the estate wins over a policy's: every deadline of the estate
  // (dispatch's, ExplainDeadline's, intake's) counts in one zone.
  if (!layers.directory_zone.empty()) policy.set_time_zone(layers.directory_zone);
  policy.set_estate_id(estate);
  return policy;
}

absl::StatusOr<int> WorkOrderFlow::Retime(pqxx::work& tx, const std::string& group,
                                          const std::string& estate, absl::Time at, bool zones_only,
                                          const std::string& why, const Act& act,
                                          const std::string& trace_id,
                                          const std::function<absl::StatusOr<bool>()>& change) {
  LockWorkCalendars(tx, group, CalendarLock::kExclusive);
  // Locked first, so that the timers wait for the new times.
  std::vector<pb::WorkOrder> orders = store_.OpenClocks(tx, group, estate);
  absl::flat_hash_map<std::string, SlaCalendar> before;
  for (const auto& o : orders) {
    if (!before.contains(o.estate_id())) {
      before.emplace(o.estate_id(), CalendarOf(tx, group, o.estate_id()));
    }
  }
  WUYE_ASSIGN_OR_RETURN(bool changed, change());
  if (!changed) return 0;
  at = std::min(at, act.now);
  absl::flat_hash_map<std::string, pb::SlaPolicy> policies;
  absl::flat_hash_map<std::string, SlaCalendar> after;
  int moved = 0;
  for (pb::WorkOrder& o : orders) {
    auto it = after.find(o.estate_id());
    if (it == after.end()) {
      pb::SlaPolicy& policy = policies[o.estate_id()] = EffectivePolicy(tx, group, o.estate_id());
      it = after.emplace(o.estate_id(), CalendarOf(tx, group, o.estate_id(), &policy)).first;
    }
    const SlaCalendar& old_cal = before.at(o.estate_id());
    const SlaCalendar& new_cal = it->second;
    bool zone_moved = old_cal.zone.name() != new_cal.zone.name();
    if (zones_only && !zone_moved) continue;
    std::string reason = why;
    if (zone_moved) {
      absl::StrAppend(&reason, " (time zone ", old_cal.zone.name(), " → ", new_cal.zone.name(),
                      ")");
    }
    int steps = o.history_size();
    if (!RetimeClock(o, at, old_cal, new_cal, reason, act)) continue;
    Save(tx, o, steps, act.now, trace_id, &policies.at(o.estate_id()));
    ++moved;
  }
  return moved;
}

SlaCalendar WorkOrderFlow::CalendarOf(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, const pb::SlaPolicy* policy) {
  SlaCalendar cal;
  cal.calendar = LoadWorkCalendar(tx, group, estate);
  cal.zone = EstateZone(policy != nullptr ? policy->time_zone()
                                          : EffectivePolicy(tx, group, estate).time_zone());
  return cal;
}

absl::StatusOr<bool> WorkOrderFlow::Create(pqxx::work& tx, pb::WorkOrder& o, pb::Origin origin,
                                           const std::string& origin_ref, absl::Time sla_start,
                                           bool strict_price, const Act& act,
                                           const std::string& trace_id) {
  if (o.paid()) {
    // 004_…, 5.6.1: the estate's published price, else the group's standard price.
    std::optional<ListPrice> price =
        store_.QuotePrice(tx, o.group_id(), o.estate_id(), o.service_item_code());
    if (!price && strict_price) {
      return FieldError("work_order.service_item_code",
                        "not offered here: no price of the estate (or withdrawn there) and "
                        "none on the group's standard list");
    }
    if (price && price->per != "job" && o.quantity_milli() == 0 && strict_price) {
      return FieldError("work_order.quantity_milli",
                        absl::StrCat("required: the price is per ", price->per));
    }
    ApplyPrice(o, price);
  }
  // The group's calendar lock before the policy and the estate's zone are read: a calendar
  // or zone change in flight is waited for and counted in, since its re-timing cannot see an
  // order not yet written.
  LockWorkCalendars(tx, o.group_id(), CalendarLock::kShared);
  pb::SlaPolicy policy = EffectivePolicy(tx, o.group_id(), o.estate_id());
  if (o.id().empty()) o.set_id(NewId(act.now));
  // The clock starts when the request was received, not when it was typed in.
  if (o.has_received_time()) sla_start = std::min(FromProtoTime(o.received_time()), sla_start);
  *o.mutable_received_time() = ToProtoTime(sla_start);
  Open(o, origin, act);
  // Issue 27 §1: the clock counts what the policy says on the estate's working calendar.
  SlaCalendar cal = CalendarOf(tx, o.group_id(), o.estate_id(), &policy);
  StartClock(o,
             SpecFor(policy, cal.zone, o.priority(), sla_start, FromProtoTime(o.scheduled_time())),
             policy.warning_percent(), sla_start, cal, act.now);
  // Chosen before the insert, so that the order is written once, as it leaves here.
  pb::AssignmentDecision decision = Choose(tx, o, act.now);
  if (!decision.chosen_staff_id().empty()) {
    WUYE_RETURN_IF_ERROR(
        Assign(o, {decision.chosen_staff_id()}, "automatic", decision.reason(), act));
  }
  o.set_version(o.history_size());  // one version per step, "created" being 1
  if (!store_.Insert(tx, o, origin_ref, NextSlaTime(o), NextEscalationTime(o, policy))) {
    return false;
  }
  store_.SaveDecision(tx, o.group_id(), decision);
  if (o.workers_size() > 0) store_.SyncLoads(tx, o);
  Publish(tx, o, 0, 1, act.now, trace_id);
  return true;
}

pb::AssignmentDecision WorkOrderFlow::Choose(pqxx::work& tx, const pb::WorkOrder& o,
                                             absl::Time now) {
  std::vector<std::string> exclude;
  for (const auto& w : o.workers()) exclude.push_back(w.staff_id());
  std::vector<Candidate> eligible =
      store_.Eligible(tx, o.group_id(), o.estate_id(), SkillFor(o.category()), now, exclude);
  pb::AssignmentDecision decision = ChooseWorker(std::move(eligible), now);
  decision.set_work_order_id(o.id());
  return decision;
}

bool WorkOrderFlow::AutoAssign(pqxx::work& tx, pb::WorkOrder& o, const Act& act) {
  pb::AssignmentDecision decision = Choose(tx, o, act.now);
  store_.SaveDecision(tx, o.group_id(), decision);
  if (decision.chosen_staff_id().empty()) return false;
  return Assign(o, {decision.chosen_staff_id()}, "automatic", decision.reason(), act).ok();
}

void WorkOrderFlow::Save(pqxx::work& tx, pb::WorkOrder& o, int steps_before, absl::Time now,
                         const std::string& trace_id, const pb::SlaPolicy* policy) {
  int64_t base = o.version();
  o.set_version(base + (o.history_size() - steps_before));
  *o.mutable_update_time() = ToProtoTime(now);
  pb::SlaPolicy own;
  if (policy == nullptr) {
    own = EffectivePolicy(tx, o.group_id(), o.estate_id());
    policy = &own;
  }
  if (o.sla_stopped() && HasProgress(o) && !o.has_sla_stopped_time()) {
    // The clock stopped in this change: what it counted, met with and without pauses.
    Act act =
        o.history_size() > 0 ? Act{o.history(o.history_size() - 1).actor(), now} : System(now);
    FinishClock(o, CalendarOf(tx, o.group_id(), o.estate_id(), policy), act);
  }
  bool loads_changed = false;
  for (int i = steps_before; i < o.history_size(); ++i) {
    const std::string& what = o.history(i).what();
    loads_changed |=
        what == "assigned" || what == "declined" || what == "completed" || what == "cancelled";
  }
  store_.Update(tx, o, NextSlaTime(o), NextEscalationTime(o, *policy), loads_changed);
  // The pauses that stopped the clock, for the reports (pause time per worker and estate).
  for (const pb::Pause& pause : o.pauses()) {
    if (pause.has_paused_at()) store_.PutPause(tx, o, pause);
  }
  Publish(tx, o, steps_before, base + 1, now, trace_id);
}

void WorkOrderFlow::Publish(pqxx::work& tx, const pb::WorkOrder& o, int from_step,
                            int64_t first_version, absl::Time now, const std::string& trace_id) {
  std::vector<ev::WorkOrderChanged> payloads;
  std::vector<EventDraft> drafts;
  payloads.reserve(o.history_size() - from_step);  // drafts point into it
  for (int i = from_step; i < o.history_size(); ++i) {
    const pb::Step& step = o.history(i);
    if (step.what() == "waiting") continue;
    ev::WorkOrderChanged& payload =
        payloads.emplace_back(ToEvent(o, step.staff_id(), step.reason(), FromProtoTime(step.at())));
    payload.set_state(step.state());
    payload.set_escalation_level(step.escalation_level());
    *payload.mutable_actor() = step.actor();
    if (step.what() == "created") payload.clear_worker_ids();  // as created: nobody yet
    if (step.what() == "retimed") {
      *payload.mutable_previous_sla_deadline() = step.previous_due_time();
      *payload.mutable_sla_deadline() = step.due_time();
    }
    if ((step.what() == "pause_requested" || step.what() == "paused" ||
         step.what() == "pause_refused" || step.what() == "resumed" ||
         step.what() == "pause_withdrawn" || step.what() == "pause_overdue") &&
        o.pauses_size() > 0) {
      // The pause's id and reason code; its label is the step's reason. No note, no names.
      const pb::Pause& pause = o.pauses(o.pauses_size() - 1);
      payload.set_pause_id(pause.id());
      payload.set_pause_reason_code(pause.reason_code());
      if ((step.what() == "paused" || step.what() == "pause_overdue") && pause.has_look_at_time()) {
        *payload.mutable_pause_look_at_time() = pause.look_at_time();
      }
    }
    drafts.push_back({EventType(step.what()), o.group_id(), o.estate_id(), o.id(),
                      first_version + (i - from_step), &payload});
  }
  outbox_.AppendMany(tx, drafts, now, trace_id);
}

std::vector<std::string> WorkOrderFlow::CareStaffOnShift(pqxx::work& tx, const pb::WorkOrder& o,
                                                         absl::Time now) {
  std::vector<std::string> out;
  for (const Candidate& c : store_.Eligible(tx, o.group_id(), o.estate_id(),
                                            ::wuye::events::v1::SKILL_ELDERLY_CARE, now, {})) {
    out.push_back(c.staff_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status WorkOrderFlow::AfterCompletion(pqxx::work& tx, const pb::WorkOrder& o, const Act& act,
                                            const std::string& trace_id) {
  // Repairs only: not paid cleaning, elderly-care emergencies or inspections.
  if (!o.location().has_unit_id() || !IsRepair(o)) return absl::OkStatus();
  pb::SlaPolicy policy = EffectivePolicy(tx, o.group_id(), o.estate_id());
  absl::Time since = act.now - absl::Hours(24) * policy.repeat_window_days();
  int repairs =
      store_.CompletedRepairs(tx, o.group_id(), o.location().unit_id(), o.category(), since);
  bool raised =
      store_.PreventiveRaised(tx, o.group_id(), o.location().unit_id(), o.category(), since);
  if (!NeedsPreventive(policy, repairs, raised)) return absl::OkStatus();
  pb::WorkOrder inspection;
  inspection.set_group_id(o.group_id());
  inspection.set_estate_id(o.estate_id());
  *inspection.mutable_location() = o.location();
  inspection.set_category(o.category());
  inspection.set_priority(common::PRIORITY_SCHEDULED);
  inspection.set_resident_id(o.resident_id());
  *inspection.mutable_scheduled_time() = ToProtoTime(act.now + absl::Hours(72));
  inspection.set_description(absl::StrCat("Preventive inspection: ", repairs, " repairs of ",
                                          common::WorkCategory_Name(o.category()), " within ",
                                          policy.repeat_window_days(), " days"));
  return Create(tx, inspection, pb::ORIGIN_PREVENTIVE, absl::StrCat("preventive:", o.id()), act.now,
                false, act, trace_id)
      .status();
}

}  // namespace wuye::dispatch
