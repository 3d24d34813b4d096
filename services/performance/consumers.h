// What performance does on other services' events (docs/api/performance.md#events):
//   wuye.directory.events  its copy of estates (time zone), staff (roles, home estates) and
//                          the shift roster (who is on duty when);
//   wuye.intake.events     intake.call.unrecorded (a finding; deducted when the caller is a
//                          resident, from the agents on duty), intake.callback.recorded,
//                          intake.complaint.verified → office quality lines and, by the
//                          group's mapping, the responsible people's form lines; ticket
//                          closures and callbacks → figures;
//   wuye.dispatch.events   dispatch.work_order.signature_missing → lines; completions and
//                          dispatch.sla.breached → figures;
//   wuye.billing.events    billing.collection.reported → the estate's arrears team KPI (on
//                          the office's quality ledger).
// Each event's envelope id is the evidence reference of its lines: applied twice, counted
// once (the inbox, and UNIQUE(group, source, item) / (group, source, staff, rule) under it).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/performance/performance_store.h"
#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::performance {

// What an event is as evidence, before any lookup: office quality lines naming the people
// responsible (their form lines follow by the group's mapping when applied), form-only
// lines, findings and figures. A quality line with `on_duty` names the agents on duty at
// its time (resolved by the handler against the shift roster) when it names nobody.
struct QualityEvidence {
  QualityDraft line;
  bool on_duty = false;
};
struct Evidence {
  std::vector<QualityEvidence> quality;
  std::vector<LineDraft> lines;
  std::vector<FindingDraft> findings;
  std::vector<FactDelta> facts;
};

// The group's points per rule code.
using Points = std::map<std::string, int32_t>;

// Whether events of `type` are evidence (EvidenceOf reads them).
bool IsEvidence(absl::string_view type);

// Pure: the evidence of one event given the group's rule points and the estate's time
// zone (which decides the event's month), happened at the payload's own time (else at
// occurred_at). An event that is no evidence gives nothing; one whose payload is not the
// message its type carries is refused (INVALID_ARGUMENT, as every consumer refuses it).
absl::StatusOr<Evidence> EvidenceOf(const wuye::events::v1::Event& event, const Points& points,
                                    absl::TimeZone tz);

// Applies many evidence events at once (the bench, the handler and manual entries share
// it): resolves the agents on duty, maps office lines onto the responsible people's forms,
// then writes every line, finding and figure set-based.
absl::Status ApplyEvidence(pqxx::work& tx, PerformanceStore& store, const std::string& group,
                           std::vector<Evidence> batch);

EventHandler MakeHandler(Db& db);

}  // namespace wuye::performance
