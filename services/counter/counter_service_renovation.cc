// Handlers of the counter: renovation (docs/api/counter.md, "Renovation").
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/counter/cases.h"
#include "services/counter/counter_service.h"
#include "services/counter/renovation.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::counter {
namespace {

using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSecurityGuard;
using roles::kSupervisor;
using roles::kTeamLead;

absl::StatusOr<pb::Renovation> Visible(RenovationStore& store, pqxx::work& tx,
                                       const RequestContext& rc, const std::string& id,
                                       bool for_update) {
  auto r = store.Get(tx, rc.caller.group_id, id, for_update);
  if (!r) return absl::NotFoundError("renovation_id: no such renovation");
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(r->estate_id()));
  return *r;
}

// A change of the renovation: its version raised, its update time.
void Touch(pb::Renovation& r, absl::Time now) {
  r.set_version(r.version() + 1);
  *r.mutable_update_time() = ToProtoTime(now);
}

absl::Status NotApplied() {
  return WithReason(absl::FailedPreconditionError("renovation: already decided"),
                    "ALREADY_DECIDED");
}

}  // namespace

grpc::Status CounterServiceImpl::CreateRenovation(Ctx* ctx, const pb::CreateRenovationRequest* req,
                                                  pb::Renovation* resp) {
  return rpc_.Run(ctx, "CreateRenovation", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(CheckId(req->applicant_resident_id(), "applicant_resident_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto unit = store_.GetUnit(tx, group, req->unit_id());
      if (!unit) return absl::NotFoundError("unit_id: no such unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id));
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, unit->estate_id));
      WUYE_RETURN_IF_ERROR(CheckApplication(*req, today));
      auto resident = store_.GetResident(tx, group, req->applicant_resident_id());
      // An owner or tenant of the unit (a removed resident is kept with no role).
      if (!resident || resident->unit_id != unit->id ||
          (resident->role != 1 && resident->role != 2)) {
        return absl::NotFoundError("applicant_resident_id: no such resident of the unit");
      }
      if (resident->move_out_date && *resident->move_out_date <= today) {
        return WithReason(
            absl::FailedPreconditionError("applicant_resident_id: the resident has moved out"),
            "RESIDENT_MOVED_OUT");
      }
      LockForUpdate(tx, absl::StrCat("counter-renovation-unit/", unit->id));
      if (renovations_.UnitBusy(tx, group, unit->id)) {
        return WithReason(absl::FailedPreconditionError(
                              "unit_id: the unit has a renovation applied for or under way"),
                          "RENOVATION_IN_PROGRESS");
      }
      pb::Renovation r;
      r.set_id(NewId(rc.now));
      r.set_estate_id(unit->estate_id);
      r.set_unit_id(unit->id);
      r.set_applicant_resident_id(resident->id);
      *r.mutable_items() = req->items();
      *r.mutable_documents() = req->documents();
      *r.mutable_contractor() = req->contractor();
      *r.mutable_workers() = req->workers();
      *r.mutable_start_date() = req->start_date();
      *r.mutable_end_date() = req->end_date();
      r.set_state(pb::RENOVATION_STATE_APPLIED);
      r.set_version(1);
      *r.mutable_create_time() = ToProtoTime(rc.now);
      *r.mutable_update_time() = ToProtoTime(rc.now);
      renovations_.Insert(tx, group, r, rc.now);
      auto applied = AppliedEvent(r, store_.GetSettings(tx, group), rc.now);
      outbox_.Append(tx, {"counter.renovation.applied", group, r.estate_id(), r.id(), 1, &applied},
                     rc.now, rc.trace_id);
      *resp = r;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetRenovation(Ctx* ctx, const pb::GetRenovationRequest* req,
                                               pb::Renovation* resp) {
  return rpc_.Run(ctx, "GetRenovation", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kSecurityGuard, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto r = Visible(renovations_, tx, rc, req->id(), false);
      if (!r.ok())
        return r.status().code() == absl::StatusCode::kNotFound
                   ? absl::NotFoundError("id: no such renovation")
                   : r.status();
      *resp = *r;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListRenovations(Ctx* ctx, const pb::ListRenovationsRequest* req,
                                                 pb::ListRenovationsResponse* resp) {
  return rpc_.Run(ctx, "ListRenovations", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kSecurityGuard, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!pb::RenovationState_IsValid(req->state())) {
      return FieldError("state", "must be a renovation state");
    }
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    const std::string filters = absl::StrCat("estate=", req->estate_id(), ";state=", req->state(),
                                             ";unit=", req->unit_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      resp->Clear();
      auto rows = renovations_.List(tx, rc.caller.group_id, req->estate_id(), req->state(),
                                    req->unit_id(), page);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_renovations()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::AddRenovationDocuments(
    Ctx* ctx, const pb::AddRenovationDocumentsRequest* req, pb::Renovation* resp) {
  return rpc_.Run(ctx, "AddRenovationDocuments", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    if (req->documents().empty()) return FieldError("documents", "at least one document");
    WUYE_RETURN_IF_ERROR(CheckDocuments(req->documents(), "documents"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), true));
      if (r.state() != pb::RENOVATION_STATE_APPLIED) return NotApplied();
      if (r.documents_size() + req->documents_size() > kMaxRenovationDocuments) {
        return FieldError("documents", "at most 20 documents in all");
      }
      for (const auto& d : req->documents()) *r.add_documents() = d;
      Touch(r, rc.now);
      renovations_.Update(tx, rc.caller.group_id, r, rc.now);
      *resp = r;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::DecideRenovation(Ctx* ctx, const pb::DecideRenovationRequest* req,
                                                  pb::Renovation* resp) {
  return rpc_.Run(ctx, "DecideRenovation", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kSupervisor, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->reason(), "reason", 500,
                                   req->approve() ? Presence::kOptional : Presence::kRequired,
                                   Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->reason(), "reason"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), true));
      if (r.state() != pb::RENOVATION_STATE_APPLIED) return NotApplied();
      std::optional<absl::CivilDay> next_check;
      if (req->approve()) {
        pb::Settings settings = store_.GetSettings(tx, group);
        // 003_… Q9: the drawings and the signed undertaking before approval.
        WUYE_RETURN_IF_ERROR(CheckDocumentsComplete(settings, r));
        absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, r.estate_id()));
        if (EndOf(r) < today) {
          return WithReason(absl::FailedPreconditionError("renovation: its period has ended"),
                            "PERIOD_ENDED");
        }
        r.set_state(pb::RENOVATION_STATE_APPROVED);
        r.set_deposit_fen(settings.renovation_deposit_fen());
        next_check = std::max(StartOf(r), today);
      } else {
        r.set_state(pb::RENOVATION_STATE_REJECTED);
      }
      auto* decision = r.mutable_decision();
      decision->mutable_actor()->set_subject(rc.caller.subject);
      for (const auto& role : rc.caller.roles) decision->mutable_actor()->add_roles(role);
      *decision->mutable_at() = ToProtoTime(rc.now);
      decision->set_reason(req->reason());
      Touch(r, rc.now);
      renovations_.Update(tx, group, r, rc.now, next_check);
      auto decided = DecidedEvent(r, rc.now);
      outbox_.Append(tx, {"counter.renovation.decided", group, r.estate_id(), r.id(), 2, &decided},
                     rc.now, rc.trace_id);
      *resp = r;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GrantOvertime(Ctx* ctx, const pb::GrantOvertimeRequest* req,
                                               pb::Renovation* resp) {
  return rpc_.Run(ctx, "GrantOvertime", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kSupervisor, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), true));
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, r.estate_id()));
      // 003_… Q10: outside the working hours only with the office's written consent.
      WUYE_RETURN_IF_ERROR(CheckOvertime(store_.GetSettings(tx, group), r, *req, today));
      if (r.state() != pb::RENOVATION_STATE_APPROVED) {
        return WithReason(absl::FailedPreconditionError("renovation: not approved"),
                          "NOT_APPROVED");
      }
      if (r.overtime_size() >= kMaxOvertimes) {
        return WithReason(absl::FailedPreconditionError("renovation: at most 200 consents"),
                          "TOO_MANY_OVERTIMES");
      }
      pb::Overtime* o = r.add_overtime();
      *o->mutable_date() = req->date();
      *o->mutable_window() = req->window();
      *o->mutable_consent() = req->consent();
      o->set_granted_by(rc.caller.subject);
      Touch(r, rc.now);
      renovations_.Update(tx, group, r, rc.now);
      *resp = r;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::AdmitWorkers(Ctx* ctx, const pb::AdmitWorkersRequest* req,
                                              pb::Admission* resp) {
  return rpc_.Run(ctx, "AdmitWorkers", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kSecurityGuard, kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    if (req->pass_numbers().empty() || req->pass_numbers_size() > kMaxWorkers) {
      return FieldError("pass_numbers", "one to 50 passes");
    }
    for (int i = 0; i < req->pass_numbers_size(); ++i) {
      WUYE_RETURN_IF_ERROR(CheckText(req->pass_numbers(i), absl::StrCat("pass_numbers[", i, "]"),
                                     32, Presence::kRequired, Lines::kOne));
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), false));
      absl::CivilSecond local = absl::ToCivilSecond(rc.now, store_.Zone(tx, group, r.estate_id()));
      WUYE_ASSIGN_OR_RETURN(
          bool under_consent,
          CheckAdmission(store_.GetSettings(tx, group), r, req->pass_numbers(),
                         absl::CivilDay(local), local.hour() * 60 + local.minute()));
      pb::Admission a;
      a.set_id(NewId(rc.now));
      a.set_renovation_id(r.id());
      a.set_estate_id(r.estate_id());
      *a.mutable_pass_numbers() = req->pass_numbers();
      *a.mutable_admit_time() = ToProtoTime(rc.now);
      a.set_under_overtime_consent(under_consent);
      a.set_admitted_by(rc.caller.subject);
      renovations_.InsertAdmission(tx, group, a);
      *resp = a;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RecordPatrol(Ctx* ctx, const pb::RecordPatrolRequest* req,
                                              pb::Patrol* resp) {
  return rpc_.Run(ctx, "RecordPatrol", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kSecurityGuard, kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    WUYE_RETURN_IF_ERROR(CheckFindings(req->findings()));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->note(), "note"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), true));
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, r.estate_id()));
      // 003_… 2.6: 每日現場巡查裝修施工情況.
      WUYE_RETURN_IF_ERROR(CheckPatrol(r, today));
      pb::Patrol p;
      p.set_id(NewId(rc.now));
      p.set_renovation_id(r.id());
      p.set_estate_id(r.estate_id());
      *p.mutable_date() = ToDate(today);
      *p.mutable_patrol_time() = ToProtoTime(rc.now);
      p.set_patrolled_by(rc.caller.subject);
      p.set_work_in_progress(req->work_in_progress());
      p.set_note(req->note());
      // 000_… 二.9: each violation found is a case, handled and recorded to its end.
      for (const auto& finding : req->findings()) {
        pb::Case c;
        c.set_id(NewId(rc.now));
        c.set_estate_id(r.estate_id());
        c.set_kind(pb::CASE_KIND_RENOVATION_DAMAGE);
        c.mutable_location()->set_estate_id(r.estate_id());
        c.mutable_location()->set_unit_id(r.unit_id());
        c.set_description(absl::StrCat(ViolationKindName(finding.kind()), ": ", finding.note()));
        c.set_state(pb::CASE_STATE_OPEN);
        c.set_owner_staff_id(rc.caller.subject);
        c.set_renovation_id(r.id());
        c.set_version(1);
        *c.mutable_create_time() = ToProtoTime(rc.now);
        *c.mutable_update_time() = ToProtoTime(rc.now);
        cases_.Insert(tx, group, c, rc.now);
        auto opened = CaseEvent(c, rc.now);
        outbox_.Append(tx, {"counter.case.opened", group, c.estate_id(), c.id(), 1, &opened},
                       rc.now, rc.trace_id);
        pb::PatrolFinding* f = p.add_findings();
        *f = finding;
        f->set_case_id(c.id());
      }
      renovations_.InsertPatrol(tx, group, p, today);
      *resp = p;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListPatrols(Ctx* ctx, const pb::ListPatrolsRequest* req,
                                             pb::ListPatrolsResponse* resp) {
  return rpc_.Run(ctx, "ListPatrols", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kSecurityGuard, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    const std::string filters = absl::StrCat("renovation=", req->renovation_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      resp->Clear();
      WUYE_RETURN_IF_ERROR(Visible(renovations_, tx, rc, req->renovation_id(), false).status());
      auto rows = renovations_.ListPatrols(tx, rc.caller.group_id, req->renovation_id(), page);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_patrols()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::AcceptRenovation(Ctx* ctx, const pb::AcceptRenovationRequest* req,
                                                  pb::Renovation* resp) {
  return rpc_.Run(ctx, "AcceptRenovation", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kSupervisor, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Renovation r,
                            Visible(renovations_, tx, rc, req->renovation_id(), true));
      WUYE_RETURN_IF_ERROR(CheckAcceptance(r, *req));
      r.set_state(pb::RENOVATION_STATE_ACCEPTED);
      r.set_passed(req->passed());
      r.set_deduction_fen(req->deduction_fen());
      r.set_deduction_reason(req->deduction_reason());
      *r.mutable_accepted_time() = ToProtoTime(rc.now);
      Touch(r, rc.now);
      renovations_.Update(tx, group, r, rc.now);
      auto accepted = AcceptedEvent(r, rc.now);
      outbox_.Append(
          tx, {"counter.renovation.accepted", group, r.estate_id(), r.id(), r.version(), &accepted},
          rc.now, rc.trace_id);
      *resp = r;
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
