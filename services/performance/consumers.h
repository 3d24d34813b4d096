// What performance does on other services' events (docs/api/performance.md#events):
//   wuye.directory.events  its copy of estates (time zone) and staff (roles, home estates);
//   wuye.intake.events     intake.call.unrecorded, intake.callback.recorded,
//                          intake.complaint.verified → lines; ticket closures and callbacks
//                          → figures;
//   wuye.dispatch.events   dispatch.work_order.signature_missing → lines; completions and
//                          dispatch.sla.breached → figures;
//   wuye.billing.events    billing.collection.reported → the estate's arrears team KPI.
// Each event's envelope id is the evidence reference of its lines: applied twice, counted
// once (the inbox, and UNIQUE(group, source, staff, rule) under it).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "services/performance/performance_store.h"
#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::performance {

// What an event is as evidence, before any lookup: lines and figures. A line with an
// empty staff_id and rule call_unrecorded stands for the estate's desk (resolved by the
// handler against the staff copy).
struct Evidence {
  std::vector<LineDraft> lines;
  std::vector<FactDelta> facts;
};

// Pure: the evidence of one event given the group's rule points and the estate's time
// zone (which decides the event's month). Events that are no evidence give nothing.
Evidence EvidenceOf(const wuye::events::v1::Event& event,
                    const std::map<std::string, int32_t>& points, absl::TimeZone tz);

// The time an event's evidence happened at: the payload's own time, else occurred_at.
absl::Time EvidenceTime(const wuye::events::v1::Event& event);

// Applies many evidence events at once (the bench and the handler share it): resolves
// desk lines, then writes every line and figure set-based.
absl::Status ApplyEvidence(pqxx::work& tx, PerformanceStore& store, const std::string& group,
                           std::vector<Evidence> batch);

EventHandler MakeHandler(Db& db);

}  // namespace wuye::performance
