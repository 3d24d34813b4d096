#include "services/performance/consumers.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/performance/evidence_flow.h"
#include "shared/auth.h"
#include "shared/event_router.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/staff_roles.h"
#include "shared/status.h"
#include "shared/zone.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::performance {
namespace {

namespace ev = ::wuye::events::v1;

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
    if (evidence.empty()) return absl::OkStatus();
    std::vector<Evidence> batch;
    batch.push_back(std::move(evidence));
    return EvidenceFlow(store_).Apply(tx, group, std::move(batch));
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
      std::string_view name = TokenRoleName(static_cast<ev::StaffRole>(r));
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
