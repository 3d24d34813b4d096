#include "services/intake/intake_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/intake/complaint_reply.h"
#include "services/intake/hotline.h"
#include "services/intake/ticket.h"
#include "shared/field_mask.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/work_calendar_store.h"
#include "shared/zone.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {
namespace {

namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;

using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSupervisor;
using roles::kTeamLead;

absl::Status RequireReader(const RequestContext& rc) {
  return rc.RequireRole(
      {kAgent, kTeamLead, kSupervisor, kEstateManager, kQualityInspector, kGroupAdmin});
}

// What a caller reads of a ticket: never the number, the overdue flag as of now.
void ForCaller(v1::Ticket& t, absl::Time now) {
  t.clear_caller_phone();
  t.set_overdue(IsOverdue(t, now));
}

absl::Status Illegal(const v1::Ticket& t, absl::string_view what) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat("ticket: a ", StateName(t.state()),
                                                               " ticket cannot be ", what)),
                    "ILLEGAL_TRANSITION");
}

}  // namespace

absl::Status RequireDesk(const RequestContext& rc) {
  return rc.RequireRole({roles::kAgent, roles::kTeamLead, roles::kSupervisor});
}

IntakeServiceImpl::IntakeServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                                     std::string phone_key)
    : db_(db),
      store_(db),
      outbox_(db, "intake"),
      flow_(store_, outbox_),
      rpc_("intake", verifier, clock),
      phone_key_(std::move(phone_key)),
      creations_(db, IntakeStore::kCreateTickets, IntakeStore::CreateTicketsSql(),
                 &IntakeStore::CreateTicketsParams, kCreateBatch, kCreateWriters) {
  PrepareHotlineExchange(db);
}

ChangeContext IntakeServiceImpl::Change(const RequestContext& rc, std::string reason) {
  ChangeContext c;
  c.actor.set_subject(rc.caller.subject);
  for (const auto& r : rc.caller.roles) c.actor.add_roles(r);
  c.now = rc.now;
  c.reason = std::move(reason);
  c.trace_id = rc.trace_id;
  return c;
}

absl::StatusOr<v1::Ticket> IntakeServiceImpl::VisibleTicket(pqxx::work& tx,
                                                            const RequestContext& rc,
                                                            const std::string& id,
                                                            bool for_update) {
  auto t = store_.GetTicket(tx, rc.caller.group_id, id, for_update);
  if (!t) return absl::NotFoundError("id: no such ticket");
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(t->estate_id()));
  return *t;
}

// Intake's copy of the directory's estates (consumers.cc) holds only the group's own.
absl::StatusOr<EstateFacts> IntakeServiceImpl::KnownEstate(const RequestContext& rc,
                                                           const std::string& estate_id,
                                                           absl::string_view field) {
  const absl::Time now = absl::Now();  // the cache's own time, not the service's clock
  std::optional<EstateFacts> estate = estates_.Find(rc.caller.group_id, estate_id, now);
  if (estate) return *std::move(estate);
  const std::uint64_t generation = EstateGeneration();
  // A transaction, not one autocommitted statement: Transact replaces a pooled connection
  // that broke (PostgreSQL restarted) and reads again. The cache makes it rare.
  WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
    estate = store_.GetEstate(tx, rc.caller.group_id, estate_id);
    return absl::OkStatus();
  }));
  if (!estate) return absl::NotFoundError(absl::StrCat(field, ": no such estate"));
  estates_.Keep(rc.caller.group_id, estate_id, *estate, generation, now);
  return *std::move(estate);
}

absl::Status IntakeServiceImpl::RequireOwnerOrSupervisor(const RequestContext& rc,
                                                         const v1::Ticket& t) {
  if (rc.caller.HasRole(kSupervisor) || t.owner_id() == rc.caller.subject) {
    return absl::OkStatus();
  }
  return WithReason(absl::PermissionDeniedError(
                        "ticket: only its owner or a supervisor may change it (首接负责制)"),
                    "NOT_OWNER");
}

// ---- Tickets --------------------------------------------------------------------------

grpc::Status IntakeServiceImpl::CreateTicket(Ctx* ctx, const v1::CreateTicketRequest* req,
                                             v1::Ticket* resp) {
  return rpc_.Run(ctx, "CreateTicket", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    v1::Ticket t = req->ticket();
    if (t.channel() == common::CHANNEL_GOVERNMENT_HOTLINE) {
      return FieldError("ticket.channel", "12345 orders come through ImportHotlineOrders");
    }
    WUYE_RETURN_IF_ERROR(PrepareTicket(t, req->answer(), rc.now, "ticket"));
    WUYE_RETURN_IF_ERROR(CheckTicketEventText(t, "ticket"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(t.estate_id()));
    WUYE_ASSIGN_OR_RETURN(EstateFacts estate, KnownEstate(rc, t.estate_id(), "ticket.estate_id"));
    std::string caller_hash;
    if (!t.caller_phone().empty()) {
      WUYE_ASSIGN_OR_RETURN(std::string digits,
                            NormalizeCallerPhone(t.caller_phone(), "ticket.caller_phone"));
      caller_hash = HashPhone(phone_key_, digits);
      t.clear_caller_phone();
    }
    return creations_.Run(
        rc.Key(), *req, resp,
        [&](TicketCreation& creation) -> absl::Status {
          if (!t.first_complaint_id().empty()) {
            // Read before the write: a ticket's estate and kind never change.
            std::optional<v1::Ticket> first;
            WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
              first = store_.GetTicket(tx, rc.caller.group_id, t.first_complaint_id());
              return absl::OkStatus();
            }));
            if (!first || first->estate_id() != t.estate_id()) {
              return absl::NotFoundError(
                  "ticket.first_complaint_id: no such complaint in the estate");
            }
            if (first->kind() != common::TICKET_KIND_COMPLAINT) {
              return FieldError("ticket.first_complaint_id", "must name a complaint");
            }
            t.set_second_complaint(true);
          }
          if (t.kind() == common::TICKET_KIND_CONSULTATION && req->answer().empty()) {
            // The answer's clock runs while the estate's desk is open (000_…, 二.5).
            *t.mutable_answer_due_time() =
                ToProtoTime(AnswerDue(FromProtoTime(t.received_time()), t.needs_supervisor(),
                                      estate.desk, EstateZone(estate.time_zone)));
          }
          std::string reply_month;
          absl::Time reply_warn = absl::InfinitePast();
          if (t.kind() == common::TICKET_KIND_COMPLAINT) {
            // The written reply's deadline (issue #27 §1): the group's window on the
            // estate's working calendar, from when the complaint came in.
            v1::CallbackSettings settings;
            WorkCalendar calendar;
            WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
              settings = store_.GetCallbackSettings(tx, rc.caller.group_id);
              calendar = LoadWorkCalendar(tx, rc.caller.group_id, t.estate_id());
              return absl::OkStatus();
            }));
            const absl::TimeZone tz = EstateZone(estate.time_zone);
            const absl::Time received = FromProtoTime(t.received_time());
            Deadline due =
                ComplaintReplyDue(calendar, received, settings.complaint_reply_hours(),
                                  settings.complaint_reply_clock(), tz);
            v1::ComplaintReply* r = t.mutable_complaint_reply();
            *r->mutable_due_time() = ToProtoTime(due.due);
            r->set_due_reason(due.reason);
            r->set_clock(settings.complaint_reply_clock());
            r->set_window_hours(settings.complaint_reply_hours());
            reply_month = MonthKey(received, tz);
            reply_warn = due.warn;
          }
          t.set_id(NewId(rc.now));
          t.set_group_id(rc.caller.group_id);
          t.set_owner_id(rc.caller.subject);
          creation = flow_.Create(std::move(t), std::move(caller_hash), req->answer(),
                                  Change(rc, "received"));
          creation.rows.reply_month = std::move(reply_month);
          creation.rows.reply_warn = reply_warn;
          creation.rows.reply_zone = EstateZone(estate.time_zone);
          if (before_create_write_for_test) before_create_write_for_test();
          *resp = creation.rows.ticket;
          ForCaller(*resp, rc.now);
          return absl::OkStatus();
        },
        [&rc] { return rc.StillWanted(); });
  });
}

grpc::Status IntakeServiceImpl::GetTicket(Ctx* ctx, const v1::GetTicketRequest* req,
                                          v1::Ticket* resp) {
  return rpc_.Run(ctx, "GetTicket", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(*resp, VisibleTicket(tx, rc, req->id(), false));
      for (auto& c : store_.History(tx, rc.caller.group_id, req->id())) {
        *resp->add_history() = std::move(c);
      }
      ForCaller(*resp, rc.now);
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::ListTickets(Ctx* ctx, const v1::ListTicketsRequest* req,
                                            v1::ListTicketsResponse* resp) {
  return rpc_.Run(ctx, "ListTickets", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    TicketFilter f;
    if (!req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
      f.estate_id = req->estate_id();
    }
    if (!ev::TicketState_IsValid(req->state())) return FieldError("state", "unknown state");
    if (!common::TicketKind_IsValid(req->kind())) return FieldError("kind", "unknown kind");
    if (!common::Channel_IsValid(req->channel())) return FieldError("channel", "unknown channel");
    if (!req->owner_id().empty()) WUYE_RETURN_IF_ERROR(CheckStaffId(req->owner_id(), "owner_id"));
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    f.all_estates = rc.caller.all_estates;
    f.visible_estates = rc.caller.estate_ids;
    f.state = req->state();
    f.kind = req->kind();
    f.channel = req->channel();
    f.owner_id = req->owner_id();
    f.unit_id = req->unit_id();
    f.overdue = req->overdue();
    f.now = rc.now;
    const std::string filters = absl::StrCat(
        "estate=", f.estate_id, ";state=", f.state, ";kind=", f.kind, ";channel=", f.channel,
        ";owner=", f.owner_id, ";unit=", f.unit_id, ";overdue=", f.overdue);
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListTickets(tx, rc.caller.group_id, f, page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_tickets()));
      for (auto& t : *resp->mutable_tickets()) ForCaller(t, rc.now);
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::TransferTicket(Ctx* ctx, const v1::TransferTicketRequest* req,
                                               v1::Ticket* resp) {
  return rpc_.Run(
      ctx, "TransferTicket", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor}));
        WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
        WUYE_RETURN_IF_ERROR(CheckStaffId(req->new_owner_id(), "new_owner_id"));
        WUYE_RETURN_IF_ERROR(CheckEventText(req->reason(), "reason", 500, Presence::kRequired));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          WUYE_ASSIGN_OR_RETURN(v1::Ticket t, VisibleTicket(tx, rc, req->id(), true));
          if (t.owner_id() == req->new_owner_id()) {
            return FieldError("new_owner_id", "already the owner");
          }
          // Only to somebody who exists and works at the ticket's estate (directory copy).
          if (!store_.StaffOfEstate(tx, rc.caller.group_id, req->new_owner_id(), t.estate_id())) {
            return FieldError("new_owner_id", "no active staff member of the ticket's estate");
          }
          if (t.state() == ev::TICKET_STATE_CLOSED || t.state() == ev::TICKET_STATE_CANCELLED) {
            return WithReason(
                absl::FailedPreconditionError("ticket: finished tickets keep their owner"),
                "TICKET_FINISHED");
          }
          flow_.Transfer(tx, t, req->new_owner_id(), Change(rc, req->reason()));
          *resp = t;
          ForCaller(*resp, rc.now);
          return absl::OkStatus();
        });
      });
}

grpc::Status IntakeServiceImpl::Step(Ctx* ctx, const char* method, const std::string& request_id,
                                     const google::protobuf::Message& req, const std::string& id,
                                     absl::Status input, TicketState to, const std::string& reason,
                                     v1::Ticket* resp,
                                     const std::function<absl::Status(v1::Ticket&)>& check) {
  return rpc_.Run(ctx, method, request_id, [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(id, "id"));
    WUYE_RETURN_IF_ERROR(input);
    return RunOnce(db_, rc.Key(), req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(v1::Ticket t, VisibleTicket(tx, rc, id, true));
      WUYE_RETURN_IF_ERROR(RequireOwnerOrSupervisor(rc, t));
      WUYE_RETURN_IF_ERROR(check(t));
      WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, to, Change(rc, reason)));
      *resp = t;
      ForCaller(*resp, rc.now);
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::AnswerTicket(Ctx* ctx, const v1::AnswerTicketRequest* req,
                                             v1::Ticket* resp) {
  return Step(ctx, "AnswerTicket", req->request_id(), *req, req->id(),
              CheckText(req->answer(), "answer", 4000, Presence::kRequired, Lines::kMany),
              ev::TICKET_STATE_ANSWERED, "answered", resp, [&](v1::Ticket& t) -> absl::Status {
                if (!IsAnswerable(t.kind())) {
                  return WithReason(absl::FailedPreconditionError(
                                        "ticket: only consultations, suggestions and praise are "
                                        "answered; complaints and work are resolved"),
                                    "NOT_ANSWERABLE");
                }
                t.set_result(req->answer());
                return absl::OkStatus();
              });
}

grpc::Status IntakeServiceImpl::ResolveTicket(Ctx* ctx, const v1::ResolveTicketRequest* req,
                                              v1::Ticket* resp) {
  return rpc_.Run(ctx, "ResolveTicket", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDesk(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->result(), "result", 4000, Presence::kRequired, Lines::kMany));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(v1::Ticket t, VisibleTicket(tx, rc, req->id(), true));
      WUYE_RETURN_IF_ERROR(RequireOwnerOrSupervisor(rc, t));
      if (NeedsWork(t.kind()) && t.state() != ev::TICKET_STATE_REOPENED) {
        return WithReason(absl::FailedPreconditionError(
                              "ticket: work on site is resolved by its work order's completion"),
                          "WORK_ORDER_PENDING");
      }
      if (IsAnswerable(t.kind()) && t.state() != ev::TICKET_STATE_REOPENED) {
        return WithReason(absl::FailedPreconditionError("ticket: answer it instead"),
                          "NOT_RESOLVABLE");
      }
      t.set_result(req->result());
      WUYE_RETURN_IF_ERROR(flow_.Resolve(tx, t, Change(rc, "handling result given"),
                                           /*gives_reply=*/true));
      *resp = t;
      ForCaller(*resp, rc.now);
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::CloseTicket(Ctx* ctx, const v1::CloseTicketRequest* req,
                                            v1::Ticket* resp) {
  return Step(ctx, "CloseTicket", req->request_id(), *req, req->id(),
              CheckEventText(req->reason(), "reason", 500, Presence::kOptional),
              ev::TICKET_STATE_CLOSED, req->reason().empty() ? "closed" : req->reason(), resp,
              [&](v1::Ticket& t) -> absl::Status {
                // Only answered tickets close by hand; the rest close through their callback.
                if (t.state() != ev::TICKET_STATE_ANSWERED) return Illegal(t, "closed by hand");
                return absl::OkStatus();
              });
}

grpc::Status IntakeServiceImpl::CancelTicket(Ctx* ctx, const v1::CancelTicketRequest* req,
                                             v1::Ticket* resp) {
  return Step(ctx, "CancelTicket", req->request_id(), *req, req->id(),
              CheckEventText(req->reason(), "reason", 500, Presence::kRequired),
              ev::TICKET_STATE_CANCELLED, req->reason(), resp,
              [&](v1::Ticket&) { return absl::OkStatus(); });
}

grpc::Status IntakeServiceImpl::ReopenTicket(Ctx* ctx, const v1::ReopenTicketRequest* req,
                                             v1::Ticket* resp) {
  return rpc_.Run(ctx, "ReopenTicket", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckEventText(req->reason(), "reason", 500, Presence::kRequired));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(v1::Ticket t, VisibleTicket(tx, rc, req->id(), true));
      if (t.state() != ev::TICKET_STATE_CLOSED) return Illegal(t, "reopened");
      WUYE_RETURN_IF_ERROR(flow_.Move(tx, t, ev::TICKET_STATE_REOPENED, Change(rc, req->reason())));
      *resp = t;
      ForCaller(*resp, rc.now);
      return absl::OkStatus();
    });
  });
}

// ---- Callbacks ------------------------------------------------------------------------

grpc::Status IntakeServiceImpl::RecordCallback(Ctx* ctx, const v1::RecordCallbackRequest* req,
                                               v1::Callback* resp) {
  return rpc_.Run(
      ctx, "RecordCallback", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireDesk(rc));
        const v1::Callback& in = req->callback();
        WUYE_RETURN_IF_ERROR(CheckId(in.ticket_id(), "callback.ticket_id"));
        if (!common::Satisfaction_IsValid(in.satisfaction()) ||
            in.satisfaction() == common::SATISFACTION_UNSPECIFIED) {
          return FieldError("callback.satisfaction", "required: one of the five levels");
        }
        WUYE_RETURN_IF_ERROR(
            CheckText(in.comment(), "callback.comment", 2000, Presence::kOptional, Lines::kMany));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          auto found = store_.GetTicket(tx, rc.caller.group_id, in.ticket_id(), true);
          if (!found) return absl::NotFoundError("callback.ticket_id: no such ticket");
          v1::Ticket t = *found;
          WUYE_RETURN_IF_ERROR(rc.RequireEstate(t.estate_id()));
          if (t.state() != ev::TICKET_STATE_CALLBACK_DUE) {
            return WithReason(
                absl::FailedPreconditionError(absl::StrCat("ticket: not due for a callback (it is ",
                                                           StateName(t.state()), ")")),
                "NO_CALLBACK_DUE");
          }
          bool unsatisfied = IsUnsatisfied(in.satisfaction());
          v1::Callback cb;
          cb.set_id(NewId(rc.now));
          cb.set_ticket_id(t.id());
          cb.set_estate_id(t.estate_id());
          cb.set_satisfaction(in.satisfaction());
          cb.set_comment(in.comment());
          cb.set_agent_id(rc.caller.subject);
          cb.set_reopened(unsatisfied);
          *cb.mutable_call_time() = ToProtoTime(rc.now);
          store_.InsertCallback(tx, rc.caller.group_id, cb);
          store_.MarkCallbackDone(tx, rc.caller.group_id, t.id());
          std::vector<std::string> workers(t.worker_ids().begin(), t.worker_ids().end());
          // The workers' "complained about last time" follows what this callback said.
          store_.SetComplained(tx, rc.caller.group_id, workers, unsatisfied);
          // A complaint whose work order finished owes its written reply (issue #27 §1)
          // until someone tells the resident the handling result: this callback does.
          const ChangeContext called =
              Change(rc, unsatisfied ? "callback: unsatisfied, reopened" : "callback: done");
          const bool replied = TicketFlow::OwesReply(t);
          if (replied) flow_.MarkReply(tx, t, called);
          WUYE_RETURN_IF_ERROR(flow_.Move(
              tx, t, unsatisfied ? ev::TICKET_STATE_REOPENED : ev::TICKET_STATE_CLOSED, called));
          if (replied) flow_.PublishReply(tx, t, called);

          ev::CallbackRecorded e;
          e.set_callback_id(cb.id());
          e.set_ticket_id(t.id());
          e.set_estate_id(t.estate_id());
          e.set_satisfaction(cb.satisfaction());
          e.set_agent_id(cb.agent_id());
          e.set_owner_id(t.owner_id());
          for (const auto& w : t.worker_ids()) e.add_worker_ids(w);
          for (const auto& w : t.work_order_ids()) e.add_work_order_ids(w);
          e.set_paid(t.kind() == common::TICKET_KIND_PAID_SERVICE);
          e.set_reopened(unsatisfied);
          *e.mutable_called_at() = cb.call_time();
          outbox_.Append(tx,
                         {"intake.callback.recorded", t.group_id(), t.estate_id(), t.id(), 0, &e},
                         rc.now, rc.trace_id);
          *resp = cb;
          return absl::OkStatus();
        });
      });
}

grpc::Status IntakeServiceImpl::GetCallbackCoverage(Ctx* ctx,
                                                    const v1::GetCallbackCoverageRequest* req,
                                                    v1::CallbackCoverage* resp) {
  return rpc_.Run(ctx, "GetCallbackCoverage", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kSupervisor, kEstateManager, kQualityInspector, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->month(), "month"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto estate = store_.GetEstate(tx, rc.caller.group_id, req->estate_id());
      std::string month = MonthKey(req->month().year(), req->month().month());
      CoverageRows rows = store_.Coverage(tx, rc.caller.group_id, req->estate_id(), month);
      resp->set_estate_id(req->estate_id());
      *resp->mutable_month() = req->month();
      resp->set_estate_households(estate ? estate->household_count : 0);
      CallbackCoverageFigures figures =
          CallbackCoverageOf(rows.households_served, rows.callbacks_done,
                             static_cast<int>(rows.missing_mandatory.size()));
      resp->set_quota_percent(figures.quota_percent);
      resp->set_households_served(rows.households_served);
      resp->set_callbacks_required(figures.callbacks_required);
      resp->set_callbacks_done(rows.callbacks_done);
      resp->set_share_bp(figures.share_bp);
      resp->set_met(figures.met);
      for (auto& m : rows.missing_mandatory) *resp->add_missing_mandatory() = std::move(m);
      return absl::OkStatus();
    });
  });
}

// ---- Service contracts and callback settings -------------------------------------------

grpc::Status IntakeServiceImpl::CreateServiceContract(Ctx* ctx,
                                                      const v1::CreateServiceContractRequest* req,
                                                      v1::ServiceContract* resp) {
  return rpc_.Run(ctx, "CreateServiceContract", req->request_id(),
                  [&](RequestContext& rc) -> absl::Status {
                    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
                    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kSupervisor}));
                    v1::ServiceContract c = req->contract();
                    WUYE_RETURN_IF_ERROR(PrepareContract(c, "contract"));
                    WUYE_RETURN_IF_ERROR(rc.RequireEstate(c.estate_id()));
                    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
                      c.set_id(NewId(rc.now));
                      c.set_created_by(rc.caller.subject);
                      *c.mutable_create_time() = ToProtoTime(rc.now);
                      store_.InsertContract(tx, rc.caller.group_id, c);
                      *resp = c;
                      return absl::OkStatus();
                    });
                  });
}

grpc::Status IntakeServiceImpl::ListServiceContracts(Ctx* ctx,
                                                     const v1::ListServiceContractsRequest* req,
                                                     v1::ListServiceContractsResponse* resp) {
  return rpc_.Run(ctx, "ListServiceContracts", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("estate=", req->estate_id(), ";unit=", req->unit_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListContracts(tx, rc.caller.group_id, req->estate_id(), req->unit_id(),
                                       page.after, page.size + 1);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_contracts()));
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::GetCallbackSettings(Ctx* ctx,
                                                    const v1::GetCallbackSettingsRequest* req,
                                                    v1::CallbackSettings* resp) {
  return rpc_.Run(ctx, "GetCallbackSettings", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireReader(rc));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = store_.GetCallbackSettings(tx, rc.caller.group_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::UpdateCallbackSettings(Ctx* ctx,
                                                       const v1::UpdateCallbackSettingsRequest* req,
                                                       v1::CallbackSettings* resp) {
  return rpc_.Run(
      ctx, "UpdateCallbackSettings", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
        WUYE_RETURN_IF_ERROR(CheckUpdateMask(
            req->update_mask(), v1::CallbackSettings::descriptor(),
            {"new_staff_days", "new_contract_days", "new_item_days", "complaint_reply_hours",
             "complaint_reply_clock", "hotline_reply_backdate_hours"}));
        // A whole replacement from a client that predates the complaint reply's and the 12345
        // reply's fields leaves them 0: the defaults then (a mask naming them takes them as
        // given).
        v1::CallbackSettings whole = req->settings();
        FillComplaintReplyDefaults(whole);
        if (whole.hotline_reply_backdate_hours() == 0) {
          whole.set_hotline_reply_backdate_hours(kDefaultHotlineReplyBackdateHours);
        }
        if (req->update_mask().paths().empty()) {
          WUYE_RETURN_IF_ERROR(CheckCallbackSettings(whole, "settings"));
        }
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          // With a mask, the masked fields over the stored settings.
          LockForUpdate(tx, absl::StrCat("callback_settings/", rc.caller.group_id));
          v1::CallbackSettings merged = store_.GetCallbackSettings(tx, rc.caller.group_id);
          if (req->update_mask().paths().empty()) {
            merged = whole;
          } else {
            ApplyUpdateMask(req->settings(), req->update_mask(), &merged);
          }
          WUYE_RETURN_IF_ERROR(CheckCallbackSettings(merged, "settings"));
          store_.PutCallbackSettings(tx, rc.caller.group_id, merged, rc.now);
          *resp = merged;
          return absl::OkStatus();
        });
      });
}

// ---- Complaints -----------------------------------------------------------------------

grpc::Status IntakeServiceImpl::VerifyComplaint(Ctx* ctx, const v1::VerifyComplaintRequest* req,
                                                v1::ComplaintVerification* resp) {
  return rpc_.Run(
      ctx, "VerifyComplaint", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor, kQualityInspector}));
        WUYE_RETURN_IF_ERROR(CheckId(req->ticket_id(), "ticket_id"));
        WUYE_RETURN_IF_ERROR(CheckStaffId(req->staff_id(), "staff_id"));
        WUYE_RETURN_IF_ERROR(CheckEventText(req->finding(), "finding", 2000, Presence::kRequired));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          // The ticket's row stays locked to the commit: verifications of one complaint run
          // one at a time, so the look-up below sees any that committed before.
          auto t = store_.GetTicket(tx, rc.caller.group_id, req->ticket_id(), true);
          if (!t) return absl::NotFoundError("ticket_id: no such ticket");
          WUYE_RETURN_IF_ERROR(rc.RequireEstate(t->estate_id()));
          if (t->kind() != common::TICKET_KIND_COMPLAINT) {
            return WithReason(absl::FailedPreconditionError("ticket: not a complaint"),
                              "NOT_A_COMPLAINT");
          }
          // Someone who exists and works at the complaint's estate (directory copy), as a
          // transfer's new owner; never a staff row made up for an unknown id.
          if (!store_.StaffOfEstate(tx, rc.caller.group_id, req->staff_id(), t->estate_id())) {
            return absl::NotFoundError("staff_id: no active staff member of the ticket's estate");
          }
          // 000_…, 二.6 (經查實屬實的投訴每次扣…20分): one deduction per verified complaint, so
          // a complaint is verified against a staff member once.
          if (store_.ComplaintVerified(tx, rc.caller.group_id, t->id(), req->staff_id())) {
            return WithReason(
                absl::FailedPreconditionError(
                    "ticket: the complaint is already verified against this staff member"),
                "ALREADY_VERIFIED");
          }
          v1::ComplaintVerification v;
          v.set_id(NewId(rc.now));
          v.set_ticket_id(t->id());
          v.set_estate_id(t->estate_id());
          v.set_staff_id(req->staff_id());
          v.set_finding(req->finding());
          v.set_verified_by(rc.caller.subject);
          *v.mutable_verify_time() = ToProtoTime(rc.now);
          store_.InsertVerification(tx, rc.caller.group_id, v);
          store_.SetComplained(tx, rc.caller.group_id, {req->staff_id()}, true);
          ev::ComplaintVerified e;
          e.set_ticket_id(t->id());
          e.set_estate_id(t->estate_id());
          e.set_staff_id(req->staff_id());
          e.set_finding(req->finding());
          *e.mutable_verified_by() = Change(rc, "").actor;
          *e.mutable_verified_at() = v.verify_time();
          outbox_.Append(
              tx, {"intake.complaint.verified", t->group_id(), t->estate_id(), t->id(), 0, &e},
              rc.now, rc.trace_id);
          *resp = v;
          return absl::OkStatus();
        });
      });
}

// ---- Unrecorded calls -----------------------------------------------------------------

grpc::Status IntakeServiceImpl::ImportCarrierCallLog(Ctx* ctx,
                                                     const v1::ImportCarrierCallLogRequest* req,
                                                     v1::ImportCarrierCallLogResponse* resp) {
  return rpc_.Run(
      ctx, "ImportCarrierCallLog", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor, kEstateManager}));
        WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
        if (req->calls().empty()) return FieldError("calls", "at least one call");
        if (req->calls_size() > kMaxCallLog) {
          return FieldError("calls", absl::StrCat("at most ", kMaxCallLog, " calls"));
        }
        if (req->match_window_minutes() < 0 || req->match_window_minutes() > 24 * 60) {
          return FieldError("match_window_minutes", "0..1440 (0: the default, 30)");
        }
        absl::Duration window = req->match_window_minutes() == 0
                                    ? kDefaultMatchWindow
                                    : absl::Minutes(req->match_window_minutes());
        struct Call {
          absl::Time at;
          std::string hash;
          int duration;
        };
        std::vector<Call> calls;
        for (int i = 0; i < req->calls_size(); ++i) {
          const auto& c = req->calls(i);
          std::string field = absl::StrCat("calls[", i, "]");
          if (!c.has_call_time()) return FieldError(field + ".call_time", "required");
          WUYE_ASSIGN_OR_RETURN(absl::Time at, RequestTime(c.call_time(), field + ".call_time"));
          if (at > rc.now) return FieldError(field + ".call_time", "must not be in the future");
          if (c.duration_seconds() < 0)
            return FieldError(field + ".duration_seconds", "must be >= 0");
          WUYE_ASSIGN_OR_RETURN(std::string digits,
                                NormalizeCallerPhone(c.caller_phone(), field + ".caller_phone"));
          calls.push_back({at, HashPhone(phone_key_, digits), c.duration_seconds()});
        }
        WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          // A call's day is the estate's local day: a tenant's lease and a move-out day are.
          auto estate = store_.GetEstate(tx, rc.caller.group_id, req->estate_id());
          absl::TimeZone zone = EstateZone(estate ? estate->time_zone : "");
          resp->set_calls(static_cast<int>(calls.size()));
          for (const auto& c : calls) {
            if (c.duration == 0) {
              resp->set_skipped(resp->skipped() + 1);
              continue;
            }
            if (store_.HotlineTicketNear(tx, rc.caller.group_id, req->estate_id(), c.hash,
                                         c.at - window, c.at + window)) {
              resp->set_matched(resp->matched() + 1);
              continue;
            }
            std::string id = NewId(rc.now);
            if (!store_.InsertUnrecordedCall(tx, rc.caller.group_id, req->estate_id(), id, c.at,
                                             c.hash, c.duration, rc.now)) {
              resp->set_already_found(resp->already_found() + 1);
              continue;
            }
            auto* finding = resp->add_findings();
            finding->set_id(id);
            *finding->mutable_call_time() = ToProtoTime(c.at);
            finding->set_duration_seconds(c.duration);
            ev::UnrecordedCall e;
            e.set_finding_id(id);
            e.set_estate_id(req->estate_id());
            *e.mutable_call_at() = finding->call_time();
            e.set_duration_seconds(c.duration);
            // Seed 000 二.5 deducts only an owner's (resident's) call: whether the number was
            // one of the estate's residents' on the call's day (not moved out or removed by
            // then; a tenant within the lease), as the directory's events told intake; left
            // unset (performance reviews it) while intake knows no resident of the estate.
            std::string call_day = absl::FormatCivilTime(absl::ToCivilDay(c.at, zone));
            if (auto resident = store_.ResidentPhone(tx, rc.caller.group_id, req->estate_id(),
                                                     c.hash, c.at, call_day)) {
              e.set_caller_is_resident(*resident);
            }
            outbox_.Append(
                tx, {"intake.call.unrecorded", rc.caller.group_id, req->estate_id(), id, 0, &e},
                rc.now, rc.trace_id);
          }
          return absl::OkStatus();
        });
      });
}

}  // namespace wuye::intake
