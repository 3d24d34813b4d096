// Handlers of the counter: notices and surveys.
//
// Who may call what (docs/api/counter.md#notices-公告-and-surveys-满意度调查):
//  - notices (publish, link tickets, end): the desk — agent, team lead, supervisor, estate
//    manager, group admin (001_… 物业客服领班 6: 制作并发放租户公告); reading them also the
//    technicians who make the cut, the guards at the gate and the quality inspectors;
//  - surveys: created and closed by the office — supervisor, estate manager, group admin
//    (001_… 10: 组织开展客户满意度调查); a household's answers taken at the desk (002_… 第七章
//    5: 《意见调查表》的发放与回收); read by the desk and the quality inspectors.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/counter/counter_service.h"
#include "services/counter/notices.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter {
namespace {

namespace ev = ::wuye::events::v1;
using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSecurityGuard;
using roles::kSupervisor;
using roles::kTeamLead;
using roles::kTechnician;

absl::Status RequireDesk(const RequestContext& rc) {
  return rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin});
}
absl::Status RequireNoticeReader(const RequestContext& rc) {
  return rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin,
                         kQualityInspector, kTechnician, kSecurityGuard});
}
absl::Status RequireOffice(const RequestContext& rc) {
  return rc.RequireRole({kSupervisor, kEstateManager, kGroupAdmin});
}
absl::Status RequireSurveyReader(const RequestContext& rc) {
  return rc.RequireRole(
      {kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kQualityInspector});
}

absl::Status NoSuchNotice() { return absl::NotFoundError("notice_id: no such notice"); }
absl::Status NoSuchSurvey(absl::string_view field) {
  return absl::NotFoundError(absl::StrCat(field, ": no such survey"));
}

}  // namespace

// ---- notices --------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::PublishNotice(Ctx* ctx, const pb::PublishNoticeRequest* req,
                                               pb::Notice* resp) {
  return rpc_.Run(ctx, "PublishNotice", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(CheckNotice(*req));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      pb::Notice n;
      n.set_id(NewId(rc.now));
      n.set_estate_id(req->estate_id());
      n.set_kind(req->kind());
      n.set_title(req->title());
      n.set_body(req->body());
      *n.mutable_start_time() = req->start_time();
      *n.mutable_end_time() = req->end_time();
      n.set_state(pb::NOTICE_STATE_PUBLISHED);
      n.set_published_by(rc.caller.subject);
      n.set_version(1);
      *n.mutable_create_time() = ToProtoTime(rc.now);
      notices_.InsertNotice(tx, group, n);
      ev::NoticePublished e;
      e.set_notice_id(n.id());
      e.set_estate_id(n.estate_id());
      e.set_kind(NoticeKindName(n.kind()));
      *e.mutable_start_time() = n.start_time();
      *e.mutable_end_time() = n.end_time();
      outbox_.Append(tx, {"counter.notice.published", group, n.estate_id(), n.id(), 1, &e}, rc.now,
                     rc.trace_id);
      *resp = std::move(n);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetNotice(Ctx* ctx, const pb::GetNoticeRequest* req,
                                           pb::Notice* resp) {
  return rpc_.Run(ctx, "GetNotice", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireNoticeReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto n = notices_.GetNotice(tx, rc.caller.group_id, req->id(), false);
      if (!n) return absl::NotFoundError("id: no such notice");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(n->estate_id()));
      *resp = std::move(*n);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListNotices(Ctx* ctx, const pb::ListNoticesRequest* req,
                                             pb::ListNoticesResponse* resp) {
  return rpc_.Run(ctx, "ListNotices", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireNoticeReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!pb::NoticeState_IsValid(req->state())) return FieldError("state", "not a notice state");
    const std::string filters = absl::StrCat("notices;", req->estate_id(), ";", req->state());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows =
          notices_.ListNotices(tx, rc.caller.group_id, req->estate_id(), req->state(), page);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_notices()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::LinkTickets(Ctx* ctx, const pb::LinkTicketsRequest* req,
                                             pb::Notice* resp) {
  return rpc_.Run(ctx, "LinkTickets", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->notice_id(), "notice_id"));
    if (req->ticket_ids().empty()) return FieldError("ticket_ids", "at least one");
    if (req->ticket_ids_size() > kMaxLinkedTickets) {
      return FieldError("ticket_ids", absl::StrCat("at most ", kMaxLinkedTickets));
    }
    for (int i = 0; i < req->ticket_ids_size(); ++i) {
      WUYE_RETURN_IF_ERROR(CheckId(req->ticket_ids(i), absl::StrCat("ticket_ids[", i, "]")));
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto n = notices_.GetNotice(tx, group, req->notice_id(), /*for_update=*/true);
      if (!n) return NoSuchNotice();
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(n->estate_id()));
      if (!IsCut(n->kind())) {
        return WithReason(absl::FailedPreconditionError(
                              "notice: only a water, power or gas cut links the tickets it causes"),
                          "NOT_A_CUT");
      }
      if (n->state() != pb::NOTICE_STATE_PUBLISHED) {
        return WithReason(absl::FailedPreconditionError("notice: ended; it links no more tickets"),
                          "NOTICE_ENDED");
      }
      // Each ticket once: those linked already change nothing.
      std::set<std::string> linked(n->ticket_ids().begin(), n->ticket_ids().end());
      std::vector<std::string> added;
      for (int i = 0; i < req->ticket_ids_size(); ++i) {
        // Ids are stored in lower case: the same ticket in capitals is the same ticket.
        const std::string id = absl::AsciiStrToLower(req->ticket_ids(i));
        if (linked.count(id)) continue;
        const std::string field = absl::StrCat("ticket_ids[", i, "]");
        auto t = store_.GetTicket(tx, group, id);
        if (!t) return absl::NotFoundError(absl::StrCat(field, ": no such ticket"));
        if (t->estate_id != n->estate_id()) {
          return FieldError(field, "not a ticket of the notice's estate");
        }
        if (!t->open) {
          return WithReason(absl::FailedPreconditionError(absl::StrCat(field, ": closed")),
                            "TICKET_CLOSED");
        }
        linked.insert(id);
        added.push_back(id);
      }
      if (!added.empty()) {
        notices_.LinkTickets(tx, group, n->id(), added, rc.now);
        n = notices_.GetNotice(tx, group, n->id(), false);
        ev::NoticeTickets e;
        e.set_notice_id(n->id());
        e.set_estate_id(n->estate_id());
        for (const auto& id : added) e.add_ticket_ids(id);
        e.set_answer(NoticeAnswer(n->title(), FromProtoTime(n->start_time()),
                                  FromProtoTime(n->end_time()),
                                  store_.Zone(tx, group, n->estate_id())));
        *e.mutable_at() = ToProtoTime(rc.now);
        outbox_.Append(
            tx, {"counter.notice.tickets_linked", group, n->estate_id(), n->id(), n->version(), &e},
            rc.now, rc.trace_id);
      }
      *resp = std::move(*n);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::EndNotice(Ctx* ctx, const pb::EndNoticeRequest* req,
                                           pb::Notice* resp) {
  return rpc_.Run(ctx, "EndNotice", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->notice_id(), "notice_id"));
    WUYE_RETURN_IF_ERROR(CheckResolution(req->resolution(), "resolution"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto n = notices_.GetNotice(tx, group, req->notice_id(), /*for_update=*/true);
      if (!n) return NoSuchNotice();
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(n->estate_id()));
      if (n->state() == pb::NOTICE_STATE_ENDED) {
        return WithReason(absl::FailedPreconditionError("notice: ended already"), "ALREADY_ENDED");
      }
      notices_.EndNotice(tx, group, n->id(), req->resolution(), rc.now);
      n = notices_.GetNotice(tx, group, n->id(), false);
      ev::NoticeTickets e;
      e.set_notice_id(n->id());
      e.set_estate_id(n->estate_id());
      *e.mutable_ticket_ids() = n->ticket_ids();
      e.set_answer(req->resolution());
      *e.mutable_at() = ToProtoTime(rc.now);
      outbox_.Append(tx, {"counter.notice.ended", group, n->estate_id(), n->id(), n->version(), &e},
                     rc.now, rc.trace_id);
      *resp = std::move(*n);
      return absl::OkStatus();
    });
  });
}

// ---- surveys --------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::CreateSurvey(Ctx* ctx, const pb::CreateSurveyRequest* req,
                                              pb::Survey* resp) {
  return rpc_.Run(ctx, "CreateSurvey", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireOffice(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(CheckSurvey(*req));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      pb::Survey s;
      s.set_id(NewId(rc.now));
      s.set_estate_id(req->estate_id());
      s.set_title(req->title());
      *s.mutable_questions() = req->questions();
      s.set_state(pb::SURVEY_STATE_OPEN);
      *s.mutable_open_time() = ToProtoTime(rc.now);
      s.set_created_by(rc.caller.subject);
      s.set_version(1);
      notices_.InsertSurvey(tx, rc.caller.group_id, s);
      *resp = std::move(s);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetSurvey(Ctx* ctx, const pb::GetSurveyRequest* req,
                                           pb::Survey* resp) {
  return rpc_.Run(ctx, "GetSurvey", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireSurveyReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto s = notices_.GetSurvey(tx, rc.caller.group_id, req->id(), false);
      if (!s) return NoSuchSurvey("id");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(s->estate_id()));
      *resp = std::move(*s);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListSurveys(Ctx* ctx, const pb::ListSurveysRequest* req,
                                             pb::ListSurveysResponse* resp) {
  return rpc_.Run(ctx, "ListSurveys", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireSurveyReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!pb::SurveyState_IsValid(req->state())) return FieldError("state", "not a survey state");
    const std::string filters = absl::StrCat("surveys;", req->estate_id(), ";", req->state());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows =
          notices_.ListSurveys(tx, rc.caller.group_id, req->estate_id(), req->state(), page);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_surveys()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RecordSurveyResponse(Ctx* ctx,
                                                      const pb::RecordSurveyResponseRequest* req,
                                                      pb::SurveyResponse* resp) {
  return rpc_.Run(ctx, "RecordSurveyResponse", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->survey_id(), "survey_id"));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      // The survey's row is locked: one household's answers at a time, and none after it
      // closes.
      auto s = notices_.GetSurvey(tx, group, req->survey_id(), /*for_update=*/true);
      if (!s) return NoSuchSurvey("survey_id");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(s->estate_id()));
      WUYE_RETURN_IF_ERROR(CheckResponse(*req, s->questions_size()));
      auto unit = store_.GetUnit(tx, group, req->unit_id());
      if (!unit) return absl::NotFoundError("unit_id: no such unit");
      if (unit->estate_id != s->estate_id()) {
        return FieldError("unit_id", "not a unit of the survey's estate");
      }
      if (s->state() != pb::SURVEY_STATE_OPEN) {
        return WithReason(absl::FailedPreconditionError("survey: closed"), "SURVEY_CLOSED");
      }
      pb::SurveyResponse r;
      r.set_id(NewId(rc.now));
      r.set_survey_id(s->id());
      r.set_estate_id(s->estate_id());
      r.set_unit_id(req->unit_id());
      *r.mutable_answers() = req->answers();
      r.set_comment(req->comment());
      *r.mutable_create_time() = ToProtoTime(rc.now);
      if (notices_.HasResponse(tx, group, s->id(), r.unit_id()) ||
          !notices_.InsertResponse(tx, group, r)) {
        return WithReason(
            absl::FailedPreconditionError("unit_id: the household has answered this survey"),
            "ALREADY_ANSWERED");
      }
      *resp = std::move(r);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetSurveyResults(Ctx* ctx, const pb::GetSurveyResultsRequest* req,
                                                  pb::SurveyResults* resp) {
  return rpc_.Run(ctx, "GetSurveyResults", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireSurveyReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->survey_id(), "survey_id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      int32_t households = -1;
      auto s = notices_.GetSurvey(tx, group, req->survey_id(), false, &households);
      if (!s) return NoSuchSurvey("survey_id");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(s->estate_id()));
      // A closed survey keeps the households counted when it closed.
      if (households < 0) households = store_.CountUnits(tx, group, s->estate_id());
      *resp = TallySurvey(*s, notices_.ResponseAnswers(tx, group, s->id()), households);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::CloseSurvey(Ctx* ctx, const pb::CloseSurveyRequest* req,
                                             pb::SurveyResults* resp) {
  return rpc_.Run(ctx, "CloseSurvey", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireOffice(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->survey_id(), "survey_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto s = notices_.GetSurvey(tx, group, req->survey_id(), /*for_update=*/true);
      if (!s) return NoSuchSurvey("survey_id");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(s->estate_id()));
      if (s->state() != pb::SURVEY_STATE_OPEN) {
        return WithReason(absl::FailedPreconditionError("survey: closed already"),
                          "ALREADY_CLOSED");
      }
      int32_t households = store_.CountUnits(tx, group, s->estate_id());
      notices_.CloseSurvey(tx, group, s->id(), households, rc.now);
      s->set_state(pb::SURVEY_STATE_CLOSED);
      pb::SurveyResults results =
          TallySurvey(*s, notices_.ResponseAnswers(tx, group, s->id()), households);
      ev::SurveyClosed e;
      e.set_survey_id(s->id());
      e.set_estate_id(s->estate_id());
      e.set_households_answered(results.households_answered());
      e.set_households(results.households());
      e.set_satisfied_bp(results.satisfied_bp());
      e.set_response_bp(results.response_bp());
      *e.mutable_at() = ToProtoTime(rc.now);
      outbox_.Append(
          tx, {"counter.survey.closed", group, s->estate_id(), s->id(), s->version() + 1, &e},
          rc.now, rc.trace_id);
      *resp = std::move(results);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
