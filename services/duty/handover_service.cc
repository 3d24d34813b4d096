// Handlers of shift handovers (交接班, 000_… 二.1; 001_…) and daily work logs (上班日志,
// 000_… 二.2): check input and permissions, call the domain (handover.h) and the store.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/duty/duty_service.h"
#include "services/duty/handover.h"
#include "shared/civil_date.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::duty {
namespace {

// Who reads every handover and every log of their estates (001_…: the team lead reads the
// handover records; the quality inspector looks for the missing ones).
const std::initializer_list<std::string_view> kReaders = {roles::kGroupAdmin, roles::kEstateManager,
                                                          roles::kSupervisor, roles::kTeamLead,
                                                          roles::kQualityInspector};

absl::Status CallerIsStaff(const RequestContext& rc) {
  if (IsValidId(rc.caller.subject)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(rc.method, ": the token names no staff member"));
}

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

absl::StatusOr<absl::CivilDay> DayOf(const ev::CivilDate& d, absl::string_view field) {
  if (d.year() == 0 && d.month() == 0 && d.day() == 0) return FieldError(field, "required");
  std::optional<absl::CivilDay> day = CivilDayOf(d);
  if (!day) return FieldError(field, "not a day of the calendar");
  return *day;
}

}  // namespace

// The caller's shift to hand over: the one named (theirs, at the estate, kept), else the
// one running or last ended within a day; none for a duty by check-in only.
static absl::StatusOr<std::optional<ShiftRow>> ShiftToHandOver(HandoverStore& store, pqxx::work& tx,
                                                               const RequestContext& rc,
                                                               const std::string& estate,
                                                               const std::string& shift_id) {
  const std::string& group = rc.caller.group_id;
  if (shift_id.empty()) return store.ShiftNear(tx, group, estate, rc.caller.subject, rc.now);
  std::optional<ShiftRow> s = store.GetShift(tx, group, shift_id);
  if (!s || s->deleted || s->estate_id != estate) {
    return absl::NotFoundError("shift_id: no such shift at the estate");
  }
  if (s->staff_id != rc.caller.subject) {
    return absl::PermissionDeniedError("shift_id: not the caller's shift");
  }
  return s;
}

grpc::Status DutyServiceImpl::DraftHandover(Ctx* ctx, const pb::DraftHandoverRequest* req,
                                            pb::Handover* resp) {
  return rpc_.Run(ctx, "DraftHandover", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->shift_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->shift_id(), "shift_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(CallerIsStaff(rc));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(
          std::optional<ShiftRow> shift,
          ShiftToHandOver(handover_store_, tx, rc, req->estate_id(), req->shift_id()));
      resp->set_estate_id(req->estate_id());
      resp->set_outgoing_staff_id(rc.caller.subject);
      if (shift) {
        resp->set_shift_id(shift->id);
        *resp->mutable_shift_end_time() = ToProtoTime(shift->end);
      }
      for (std::string& ref :
           handover_store_.OpenRefsOf(tx, group, req->estate_id(), rc.caller.subject)) {
        resp->add_open_refs(std::move(ref));
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::CreateHandover(Ctx* ctx, const pb::CreateHandoverRequest* req,
                                             pb::Handover* resp) {
  return rpc_.Run(ctx, "CreateHandover", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->shift_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->shift_id(), "shift_id"));
    if (req->incoming_staff_id().empty()) return FieldError("incoming_staff_id", "required");
    WUYE_RETURN_IF_ERROR(CheckId(req->incoming_staff_id(), "incoming_staff_id"));
    WUYE_RETURN_IF_ERROR(CheckNotes(req->notes(), "notes", /*required=*/true));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(CallerIsStaff(rc));
    if (req->incoming_staff_id() == rc.caller.subject) {
      return FieldError("incoming_staff_id", "someone other than the caller");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      if (!store_.StaffRoles(tx, group, req->incoming_staff_id())) {
        return absl::NotFoundError("incoming_staff_id: no such staff member");
      }
      WUYE_ASSIGN_OR_RETURN(
          std::optional<ShiftRow> shift,
          ShiftToHandOver(handover_store_, tx, rc, req->estate_id(), req->shift_id()));
      pb::Handover h;
      h.set_id(NewId(rc.now));
      h.set_estate_id(req->estate_id());
      if (shift) {
        h.set_shift_id(shift->id);
        *h.mutable_shift_end_time() = ToProtoTime(shift->end);
      }
      h.set_outgoing_staff_id(rc.caller.subject);
      h.set_incoming_staff_id(req->incoming_staff_id());
      h.set_notes(req->notes());
      // Recorded as they are now; tickets keep their first-contact owner (首接负责制).
      for (std::string& ref :
           handover_store_.OpenRefsOf(tx, group, req->estate_id(), rc.caller.subject)) {
        h.add_open_refs(std::move(ref));
      }
      *h.mutable_handover_time() = ToProtoTime(rc.now);
      if (!handover_store_.InsertHandover(tx, group, h)) {
        return Refused("the shift was handed over already", "ALREADY_HANDED_OVER");
      }
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::AcknowledgeHandover(Ctx* ctx,
                                                  const pb::AcknowledgeHandoverRequest* req,
                                                  pb::Handover* resp) {
  return rpc_.Run(ctx, "AcknowledgeHandover", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->note(), "note"));
    WUYE_RETURN_IF_ERROR(CallerIsStaff(rc));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto h = handover_store_.GetHandover(tx, group, req->id(), /*for_update=*/true);
      if (!h || !rc.caller.CanSeeEstate(h->estate_id())) {
        return absl::NotFoundError("handover not found");
      }
      if (h->incoming_staff_id() != rc.caller.subject) {
        return absl::PermissionDeniedError("AcknowledgeHandover: only the incoming person");
      }
      if (h->has_acknowledge_time()) {
        return Refused("already acknowledged", "ALREADY_ACKNOWLEDGED");
      }
      handover_store_.Acknowledge(tx, group, h->id(), rc.now, req->note());
      *h->mutable_acknowledge_time() = ToProtoTime(rc.now);
      h->set_acknowledge_note(req->note());
      *resp = *h;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::GetHandover(Ctx* ctx, const pb::GetHandoverRequest* req,
                                          pb::Handover* resp) {
  return rpc_.Run(ctx, "GetHandover", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto h = handover_store_.GetHandover(tx, rc.caller.group_id, req->id(), false);
      if (!h || !rc.caller.CanSeeEstate(h->estate_id())) {
        return absl::NotFoundError("handover not found");
      }
      bool party = h->outgoing_staff_id() == rc.caller.subject ||
                   h->incoming_staff_id() == rc.caller.subject;
      if (!party && !rc.caller.HasAnyRole(kReaders)) {
        return absl::PermissionDeniedError("GetHandover: not a handover of the caller's");
      }
      *resp = *h;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::ListHandovers(Ctx* ctx, const pb::ListHandoversRequest* req,
                                            pb::ListHandoversResponse* resp) {
  return rpc_.Run(ctx, "ListHandovers", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->staff_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    WUYE_ASSIGN_OR_RETURN(TimeWindow window, WindowOf(*req, absl::Hours(24 * 31)));
    const absl::Time from = window.start, to = window.end;
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!rc.caller.HasAnyRole(kReaders) &&
        (req->staff_id().empty() || req->staff_id() != rc.caller.subject)) {
      return absl::PermissionDeniedError("ListHandovers: only one's own (staff_id)");
    }
    const std::string filters =
        absl::StrCat("estate=", req->estate_id(), ";from=", absl::ToUnixMicros(from),
                     ";to=", absl::ToUnixMicros(to), ";staff=", req->staff_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) {
      auto rows = handover_store_.ListHandovers(tx, rc.caller.group_id, req->estate_id(), from, to,
                                                req->staff_id(), IdPage{page.after, page.size + 1});
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_handovers()));
      return absl::OkStatus();
    });
  });
}

// ---- the daily log ------------------------------------------------------------------------------

grpc::Status DutyServiceImpl::GetDailyLog(Ctx* ctx, const pb::GetDailyLogRequest* req,
                                          pb::DailyLog* resp) {
  return rpc_.Run(ctx, "GetDailyLog", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    std::string staff = req->staff_id().empty() ? rc.caller.subject : req->staff_id();
    if (!req->staff_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(req->day(), "day"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (staff != rc.caller.subject && !rc.caller.HasAnyRole(kReaders)) {
      return absl::PermissionDeniedError("GetDailyLog: only one's own (staff_id)");
    }
    WUYE_RETURN_IF_ERROR(CheckId(staff, "staff_id"));
    return db_.Transact([&](pqxx::work& tx) {
      *resp = handover_store_.GetDailyLog(tx, rc.caller.group_id, req->estate_id(), staff, day);
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::UpdateDailyLog(Ctx* ctx, const pb::UpdateDailyLogRequest* req,
                                             pb::DailyLog* resp) {
  return rpc_.Run(ctx, "UpdateDailyLog", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(
        CheckUpdateMask(req->update_mask(), pb::DailyLog::descriptor(), {"notes"}));
    const pb::DailyLog& log = req->daily_log();
    WUYE_RETURN_IF_ERROR(CheckId(log.estate_id(), "daily_log.estate_id"));
    if (!log.staff_id().empty())
      WUYE_RETURN_IF_ERROR(CheckId(log.staff_id(), "daily_log.staff_id"));
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(log.day(), "daily_log.day"));
    WUYE_RETURN_IF_ERROR(CheckNotes(log.notes(), "daily_log.notes", /*required=*/true));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(log.estate_id()));
    WUYE_RETURN_IF_ERROR(CallerIsStaff(rc));
    if (!log.staff_id().empty() && log.staff_id() != rc.caller.subject) {
      return absl::PermissionDeniedError("daily_log.staff_id: one writes only one's own log");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      absl::CivilDay today = LocalDay(rc.now, handover_flow_.ZoneOf(tx, group, log.estate_id()));
      if (day > today) return FieldError("daily_log.day", "not in the future");
      if (day < today - 31) return FieldError("daily_log.day", "at most 31 days back");
      handover_store_.PutDailyLogNotes(tx, group, log.estate_id(), rc.caller.subject, day,
                                       log.notes(), rc.now);
      *resp = handover_store_.GetDailyLog(tx, group, log.estate_id(), rc.caller.subject, day);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::duty
