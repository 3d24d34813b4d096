#include "services/performance/consumers.h"

#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/auth.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/billing_events.pb.h"
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

  // A line of `rule` against each valid, distinct staff id.
  template <class Ids>
  void Lines(std::string_view rule, const Ids& staff) {
    std::set<std::string> seen;
    for (const std::string& id : staff) {
      if (IsValidId(id) && seen.insert(id).second) Line(rule, id);
    }
  }
  void Line(std::string_view rule, const std::string& staff) {
    auto it = points_.find(std::string(rule));
    LineDraft l;
    l.id = NewId(at_);
    l.staff_id = staff;
    l.estate_id = estate_;
    l.period = period_;
    l.rule = std::string(rule);
    l.points = it == points_.end() ? 0 : it->second;
    l.source_event_id = e_.event_id();
    l.at = at_;
    out_.lines.push_back(std::move(l));
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
    Builder b(e, points, tz, estate);
    b.Fact(kNilId).unrecorded_calls = 1;
    std::vector<std::string> staff = b.Distinct(p.staff_ids());
    if (staff.empty()) {
      b.Line(kCallUnrecorded, "");  // the desk: resolved against the staff copy
    } else {
      b.Lines(kCallUnrecorded, staff);
    }
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
    if (Unsatisfied(p.satisfaction()) && !p.paid()) b.Lines(kServiceUnsatisfied, p.worker_ids());
    return b.Take();
  }
  if (type == "intake.complaint.verified") {
    ev::ComplaintVerified p;
    if (!Unpack(e, &p) || !IsValidId(p.staff_id())) return {};
    std::string estate = EstateOf(e, p.estate_id());
    if (estate.empty()) return {};
    Builder b(e, points, tz, estate);
    b.Fact(p.staff_id()).complaints_against = 1;
    b.Line(kComplaintVerified, p.staff_id());
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
      b.Lines(kWorkUnsigned, workers);
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
  std::vector<LineDraft> lines;
  std::vector<FactDelta> facts;
  std::map<std::string, std::vector<std::string>> desks;  // estate → its agents
  for (Evidence& ev : batch) {
    for (LineDraft& l : ev.lines) {
      if (!l.staff_id.empty()) {
        lines.push_back(std::move(l));
        continue;
      }
      auto it = desks.find(l.estate_id);
      if (it == desks.end()) {
        it = desks.emplace(l.estate_id, store.DeskAgents(tx, group, l.estate_id)).first;
      }
      for (const std::string& agent : it->second) {
        LineDraft one = l;
        one.id = NewId(l.at);
        one.staff_id = agent;
        lines.push_back(std::move(one));
      }
    }
    for (FactDelta& f : ev.facts) facts.push_back(std::move(f));
  }
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
    Evidence evidence = EvidenceOf(e, store_.RulePoints(tx, group), ZoneOr(zone));
    if (evidence.lines.empty() && evidence.facts.empty()) return absl::OkStatus();
    std::vector<Evidence> batch;
    batch.push_back(std::move(evidence));
    return ApplyEvidence(tx, store_, group, std::move(batch));
  }

 private:
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
