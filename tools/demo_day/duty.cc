// The duty desk (值班, docs/api/duty.md) through the day: the check-ins (值班登记) of the
// people on duty now, the major complaint reaching the supervisor and the estate manager,
// the escalations of emergency orders climbing the ladder, the evening handovers
// acknowledged (交接班, 000_… 二.1), and the one work log nobody wrote (上班日志, 二.2) costing
// the office 10 points.
#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "shared/proto_time.h"
#include "shared/staff_roles.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {
namespace {

// The roles a person is on duty in at the desk, in the order a check-in takes them.
const std::vector<dirpb::StaffRole> kDeskRoles = {
    dirpb::STAFF_ROLE_ESTATE_MANAGER, dirpb::STAFF_ROLE_SUPERVISOR,
    dirpb::STAFF_ROLE_TEAM_LEAD,      dirpb::STAFF_ROLE_AGENT,
    dirpb::STAFF_ROLE_SECURITY_GUARD, dirpb::STAFF_ROLE_CARE_WORKER};

std::string RoleWord(int role) {
  return std::string(TokenRoleName(static_cast<evpb::StaffRole>(role)));
}

}  // namespace

// The people of the estate's desk and its ladder: each checks in at their first home estate
// in their first desk role — those whose roster shift covers now, and the supervisors and
// managers, who hold no shift but are on call for the ladder.
absl::Status Day::DutyMorningStep() {
  const absl::Time now = absl::Now();
  for (auto& [key, es] : estates_) {
    dirpb::ListShiftsRequest req;
    req.set_estate_id(es.id);
    *req.mutable_window_start() = ToProtoTime(At(0, 0));
    *req.mutable_window_end() = ToProtoTime(At(0, 0) + absl::Hours(72));
    req.set_page_size(1000);
    dirpb::ListShiftsResponse resp;
    WUYE_RETURN_IF_ERROR(Call("directory.ListShifts", Admin(),
                              [&](auto* ctx) { return dir_->ListShifts(ctx, req, &resp); }));
    shifts_[key].assign(resp.shifts().begin(), resp.shifts().end());
  }
  for (const auto& [name, st] : staff_) {
    if (st.home_estate_ids().empty()) continue;
    const std::string& estate = st.home_estate_ids(0);
    std::string key;
    for (const auto& [k, es] : estates_) {
      if (es.id == estate) key = k;
    }
    if (key.empty()) continue;
    int role = 0;
    for (dirpb::StaffRole r : kDeskRoles) {
      if (std::find(st.roles().begin(), st.roles().end(), r) != st.roles().end()) {
        role = r;
        break;
      }
    }
    if (role == 0) continue;
    bool on_shift = false;
    for (const dirpb::Shift& sh : shifts_[key]) {
      on_shift |= sh.staff_id() == st.id() && FromProtoTime(sh.start_time()) <= now &&
                  now < FromProtoTime(sh.end_time());
    }
    bool ladder = role == dirpb::STAFF_ROLE_SUPERVISOR || role == dirpb::STAFF_ROLE_ESTATE_MANAGER;
    if (!on_shift && !ladder) continue;
    duty::v1::CheckInRequest in;
    in.set_request_id(Rid(absl::StrCat("check-in-", st.id())));
    in.set_estate_id(estate);
    in.set_role(static_cast<evpb::StaffRole>(role));
    in.set_note("早班到岗");
    duty::v1::Attendance a;
    absl::Status s = Call("duty.CheckIn", As(RoleWord(role), name),
                          [&](auto* ctx) { return duty_->CheckIn(ctx, in, &a); });
    // A person still checked in from an earlier run of the demo is on duty already.
    if (!s.ok() && ErrorReason(s) != "ALREADY_CHECKED_IN") return s;
    ++s_.duty.checked_in;
  }
  for (auto& f : s_.estates) {
    duty::v1::ListOnDutyRequest req;
    req.set_estate_id(f.estate_id);
    req.set_page_size(1000);
    duty::v1::ListOnDutyResponse resp;
    WUYE_RETURN_IF_ERROR(Call("duty.ListOnDuty", Admin(),
                              [&](auto* ctx) { return duty_->ListOnDuty(ctx, req, &resp); }));
    std::set<std::string> people;
    for (const auto& o : resp.on_duty()) people.insert(o.staff_id());
    f.on_duty_now = static_cast<int>(people.size());
  }
  Log(absl::StrFormat("duty: %d people checked in on duty (值班登记)", s_.duty.checked_in));
  return absl::OkStatus();
}

// The major complaint of the morning (t05) reaches the supervisor and the estate manager on
// duty, one task each; the supervisor takes hers.
absl::Status Day::DutyComplaintStep() {
  auto it = s_.ticket_ids.find("t05-major-complaint");
  if (it == s_.ticket_ids.end()) return absl::OkStatus();
  const std::string ref = absl::StrCat("ticket/", it->second);
  const std::string estate = E(ticket_estate_.at("t05-major-complaint")).id;
  std::vector<duty::v1::Task> tasks;
  WUYE_RETURN_IF_ERROR(Until("the major complaint's tasks", [&]() -> absl::StatusOr<bool> {
    tasks.clear();
    duty::v1::ListTasksRequest req;
    req.set_estate_id(estate);
    req.set_kind(evpb::TASK_KIND_MAJOR_COMPLAINT);
    req.set_page_size(100);
    duty::v1::ListTasksResponse resp;
    WUYE_RETURN_IF_ERROR(Call("duty.ListTasks", Admin(),
                              [&](auto* ctx) { return duty_->ListTasks(ctx, req, &resp); }));
    for (const auto& t : resp.tasks()) {
      if (t.subject_ref() == ref) tasks.push_back(t);
    }
    return tasks.size() >= 2;
  }));
  for (const duty::v1::Task& t : tasks) {
    DaySummary::DutyTask line;
    line.title = t.title();
    line.role = RoleWord(t.role());
    for (const std::string& id : t.assignee_ids()) line.assignees.push_back(staff_names_[id]);
    if (t.role() == evpb::STAFF_ROLE_SUPERVISOR && !t.assignee_ids().empty()) {
      const std::string& who = staff_names_[t.assignee_ids(0)];
      duty::v1::AcknowledgeTaskRequest ack;
      ack.set_request_id(Rid(absl::StrCat("ack-", t.id())));
      ack.set_id(t.id());
      ack.set_note("已致电业主, 今日上门");
      duty::v1::Task done;
      absl::Status s = Call("duty.AcknowledgeTask", As("supervisor", who),
                            [&](auto* ctx) { return duty_->AcknowledgeTask(ctx, ack, &done); });
      if (!s.ok() && ErrorReason(s) != "ALREADY_ACKNOWLEDGED" && ErrorReason(s) != "TASK_DONE") {
        return s;
      }
      line.acknowledged_by = who;
    }
    s_.duty.major_complaint.push_back(line);
  }
  Log(absl::StrFormat("duty: the major complaint reached %d people on duty",
                      s_.duty.major_complaint.size()));
  return absl::OkStatus();
}

// The evening: each shift of the desk that has ended is handed over to the person of the
// next shift, who acknowledges it; the tasks of the day are counted; the work log nobody
// wrote is found at the cut-off and costs the office 10 points.
absl::Status Day::DutyEveningStep() {
  const absl::Time now = absl::Now();
  for (auto& [key, es] : estates_) {
    for (const dirpb::Shift& out : shifts_[key]) {
      absl::Time end = FromProtoTime(out.end_time());
      if (end > now) continue;
      const std::string& giver = staff_names_[out.staff_id()];
      if (!staff_.count(giver)) continue;
      // The next shift's person, one of the same post where there is one.
      const auto& held = staff_.at(giver).roles();
      const dirpb::Shift* next = nullptr;
      for (const dirpb::Shift& in : shifts_[key]) {
        if (FromProtoTime(in.start_time()) != end || in.staff_id() == out.staff_id()) continue;
        const std::string& name = staff_names_[in.staff_id()];
        bool same_post = staff_.count(name) && !held.empty() &&
                         std::find(staff_.at(name).roles().begin(), staff_.at(name).roles().end(),
                                   held[0]) != staff_.at(name).roles().end();
        if (next == nullptr || same_post) next = &in;
      }
      if (next == nullptr) continue;
      const std::string& taker = staff_names_[next->staff_id()];
      int giver_role = 0, taker_role = 0;
      for (int r : staff_.at(giver).roles()) giver_role = giver_role ? giver_role : r;
      for (int r : staff_.at(taker).roles()) taker_role = taker_role ? taker_role : r;
      duty::v1::CreateHandoverRequest req;
      req.set_request_id(Rid(absl::StrCat("handover-", out.id())));
      req.set_estate_id(es.id);
      req.set_shift_id(out.id());
      req.set_incoming_staff_id(next->staff_id());
      req.set_notes("未结工单已列出; 3栋电梯待厂家复查, 请下一班跟进");
      duty::v1::Handover h;
      absl::Status s = Call("duty.CreateHandover", As(RoleWord(giver_role), giver),
                            [&](auto* ctx) { return duty_->CreateHandover(ctx, req, &h); });
      if (!s.ok()) {
        s_.notes.push_back(absl::StrCat("handover of ", giver, ": ", s.message()));
        continue;
      }
      ++s_.duty.handovers;
      duty::v1::AcknowledgeHandoverRequest ack;
      ack.set_request_id(Rid(absl::StrCat("handover-ack-", out.id())));
      ack.set_id(h.id());
      duty::v1::Handover acked;
      s = Call("duty.AcknowledgeHandover", As(RoleWord(taker_role), taker),
               [&](auto* ctx) { return duty_->AcknowledgeHandover(ctx, ack, &acked); });
      if (s.ok() || ErrorReason(s) == "ALREADY_ACKNOWLEDGED") ++s_.duty.handovers_acknowledged;
    }
  }
  // The day's tasks, by kind and how far they got.
  for (auto& [key, es] : estates_) {
    duty::v1::ListTasksRequest req;
    req.set_estate_id(es.id);
    req.set_page_size(1000);
    duty::v1::ListTasksResponse resp;
    WUYE_RETURN_IF_ERROR(Call("duty.ListTasks", Admin(),
                              [&](auto* ctx) { return duty_->ListTasks(ctx, req, &resp); }));
    for (const auto& t : resp.tasks()) {
      DaySummary::DutyKind& k =
          s_.duty.kinds[EnumWord(evpb::TaskKind_Name(t.kind()), "TASK_KIND_")];
      ++k.raised;
      if (!t.acknowledged_by().empty()) ++k.acknowledged;
      if (t.state() == evpb::TASK_STATE_DONE) ++k.done;
      k.highest_level = std::max(k.highest_level, t.level());
    }
  }
  // The missing log (kLogMissingStaff): the office's line naming its writer.
  if (perf_) {
    std::string missing_name;
    for (const auto& sp : script_->staff()) {
      if (sp.key() == kLogMissingStaff) missing_name = sp.name();
    }
    s_.duty.log_missing_staff = missing_name;
    const std::string missing_id = staff_.count(missing_name) ? staff_.at(missing_name).id() : "";
    absl::Status found = Until("the missing work log's line", [&]() -> absl::StatusOr<bool> {
      for (const auto& f : s_.estates) {
        ppb::GetQualityLedgerRequest req;
        req.set_estate_id(f.estate_id);
        *req.mutable_period() = MonthOf(day_);
        ppb::QualityLedger ledger;
        WUYE_RETURN_IF_ERROR(Call("performance.GetQualityLedger", Admin(), [&](auto* ctx) {
          return perf_->GetQualityLedger(ctx, req, &ledger);
        }));
        for (const auto& l : ledger.lines()) {
          if (l.item() == "no_daily_log" &&
              std::find(l.responsible_staff_ids().begin(), l.responsible_staff_ids().end(),
                        missing_id) != l.responsible_staff_ids().end()) {
            s_.duty.log_missing_points = l.points();
            s_.duty.log_missing_estate = f.name;
            return true;
          }
        }
      }
      return false;
    });
    if (!found.ok()) s_.notes.push_back(std::string(found.message()));
  }
  Log(absl::StrFormat("duty: %d handovers, %d acknowledged; the missing log is %s's",
                      s_.duty.handovers, s_.duty.handovers_acknowledged,
                      s_.duty.log_missing_staff));
  return absl::OkStatus();
}

}  // namespace wuye::demo
