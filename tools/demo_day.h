// The demo's day: a day of front-desk traffic replayed against a running suite, after
// wuye-demo has loaded the demo property group into the directory (tools/wuye_demo.cc).
//
// Every mutating call carries a fixed request_id derived from the day and the object it is
// about, so running the same day again changes nothing: each service answers with its first
// answer. Cross-service effects (events over the bus) are awaited by bounded polling. A step
// whose service has no target is skipped, and the summary says so.
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace wuye::demo {

// host:port of each service; empty: the service is not running and its steps are skipped.
// The directory is required (the day reads the group's estates, units, residents, staff).
// The one person on duty yesterday whose work log the demo leaves unwritten (a StaffPlan
// key of tools/demo_data/staff.textproto): the duty desk finds it missing (000_… 二.2).
inline constexpr char kLogMissingStaff[] = "jade-agent-2";

struct DayTargets {
  std::string directory;
  std::string intake, dispatch, billing, performance, eldercare, duty, counter;
  std::string group_id;  // the demo group, as wuye-demo printed it
};

struct DayOptions {
  std::string jwt_secret;  // the services' HS256 secret
  // The estate-local day replayed (Asia/Shanghai). Default: yesterday, so that 09:30, 21:50
  // and 23:00 are all in the past (intake accepts received times up to 7 days back).
  absl::CivilDay day = absl::CivilDay(1970, 1, 1);
  absl::Duration rpc_timeout = absl::Seconds(30);
  // How long a call is retried while its service is UNAVAILABLE (e.g. being restarted),
  // with the same request_id; and how long an asynchronous effect is awaited.
  absl::Duration unavailable_retry = absl::Seconds(90);
  absl::Duration settle_timeout = absl::Seconds(60);
  // Called before each step with its name (and "payments-half" half-way through the
  // payments); tests use it to kill a service during the day.
  std::function<void(absl::string_view step)> on_step;
  // Progress lines ("tickets: 19 created"), or nullptr for none.
  std::ostream* log = nullptr;
};

struct EstateFigures {
  std::string estate_id, name;
  int households = 0;
  int on_duty_now = 0;  // duty.ListOnDuty: people on duty at the estate when the day began
  // intake.GetCallbackCoverage of the day's month.
  bool has_coverage = false;
  int quota_percent = 0, households_served = 0, callbacks_required = 0, callbacks_done = 0;
  int missing_mandatory = 0;
  bool coverage_met = false;
  // billing.ReportCollection of the day's month.
  bool has_collection = false;
  int64_t billed_fen = 0, collected_fen = 0;
  int collection_rate_bp = 0, arrears_share_bp = 0;
  bool meets_collection_target = false;
  int bills_issued = 0, payments = 0;
  // billing.ReportClinicSettlement of the day's month: what the office and the estate's
  // clinic owe each other for elderly care (004_… 5.2, 5.12).
  bool has_clinic = false;
  int64_t clinic_billed_fen = 0, clinic_collected_fen = 0, clinic_fee_fen = 0;
  int64_t clinic_net_fen = 0, clinic_deposits_held_fen = 0, clinic_uncollected_fen = 0;
  // Settlement payments of the month, what is still owed (> 0: the office owes the clinic),
  // and the emergency deposits lodged with the emergency centre (004_… 5.9).
  int64_t clinic_settled_fen = 0, clinic_outstanding_fen = 0, clinic_deposits_at_centre_fen = 0;
  // eldercare.ListDueVisits of the coming week (DaySummary.visits_due_by).
  bool has_visits = false;
  int elders = 0, visits_due = 0, visits_overdue = 0;
  // performance.GetTeamSheet: the team's points for the arrears share, and its staff.
  bool has_team = false;
  int team_points = 0, team_average_score = 0, team_unrecorded_calls = 0;
  // performance.GetQualityLedger: the office's service quality score (seed 000_…, 二),
  // apart from the people's 100-point forms; findings of unrecorded calls to review.
  bool has_quality = false;
  int quality_score = 0, quality_lines = 0, quality_awaiting = 0, findings_to_review = 0;
};

struct SlaFigures {
  int orders = 0, met = 0, missed = 0, open = 0;
};

struct ScoreLine {
  std::string staff_id, name;
  int score = 0;
  std::vector<std::string> evidence;  // the sheet's lines: points and why
};

struct DaySummary {
  std::string day;                   // "2026-11-28"
  std::vector<std::string> skipped;  // steps not run, and why
  std::vector<std::string> notes;    // what a reader should know (e.g. refused calls)
  // Tickets of the day by state name ("received", "closed", ...) and in all.
  std::map<std::string, int> tickets_by_state;
  int tickets = 0;
  // The day's tickets by their script key ("t05-major-complaint") → id, and their states.
  std::map<std::string, std::string> ticket_ids;
  std::map<std::string, std::string> ticket_states;
  // Carrier call log: calls, matched, skipped, new findings (first import), and findings
  // known so far.
  int carrier_calls = 0, carrier_matched = 0, carrier_skipped = 0, carrier_findings = 0;
  // The 12345 government hotline (issue 27 §3): the city's order imported through the port
  // ("csv"), its due time on the estate's working calendar and why, the reply sent back.
  // Then the government's callback imported (政府回访, "satisfied"), and the estate's 12345
  // month as intake.GetHotlineReport gives it.
  struct HotlineFigures {
    std::string order_number, ticket_id, due_reason;
    bool replied = false;
    bool on_time = false;  // the export delivered it to the platform by the due time
    int exported = 0;               // replies in the export file
    int callbacks_recorded = 0;     // lines of the callback file recorded (first run) or known
    std::string government_result;  // "satisfied", as the ticket now has it
    bool has_report = false;
    int report_orders = 0, report_replied = 0, report_replied_on_time = 0;
    int report_callbacks = 0, report_satisfied = 0, report_unsatisfied = 0;
    int report_on_time_bp = 0, report_satisfaction_bp = 0;
  } hotline;
  // Performance's findings of the sunny hotline's unrecorded calls (000_…, 二.5): deducted
  // (a resident's number: −20 for the office and the agents on duty) or to review.
  struct CallFindingFigures {
    std::string local_time;  // "19:05"
    int duration_seconds = 0;
    bool resident = false, deducted = false;
    std::vector<std::string> charged;  // the agents on duty charged, by name
  };
  std::vector<CallFindingFigures> call_findings;
  // Dispatch: per priority name ("emergency", "small", "big", "scheduled").
  std::map<std::string, SlaFigures> sla;
  int work_orders_completed = 0, completed_without_signature = 0;  // all completed so far
  // Orders whose SLA clock was paused (issue 27 §2), and the time paused in all; of the
  // pauses, those the resident agreed to (t18: not at home, agreed by phone) and those asked
  // without agreement and approved by a supervisor (t02: the resident not reachable; asked
  // by the technician).
  int work_orders_paused = 0;
  int64_t paused_minutes = 0;
  int pauses_agreed = 0, pauses_approved = 0;
  // The approved pause: who asked, who decided (staff ids), and whether the clock stopped at
  // the decision (paused_at == decided_at).
  std::string pause_requested_by, pause_decided_by;
  bool pause_stopped_at_approval = false;
  // dispatch.GetSlaReport of the month the orders' clocks stopped in (the run's month in
  // Shanghai), all estates: met counting the pauses and as if no pause had stopped the clock.
  struct SlaReportFigures {
    bool read = false;
    int year = 0, month = 0;
    int orders = 0, met = 0, met_unpaused = 0, pauses = 0, open = 0, open_paused = 0;
    int64_t paused_ms = 0;
  } sla_report;
  // Billing.
  int payments_recorded = 0;
  std::string duplicate_payment_id;  // the payment sent twice: both answers named it
  bool duplicate_recorded_once = false;
  bool ledger_balanced = false;
  int64_t ledger_transactions = 0, ledger_sum_fen = 0;
  int64_t elder_charges_fen = 0;  // charge bills of eldercare on the elders' units
  int64_t paid_work_fen = 0;      // charge bills of paid work orders (dispatch)
  // Eldercare.
  std::vector<std::string> elder_ids;
  int visits_recorded = 0, care_days = 0, elder_emergencies = 0;
  std::string visits_due_by;  // EstateFigures.visits_due: due on or before this day
  // Performance: the month's best and worst sheets with their evidence.
  std::vector<ScoreLine> best, worst;
  std::vector<EstateFigures> estates;
  // The duty desk (docs/api/duty.md).
  struct DutyTask {
    std::string title, role, acknowledged_by;
    std::vector<std::string> assignees;  // by name
  };
  struct DutyKind {
    int raised = 0, acknowledged = 0, done = 0, highest_level = 0;
  };
  struct DutyFigures {
    int checked_in = 0;
    std::vector<DutyTask> major_complaint;  // t05's tasks, one per role
    std::map<std::string, DutyKind> kinds;  // "major_complaint", "escalation", ...
    int handovers = 0, handovers_acknowledged = 0;
    std::string log_missing_staff, log_missing_estate;  // kLogMissingStaff's name
    int log_missing_points = 0;                         // its office line (−10), once seen
  } duty;
  // The counter (docs/api/counter.md).
  struct CounterFigures {
    std::string handover_unit, handover_id, handover_state;  // "completed"
    int defects = 0, defects_under_warranty = 0, defects_accepted = 0;
    bool unit_handed_over = false;  // in the directory, after the counter's event
    int unit_occupancy = 0;         // directory.v1.Occupancy
    std::string renovation_unit_id, card_unit_id;
    std::string renovation_state;   // "approved"
    int64_t renovation_deposit_fen = 0;
    int renovation_cases_open = 0;  // the patrol's finding
    bool card_blocked = false;
    int64_t replacement_fee_fen = 0;
    int notice_tickets = 0, notice_tickets_resolved = 0;
    int renovation_tasks = 0, card_tasks = 0;  // duty's tasks of the counter's decisions
  } counter;

  void Print(std::ostream& out) const;
  void PrintDuty(std::ostream& out) const;
  void PrintCounter(std::ostream& out) const;
};

absl::StatusOr<DaySummary> RunDemoDay(const DayTargets& targets, const DayOptions& options);

// Yesterday in Asia/Shanghai: the default day.
absl::CivilDay DefaultDemoDay();

}  // namespace wuye::demo
