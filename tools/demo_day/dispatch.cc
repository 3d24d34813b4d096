// Dispatch: the work orders dispatch made of the day's tickets and of the elder's emergency,
// each taken from acceptance to sign-off (one resident refuses to sign; one is not at home
// and the repair is paused with their agreement by phone, then resumed; another cannot be
// reached, so the technician's pause waits for the supervisor's approval; the big repair
// stays under way).
#include <set>

#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::Status Day::WorkOrderLife(const std::string& key, const dpb::WorkOrder& first, bool sign,
                                bool refuse, bool finish) {
  std::string resident;
  if (const TicketPlan* p = TicketOf(key)) resident = p->resident();
  const std::string& estate = ticket_estate_.count(key) ? ticket_estate_.at(key) : "jade";
  std::string supervisor = As("supervisor", Plan(estate).supervisor());
  dpb::WorkOrder wo = first;
  std::string worker;
  for (const auto& w : wo.workers()) {
    if (w.declined_at().seconds() == 0) worker = w.staff_id();
  }
  if (worker.empty() && wo.state() == evpb::WORK_ORDER_STATE_WAITING) {
    // Nobody with the skill on shift: the supervisor assigns a technician of the estate.
    dpb::AssignWorkOrderRequest req;
    req.set_request_id(Rid(key + "-assign"));
    req.set_id(wo.id());
    req.set_automatic(false);
    req.set_reason("assigned by the supervisor");
    // Somebody of the estate with the skill (the cleaner has no shift, so cleaning waits).
    const std::map<cpb::WorkCategory, dirpb::Skill> kSkill = {
        {cpb::WORK_CATEGORY_PLUMBING, dirpb::SKILL_PLUMBING},
        {cpb::WORK_CATEGORY_ELECTRICAL, dirpb::SKILL_ELECTRICAL},
        {cpb::WORK_CATEGORY_HVAC, dirpb::SKILL_HVAC},
        {cpb::WORK_CATEGORY_CIVIL, dirpb::SKILL_CIVIL},
        {cpb::WORK_CATEGORY_CLEANING, dirpb::SKILL_CLEANING},
        {cpb::WORK_CATEGORY_GREENING, dirpb::SKILL_GREENING},
        {cpb::WORK_CATEGORY_SECURITY, dirpb::SKILL_SECURITY},
        {cpb::WORK_CATEGORY_ELDERCARE_VISIT, dirpb::SKILL_ELDERLY_CARE},
        {cpb::WORK_CATEGORY_ERRAND, dirpb::SKILL_ERRANDS}};
    auto skill = kSkill.find(wo.category());
    std::string home = wo.estate_id().empty() ? E(estate).id : wo.estate_id();
    std::string fallback;
    for (const auto& [name, st] : staff_) {
      bool tech = false, here = false, skilled = false;
      for (int r : st.roles()) tech |= r == dirpb::STAFF_ROLE_TECHNICIAN;
      for (const auto& h : st.home_estate_ids()) here |= h == home;
      for (int k : st.skills()) skilled |= skill != kSkill.end() && k == skill->second;
      if (here && skilled) {
        req.add_staff_ids(st.id());
        break;
      }
      if (here && tech && fallback.empty()) fallback = st.id();
    }
    if (req.staff_ids().empty() && !fallback.empty()) req.add_staff_ids(fallback);
    if (req.staff_ids().empty()) return absl::OkStatus();
    WUYE_RETURN_IF_ERROR(Call("dispatch.AssignWorkOrder", supervisor, [&](auto* ctx) {
      return dispatch_->AssignWorkOrder(ctx, req, &wo);
    }));
    worker = req.staff_ids(0);
  }
  if (worker.empty()) return absl::OkStatus();
  std::string tech = Token({WorkerRole(worker)}, worker);
  auto state_at_least = [&](evpb::WorkOrderState s) {
    return wo.state() >= s && wo.state() != evpb::WORK_ORDER_STATE_CANCELLED;
  };
  if (!state_at_least(evpb::WORK_ORDER_STATE_ACCEPTED)) {
    dpb::AcceptWorkOrderRequest req;
    req.set_request_id(Rid(key + "-accept"));
    req.set_id(wo.id());
    req.set_staff_id(worker);
    WUYE_RETURN_IF_ERROR(Call("dispatch.AcceptWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->AcceptWorkOrder(ctx, req, &wo);
    }));
  }
  if (wo.paid() && !wo.has_price_agreement() && !state_at_least(evpb::WORK_ORDER_STATE_EN_ROUTE)) {
    // The resident who asked agrees the price before anyone sets out (004_…, 5.1.3).
    dpb::AgreePriceRequest req;
    req.set_request_id(Rid(key + "-agree"));
    req.set_id(wo.id());
    WUYE_RETURN_IF_ERROR(Call("dispatch.AgreePrice", supervisor,
                              [&](auto* ctx) { return dispatch_->AgreePrice(ctx, req, &wo); }));
  }
  if (key == "t18-small-repair" && wo.pauses_size() == 0 &&
      !state_at_least(evpb::WORK_ORDER_STATE_EN_ROUTE)) {
    // Issue 27 §2: the resident is not at home; they agree by phone to another time, the
    // technician pauses the order (its SLA clock stops) and resumes it when they are back.
    dpb::PauseWorkOrderRequest pause;
    pause.set_request_id(Rid(key + "-pause"));
    pause.set_id(wo.id());
    pause.set_reason_code("NOT_HOME");
    pause.set_note("敲门无人应答，电话联系住户，约定回家后再上门");
    pause.mutable_agreement()->set_method(dpb::AGREEMENT_METHOD_PHONE);
    WUYE_RETURN_IF_ERROR(Call("dispatch.PauseWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->PauseWorkOrder(ctx, pause, &wo);
    }));
    dpb::ResumeWorkOrderRequest resume;
    resume.set_request_id(Rid(key + "-resume"));
    resume.set_id(wo.id());
    WUYE_RETURN_IF_ERROR(Call("dispatch.ResumeWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->ResumeWorkOrder(ctx, resume, &wo);
    }));
    Log(absl::StrFormat("a small repair paused (%s, the resident agreed by phone) and resumed; "
                        "due %s",
                        wo.pauses(0).reason_label(), wo.sla_due_reason()));
  }
  if (key == "t02-small-repair" && wo.pauses_size() == 0 &&
      !state_at_least(evpb::WORK_ORDER_STATE_EN_ROUTE)) {
    // Issue 27 §2: the resident cannot be reached before the technician sets out. Without
    // their agreement the technician can only ask for a pause (the clock keeps running and
    // the supervisor on duty is given the request); the estate's supervisor — not the one
    // who asked — approves it, and the clock stops from the approval. The resident calls
    // back and the technician resumes the order.
    dpb::PauseWorkOrderRequest pause;
    pause.set_request_id(Rid(key + "-pause"));
    pause.set_id(wo.id());
    pause.set_reason_code("NOT_HOME");
    pause.set_note("上门前电话联系住户未接通，申请暂停");
    WUYE_RETURN_IF_ERROR(Call("dispatch.PauseWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->PauseWorkOrder(ctx, pause, &wo);
    }));
    dpb::DecidePauseRequest decide;
    decide.set_request_id(Rid(key + "-pause-approve"));
    decide.set_id(wo.id());
    decide.set_approve(true);
    decide.set_note("住户电话未接通，同意暂停；住户回电后恢复");
    WUYE_RETURN_IF_ERROR(Call("dispatch.DecidePause", supervisor,
                              [&](auto* ctx) { return dispatch_->DecidePause(ctx, decide, &wo); }));
    dpb::ResumeWorkOrderRequest resume;
    resume.set_request_id(Rid(key + "-resume"));
    resume.set_id(wo.id());
    WUYE_RETURN_IF_ERROR(Call("dispatch.ResumeWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->ResumeWorkOrder(ctx, resume, &wo);
    }));
    Log(
        absl::StrFormat("a small repair's pause asked by the technician without the resident's "
                        "agreement (%s), approved by the supervisor, resumed; due %s",
                        wo.pauses(0).reason_label(), wo.sla_due_reason()));
  }
  const std::pair<dpb::ProgressStep, evpb::WorkOrderState> steps[] = {
      {dpb::PROGRESS_STEP_EN_ROUTE, evpb::WORK_ORDER_STATE_EN_ROUTE},
      {dpb::PROGRESS_STEP_ON_SITE, evpb::WORK_ORDER_STATE_ON_SITE},
      {dpb::PROGRESS_STEP_WORK_DONE, evpb::WORK_ORDER_STATE_WORK_DONE}};
  for (const auto& [step, state] : steps) {
    if (!finish && step != dpb::PROGRESS_STEP_EN_ROUTE) break;  // big work takes days
    if (state_at_least(state)) continue;
    dpb::RecordProgressRequest req;
    req.set_request_id(Rid(absl::StrCat(key, "-progress-", static_cast<int>(step))));
    req.set_id(wo.id());
    req.set_step(step);
    req.set_staff_id(worker);
    WUYE_RETURN_IF_ERROR(Call("dispatch.RecordProgress", tech,
                              [&](auto* ctx) { return dispatch_->RecordProgress(ctx, req, &wo); }));
  }
  if (!finish) return absl::OkStatus();
  // Work in a resident's unit is signed by them; the rest ends on the supervisor's check.
  const bool resident_signs = wo.sign_off() != dpb::SIGN_OFF_CHECK;
  if (resident_signs && sign && !refuse && !state_at_least(evpb::WORK_ORDER_STATE_SIGNED)) {
    dpb::SignWorkOrderRequest req;
    req.set_request_id(Rid(key + "-sign"));
    req.set_id(wo.id());
    req.mutable_signature()->set_resident_name(resident.empty() ? "resident" : resident);
    req.mutable_signature()->set_method(dpb::SIGN_METHOD_DEVICE);
    req.mutable_signature()->set_image(std::string("\x89PNG demo signature", 19));
    WUYE_RETURN_IF_ERROR(Call("dispatch.SignWorkOrder", tech,
                              [&](auto* ctx) { return dispatch_->SignWorkOrder(ctx, req, &wo); }));
  }
  if (!state_at_least(evpb::WORK_ORDER_STATE_COMPLETED)) {
    dpb::CompleteWorkOrderRequest req;
    req.set_request_id(Rid(key + "-complete"));
    req.set_id(wo.id());
    if (!resident_signs) {
      req.set_reason(sign ? "checked by the supervisor" : "ambulance guided in");
    } else if (refuse || !sign) {
      req.set_without_signature(true);
      req.set_reason("resident refused to sign; work checked by the supervisor");
    }
    WUYE_RETURN_IF_ERROR(Call("dispatch.CompleteWorkOrder", supervisor, [&](auto* ctx) {
      return dispatch_->CompleteWorkOrder(ctx, req, &wo);
    }));
  }
  if (wo.paid()) expected_paid_fen_ += wo.quote_fen();
  ++handled_;
  return absl::OkStatus();
}

absl::Status Day::DispatchStep() {
  // The work orders dispatch made of the day's tickets (and of the elder's emergency).
  std::string admin = Admin();
  std::map<std::string, dpb::WorkOrder> by_ticket;
  std::vector<dpb::WorkOrder> elder_orders;
  std::set<std::string> wanted;
  for (const auto& [key, id] : s_.ticket_ids) {
    const TicketPlan* plan = TicketOf(key);
    if (plan && plan->category() != cpb::WORK_CATEGORY_UNSPECIFIED) wanted.insert(id);
  }
  auto list_all = [&]() -> absl::Status {
    by_ticket.clear();
    elder_orders.clear();
    for (auto& [key, es] : estates_) {
      dpb::ListWorkOrdersRequest req;
      req.set_estate_id(es.id);
      req.set_page_size(1000);
      do {
        dpb::ListWorkOrdersResponse page;
        WUYE_RETURN_IF_ERROR(Call("dispatch.ListWorkOrders", admin, [&](auto* ctx) {
          return dispatch_->ListWorkOrders(ctx, req, &page);
        }));
        for (const auto& wo : page.work_orders()) {
          if (!wo.ticket_id().empty()) by_ticket[wo.ticket_id()] = wo;
          if (wo.origin() == dpb::ORIGIN_ELDER_EMERGENCY) elder_orders.push_back(wo);
        }
        req.set_page_token(page.next_page_token());
      } while (!req.page_token().empty());
    }
    return absl::OkStatus();
  };
  absl::Status seen = Until("work orders of the day's tickets", [&]() -> absl::StatusOr<bool> {
    WUYE_RETURN_IF_ERROR(list_all());
    for (const auto& id : wanted) {
      if (!by_ticket.count(id)) return false;
    }
    return elder_orders.size() >= static_cast<size_t>(s_.elder_emergencies);
  });
  if (!seen.ok()) s_.notes.push_back(std::string(seen.message()));
  for (const auto& [key, id] : s_.ticket_ids) {
    auto it = by_ticket.find(id);
    if (it == by_ticket.end()) continue;
    bool big = key == "t08-big-repair";
    bool refuse = key == "t14-small-repair";  // the resident will not sign
    WUYE_RETURN_IF_ERROR(WorkOrderLife(key, it->second, true, refuse, !big));
  }
  for (const auto& wo : elder_orders) {
    WUYE_RETURN_IF_ERROR(WorkOrderLife("elder-emergency", wo, false, false, true));
  }
  Log(
      absl::StrFormat("%d work orders finished (one resident refused to sign), the big repair "
                      "under way",
                      handled_));
  // Intake follows dispatch's events: wait until the finished orders' tickets moved on.
  absl::Status moved = Until("tickets of finished work resolved", [&]() -> absl::StatusOr<bool> {
    for (const auto& [key, id] : s_.ticket_ids) {
      if (!by_ticket.count(id) || key == "t08-big-repair") continue;
      WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
      if (t.state() != evpb::TICKET_STATE_RESOLVED &&
          t.state() != evpb::TICKET_STATE_CALLBACK_DUE && t.state() != evpb::TICKET_STATE_CLOSED) {
        return false;
      }
    }
    return true;
  });
  if (!moved.ok()) s_.notes.push_back(std::string(moved.message()));
  return absl::OkStatus();
}

}  // namespace wuye::demo
