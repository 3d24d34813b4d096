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
//   wuye.duty.events       duty.handover.missing, duty.daily_log.missing → office quality
//                          lines (000_… 二.1, 二.2) naming who failed, and their form lines;
//   wuye.counter.events    counter.case.found_unhandled → −50 violation_not_handled naming
//                          the case's owner (000_… 二.7–9); counter.defect.claim_succeeded
//                          → +100 housing_claim_help awaiting the supervisory committee's
//                          confirmation (二.11); counter.survey.closed → the office's
//                          satisfaction figure of the month (a figure, no points);
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
#include "services/performance/evidence.h"
#include "services/performance/performance_store.h"
#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::performance {

EventHandler MakeHandler(Db& db);

}  // namespace wuye::performance
