// Handlers of the counter: violations and disputes (docs/api/counter.md, "Violations and
// disputes").
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/counter/cases.h"
#include "services/counter/counter_service.h"
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

absl::StatusOr<pb::Case> VisibleCase(CasesStore& store, pqxx::work& tx, const RequestContext& rc,
                                     const std::string& id, absl::string_view field,
                                     bool for_update) {
  auto c = store.Get(tx, rc.caller.group_id, id, for_update);
  if (!c) return absl::NotFoundError(absl::StrCat(field, ": no such case"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(c->estate_id()));
  return *c;
}

void Touch(pb::Case& c, absl::Time now) {
  c.set_version(c.version() + 1);
  *c.mutable_update_time() = ToProtoTime(now);
}

}  // namespace

grpc::Status CounterServiceImpl::CreateCase(Ctx* ctx, const pb::CreateCaseRequest* req,
                                            pb::Case* resp) {
  return rpc_.Run(ctx, "CreateCase", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kSecurityGuard}));
    WUYE_RETURN_IF_ERROR(CheckNewCase(*req));
    // Ids are stored in lower case, as the copies hold them (an estate named in capitals
    // would otherwise be a case no estate-scoped caller could see).
    wuye::common::v1::Location loc = req->location();
    loc.set_estate_id(absl::AsciiStrToLower(loc.estate_id()));
    if (loc.place_case() == wuye::common::v1::Location::kUnitId) {
      loc.set_unit_id(absl::AsciiStrToLower(loc.unit_id()));
    }
    WUYE_RETURN_IF_ERROR(CheckId(loc.estate_id(), "location.estate_id"));
    switch (loc.place_case()) {
      case wuye::common::v1::Location::kUnitId:
        WUYE_RETURN_IF_ERROR(CheckId(loc.unit_id(), "location.unit_id"));
        break;
      case wuye::common::v1::Location::kCommonArea:
        WUYE_RETURN_IF_ERROR(CheckText(loc.common_area(), "location.common_area", 100,
                                       Presence::kRequired, Lines::kOne));
        break;
      default:
        return FieldError("location", "a unit or a common area of the estate");
    }
    if (!req->owner_staff_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->owner_staff_id(), "owner_staff_id"));
    }
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(loc.estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      if (!cases_.EstateKnown(tx, group, loc.estate_id())) {
        return absl::NotFoundError("location.estate_id: no such estate");
      }
      if (loc.place_case() == wuye::common::v1::Location::kUnitId) {
        auto unit = store_.GetUnit(tx, group, loc.unit_id());
        if (!unit || unit->estate_id != loc.estate_id()) {
          return absl::NotFoundError("location.unit_id: no such unit of the estate");
        }
      }
      std::string owner = rc.caller.subject;
      if (!req->owner_staff_id().empty()) {
        auto staff = store_.GetStaff(tx, group, req->owner_staff_id());
        if (!staff || !staff->active ||
            std::find(staff->estate_ids.begin(), staff->estate_ids.end(), loc.estate_id()) ==
                staff->estate_ids.end()) {
          return absl::NotFoundError("owner_staff_id: no such staff member of the estate");
        }
        owner = staff->id;
      }
      pb::Case c;
      c.set_id(NewId(rc.now));
      c.set_estate_id(loc.estate_id());
      c.set_kind(req->kind());
      *c.mutable_location() = loc;
      c.set_description(req->description());
      c.set_state(pb::CASE_STATE_OPEN);
      c.set_owner_staff_id(owner);
      c.set_version(1);
      *c.mutable_create_time() = ToProtoTime(rc.now);
      *c.mutable_update_time() = ToProtoTime(rc.now);
      cases_.Insert(tx, group, c, rc.now);
      auto opened = CaseEvent(c, rc.now);
      outbox_.Append(tx, {"counter.case.opened", group, c.estate_id(), c.id(), 1, &opened}, rc.now,
                     rc.trace_id);
      *resp = c;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetCase(Ctx* ctx, const pb::GetCaseRequest* req, pb::Case* resp) {
  return rpc_.Run(ctx, "GetCase", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kSecurityGuard, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(*resp, VisibleCase(cases_, tx, rc, req->id(), "id", false));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListCases(Ctx* ctx, const pb::ListCasesRequest* req,
                                           pb::ListCasesResponse* resp) {
  return rpc_.Run(ctx, "ListCases", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kSecurityGuard, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!pb::CaseState_IsValid(req->state())) return FieldError("state", "must be a case state");
    if (!pb::CaseKind_IsValid(req->kind())) return FieldError("kind", "must be a case kind");
    if (!req->renovation_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->renovation_id(), "renovation_id"));
    }
    const std::string filters =
        absl::StrCat("estate=", req->estate_id(), ";state=", req->state(), ";kind=", req->kind(),
                     ";renovation=", req->renovation_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      resp->Clear();
      auto rows = cases_.List(tx, rc.caller.group_id, req->estate_id(), req->state(), req->kind(),
                              req->renovation_id(), page);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_cases()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RecordCaseAction(Ctx* ctx, const pb::RecordCaseActionRequest* req,
                                                  pb::Case* resp) {
  return rpc_.Run(ctx, "RecordCaseAction", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kSecurityGuard}));
    WUYE_RETURN_IF_ERROR(CheckId(req->case_id(), "case_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(pb::Case c,
                            VisibleCase(cases_, tx, rc, req->case_id(), "case_id", true));
      WUYE_RETURN_IF_ERROR(CheckCaseAction(c, *req));
      pb::CaseAction* a = c.add_actions();
      a->set_kind(req->kind());
      a->set_note(req->note());
      a->set_authority(req->authority());
      a->mutable_change()->mutable_actor()->set_subject(rc.caller.subject);
      for (const auto& role : rc.caller.roles)
        a->mutable_change()->mutable_actor()->add_roles(role);
      *a->mutable_change()->mutable_at() = ToProtoTime(rc.now);
      Touch(c, rc.now);
      cases_.Update(tx, rc.caller.group_id, c, rc.now);
      *resp = c;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::CloseCase(Ctx* ctx, const pb::CloseCaseRequest* req,
                                           pb::Case* resp) {
  return rpc_.Run(ctx, "CloseCase", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->case_id(), "case_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Case c,
                            VisibleCase(cases_, tx, rc, req->case_id(), "case_id", true));
      // 000_… 二.7–9: 書面材料, 由相關責任人簽字, 整理后存檔.
      WUYE_RETURN_IF_ERROR(CheckClose(c, *req));
      c.set_state(pb::CASE_STATE_CLOSED);
      c.set_outcome(req->outcome());
      *c.mutable_signed_record() = req->signed_record();
      c.set_signed_by(req->signed_by());
      c.set_close_note(req->note());
      *c.mutable_close_time() = ToProtoTime(rc.now);
      Touch(c, rc.now);
      cases_.Update(tx, group, c, rc.now);
      auto closed = CaseEvent(c, rc.now);
      outbox_.Append(tx,
                     {"counter.case.closed", group, c.estate_id(), c.id(), c.version(), &closed},
                     rc.now, rc.trace_id);
      *resp = c;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::InspectCase(Ctx* ctx, const pb::InspectCaseRequest* req,
                                             pb::Case* resp) {
  return rpc_.Run(ctx, "InspectCase", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kQualityInspector, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->case_id(), "case_id"));
    WUYE_RETURN_IF_ERROR(CheckInspection(*req));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Case c,
                            VisibleCase(cases_, tx, rc, req->case_id(), "case_id", true));
      const std::string inspection = NewId(rc.now);
      cases_.InsertInspection(tx, group, inspection, c.id(), rc.caller.subject, req->handled(),
                              req->note(), rc.now);
      *c.mutable_last_inspection_time() = ToProtoTime(rc.now);
      if (!req->handled()) {
        // 000_… 二.7–9: 如發現未處理 … 每發現一件扣服務質量標準分值50分 (performance).
        c.set_found_unhandled(c.found_unhandled() + 1);
        events::v1::CaseFoundUnhandled found;
        found.set_case_id(c.id());
        found.set_estate_id(c.estate_id());
        found.set_inspection_id(inspection);
        found.set_owner_staff_id(c.owner_staff_id());
        found.set_inspector_staff_id(rc.caller.subject);
        *found.mutable_at() = ToProtoTime(rc.now);
        outbox_.Append(
            tx, {"counter.case.found_unhandled", group, c.estate_id(), inspection, 1, &found},
            rc.now, rc.trace_id);
      }
      Touch(c, rc.now);
      cases_.Update(tx, group, c, rc.now);
      *resp = c;
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
