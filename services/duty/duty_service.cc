#include "services/duty/duty_service.h"

#include <algorithm>
#include <map>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/duty/handover.h"
#include "services/duty/desk_gap.h"
#include "services/duty/notification.h"
#include "services/duty/notifier.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::duty {
namespace {

using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSupervisor;
using roles::kTeamLead;

// Who reads every attendance and every task of their estates.
const std::initializer_list<std::string_view> kLeads = {kGroupAdmin, kEstateManager, kSupervisor,
                                                        kTeamLead};

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

// The caller's staff id: the token's subject, which must be one.
absl::Status RequireStaffId(const RequestContext& rc) {
  if (IsValidId(rc.caller.subject)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(rc.method, ": the token names no staff member"));
}

// The caller's roles as directory roles.
std::vector<int> CallerRoles(const Caller& c) {
  std::vector<int> out;
  for (const std::string& name : c.roles) {
    if (auto r = RoleOfName(name)) out.push_back(*r);
  }
  return out;
}

// The highest level of the ladder the caller holds (0 for none).
int CallerLevel(const Caller& c) {
  int level = 0;
  for (int r : CallerRoles(c)) level = std::max(level, LevelOf(static_cast<ev::StaffRole>(r)));
  if (c.HasRole(kGroupAdmin)) level = 3;
  return level;
}

// Whether the caller sees `task` (it is of one of their estates): their roles' tasks, their
// own, or every task for team leads and above.
bool Sees(const Caller& c, const pb::Task& t) {
  if (!c.CanSeeEstate(t.estate_id())) return false;
  if (c.HasAnyRole(kLeads)) return true;
  for (int r : CallerRoles(c)) {
    if (r == t.role()) return true;
  }
  return std::find(t.assignee_ids().begin(), t.assignee_ids().end(), c.subject) !=
             t.assignee_ids().end() ||
         t.acknowledged_by() == c.subject;
}

absl::Status CheckRole(ev::StaffRole role, absl::string_view field) {
  if (role == ev::STAFF_ROLE_UNSPECIFIED) return FieldError(field, "required");
  if (!IsDutyRole(role)) return FieldError(field, "not a role one is on duty in");
  return absl::OkStatus();
}

absl::StatusOr<IdPage> PageOf(int32_t size, const std::string& token, const std::string& filters,
                              PageRequest* page) {
  WUYE_ASSIGN_OR_RETURN(*page, ParseIdPage(size, token, filters));
  return IdPage{page->after, page->size + 1};
}

}  // namespace

DutyServiceImpl::DutyServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                                 absl::Duration watch_poll)
    : db_(db),
      store_(db),
      outbox_(db, "duty"),
      flow_(store_, outbox_),
      rpc_("duty", verifier, clock),
      clock_(clock),
      watch_poll_(watch_poll),
      changes_(db.options().url),
      handover_store_(db),
      handover_flow_(store_, handover_store_, outbox_) {}

// ---- who is on duty ---------------------------------------------------------------------------

grpc::Status DutyServiceImpl::CheckIn(Ctx* ctx, const pb::CheckInRequest* req,
                                      pb::Attendance* resp) {
  return rpc_.Run(ctx, "CheckIn", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckRole(req->role(), "role"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(RequireStaffId(rc));
    if (!rc.caller.HasRole(RoleName(req->role()))) {
      return absl::PermissionDeniedError("role: not a role of the caller's");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      // The directory's word, once its copy has the person: the role must be theirs.
      if (auto held = store_.StaffRoles(tx, group, rc.caller.subject);
          held && std::find(held->begin(), held->end(), req->role()) == held->end()) {
        return absl::PermissionDeniedError("role: the directory gives the caller no such role");
      }
      pb::Attendance a;
      a.set_id(NewId(rc.now));
      a.set_estate_id(req->estate_id());
      a.set_staff_id(rc.caller.subject);
      a.set_role(req->role());
      *a.mutable_check_in_time() = ToProtoTime(rc.now);
      a.set_note(req->note());
      if (!store_.CheckIn(tx, group, a)) {
        return Refused("already checked in at this estate", "ALREADY_CHECKED_IN");
      }
      handover_flow_.ArmDailyLog(tx, group, a.estate_id(), a.staff_id(), rc.now);
      ev::AttendanceChanged p;
      p.set_attendance_id(a.id());
      p.set_estate_id(a.estate_id());
      p.set_staff_id(a.staff_id());
      p.set_role(a.role());
      *p.mutable_check_in_time() = a.check_in_time();
      outbox_.Append(tx,
                     {.type = "duty.attendance.checked_in",
                      .group_id = group,
                      .estate_id = a.estate_id(),
                      .subject = a.id(),
                      .subject_version = 1,
                      .payload = &p},
                     rc.now, rc.trace_id);
      // An agent at the desk ends its gap (000_… 二.5; desk_gap.h).
      if (a.role() == ev::STAFF_ROLE_AGENT) {
        CloseDeskGap(flow_, tx, group, a.estate_id(), a.id(), rc.now, rc.trace_id);
      }
      *resp = a;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::CheckOut(Ctx* ctx, const pb::CheckOutRequest* req,
                                       pb::Attendance* resp) {
  return rpc_.Run(ctx, "CheckOut", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    WUYE_RETURN_IF_ERROR(RequireStaffId(rc));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto a = store_.CheckOut(tx, group, req->estate_id(), rc.caller.subject, rc.now, req->note());
      if (!a) return Refused("not checked in at this estate", "NOT_CHECKED_IN");
      ev::AttendanceChanged p;
      p.set_attendance_id(a->id());
      p.set_estate_id(a->estate_id());
      p.set_staff_id(a->staff_id());
      p.set_role(a->role());
      *p.mutable_check_in_time() = a->check_in_time();
      *p.mutable_check_out_time() = a->check_out_time();
      outbox_.Append(tx,
                     {.type = "duty.attendance.checked_out",
                      .group_id = group,
                      .estate_id = a->estate_id(),
                      .subject = a->id(),
                      .subject_version = 2,
                      .payload = &p},
                     rc.now, rc.trace_id);
      *resp = *a;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::ListAttendances(Ctx* ctx, const pb::ListAttendancesRequest* req,
                                              pb::ListAttendancesResponse* resp) {
  return rpc_.Run(ctx, "ListAttendances", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->staff_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    WUYE_ASSIGN_OR_RETURN(TimeWindow window, WindowOf(*req, absl::Hours(24 * 31)));
    const absl::Time from = window.start, to = window.end;
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    bool lead = rc.caller.HasAnyRole(kLeads) || rc.caller.HasRole(kQualityInspector);
    if (!lead && (req->staff_id().empty() || req->staff_id() != rc.caller.subject)) {
      return absl::PermissionDeniedError("ListAttendances: only one's own (staff_id)");
    }
    const std::string filters =
        absl::StrCat("estate=", req->estate_id(), ";from=", req->window_start().seconds(),
                     ";to=", req->window_end().seconds(), ";staff=", req->staff_id());
    PageRequest page;
    WUYE_ASSIGN_OR_RETURN(IdPage ids, PageOf(req->page_size(), req->page_token(), filters, &page));
    return db_.Transact([&](pqxx::work& tx) {
      auto rows = store_.ListAttendances(tx, rc.caller.group_id, req->estate_id(), from, to,
                                         req->staff_id(), ids);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_attendances()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::ListOnDuty(Ctx* ctx, const pb::ListOnDutyRequest* req,
                                         pb::ListOnDutyResponse* resp) {
  return rpc_.Run(ctx, "ListOnDuty", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (req->role() != ev::STAFF_ROLE_UNSPECIFIED)
      WUYE_RETURN_IF_ERROR(CheckRole(req->role(), "role"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    absl::Time at = req->has_at() ? FromProtoTime(req->at()) : rc.now;
    // Keyed by "<role>/<staff id>": the role's number, zero-padded, sorts as the rows do.
    const std::string filters = absl::StrCat("estate=", req->estate_id(),
                                             ";at=", absl::ToUnixMicros(at), ";role=", req->role());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseSortedPage(req->page_size(), req->page_token(), filters,
                                          [](absl::string_view s) { return s.size() == 2; }));
    return db_.Transact([&](pqxx::work& tx) {
      std::vector<pb::OnDuty> rows;
      for (pb::OnDuty& d :
           store_.OnDuty(tx, rc.caller.group_id, req->estate_id(), at, req->role())) {
        std::string key = SortedPageKey(absl::StrFormat("%02d", d.role()), d.staff_id());
        if (!page.after.empty() && key <= page.after) continue;
        rows.push_back(std::move(d));
        if (static_cast<int>(rows.size()) > page.size) break;
      }
      resp->set_next_page_token(FillPageBy(
          std::move(rows), page, filters, resp->mutable_on_duty(), [](const pb::OnDuty& d) {
            return SortedPageKey(absl::StrFormat("%02d", d.role()), d.staff_id());
          }));
      return absl::OkStatus();
    });
  });
}

// ---- the desk -----------------------------------------------------------------------------------

grpc::Status DutyServiceImpl::GetDesk(Ctx* ctx, const pb::GetDeskRequest* req, pb::Desk* resp) {
  return rpc_.Run(ctx, "GetDesk", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return db_.Transact([&](pqxx::work& tx) {
      *resp = store_.GetDesk(tx, rc.caller.group_id, req->estate_id());
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::UpdateDesk(Ctx* ctx, const pb::UpdateDeskRequest* req,
                                         pb::Desk* resp) {
  return rpc_.Run(ctx, "UpdateDesk", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->desk().estate_id(), "desk.estate_id"));
    WUYE_RETURN_IF_ERROR(
        CheckUpdateMask(req->update_mask(), pb::Desk::descriptor(), {"duty_phone"}));
    WUYE_RETURN_IF_ERROR(CheckDutyPhone(req->desk().duty_phone(), "desk.duty_phone"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->desk().estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // Only duty_phone is the desk's own: with or without a mask it is the field set.
      const std::string& group = rc.caller.group_id;
      store_.PutDesk(tx, group, req->desk().estate_id(), req->desk().duty_phone(), rc.now);
      *resp = store_.GetDesk(tx, group, req->desk().estate_id());
      return absl::OkStatus();
    });
  });
}

// ---- tasks --------------------------------------------------------------------------------------

grpc::Status DutyServiceImpl::GetTask(Ctx* ctx, const pb::GetTaskRequest* req, pb::Task* resp) {
  return rpc_.Run(ctx, "GetTask", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto t = store_.GetTask(tx, rc.caller.group_id, req->id(), false);
      if (!t || !rc.caller.CanSeeEstate(t->estate_id()))
        return absl::NotFoundError("task not found");
      if (!Sees(rc.caller, *t))
        return absl::PermissionDeniedError("GetTask: not a task of the caller's");
      *resp = *t;
      return absl::OkStatus();
    });
  });
}

namespace {

absl::StatusOr<TaskFilter> FilterOf(const RequestContext& rc, const std::string& estate_id,
                                    bool mine) {
  TaskFilter f;
  if (estate_id.empty()) {
    if (!rc.caller.all_estates) return FieldError("estate_id", "required");
  } else {
    WUYE_RETURN_IF_ERROR(CheckId(estate_id, "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate_id));
  }
  f.estate_id = estate_id;
  f.mine = mine;
  f.see_all = rc.caller.HasAnyRole(kLeads);
  f.caller_roles = CallerRoles(rc.caller);
  f.caller = rc.caller.subject;
  return f;
}

}  // namespace

grpc::Status DutyServiceImpl::ListTasks(Ctx* ctx, const pb::ListTasksRequest* req,
                                        pb::ListTasksResponse* resp) {
  return rpc_.Run(ctx, "ListTasks", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_ASSIGN_OR_RETURN(TaskFilter f, FilterOf(rc, req->estate_id(), req->mine()));
    for (int s : req->states()) {
      if (!ev::TaskState_IsValid(s) || s == ev::TASK_STATE_UNSPECIFIED) {
        return FieldError("states", "not a task state");
      }
      f.states.push_back(s);
    }
    if (req->kind() != ev::TASK_KIND_UNSPECIFIED && FindKind(req->kind()) == nullptr) {
      return FieldError("kind", "not a kind of task");
    }
    f.kind = req->kind();
    if (req->role() != ev::STAFF_ROLE_UNSPECIFIED)
      WUYE_RETURN_IF_ERROR(CheckRole(req->role(), "role"));
    f.role = req->role();
    std::sort(f.states.begin(), f.states.end());
    const std::string filters =
        absl::StrCat("estate=", f.estate_id, ";states=", absl::StrJoin(f.states, ","),
                     ";kind=", f.kind, ";role=", f.role, ";mine=", f.mine);
    PageRequest page;
    WUYE_ASSIGN_OR_RETURN(IdPage ids, PageOf(req->page_size(), req->page_token(), filters, &page));
    return db_.Transact([&](pqxx::work& tx) {
      auto rows = store_.ListTasks(tx, rc.caller.group_id, f, ids);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_tasks()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::AcknowledgeTask(Ctx* ctx, const pb::AcknowledgeTaskRequest* req,
                                              pb::Task* resp) {
  return rpc_.Run(ctx, "AcknowledgeTask", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(RequireStaffId(rc));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto t = store_.GetTask(tx, group, req->id(), /*for_update=*/true);
      if (!t || !rc.caller.CanSeeEstate(t->estate_id()))
        return absl::NotFoundError("task not found");
      // The task's role, someone it was given to, or a level at or above it on the ladder.
      bool may = CallerLevel(rc.caller) >= std::max(1, LevelOf(t->role()));
      for (int r : CallerRoles(rc.caller)) may |= r == t->role();
      may |= std::find(t->assignee_ids().begin(), t->assignee_ids().end(), rc.caller.subject) !=
             t->assignee_ids().end();
      if (!may) return absl::PermissionDeniedError("AcknowledgeTask: not the task's role");
      if (t->state() == ev::TASK_STATE_DONE) return Refused("the task is done", "TASK_DONE");
      if (t->state() == ev::TASK_STATE_ACKNOWLEDGED) {
        return Refused("already acknowledged", "ALREADY_ACKNOWLEDGED");
      }
      t->set_state(ev::TASK_STATE_ACKNOWLEDGED);
      t->set_acknowledged_by(rc.caller.subject);
      *t->mutable_acknowledge_time() = ToProtoTime(rc.now);
      flow_.Acknowledged(tx, group, *t, rc.now, rc.trace_id);
      *resp = *t;
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::WatchTasks(Ctx* ctx, const pb::WatchTasksRequest* req,
                                         grpc::ServerWriter<pb::TaskUpdate>* writer) {
  return rpc_.Run(ctx, "WatchTasks", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    if (req->estate_id().empty()) return FieldError("estate_id", "required");
    WUYE_ASSIGN_OR_RETURN(TaskFilter f, FilterOf(rc, req->estate_id(), req->mine()));
    // First the tasks waiting or followed now, then every change. A change is looked for
    // again a few seconds back (a transaction that began earlier commits later) and sent
    // once per version.
    // Task id → the version sent and its update time.
    absl::flat_hash_map<std::string, std::pair<int64_t, absl::Time>> sent;
    TaskFilter open = f;
    open.states = {ev::TASK_STATE_OPEN, ev::TASK_STATE_ESCALATED, ev::TASK_STATE_ACKNOWLEDGED};
    absl::Time since = rc.now;
    // Taken before the first read, so that a change committed meanwhile wakes the loop.
    uint64_t generation = changes_.signal().Wait(req->estate_id(), 0, absl::ZeroDuration());
    std::vector<pb::Task> first;
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
      first = store_.TasksChangedSince(tx, rc.caller.group_id, open, ChangeCursor{}, 1000);
      return absl::OkStatus();
    }));
    for (pb::Task& t : first) {
      sent[t.id()] = {t.version(), FromProtoTime(t.update_time())};
      pb::TaskUpdate u;
      *u.mutable_task() = std::move(t);
      u.set_initial(true);
      if (!writer->Write(u)) return absl::OkStatus();
    }
    constexpr int kPage = 500;
    while (rc.StillWanted().ok()) {
      // Until a change of the estate or the poll's time, looking up every quarter second
      // whether the caller is still there.
      // (Real time, not the clock of the business: this is a wait, not a deadline.)
      for (absl::Time poll_at = absl::Now() + watch_poll_; rc.StillWanted().ok();) {
        uint64_t now =
            changes_.signal().Wait(req->estate_id(), generation,
                                   std::min(absl::Milliseconds(250),
                                            std::max(absl::ZeroDuration(), poll_at - absl::Now())));
        if (now != generation || absl::Now() >= poll_at) {
          generation = now;
          break;
        }
      }
      absl::Time polled = clock_.Now();
      // Every change of the window, page by page: a busy estate's five seconds may hold
      // more than one page, and the newest must not wait behind the oldest.
      ChangeCursor from{since - absl::Seconds(5), ""};
      for (bool more = true; more;) {
        std::vector<pb::Task> changed;
        WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
          changed = store_.TasksChangedSince(tx, rc.caller.group_id, f, from, kPage);
          return absl::OkStatus();
        }));
        more = changed.size() == kPage;
        if (!changed.empty()) {
          from = {FromProtoTime(changed.back().update_time()), changed.back().id()};
        }
        for (pb::Task& t : changed) {
          auto it = sent.find(t.id());
          if (it != sent.end() && it->second.first >= t.version()) continue;
          sent[t.id()] = {t.version(), FromProtoTime(t.update_time())};
          pb::TaskUpdate u;
          *u.mutable_task() = std::move(t);
          if (!writer->Write(u)) return absl::OkStatus();
        }
      }
      since = std::max(since, polled);
      // What was sent before the window can never be read again: forget it.
      absl::erase_if(sent,
                     [&](const auto& kv) { return kv.second.second < since - absl::Seconds(10); });
    }
    return absl::OkStatus();
  });
}

// ---- settings -----------------------------------------------------------------------------------

grpc::Status DutyServiceImpl::GetSettings(Ctx* ctx, const pb::GetSettingsRequest*,
                                          pb::Settings* resp) {
  return rpc_.Run(ctx, "GetSettings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    return db_.Transact([&](pqxx::work& tx) {
      *resp = EffectiveSettings(store_.GetSettings(tx, rc.caller.group_id));
      // The gateway's address is the admins' business (it may name an internal host).
      if (!rc.caller.HasRole(kGroupAdmin)) resp->clear_notification_gateway_url();
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::UpdateSettings(Ctx* ctx, const pb::UpdateSettingsRequest* req,
                                             pb::Settings* resp) {
  return rpc_.Run(ctx, "UpdateSettings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(
        CheckUpdateMask(req->update_mask(), pb::Settings::descriptor(),
                        {"ack_windows", "handover_window", "daily_log_cutoff_minute",
                         "handover_roles", "notification_gateway_url"}));
    WUYE_RETURN_IF_ERROR(CheckSettings(req->settings(), "settings"));
    WUYE_RETURN_IF_ERROR(CheckHandoverSettings(req->settings(), "settings"));
    WUYE_RETURN_IF_ERROR(CheckGatewayUrl(req->settings().notification_gateway_url(),
                                         "settings.notification_gateway_url",
                                         GatewayHttpAllowed()));
    // An update of the windows (the whole settings, or a mask naming them) names at least
    // one (the defaults back are named too), so that an empty request changes nothing by
    // mistake; a mask naming other fields only leaves them alone.
    const auto& paths = req->update_mask().paths();
    bool windows =
        paths.empty() || std::find(paths.begin(), paths.end(), "ack_windows") != paths.end();
    if (windows && req->settings().ack_windows().empty()) {
      return FieldError("settings.ack_windows", "required: at least one kind's window");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      LockForUpdate(tx, absl::StrCat("duty_settings/", rc.caller.group_id));
      pb::Settings merged = store_.GetSettings(tx, rc.caller.group_id);
      ApplyUpdateMask(req->settings(), req->update_mask(), &merged);
      store_.PutSettings(tx, rc.caller.group_id, merged, rc.now);
      handover_flow_.Rearm(tx, rc.caller.group_id, merged);
      *resp = EffectiveSettings(merged);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::duty
