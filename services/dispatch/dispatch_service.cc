#include "services/dispatch/dispatch_service.h"

#include <algorithm>
#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"

namespace wuye::dispatch {
namespace {

namespace ev = ::wuye::events::v1;
using roles::kAgent;
using roles::kCareWorker;
using roles::kCleaner;
using roles::kEstateManager;
using roles::kGardener;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSecurityGuard;
using roles::kSupervisor;
using roles::kTeamLead;
using roles::kTechnician;

bool IsManager(const Caller& c) {
  return c.HasAnyRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin});
}
absl::Status RequireReader(const RequestContext& rc) {
  return rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kAgent, kTechnician,
                         kCleaner, kGardener, kSecurityGuard, kCareWorker, kQualityInspector});
}
absl::Status RequireWorkerOrManager(const RequestContext& rc) {
  return rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kTechnician, kCleaner,
                         kGardener, kSecurityGuard, kCareWorker});
}

// Who may complete an order that ends on a check (000_…, 二.5: work not in a resident's
// home is not signed by a resident).
bool MayCheck(const Caller& c) {
  return c.HasAnyRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kQualityInspector});
}

Act ActOf(const RequestContext& rc) {
  Act act;
  act.actor.set_subject(rc.caller.subject);
  for (const auto& r : rc.caller.roles) act.actor.add_roles(r);
  act.now = rc.now;
  return act;
}

}  // namespace

DispatchServiceImpl::DispatchServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock)
    : db_(db), flow_(db), rpc_("dispatch", verifier, clock) {}

absl::Status DispatchServiceImpl::Change(const RequestContext& rc,
                                         const google::protobuf::Message& req, pb::WorkOrder* resp,
                                         const std::string& id, const Mutation& change,
                                         const AfterSave& after) {
  return RunOnce(db_, rc.Key(), req, resp, [&](pqxx::work& tx) -> absl::Status {
    auto order = flow_.store().Get(tx, rc.caller.group_id, id, true);
    if (!order) return absl::NotFoundError("work order not found");
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(order->estate_id()));
    int steps = order->history_size();
    Act act = ActOf(rc);
    WUYE_RETURN_IF_ERROR(change(tx, *order, act));
    flow_.Save(tx, *order, steps, rc.now, rc.trace_id);
    if (after) WUYE_RETURN_IF_ERROR(after(tx, *order, act));
    *resp = *order;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> DispatchServiceImpl::WorkerOf(const RequestContext& rc,
                                                          const std::string& staff_id,
                                                          bool required_for_managers) {
  if (!staff_id.empty()) WUYE_RETURN_IF_ERROR(CheckId(staff_id, "staff_id"));
  if (IsManager(rc.caller)) {
    if (staff_id.empty() && required_for_managers) return FieldError("staff_id", "required");
    return staff_id;
  }
  if (!staff_id.empty() && staff_id != rc.caller.subject) {
    return absl::PermissionDeniedError("workers act for themselves only");
  }
  return rc.caller.subject;
}

grpc::Status DispatchServiceImpl::CreateWorkOrder(Ctx* ctx, const pb::CreateWorkOrderRequest* req,
                                                  pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "CreateWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kAgent}));
    pb::WorkOrder order = req->work_order();
    WUYE_RETURN_IF_ERROR(PrepareWorkOrder(order, "work_order", rc.now));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(order.estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      if (order.location().has_unit_id()) {
        // A unit the copy does not know yet is taken on trust (the directory's events may
        // be on their way); a unit of another estate is refused.
        std::string estate =
            flow_.store().UnitEstate(tx, rc.caller.group_id, order.location().unit_id());
        if (!estate.empty() && estate != order.estate_id()) {
          return FieldError("work_order.location.unit_id", "not a unit of the estate");
        }
      }
      order.set_group_id(rc.caller.group_id);
      std::string ref = order.ticket_id().empty() ? "" : absl::StrCat("ticket:", order.ticket_id());
      WUYE_ASSIGN_OR_RETURN(bool created, flow_.Create(tx, order, pb::ORIGIN_DIRECT, ref, rc.now,
                                                       true, ActOf(rc), rc.trace_id));
      if (!created) {
        return WithReason(absl::AlreadyExistsError("work_order.ticket_id: the ticket has an order"),
                          "TICKET_HAS_ORDER");
      }
      *resp = order;
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::GetWorkOrder(Ctx* ctx, const pb::GetWorkOrderRequest* req,
                                               pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "GetWorkOrder", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto order = flow_.store().Get(tx, rc.caller.group_id, req->id(), false);
      if (!order) return absl::NotFoundError("work order not found");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(order->estate_id()));
      *resp = *order;
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::ListWorkOrders(Ctx* ctx, const pb::ListWorkOrdersRequest* req,
                                                 pb::ListWorkOrdersResponse* resp) {
  return rpc_.Run(ctx, "ListWorkOrders", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    if (req->estate_id().empty()) {
      if (!rc.caller.all_estates) return FieldError("estate_id", "required");
    } else {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    if (!ev::WorkOrderState_IsValid(req->state())) return FieldError("state", "unknown");
    if (!::wuye::common::v1::Priority_IsValid(req->priority())) {
      return FieldError("priority", "unknown");
    }
    if (!req->worker_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->worker_id(), "worker_id"));
    std::string filters = absl::StrCat("estate=", req->estate_id(), ";state=", req->state(),
                                       ";worker=", req->worker_id(), ";priority=", req->priority());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      ListFilter f{req->estate_id(), req->state(), req->worker_id(),
                   req->priority(),  page.after,   page.size + 1};
      std::vector<pb::WorkOrder> rows = flow_.store().List(tx, rc.caller.group_id, f);
      resp->clear_work_orders();
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_work_orders()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::AssignWorkOrder(Ctx* ctx, const pb::AssignWorkOrderRequest* req,
                                                  pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "AssignWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    std::vector<std::string> staff;
    for (int i = 0; i < req->staff_ids_size(); ++i) {
      WUYE_RETURN_IF_ERROR(CheckId(req->staff_ids(i), absl::StrCat("staff_ids[", i, "]")));
      if (std::find(staff.begin(), staff.end(), req->staff_ids(i)) != staff.end()) {
        return FieldError(absl::StrCat("staff_ids[", i, "]"), "listed twice");
      }
      staff.push_back(req->staff_ids(i));
    }
    if (req->automatic() == !staff.empty()) {
      return FieldError("staff_ids", "name staff, or set automatic, not both");
    }
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 500, Presence::kOptional, Lines::kMany));
    return Change(
        rc, *req, resp, req->id(),
        [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
          if (req->automatic()) {
            WUYE_RETURN_IF_ERROR(CheckMove(o.state(), o.state() == ev::WORK_ORDER_STATE_WAITING
                                                          ? ev::WORK_ORDER_STATE_ASSIGNED
                                                          : o.state()));
            if (!flow_.AutoAssign(tx, o, act)) {
              return WithReason(absl::FailedPreconditionError("nobody with the skill is on shift"),
                                "NOBODY_ELIGIBLE");
            }
            return absl::OkStatus();
          }
          for (size_t i = 0; i < staff.size(); ++i) {
            if (!flow_.store().StaffActive(tx, rc.caller.group_id, staff[i])) {
              return FieldError(absl::StrCat("staff_ids[", i, "]"),
                                "no active staff member of the group");
            }
          }
          WUYE_RETURN_IF_ERROR(Assign(o, staff, rc.caller.subject, req->reason(), act));
          // By hand: recorded too, so that ExplainAssignment tells the truth.
          pb::AssignmentDecision d;
          d.set_work_order_id(o.id());
          d.set_automatic(false);
          d.set_chosen_staff_id(staff.front());
          d.set_reason(absl::StrCat("assigned by hand by ", rc.caller.subject,
                                    req->reason().empty() ? "" : ": ", req->reason()));
          *d.mutable_decided_time() = ToProtoTime(rc.now);
          flow_.store().SaveDecision(tx, o.group_id(), d);
          return absl::OkStatus();
        });
  });
}

grpc::Status DispatchServiceImpl::AcceptWorkOrder(Ctx* ctx, const pb::AcceptWorkOrderRequest* req,
                                                  pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "AcceptWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireWorkerOrManager(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_ASSIGN_OR_RETURN(std::string staff, WorkerOf(rc, req->staff_id(), true));
    return Change(rc, *req, resp, req->id(), [&](pqxx::work&, pb::WorkOrder& o, const Act& act) {
      return Accept(o, staff, act);
    });
  });
}

grpc::Status DispatchServiceImpl::DeclineWorkOrder(Ctx* ctx, const pb::DeclineWorkOrderRequest* req,
                                                   pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "DeclineWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireWorkerOrManager(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 500, Presence::kRequired, Lines::kMany));
    WUYE_ASSIGN_OR_RETURN(std::string staff, WorkerOf(rc, req->staff_id(), true));
    return Change(rc, *req, resp, req->id(),
                  [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
                    bool all_declined = false;
                    WUYE_RETURN_IF_ERROR(Decline(o, staff, req->reason(), act, &all_declined));
                    // Declined by all: somebody else, if anybody is on shift.
                    if (all_declined) flow_.AutoAssign(tx, o, act);
                    return absl::OkStatus();
                  });
  });
}

absl::Status DispatchServiceImpl::CheckResident(pqxx::work& tx, const pb::WorkOrder& o,
                                                const std::string& resident,
                                                const std::string& field) {
  if (resident.empty()) return FieldError(field, "required: the resident of the unit");
  auto place = flow_.store().ResidentOf(tx, o.group_id(), resident);
  bool here = place && place->estate_id == o.estate_id() &&
              (!o.location().has_unit_id() || place->unit_id == o.location().unit_id());
  if (!here) {
    return FieldError(field, o.location().has_unit_id() ? "not a resident of the order's unit"
                                                        : "not a resident of the estate");
  }
  return absl::OkStatus();
}

grpc::Status DispatchServiceImpl::AgreePrice(Ctx* ctx, const pb::AgreePriceRequest* req,
                                             pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "AgreePrice", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kAgent, kTechnician,
                        kCleaner, kGardener, kSecurityGuard, kCareWorker}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    if (!req->resident_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->resident_id(), "resident_id"));
    }
    WUYE_RETURN_IF_ERROR(CheckQuantity(req->quantity_milli(), "quantity_milli"));
    absl::Time agreed_at = rc.now;
    if (req->has_agreed_at()) {
      agreed_at = FromProtoTime(req->agreed_at());
      if (agreed_at > rc.now + absl::Minutes(5)) {
        return FieldError("agreed_at", "must not be in the future");
      }
    }
    return Change(rc, *req, resp, req->id(),
                  [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
                    bool desk = IsManager(rc.caller) || rc.caller.HasAnyRole({kAgent});
                    if (!desk && !IsActiveWorker(o, rc.caller.subject)) {
                      return absl::PermissionDeniedError("not a worker of this order");
                    }
                    std::string resident =
                        req->resident_id().empty() ? o.resident_id() : req->resident_id();
                    if (o.paid())
                      WUYE_RETURN_IF_ERROR(CheckResident(tx, o, resident, "resident_id"));
                    auto price = flow_.store().QuotePrice(tx, o.group_id(), o.estate_id(),
                                                          o.service_item_code());
                    return ::wuye::dispatch::AgreePrice(o, price, resident, req->quantity_milli(),
                                                        agreed_at, act);
                  });
  });
}

grpc::Status DispatchServiceImpl::RecordProgress(Ctx* ctx, const pb::RecordProgressRequest* req,
                                                 pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "RecordProgress", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireWorkerOrManager(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    if (req->step() == pb::PROGRESS_STEP_UNSPECIFIED || !pb::ProgressStep_IsValid(req->step())) {
      return FieldError("step", "required");
    }
    WUYE_ASSIGN_OR_RETURN(std::string staff, WorkerOf(rc, req->staff_id(), false));
    return Change(rc, *req, resp, req->id(), [&](pqxx::work&, pb::WorkOrder& o, const Act& act) {
      return Progress(o, req->step(), staff, act);
    });
  });
}

grpc::Status DispatchServiceImpl::SignWorkOrder(Ctx* ctx, const pb::SignWorkOrderRequest* req,
                                                pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "SignWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireWorkerOrManager(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckSignature(req->signature(), "signature", rc.now));
    return Change(rc, *req, resp, req->id(),
                  [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
                    if (!IsManager(rc.caller) && !IsActiveWorker(o, rc.caller.subject)) {
                      return absl::PermissionDeniedError("not a worker of this order");
                    }
                    pb::Signature signature = req->signature();
                    if (o.sign_off() != pb::SIGN_OFF_CHECK) {
                      // 000_…, 二.5: signed by a resident of the unit (相关业主签字确认).
                      if (signature.resident_id().empty()) {
                        signature.set_resident_id(o.resident_id());
                      }
                      WUYE_RETURN_IF_ERROR(
                          CheckResident(tx, o, signature.resident_id(), "signature.resident_id"));
                    }
                    WUYE_RETURN_IF_ERROR(Sign(o, signature, act));
                    if (!req->signature().image().empty()) {
                      flow_.store().SaveSignatureImage(tx, o.group_id(), o.id(),
                                                       req->signature().image());
                    }
                    return absl::OkStatus();
                  });
  });
}

grpc::Status DispatchServiceImpl::CompleteWorkOrder(Ctx* ctx,
                                                    const pb::CompleteWorkOrderRequest* req,
                                                    pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "CompleteWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kQualityInspector,
                        kTechnician, kCleaner, kGardener, kSecurityGuard, kCareWorker}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckText(
        req->reason(), "reason", 500,
        req->without_signature() ? Presence::kRequired : Presence::kOptional, Lines::kMany));
    bool may_waive = rc.caller.HasAnyRole({kSupervisor, kEstateManager, kGroupAdmin});
    bool may_check = MayCheck(rc.caller);
    return Change(
        rc, *req, resp, req->id(),
        [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
          bool checker = o.sign_off() == pb::SIGN_OFF_CHECK && may_check;
          if (!IsManager(rc.caller) && !checker && !IsActiveWorker(o, rc.caller.subject)) {
            return absl::PermissionDeniedError("not a worker of this order");
          }
          if (req->without_signature() && !may_waive && o.sign_off() != pb::SIGN_OFF_CHECK) {
            return absl::PermissionDeniedError(
                "only a supervisor or an estate manager completes without a signature");
          }
          return Complete(o, req->without_signature(), req->reason(), may_waive, may_check, act);
        },
        // After the save, so that the repeat count sees this order completed.
        [&](pqxx::work& tx, const pb::WorkOrder& o, const Act& act) {
          return flow_.AfterCompletion(tx, o, act, rc.trace_id);
        });
  });
}

grpc::Status DispatchServiceImpl::CancelWorkOrder(Ctx* ctx, const pb::CancelWorkOrderRequest* req,
                                                  pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "CancelWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kAgent}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 500, Presence::kRequired, Lines::kMany));
    return Change(rc, *req, resp, req->id(), [&](pqxx::work&, pb::WorkOrder& o, const Act& act) {
      return Cancel(o, req->reason(), act);
    });
  });
}

grpc::Status DispatchServiceImpl::ExplainAssignment(Ctx* ctx,
                                                    const pb::ExplainAssignmentRequest* req,
                                                    pb::AssignmentDecision* resp) {
  return rpc_.Run(ctx, "ExplainAssignment", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto order = flow_.store().Get(tx, rc.caller.group_id, req->id(), false);
      if (!order) return absl::NotFoundError("work order not found");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(order->estate_id()));
      auto decision = flow_.store().Decision(tx, rc.caller.group_id, req->id());
      if (!decision) {
        return WithReason(absl::FailedPreconditionError("assigned by hand only"),
                          "NO_AUTOMATIC_DECISION");
      }
      *resp = *decision;
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::GetSlaPolicy(Ctx* ctx, const pb::GetSlaPolicyRequest* req,
                                               pb::SlaPolicy* resp) {
  return rpc_.Run(ctx, "GetSlaPolicy", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    if (!req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = flow_.EffectivePolicy(tx, rc.caller.group_id, req->estate_id());
      auto own = flow_.store().Policy(tx, rc.caller.group_id, req->estate_id());
      if (own) {
        resp->set_version(own->version());
        *resp->mutable_update_time() = own->update_time();
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::UpdateSlaPolicy(Ctx* ctx, const pb::UpdateSlaPolicyRequest* req,
                                                  pb::SlaPolicy* resp) {
  return rpc_.Run(ctx, "UpdateSlaPolicy", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    const pb::SlaPolicy& p = req->policy();
    if (p.estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    } else {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
      WUYE_RETURN_IF_ERROR(CheckId(p.estate_id(), "policy.estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(p.estate_id()));
    }
    WUYE_RETURN_IF_ERROR(
        CheckUpdateMask(req->update_mask(), pb::SlaPolicy::descriptor(),
                        {"time_zone", "day_start_minute", "day_end_minute", "emergency_day_minutes",
                         "emergency_night_minutes", "small_fix_hours", "big_response_hours",
                         "warning_percent", "accept_within_minutes", "escalate_every_minutes",
                         "repeat_repairs", "repeat_window_days", "escalations", "small_fix_clock",
                         "big_response_clock", "emergency_clock", "max_pause_hours"}));
    if (req->update_mask().paths().empty()) WUYE_RETURN_IF_ERROR(CheckPolicy(p, "policy"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // A changed time_zone moves the zone the clocks count in where the directory does
      // not know the estate: the open clocks are settled in the old zone up to now and
      // re-timed in the new one (the calendar change's path; its lock first).
      pb::SlaPolicy stored;
      // A policy that leaves its time_zone as it was moves no clock's zone: no calendar lock,
      // no open orders locked (a group's policy would otherwise take every open order).
      const bool zone_named =
          req->update_mask().paths().empty()
              ? true
              : absl::c_linear_search(req->update_mask().paths(), std::string("time_zone"));
      // Read under the policy's lock (taken again, harmlessly, by put).
      LockForUpdate(tx, absl::StrCat("sla_policy/", rc.caller.group_id, "/", p.estate_id()));
      const bool zone_may_move =
          zone_named && flow_.store()
                                .Policy(tx, rc.caller.group_id, p.estate_id())
                                .value_or(pb::SlaPolicy())
                                .time_zone() != p.time_zone();
      auto put = [&]() -> absl::StatusOr<bool> {
        // With a mask, the masked fields over the stored override (none: all inherited).
        LockForUpdate(tx, absl::StrCat("sla_policy/", rc.caller.group_id, "/", p.estate_id()));
        pb::SlaPolicy merged =
            flow_.store().Policy(tx, rc.caller.group_id, p.estate_id()).value_or(pb::SlaPolicy());
        ApplyUpdateMask(p, req->update_mask(), &merged);
        merged.set_estate_id(p.estate_id());
        WUYE_RETURN_IF_ERROR(CheckPolicy(merged, "policy"));
        stored = flow_.store().PutPolicy(tx, rc.caller.group_id, merged, rc.now);
        return true;
      };
      if (!zone_may_move) {
        WUYE_RETURN_IF_ERROR(put().status());
      } else {
        WUYE_RETURN_IF_ERROR(flow_
                                 .Retime(tx, rc.caller.group_id, p.estate_id(), rc.now,
                                         /*zones_only=*/true, "the SLA policy's time zone changed",
                                         WorkOrderFlow::System(rc.now), rc.trace_id, put)
                                 .status());
      }
      *resp = flow_.EffectivePolicy(tx, rc.caller.group_id, p.estate_id());
      resp->set_version(stored.version());
      *resp->mutable_update_time() = stored.update_time();
      return absl::OkStatus();
    });
  });
}

// ---- pauses (issue 27 §2) -------------------------------------------------------------------

namespace {

// Who may pause and resume: managers, agents, and the order's field staff.
absl::Status RequirePauser(const RequestContext& rc) {
  return rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kAgent, kTechnician,
                         kCleaner, kGardener, kSecurityGuard, kCareWorker});
}
bool IsDesk(const Caller& c) { return IsManager(c) || c.HasAnyRole({kAgent}); }

}  // namespace

grpc::Status DispatchServiceImpl::PauseWorkOrder(Ctx* ctx, const pb::PauseWorkOrderRequest* req,
                                                 pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "PauseWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequirePauser(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason_code(), "reason_code", 32, Presence::kRequired, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    if (req->has_agreement()) {
      WUYE_RETURN_IF_ERROR(CheckAgreement(req->agreement(), "agreement", rc.now));
    }
    return Change(
        rc, *req, resp, req->id(),
        [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
          if (!IsDesk(rc.caller) && !IsActiveWorker(o, rc.caller.subject)) {
            return absl::PermissionDeniedError("not a worker of this order");
          }
          pb::PauseReasons reasons =
              flow_.store().PauseReasons(tx, rc.caller.group_id).value_or(DefaultPauseReasons());
          std::optional<std::string> label = PauseLabel(reasons, req->reason_code());
          if (!label) {
            return FieldError("reason_code", "not a reason of the group's list");
          }
          pb::SlaPolicy policy = flow_.EffectivePolicy(tx, o.group_id(), o.estate_id());
          std::optional<absl::Time> resume_by;
          if (req->has_resume_by()) {
            WUYE_RETURN_IF_ERROR(
                CheckResumeBy(req->resume_by(), rc.now, MaxPause(policy), "resume_by"));
            resume_by = FromProtoTime(req->resume_by());
          }
          SlaCalendar cal = flow_.CalendarOf(tx, o.group_id(), o.estate_id(), &policy);
          return PauseOrder(o, NewId(rc.now), req->reason_code(), *label, req->note(),
                            req->has_agreement() ? &req->agreement() : nullptr, cal, act, resume_by,
                            MaxPause(policy));
        });
  });
}

grpc::Status DispatchServiceImpl::DecidePause(Ctx* ctx, const pb::DecidePauseRequest* req,
                                              pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "DecidePause", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    // Issue 27 §2: "a supervisor's approval" (an estate manager's above them); a team lead
    // (领班) is below a supervisor and may not, as the duty task goes to the supervisor.
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kRequired, Lines::kMany));
    return Change(rc, *req, resp, req->id(),
                  [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
                    pb::SlaPolicy policy = flow_.EffectivePolicy(tx, o.group_id(), o.estate_id());
                    SlaCalendar cal = flow_.CalendarOf(tx, o.group_id(), o.estate_id(), &policy);
                    return ::wuye::dispatch::DecidePause(o, req->approve(), req->note(), cal, act,
                                                         MaxPause(policy));
                  });
  });
}

grpc::Status DispatchServiceImpl::ResumeWorkOrder(Ctx* ctx, const pb::ResumeWorkOrderRequest* req,
                                                  pb::WorkOrder* resp) {
  return rpc_.Run(ctx, "ResumeWorkOrder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequirePauser(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return Change(rc, *req, resp, req->id(),
                  [&](pqxx::work& tx, pb::WorkOrder& o, const Act& act) -> absl::Status {
                    if (!IsDesk(rc.caller) && !IsActiveWorker(o, rc.caller.subject)) {
                      return absl::PermissionDeniedError("not a worker of this order");
                    }
                    SlaCalendar cal = flow_.CalendarOf(tx, o.group_id(), o.estate_id());
                    return ResumeOrder(o, cal, act);
                  });
  });
}

grpc::Status DispatchServiceImpl::GetPauseReasons(Ctx* ctx, const pb::GetPauseReasonsRequest*,
                                                  pb::PauseReasons* resp) {
  return rpc_.Run(ctx, "GetPauseReasons", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = flow_.store().PauseReasons(tx, rc.caller.group_id).value_or(DefaultPauseReasons());
      return absl::OkStatus();
    });
  });
}

grpc::Status DispatchServiceImpl::UpdatePauseReasons(Ctx* ctx,
                                                     const pb::UpdatePauseReasonsRequest* req,
                                                     pb::PauseReasons* resp) {
  return rpc_.Run(ctx, "UpdatePauseReasons", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    pb::PauseReasons reasons;
    *reasons.mutable_reasons() = req->reasons();
    WUYE_RETURN_IF_ERROR(CheckPauseReasons(reasons, "reasons"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      *resp = flow_.store().PutPauseReasons(tx, rc.caller.group_id, reasons, rc.now);
      return absl::OkStatus();
    });
  });
}

// ---- the SLA report (issue 27 §2) -----------------------------------------------------------

grpc::Status DispatchServiceImpl::GetSlaReport(Ctx* ctx, const pb::GetSlaReportRequest* req,
                                               pb::SlaReport* resp) {
  return rpc_.Run(ctx, "GetSlaReport", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kQualityInspector}));
    if (req->estate_id().empty()) {
      if (!rc.caller.all_estates) return FieldError("estate_id", "required");
    } else {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    if (req->year() < kMinCalendarYear || req->year() > kMaxCalendarYear) {
      return FieldError("year", absl::StrCat(kMinCalendarYear, "..", kMaxCalendarYear));
    }
    if (req->month() < 1 || req->month() > 12) return FieldError("month", "1..12");
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      resp->Clear();
      resp->set_year(req->year());
      resp->set_month(req->month());
      std::vector<std::string> estates = req->estate_id().empty()
                                             ? flow_.store().OrderEstates(tx, rc.caller.group_id)
                                             : std::vector<std::string>{req->estate_id()};
      for (const std::string& estate : estates) {
        // The month in the estate's local time.
        absl::TimeZone zone =
            EstateZone(flow_.EffectivePolicy(tx, rc.caller.group_id, estate).time_zone());
        absl::CivilMonth month(req->year(), req->month());
        absl::Time from = absl::FromCivil(month, zone);
        absl::Time to = absl::FromCivil(month + 1, zone);
        // The clocks still open, at the month's end or now: past their window counting the
        // pauses, and as if never paused (pausing cannot hide a miss), per estate and worker.
        struct Open {
          int open = 0, missed = 0, missed_unpaused = 0, paused = 0;
        };
        std::map<std::string, Open> open;  // "" the estate
        const absl::Time at = std::min(rc.now, to);
        if (from <= rc.now) {
          SlaCalendar cal = flow_.CalendarOf(tx, rc.caller.group_id, estate);
          for (pb::WorkOrder o :
               flow_.store().OpenClocksBefore(tx, rc.caller.group_id, estate, to)) {
            SettleClock(o, at, cal);
            const absl::Duration window = FromProtoDuration(o.sla_window());
            std::vector<std::string> who = {""};
            for (const auto& w : o.workers()) {
              if (!w.has_declined_at()) who.push_back(w.staff_id());
            }
            for (const std::string& id : who) {
              Open& c = open[id];
              ++c.open;
              c.missed += FromProtoDuration(o.sla_spent()) > window;
              c.missed_unpaused += FromProtoDuration(o.sla_spent_unpaused()) > window;
              c.paused += o.sla_paused();
            }
          }
        }
        auto put_open = [&](pb::SlaFigures* f, const std::string& staff) {
          auto it = open.find(staff);
          if (it == open.end()) return;
          f->set_open(it->second.open);
          f->set_open_missed(it->second.missed);
          f->set_open_missed_unpaused(it->second.missed_unpaused);
          f->set_open_paused(it->second.paused);
          open.erase(it);
        };
        for (const auto& row :
             flow_.store().SlaRows(tx, rc.caller.group_id, estate, from, to, rc.now)) {
          pb::SlaFigures* f;
          if (row.staff_id.empty()) {
            pb::EstateSlaRow* e = resp->add_estates();
            e->set_estate_id(estate);
            f = e->mutable_figures();
          } else {
            pb::WorkerSlaRow* w = resp->add_workers();
            w->set_estate_id(estate);
            w->set_staff_id(row.staff_id);
            f = w->mutable_figures();
          }
          f->set_orders(row.orders);
          f->set_sla_met(row.met);
          f->set_sla_met_unpaused(row.met_unpaused);
          f->set_pauses(row.pauses);
          *f->mutable_paused() = ToProtoDuration(row.paused);
          put_open(f, row.staff_id);
        }
        // Workers with open orders only.
        for (const auto& [staff, c] : std::map<std::string, Open>(open)) {
          pb::WorkerSlaRow* w = resp->add_workers();
          w->set_estate_id(estate);
          w->set_staff_id(staff);
          put_open(w->mutable_figures(), staff);
        }
      }
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::dispatch
