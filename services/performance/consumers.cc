#include "services/performance/consumers.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "shared/auth.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::performance {
namespace {

namespace ev = ::wuye::events::v1;
using wuye::common::v1::Satisfaction;

std::string_view RoleName(ev::StaffRole role) {
  switch (role) {
    case ev::STAFF_ROLE_AGENT:
      return roles::kAgent;
    case ev::STAFF_ROLE_TEAM_LEAD:
      return roles::kTeamLead;
    case ev::STAFF_ROLE_SUPERVISOR:
      return roles::kSupervisor;
    case ev::STAFF_ROLE_ESTATE_MANAGER:
      return roles::kEstateManager;
    case ev::STAFF_ROLE_TECHNICIAN:
      return roles::kTechnician;
    case ev::STAFF_ROLE_CLEANER:
      return roles::kCleaner;
    case ev::STAFF_ROLE_GARDENER:
      return roles::kGardener;
    case ev::STAFF_ROLE_SECURITY_GUARD:
      return roles::kSecurityGuard;
    case ev::STAFF_ROLE_CARE_WORKER:
      return roles::kCareWorker;
    case ev::STAFF_ROLE_FINANCE_CLERK:
      return roles::kFinanceClerk;
    case ev::STAFF_ROLE_QUALITY_INSPECTOR:
      return roles::kQualityInspector;
    case ev::STAFF_ROLE_GROUP_ADMIN:
      return roles::kGroupAdmin;
    default:
      return "";
  }
}

// Evidence of one event, built up line by line.
class Builder {
 public:
  Builder(const ev::Event& e, const Points& points, absl::TimeZone tz, const std::string& estate,
          absl::Time at)
      : e_(e), points_(points), estate_(estate), at_(at), period_(MonthDate(MonthOf(at_, tz))) {}

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
  const Points& points_;
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

// The time the evidence happened at: the payload's own time, else the event's.
absl::Time TimeOf(const google::protobuf::Timestamp& ts, const ev::Event& e) {
  return ts.seconds() != 0 ? FromProtoTime(ts) : FromProtoTime(e.occurred_at());
}

Evidence UnrecordedCallEvidence(const ev::Event& e, const ev::UnrecordedCall& p,
                                const Points& points, absl::TimeZone tz) {
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  if (!IsValidId(p.finding_id())) return {};
  Builder b(e, points, tz, estate, TimeOf(p.call_at(), e));
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

Evidence CallbackEvidence(const ev::Event& e, const ev::CallbackRecorded& p, const Points& points,
                          absl::TimeZone tz) {
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, TimeOf(p.called_at(), e));
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

Evidence ComplaintEvidence(const ev::Event& e, const ev::ComplaintVerified& p, const Points& points,
                           absl::TimeZone tz) {
  if (!IsValidId(p.staff_id())) return {};
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, TimeOf(p.verified_at(), e));
  b.Fact(p.staff_id()).complaints_against = 1;
  b.Quality(kComplaintVerified, std::vector<std::string>{p.staff_id()});
  return b.Take();
}

// A ticket closed now (not one that was closed already) is a request its owner handled.
Evidence ClosureEvidence(const ev::Event& e, const ev::TicketChanged& p, const Points& points,
                         absl::TimeZone tz) {
  if (p.state() != ev::TICKET_STATE_CLOSED || p.previous_state() == ev::TICKET_STATE_CLOSED) {
    return {};
  }
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, FromProtoTime(e.occurred_at()));
  FactDelta& f = b.Fact(p.owner_id());
  f.requests_handled = 1;
  f.tickets_closed = 1;
  return b.Take();
}

Evidence UnsignedWorkEvidence(const ev::Event& e, const ev::WorkOrderChanged& p,
                              const Points& points, absl::TimeZone tz) {
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, TimeOf(p.at(), e));
  b.Quality(kWorkUnsigned, p.worker_ids());
  return b.Take();
}

// A miss is counted by dispatch.sla.breached; a completion counts the hit.
Evidence CompletionEvidence(const ev::Event& e, const ev::WorkOrderChanged& p, const Points& points,
                            absl::TimeZone tz) {
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, TimeOf(p.at(), e));
  std::vector<std::string> workers = b.Distinct(p.worker_ids());
  bool hit = p.has_sla_deadline() && p.sla_met();
  for (const std::string& w : workers) {
    FactDelta& f = b.Fact(w);
    f.requests_handled = 1;
    f.sla_hits = hit ? 1 : 0;
  }
  if (workers.empty() && hit) b.Fact(kNilId).sla_hits = 1;
  return b.Take();
}

Evidence SlaBreachEvidence(const ev::Event& e, const ev::WorkOrderChanged& p, const Points& points,
                           absl::TimeZone tz) {
  std::string estate = EstateOf(e, p.estate_id());
  if (estate.empty()) return {};
  Builder b(e, points, tz, estate, TimeOf(p.at(), e));
  std::vector<std::string> workers = b.Distinct(p.worker_ids());
  for (const std::string& w : workers) b.Fact(w).sla_misses = 1;
  if (workers.empty()) b.Fact(kNilId).sla_misses = 1;
  return b.Take();
}

// The evidence readers: one route per type that is evidence, the payload unpacked as the
// message the type carries (a payload of another message is refused: shared/event_router.h).
using EvidenceRouter = BasicEventRouter<Evidence&, const Points&, absl::TimeZone>;

template <class T>
EvidenceRouter::TypedHandler<T> Reader(Evidence (*of)(const ev::Event&, const T&, const Points&,
                                                      absl::TimeZone)) {
  return [of](Evidence& out, const Points& points, absl::TimeZone tz, const ev::Event& e,
              const T& payload) {
    out = of(e, payload, points, tz);
    return absl::OkStatus();
  };
}

const EvidenceRouter& EvidenceReaders() {
  static const EvidenceRouter* const readers = [] {
    auto* r = new EvidenceRouter;
    r->On<ev::UnrecordedCall>("intake.call.unrecorded", Reader(&UnrecordedCallEvidence))
        .On<ev::CallbackRecorded>("intake.callback.recorded", Reader(&CallbackEvidence))
        .On<ev::ComplaintVerified>("intake.complaint.verified", Reader(&ComplaintEvidence))
        .On<ev::TicketChanged>({"intake.ticket.created", "intake.ticket.changed"},
                               Reader(&ClosureEvidence))
        .On<ev::WorkOrderChanged>("dispatch.work_order.signature_missing",
                                  Reader(&UnsignedWorkEvidence))
        .On<ev::WorkOrderChanged>("dispatch.work_order.completed", Reader(&CompletionEvidence))
        .On<ev::WorkOrderChanged>("dispatch.sla.breached", Reader(&SlaBreachEvidence));
    return r;
  }();
  return *readers;
}

}  // namespace

bool IsEvidence(absl::string_view type) { return EvidenceReaders().Routes(type); }

absl::StatusOr<Evidence> EvidenceOf(const ev::Event& e, const Points& points, absl::TimeZone tz) {
  Evidence out;
  WUYE_RETURN_IF_ERROR(EvidenceReaders().Apply(out, points, tz, e));
  return out;
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
  explicit Handler(Db& db) : store_(db) {
    router_.On({"directory.estate.created", "directory.estate.updated"}, this, &Handler::Estate)
        .On({"directory.staff.created", "directory.staff.updated"}, this, &Handler::Staff)
        .On("directory.shift.created", this, &Handler::Shift)
        .On("directory.shift.deleted", this, &Handler::ShiftDeleted)
        .On("billing.collection.reported", this, &Handler::Collection);
  }
  Handler(const Handler&) = delete;  // the routes point at this handler
  Handler& operator=(const Handler&) = delete;

  // Evidence events are scored (EvidenceOf); the others keep performance's copies.
  absl::Status Apply(pqxx::work& tx, const ev::Event& e) {
    if (!IsValidId(e.group_id())) return absl::OkStatus();  // platform events concern no sheet
    if (IsEvidence(e.type())) return Score(tx, e);
    return router_.Apply(tx, e);
  }

 private:
  absl::Status Score(pqxx::work& tx, const ev::Event& e) {
    const std::string& group = e.group_id();
    std::string zone = store_.EstateZone(tx, group, IsValidId(e.estate_id()) ? e.estate_id() : "");
    WUYE_ASSIGN_OR_RETURN(Evidence evidence,
                          EvidenceOf(e, store_.RulePoints(tx, group), EstateZone(zone)));
    if (evidence.quality.empty() && evidence.lines.empty() && evidence.findings.empty() &&
        evidence.facts.empty()) {
      return absl::OkStatus();
    }
    std::vector<Evidence> batch;
    batch.push_back(std::move(evidence));
    return ApplyEvidence(tx, store_, group, std::move(batch));
  }

  absl::Status Estate(pqxx::work& tx, const ev::Event& e, const ev::EstateChanged& estate) {
    if (IsValidId(estate.estate_id())) {
      store_.UpsertEstate(tx, e.group_id(), estate.estate_id(), estate.time_zone(),
                          estate.version());
    }
    return absl::OkStatus();
  }

  absl::Status Staff(pqxx::work& tx, const ev::Event& e, const ev::StaffChanged& staff) {
    if (!IsValidId(staff.staff_id())) return absl::OkStatus();
    StaffCopy copy;
    copy.id = staff.staff_id();
    copy.active = staff.active();
    for (int r : staff.roles()) {
      std::string_view name = RoleName(static_cast<ev::StaffRole>(r));
      if (!name.empty()) copy.roles.emplace_back(name);
    }
    for (const std::string& id : staff.home_estate_ids()) {
      if (IsValidId(id)) copy.estate_ids.push_back(id);
    }
    store_.UpsertStaff(tx, e.group_id(), copy, staff.version());
    return absl::OkStatus();
  }

  absl::Status ShiftDeleted(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& deleted) {
    if (IsValidId(deleted.shift_id())) store_.DeleteShift(tx, e.group_id(), deleted.shift_id());
    return absl::OkStatus();
  }

  absl::Status Collection(pqxx::work& tx, const ev::Event& e, const ev::CollectionReported& c) {
    const std::string& group = e.group_id();
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

  // Keeps the roster; a shift that arrives after a deducted call it covers charges its
  // agent too (the same evidence, so once).
  absl::Status Shift(pqxx::work& tx, const ev::Event& e, const ev::ShiftChanged& shift) {
    const std::string& group = e.group_id();
    if (!IsValidId(shift.shift_id()) || !IsValidId(shift.estate_id()) ||
        !IsValidId(shift.staff_id()) || !shift.has_start_time() || !shift.has_end_time()) {
      return absl::OkStatus();
    }
    absl::Time start = FromProtoTime(shift.start_time());
    absl::Time end = FromProtoTime(shift.end_time());
    store_.UpsertShift(tx, group, shift.shift_id(), shift.estate_id(), shift.staff_id(), start,
                       end);
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

  PerformanceStore store_;
  EventRouter router_;
};

}  // namespace

EventHandler MakeHandler(Db& db) {
  auto handler = std::make_shared<Handler>(db);
  return [handler](pqxx::work& tx, const ev::Event& event) { return handler->Apply(tx, event); };
}

}  // namespace wuye::performance
