#include "services/performance/consumers.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/auth.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::performance {
namespace {

namespace dir = ::wuye::directory::v1;
namespace ev = ::wuye::events::v1;
using wuye::common::v1::Satisfaction;

template <class T>
bool Unpack(const ev::Event& e, T* out) {
  return e.payload().UnpackTo(out);
}

std::string_view RoleName(dir::StaffRole role) {
  switch (role) {
    case dir::STAFF_ROLE_AGENT:
      return roles::kAgent;
    case dir::STAFF_ROLE_TEAM_LEAD:
      return roles::kTeamLead;
    case dir::STAFF_ROLE_SUPERVISOR:
      return roles::kSupervisor;
    case dir::STAFF_ROLE_ESTATE_MANAGER:
      return roles::kEstateManager;
    case dir::STAFF_ROLE_TECHNICIAN:
      return roles::kTechnician;
    case dir::STAFF_ROLE_CLEANER:
      return roles::kCleaner;
    case dir::STAFF_ROLE_GARDENER:
      return roles::kGardener;
    case dir::STAFF_ROLE_SECURITY_GUARD:
      return roles::kSecurityGuard;
    case dir::STAFF_ROLE_CARE_WORKER:
      return roles::kCareWorker;
    case dir::STAFF_ROLE_FINANCE_CLERK:
      return roles::kFinanceClerk;
    case dir::STAFF_ROLE_QUALITY_INSPECTOR:
      return roles::kQualityInspector;
    case dir::STAFF_ROLE_GROUP_ADMIN:
      return roles::kGroupAdmin;
    default:
      return "";
  }
}

// Evidence of one event, built up line by line.
class Builder {
 public:
  Builder(const ev::Event& e, const std::map<std::string, int32_t>& points, absl::TimeZone tz,
          const std::string& estate)
      : e_(e),
        points_(points),
        estate_(estate),
        at_(EvidenceTime(e)),
        period_(MonthDate(MonthOf(at_, tz))) {}

  // One office quality line of `item` for this event, naming each valid, distinct staff
  // id as responsible.
  template <class Ids>
  QualityEvidence& Quality(std::string_view item, const Ids& staff) {
    auto it = points_.find(std::string(item));
    QualityEvidence q;
    q.line.estate_id = estate_;
    q.line.period = period_;
    q.line.item = std::string(item);
    q.line.points = it == points_.end() ? 0 : it->second;
    q.line.source_event_id = e_.event_id();
    q.line.at = at_;
    q.line.responsible = Distinct(staff);
    out_.quality.push_back(std::move(q));
    return out_.quality.back();
  }
  FindingDraft& Finding() {
    out_.findings.emplace_back();
    FindingDraft& f = out_.findings.back();
    f.estate_id = estate_;
    f.period = period_;
    f.call_at = at_;
    f.source_event_id = e_.event_id();
    return f;
  }
  FactDelta& Fact(const std::string& staff) {
    FactDelta f;
    f.staff_id = IsValidId(staff) ? staff : kNilId;
    f.estate_id = estate_;
    f.period = period_;
    out_.facts.push_back(std::move(f));
    return out_.facts.back();
  }
  template <class Ids>
  std::vector<std::string> Distinct(const Ids& ids) {
    std::set<std::string> seen;
    std::vector<std::string> out;
    for (const std::string& id : ids) {
      if (IsValidId(id) && seen.insert(id).second) out.push_back(id);
    }
    return out;
  }
  Evidence Take() { return std::move(out_); }

 private:
  const ev::Event& e_;
  const std::map<std::string, int32_t>& points_;
  std::string estate_;
  absl::Time at_;
  std::string period_;
  Evidence out_;
};

std::string EstateOf(const ev::Event& e, const std::string& payload_estate) {
  if (IsValidId(payload_estate)) return payload_estate;
  return IsValidId(e.estate_id()) ? e.estate_id() : "";
}

bool Unsatisfied(Satisfaction s) {
  return s == wuye::common::v1::SATISFACTION_UNSATISFIED ||
         s == wuye::common::v1::SATISFACTION_VERY_UNSATISFIED;
}
bool Satisfied(Satisfaction s) {
  return s == wuye::common::v1::SATISFACTION_SATISFIED ||
         s == wuye::common::v1::SATISFACTION_VERY_SATISFIED;
}

}  // namespace

absl::Time EvidenceTime(const ev::Event& e) {
  auto t = [&](const google::protobuf::Timestamp& ts) {
    return ts.seconds() != 0 ? FromProtoTime(ts) : FromProtoTime(e.occurred_at());
  };
  const std::string& type = e.type();
  if (type == "intake.call.unrecorded") {
    ev::UnrecordedCall p;
    if (Unpack(e, &p)) return t(p.call_at());
  } else if (type == "intake.callback.recorded") {
    ev::CallbackRecorded p;
    if (Unpack(e, &p)) return t(p.called_at());
  } else if (type == "intake.complaint.verified") {
    ev::ComplaintVerified p;
    if (Unpack(e, &p)) return t(p.verified_at());
  } else if (absl::StartsWith(type, "dispatch.")) {
    ev::WorkOrderChanged p;
    if (Unpack(e, &p)) return t(p.at());
  }
  return FromProtoTime(e.occurred_at());
}

Evidence EvidenceOf(const ev::Event& e, const std::map<std::string, int32_t>& points,
                    absl::TimeZone tz) {
  const std::string& type = e.type();
  if (type == "intake.call.unrecorded") {
    ev::UnrecordedCall p;
    if (!Unpack(e, &p)) return {};
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    if (!IsValidId(p.finding_id())) return {};
    Builder b(e, points, tz, estate);
    b.Fact(kNilId).unrecorded_calls = 1;
    FindingDraft& f = b.Finding();
    f.id = p.finding_id();
    f.duration_seconds = p.duration_seconds();
    f.caller = !p.has_caller_is_resident() ? pb::CALLER_KIND_UNSPECIFIED
               : p.caller_is_resident()    ? pb::CALLER_KIND_RESIDENT
                                           : pb::CALLER_KIND_NOT_RESIDENT;
    // 000_…, 二.5: only an owner's (resident's) call in the carrier's log costs the office
    // and the agents on duty; any other is a finding to review.
    if (f.caller != pb::CALLER_KIND_RESIDENT) {
      f.state = pb::FINDING_STATE_TO_REVIEW;
      return b.Take();
    }
    f.state = pb::FINDING_STATE_DEDUCTED;
    f.quality_item = std::string(kCallUnrecorded);
    b.Quality(kCallUnrecorded, p.staff_ids()).on_duty = true;
    return b.Take();
  }
  if (type == "intake.callback.recorded") {
    ev::CallbackRecorded p;
    if (!Unpack(e, &p)) return {};
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    Builder b(e, points, tz, estate);
    b.Fact(p.agent_id()).callbacks_made = 1;
    for (const std::string& w : b.Distinct(p.worker_ids())) {
      FactDelta& f = b.Fact(w);
      f.callbacks_rated = 1;
      f.callbacks_satisfied = Satisfied(p.satisfaction()) ? 1 : 0;
      f.callbacks_unsatisfied = Unsatisfied(p.satisfaction()) ? 1 : 0;
    }
    if (Unsatisfied(p.satisfaction()) && !p.paid()) b.Quality(kServiceUnsatisfied, p.worker_ids());
    return b.Take();
  }
  if (type == "intake.complaint.verified") {
    ev::ComplaintVerified p;
    if (!Unpack(e, &p) || !IsValidId(p.staff_id())) return {};
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    Builder b(e, points, tz, estate);
    b.Fact(p.staff_id()).complaints_against = 1;
    b.Quality(kComplaintVerified, std::vector<std::string>{p.staff_id()});
    return b.Take();
  }
  if (type == "intake.ticket.changed" || type == "intake.ticket.created") {
    ev::TicketChanged p;
    if (!Unpack(e, &p) || p.state() != ev::TICKET_STATE_CLOSED ||
        p.previous_state() == ev::TICKET_STATE_CLOSED) {
      return {};
    }
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    Builder b(e, points, tz, estate);
    FactDelta& f = b.Fact(p.owner_id());
    f.requests_handled = 1;
    f.tickets_closed = 1;
    return b.Take();
  }
  if (type == "dispatch.work_order.signature_missing" || type == "dispatch.work_order.completed" ||
      type == "dispatch.sla.breached") {
    ev::WorkOrderChanged p;
    if (!Unpack(e, &p)) return {};
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    Builder b(e, points, tz, estate);
    std::vector<std::string> workers = b.Distinct(p.worker_ids());
    if (type == "dispatch.work_order.signature_missing") {
      b.Quality(kWorkUnsigned, workers);
    } else if (type == "dispatch.work_order.completed") {
      // A miss is counted by dispatch.sla.breached; a completion counts the hit.
      bool hit = p.has_sla_deadline() && p.sla_met();
      for (const std::string& w : workers) {
        FactDelta& f = b.Fact(w);
        f.requests_handled = 1;
        f.sla_hits = hit ? 1 : 0;
      }
      if (workers.empty() && hit) b.Fact(kNilId).sla_hits = 1;
    } else {
      for (const std::string& w : workers) b.Fact(w).sla_misses = 1;
      if (workers.empty()) b.Fact(kNilId).sla_misses = 1;
    }
    return b.Take();
  }
  return {};
}

absl::Status ApplyEvidence(pqxx::work& tx, PerformanceStore& store, const std::string& group,
                           std::vector<Evidence> batch) {
  std::vector<QualityDraft> quality;
  std::vector<LineDraft> lines;
  std::vector<FindingDraft> findings;
  std::vector<FactDelta> facts;
  std::optional<std::map<std::string, FormTarget>> targets;  // office item → form item
  for (Evidence& ev : batch) {
    for (QualityEvidence& q : ev.quality) {
      if (q.on_duty && q.line.responsible.empty()) {
        q.line.responsible = store.AgentsOnDuty(tx, group, q.line.estate_id, q.line.at);
      }
      if (!targets) targets = store.FormTargets(tx, group);
      auto t = targets->find(q.line.item);
      if (t != targets->end()) {
        for (const std::string& staff : q.line.responsible) {
          LineDraft l;
          l.id = NewId(q.line.at);
          l.staff_id = staff;
          l.estate_id = q.line.estate_id;
          l.period = q.line.period;
          l.rule = t->second.code;
          l.points = t->second.points;
          l.source_event_id = q.line.source_event_id;
          l.note = q.line.note;
          l.entered_by = q.line.entered_by;
          l.at = q.line.at;
          l.quality_item = q.line.item;
          l.pending = q.line.state == pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION;
          lines.push_back(std::move(l));
        }
      }
      quality.push_back(std::move(q.line));
    }
    for (LineDraft& l : ev.lines) lines.push_back(std::move(l));
    for (FindingDraft& f : ev.findings) findings.push_back(std::move(f));
    for (FactDelta& f : ev.facts) facts.push_back(std::move(f));
  }
  store.InsertFindings(tx, group, findings);
  store.ApplyQuality(tx, group, quality);
  store.ApplyLines(tx, group, lines);
  store.AddFacts(tx, group, facts);
  return absl::OkStatus();
}

namespace {

class Handler {
 public:
  explicit Handler(Db& db) : store_(db) {}

  absl::Status Apply(pqxx::work& tx, const ev::Event& e) {
    const std::string& type = e.type();
    const std::string& group = e.group_id();
    if (!IsValidId(group)) return absl::OkStatus();  // platform events concern no sheet
    if (type == "directory.estate.created" || type == "directory.estate.updated") {
      dir::Estate estate;
      if (!Unpack(e, &estate)) return Unreadable(e);
      if (IsValidId(estate.id())) {
        store_.UpsertEstate(tx, group, estate.id(), estate.time_zone(), estate.version());
      }
      return absl::OkStatus();
    }
    if (type == "directory.staff.created" || type == "directory.staff.updated") {
      dir::Staff staff;
      if (!Unpack(e, &staff)) return Unreadable(e);
      if (!IsValidId(staff.id())) return absl::OkStatus();
      StaffCopy copy;
      copy.id = staff.id();
      copy.active = staff.active();
      for (int r : staff.roles()) {
        std::string_view name = RoleName(static_cast<dir::StaffRole>(r));
        if (!name.empty()) copy.roles.emplace_back(name);
      }
      for (const std::string& id : staff.home_estate_ids()) {
        if (IsValidId(id)) copy.estate_ids.push_back(id);
      }
      store_.UpsertStaff(tx, group, copy, staff.version());
      return absl::OkStatus();
    }
    if (type == "directory.shift.created") {
      dir::Shift shift;
      if (!Unpack(e, &shift)) return Unreadable(e);
      return Shift(tx, group, shift);
    }
    if (type == "directory.shift.deleted") {
      ev::ShiftDeleted deleted;
      if (!Unpack(e, &deleted)) return Unreadable(e);
      if (IsValidId(deleted.shift().id())) store_.DeleteShift(tx, group, deleted.shift().id());
      return absl::OkStatus();
    }
    if (type == "billing.collection.reported") {
      ev::CollectionReported c;
      if (!Unpack(e, &c)) return Unreadable(e);
      if (!IsValidId(c.estate_id()) || !CheckMonth(c.period(), "period").ok()) {
        return absl::OkStatus();
      }
      std::map<std::string, int32_t> points = store_.RulePoints(tx, group);
      int32_t team = ArrearsTeamPoints(c.arrears_share_bp(), points[std::string(kArrearsAbove)],
                                       points[std::string(kArrearsBelow)]);
      store_.PutCollection(tx, group, c.estate_id(), MonthDate(c.period()), c.arrears_share_bp(),
                           c.collection_rate_bp(), team, e.subject_version());
      return absl::OkStatus();
    }
    if (!absl::StartsWith(type, "intake.") && !absl::StartsWith(type, "dispatch.")) {
      return absl::OkStatus();
    }
    std::string zone = store_.EstateZone(tx, group, IsValidId(e.estate_id()) ? e.estate_id() : "");
    Evidence evidence = EvidenceOf(e, store_.RulePoints(tx, group), EstateZone(zone));
    if (evidence.quality.empty() && evidence.lines.empty() && evidence.findings.empty() &&
        evidence.facts.empty()) {
      return absl::OkStatus();
    }
    std::vector<Evidence> batch;
    batch.push_back(std::move(evidence));
    return ApplyEvidence(tx, store_, group, std::move(batch));
  }

 private:
  // Keeps the roster; a shift that arrives after a deducted call it covers charges its
  // agent too (the same evidence, so once).
  absl::Status Shift(pqxx::work& tx, const std::string& group, const dir::Shift& shift) {
    if (!IsValidId(shift.id()) || !IsValidId(shift.estate_id()) || !IsValidId(shift.staff_id()) ||
        !shift.has_start_time() || !shift.has_end_time()) {
      return absl::OkStatus();
    }
    absl::Time start = FromProtoTime(shift.start_time());
    absl::Time end = FromProtoTime(shift.end_time());
    store_.UpsertShift(tx, group, shift.id(), shift.estate_id(), shift.staff_id(), start, end);
    auto staff = store_.GetStaff(tx, group, shift.staff_id());
    if (!staff ||
        std::find(staff->roles.begin(), staff->roles.end(), roles::kAgent) == staff->roles.end()) {
      return absl::OkStatus();
    }
    auto uncharged =
        store_.FindingsInShift(tx, group, shift.estate_id(), shift.staff_id(), start, end);
    if (uncharged.empty()) return absl::OkStatus();
    std::map<std::string, FormTarget> targets = store_.FormTargets(tx, group);
    std::vector<LineDraft> lines;
    for (const auto& u : uncharged) {
      store_.AddResponsible(tx, group, u.quality_line_id, shift.staff_id());
      auto t = targets.find(u.item);
      if (t == targets.end()) continue;
      LineDraft l;
      l.id = NewId(u.call_at);
      l.staff_id = shift.staff_id();
      l.estate_id = shift.estate_id();
      l.period = u.period;
      l.rule = t->second.code;
      l.points = t->second.points;
      l.source_event_id = u.source_event_id;
      l.at = u.call_at;
      l.quality_line_id = u.quality_line_id;
      lines.push_back(std::move(l));
    }
    store_.ApplyLines(tx, group, lines);
    return absl::OkStatus();
  }

  static absl::Status Unreadable(const ev::Event& e) {
    return absl::InvalidArgumentError(absl::StrCat(e.type(), ": unreadable payload"));
  }

  PerformanceStore store_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) { return handler->Apply(tx, event); };
}

}  // namespace wuye::performance
