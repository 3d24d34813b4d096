// The end of the day: the manager's figures, read back from every service, and their printing.
#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "shared/proto_time.h"
#include "shared/staff_roles.h"
#include "tools/demo_day/day.h"
#include "tools/display_width.h"

namespace wuye::demo {

namespace {

// One table row: the first column left-aligned, the others right-aligned.
void Line(std::ostream& out, const std::vector<std::string>& cells, const std::vector<int>& w) {
  std::string line = "  ";
  for (size_t i = 0; i < cells.size(); ++i) {
    int pad = std::max(0, w[i] - DisplayWidth(cells[i]));
    if (i == 0) {
      absl::StrAppend(&line, cells[i], std::string(pad, ' '));
    } else {
      absl::StrAppend(&line, "  ", std::string(pad, ' '), cells[i]);
    }
  }
  out << line << "\n";
}

}  // namespace

absl::Status Day::ReportsStep() {
  std::string admin = Admin();
  // Tickets of the day.
  if (intake_) {
    for (const auto& [key, id] : s_.ticket_ids) {
      WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
      std::string state = EnumWord(evpb::TicketState_Name(t.state()), "TICKET_STATE_");
      s_.ticket_states[key] = state;
      ++s_.tickets_by_state[state];
      ++s_.tickets;
    }
    for (auto& f : s_.estates) {
      ipb::GetCallbackCoverageRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_month() = MonthOf(day_);
      ipb::CallbackCoverage cov;
      WUYE_RETURN_IF_ERROR(Call("intake.GetCallbackCoverage", admin, [&](auto* ctx) {
        return intake_->GetCallbackCoverage(ctx, req, &cov);
      }));
      f.has_coverage = true;
      f.quota_percent = cov.quota_percent();
      f.households_served = cov.households_served();
      f.callbacks_required = cov.callbacks_required();
      f.callbacks_done = cov.callbacks_done();
      f.missing_mandatory = cov.missing_mandatory_size();
      f.coverage_met = cov.met();
    }
  }
  if (billing_) {
    for (auto& f : s_.estates) {
      bpb::ReportCollectionRequest req;
      req.set_request_id(Rid(absl::StrCat("collection-", f.estate_id)));
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      bpb::CollectionReport rep;
      WUYE_RETURN_IF_ERROR(Call("billing.ReportCollection", admin, [&](auto* ctx) {
        return billing_->ReportCollection(ctx, req, &rep);
      }));
      f.has_collection = true;
      f.billed_fen = rep.billed_fen();
      f.collected_fen = rep.collected_fen();
      f.collection_rate_bp = rep.collection_rate_bp();
      f.arrears_share_bp = rep.arrears_share_bp();
      f.meets_collection_target = rep.meets_collection_target();
    }
    // The enrolment fees eldercare charged reach billing through the bus.
    // And the paid work dispatch completed (CLEAN_HOME), as a charge bill of the unit.
    if ((elder_ && !s_.elder_ids.empty()) || dispatch_) {
      const int64_t expected = 415000 * static_cast<int64_t>(s_.elder_ids.size());
      absl::Status got = Until("charges in billing", [&]() -> absl::StatusOr<bool> {
        int64_t sum = 0, paid = 0;
        for (auto& [key, es] : estates_) {
          bpb::ListBillsRequest lb;
          lb.set_estate_id(es.id);
          lb.set_page_size(1000);
          do {
            bpb::ListBillsResponse page;
            WUYE_RETURN_IF_ERROR(Call("billing.ListBills", admin, [&](auto* ctx) {
              return billing_->ListBills(ctx, lb, &page);
            }));
            for (const auto& b : page.bills()) {
              if (b.kind() != bpb::BILL_KIND_CHARGE) continue;
              if (absl::StartsWith(b.source(), "eldercare")) sum += b.amount_fen();
              if (absl::StartsWith(b.source(), "work_order")) paid += b.amount_fen();
            }
            lb.set_page_token(page.next_page_token());
          } while (!lb.page_token().empty());
        }
        s_.elder_charges_fen = sum;
        s_.paid_work_fen = paid;
        return sum >= expected && paid >= expected_paid_fen_;
      });
      if (!got.ok()) s_.notes.push_back(std::string(got.message()));
    }
    // The month between each estate's office and its clinic (社区医疗保健室).
    for (auto& f : s_.estates) {
      bpb::ReportClinicSettlementRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      bpb::ClinicSettlement cs;
      WUYE_RETURN_IF_ERROR(Call("billing.ReportClinicSettlement", admin, [&](auto* ctx) {
        return billing_->ReportClinicSettlement(ctx, req, &cs);
      }));
      f.has_clinic = true;
      f.clinic_billed_fen = cs.billed_for_clinic_fen();
      f.clinic_collected_fen = cs.collected_for_clinic_fen();
      f.clinic_fee_fen = cs.management_fee_fen();
      f.clinic_net_fen = cs.net_to_clinic_fen();
      f.clinic_deposits_held_fen = cs.deposits_held_fen();
      f.clinic_uncollected_fen = cs.uncollected_for_clinic_fen();
      f.clinic_settled_fen = cs.settled_fen();
      f.clinic_outstanding_fen = cs.outstanding_fen();
      f.clinic_deposits_at_centre_fen = cs.deposits_at_emergency_centre_fen();
    }
    bpb::CheckLedgerRequest req;
    bpb::LedgerCheck check;
    WUYE_RETURN_IF_ERROR(Call("billing.CheckLedger", admin,
                              [&](auto* ctx) { return billing_->CheckLedger(ctx, req, &check); }));
    s_.ledger_balanced = check.balanced();
    s_.ledger_transactions = check.transactions();
    s_.ledger_sum_fen = check.sum_fen();
  }
  if (elder_) {
    const absl::CivilDay week_end = absl::ToCivilDay(absl::Now(), tz_) + 7;
    s_.visits_due_by = absl::FormatCivilTime(week_end);
    for (auto& f : s_.estates) {
      // The home visits of the coming week (the care worker's round), overdue ones first.
      epb::ListDueVisitsRequest req;
      req.set_estate_id(f.estate_id);
      req.set_page_size(1000);
      req.mutable_as_of()->set_year(static_cast<int32_t>(week_end.year()));
      req.mutable_as_of()->set_month(week_end.month());
      req.mutable_as_of()->set_day(week_end.day());
      epb::ListDueVisitsResponse due;
      WUYE_RETURN_IF_ERROR(Call("eldercare.ListDueVisits", As("estate_manager", "周晓红"),
                                [&](auto* ctx) { return elder_->ListDueVisits(ctx, req, &due); }));
      epb::ListEldersRequest le;
      le.set_estate_id(f.estate_id);
      le.set_state(epb::ELDER_STATE_ENROLLED);
      le.set_page_size(1000);
      epb::ListEldersResponse elders;
      WUYE_RETURN_IF_ERROR(Call("eldercare.ListElders", As("estate_manager", "周晓红"),
                                [&](auto* ctx) { return elder_->ListElders(ctx, le, &elders); }));
      f.has_visits = true;
      f.elders = elders.elders_size();
      f.visits_due = due.visits_size();
      for (const auto& v : due.visits()) f.visits_overdue += v.overdue() ? 1 : 0;
    }
  }
  if (dispatch_) {
    for (auto& [key, es] : estates_) {
      dpb::ListWorkOrdersRequest req;
      req.set_estate_id(es.id);
      req.set_page_size(1000);
      do {
        dpb::ListWorkOrdersResponse page;
        WUYE_RETURN_IF_ERROR(Call("dispatch.ListWorkOrders", admin, [&](auto* ctx) {
          return dispatch_->ListWorkOrders(ctx, req, &page);
        }));
        for (const auto& wo : page.work_orders()) {
          if (wo.state() == evpb::WORK_ORDER_STATE_COMPLETED) {
            ++s_.work_orders_completed;
            if (wo.signature_missing()) ++s_.completed_without_signature;
          }
          if (wo.pauses_size() > 0) {
            ++s_.work_orders_paused;
            for (const auto& p : wo.pauses()) {
              if (p.has_paused_at() && p.has_resumed_at()) {
                s_.paused_minutes += (p.resumed_at().seconds() - p.paused_at().seconds()) / 60;
              }
              if (p.agreement().method() != dpb::AGREEMENT_METHOD_UNSPECIFIED) {
                ++s_.pauses_agreed;
              } else if (p.decision().approved()) {
                ++s_.pauses_approved;
                s_.pause_requested_by = p.requested_by().subject();
                s_.pause_decided_by = p.decision().decided_by().subject();
                s_.pause_stopped_at_approval =
                    FromProtoTime(p.paused_at()) == FromProtoTime(p.decision().decided_at());
              }
            }
          }
          SlaFigures& f = s_.sla[EnumWord(cpb::Priority_Name(wo.priority()), "PRIORITY_")];
          ++f.orders;
          if (wo.sla_breached()) {
            ++f.missed;
          } else if (wo.sla_met()) {
            ++f.met;
          } else {
            ++f.open;
          }
        }
        req.set_page_token(page.next_page_token());
      } while (!req.page_token().empty());
    }
  }
  if (dispatch_) {
    // Issue 27 §2: the month's SLA report, so that pausing cannot hide misses — met counting
    // the pauses and as if none had stopped the clock, and the time paused. The month the
    // orders' clocks stopped in: the run's (the day's work is done now).
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), tz_);
    dpb::GetSlaReportRequest req;
    req.set_year(static_cast<int32_t>(today.year()));
    req.set_month(today.month());
    dpb::SlaReport report;
    WUYE_RETURN_IF_ERROR(Call("dispatch.GetSlaReport", admin, [&](auto* ctx) {
      return dispatch_->GetSlaReport(ctx, req, &report);
    }));
    auto& r = s_.sla_report;
    r = {};
    r.read = true;
    r.year = report.year();
    r.month = report.month();
    for (const auto& row : report.estates()) {
      const dpb::SlaFigures& f = row.figures();
      r.orders += f.orders();
      r.met += f.sla_met();
      r.met_unpaused += f.sla_met_unpaused();
      r.pauses += f.pauses();
      r.open += f.open();
      r.open_paused += f.open_paused();
      r.paused_ms += f.paused().seconds() * 1000 + f.paused().nanos() / 1000000;
    }
  }
  if (perf_) {
    // The team sheets: the arrears share billing reported, and the team's points for it.
    absl::Status teams =
        Until("team sheets with the collection report", [&]() -> absl::StatusOr<bool> {
          bool all = true;
          for (auto& f : s_.estates) {
            ppb::GetTeamSheetRequest req;
            req.set_estate_id(f.estate_id);
            *req.mutable_period() = MonthOf(day_);
            ppb::TeamSheet team;
            WUYE_RETURN_IF_ERROR(Call("performance.GetTeamSheet", admin, [&](auto* ctx) {
              return perf_->GetTeamSheet(ctx, req, &team);
            }));
            f.has_team = true;
            f.team_points = team.team_points();
            f.team_average_score = team.average_score();
            f.team_unrecorded_calls = static_cast<int>(team.unrecorded_calls());
            all &= team.arrears_reported() || !billing_;
          }
          return all;
        });
    if (!teams.ok()) s_.notes.push_back(std::string(teams.message()));
    // The sunny hotline's unrecorded calls as performance judged them (000_…, 二.5).
    if (intake_ && estates_.count("sunny")) {
      absl::Status judged = Until("call findings", [&]() -> absl::StatusOr<bool> {
        ppb::ListCallFindingsRequest req;
        req.set_estate_id(E("sunny").id);
        *req.mutable_period() = MonthOf(day_);
        ppb::ListCallFindingsResponse resp;
        WUYE_RETURN_IF_ERROR(Call("performance.ListCallFindings", admin, [&](auto* ctx) {
          return perf_->ListCallFindings(ctx, req, &resp);
        }));
        s_.call_findings.clear();
        for (const auto& finding : resp.findings()) {
          DaySummary::CallFindingFigures c;
          c.local_time = absl::FormatTime("%H:%M", FromProtoTime(finding.call_time()), tz_);
          c.duration_seconds = finding.duration_seconds();
          c.resident = finding.caller() == ppb::CALLER_KIND_RESIDENT;
          c.deducted = finding.state() == ppb::FINDING_STATE_DEDUCTED;
          for (const auto& id : finding.charged_staff_ids()) {
            c.charged.push_back(staff_names_.count(id) ? staff_names_.at(id) : id);
          }
          s_.call_findings.push_back(std::move(c));
        }
        std::sort(s_.call_findings.begin(), s_.call_findings.end(),
                  [](const auto& a, const auto& b) { return a.local_time < b.local_time; });
        return static_cast<int>(s_.call_findings.size()) >= s_.carrier_findings;
      });
      if (!judged.ok()) s_.notes.push_back(std::string(judged.message()));
    }
    // The office's service quality ledgers (000_…, 二), apart from the people's forms; the
    // people they name are read first for the month's best sheets.
    std::set<std::string> named;
    for (auto& f : s_.estates) {
      ppb::GetQualityLedgerRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      ppb::QualityLedger ledger;
      WUYE_RETURN_IF_ERROR(Call("performance.GetQualityLedger", admin, [&](auto* ctx) {
        return perf_->GetQualityLedger(ctx, req, &ledger);
      }));
      f.has_quality = true;
      f.quality_score = ledger.score();
      f.quality_lines = ledger.lines_size();
      f.quality_awaiting = ledger.awaiting_confirmation();
      f.findings_to_review = ledger.findings_to_review();
      for (const auto& l : ledger.lines()) {
        if (l.state() != ppb::QUALITY_LINE_STATE_WITHDRAWN && l.points() > 0) {
          named.insert(l.responsible_staff_ids().begin(), l.responsible_staff_ids().end());
        }
      }
    }
    // Sheets fill from the day's events as performance consumes them: wait for lines.
    std::vector<std::pair<int, std::string>> ranked;  // score, staff id
    absl::Status filled = Until("score sheets", [&]() -> absl::StatusOr<bool> {
      ranked.clear();
      for (auto& [key, es] : estates_) {
        ppb::ListRankingsRequest req;
        req.set_estate_id(es.id);
        *req.mutable_period() = MonthOf(day_);
        req.set_page_size(1000);  // every ranked person of the estate
        ppb::ListRankingsResponse resp;
        WUYE_RETURN_IF_ERROR(Call("performance.ListRankings", admin,
                                  [&](auto* ctx) { return perf_->ListRankings(ctx, req, &resp); }));
        for (const auto& r : resp.rankings()) ranked.push_back({r.score(), r.staff_id()});
      }
      return ranked.size() >= 2;
    });
    if (!filled.ok()) s_.notes.push_back(std::string(filled.message()));
    std::sort(ranked.begin(), ranked.end());
    ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
    auto sheet = [&](const std::string& staff_id) -> absl::StatusOr<ScoreLine> {
      ppb::GetSheetRequest req;
      req.set_staff_id(staff_id);
      *req.mutable_period() = MonthOf(day_);
      ppb::Sheet sh;
      WUYE_RETURN_IF_ERROR(Call("performance.GetSheet", admin,
                                [&](auto* ctx) { return perf_->GetSheet(ctx, req, &sh); }));
      ScoreLine line;
      line.staff_id = staff_id;
      line.name = staff_names_.count(staff_id) ? staff_names_.at(staff_id) : staff_id;
      line.score = sh.score();
      for (const auto& l : sh.lines()) {
        if (l.voided() || l.pending()) continue;
        line.evidence.push_back(absl::StrFormat("%+d %s%s%s", l.points(), l.rule(),
                                                l.note().empty() ? "" : ": ", l.note()));
      }
      return line;
    };
    // The two lowest, and the two highest that have evidence (a sheet without lines is just
    // the base score), at most a dozen sheets read.
    std::set<std::string> shown;
    for (size_t i = 0; i < ranked.size() && s_.worst.size() < 2; ++i) {
      absl::StatusOr<ScoreLine> w = sheet(ranked[i].second);
      if (!w.ok()) break;
      s_.worst.push_back(*w);
      shown.insert(ranked[i].second);
    }
    // Forms stop at 100, so many share the top: those a reward on the office's ledger
    // names come first.
    std::set<std::string> tried;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = ranked.size(), read = 0; i-- > 0 && s_.best.size() < 2 && read < 12;) {
        const std::string& id = ranked[i].second;
        if (shown.count(id)) break;  // down to the lowest
        if (tried.count(id) || (pass == 0 && !named.count(id))) continue;
        tried.insert(id);
        ++read;
        absl::StatusOr<ScoreLine> b = sheet(id);
        if (!b.ok()) break;
        if (!b->evidence.empty()) s_.best.push_back(*b);
      }
    }
  }
  return absl::OkStatus();
}

void DaySummary::PrintDuty(std::ostream& out) const {
  if (duty.checked_in == 0 && duty.kinds.empty()) return;
  out << "\n  The duty desk (值班)\n"
      << "    " << duty.checked_in << " people checked in (值班登记); on duty now:";
  for (const auto& f : estates) out << " " << f.name << " " << f.on_duty_now << ";";
  out << "\n";
  for (const DutyTask& t : duty.major_complaint) {
    out << "    major complaint → " << t.role << " on duty: "
        << (t.assignees.empty() ? "nobody (a role gap, sent up the ladder)"
                                : absl::StrJoin(t.assignees, ", "))
        << (t.acknowledged_by.empty() ? "" : absl::StrCat(", taken by ", t.acknowledged_by))
        << "  \"" << t.title << "\"\n";
  }
  static const char* kLevels[] = {"-", "team lead", "supervisor", "estate manager"};
  std::vector<int> w = {24, 7, 7, 5, 16};
  out << "  Tasks of the day (each a decision put in front of the person on duty)\n";
  Line(out, {"kind", "raised", "taken", "done", "highest level"}, w);
  for (const auto& [kind, k] : duty.kinds) {
    Line(out,
         {kind, absl::StrCat(k.raised), absl::StrCat(k.acknowledged), absl::StrCat(k.done),
          kLevels[std::clamp(k.highest_level, 0, 3)]},
         w);
  }
  out << "    " << duty.handovers << " shift handovers (交接班) recorded, "
      << duty.handovers_acknowledged << " acknowledged by the incoming person\n";
  if (!duty.log_missing_staff.empty()) {
    out << "    work log (上班日志) missing: " << duty.log_missing_staff;
    if (duty.log_missing_points != 0) {
      out << ", " << duty.log_missing_points << " on " << duty.log_missing_estate
          << "'s quality ledger (000_… 二.2)";
    } else {
      out << " (its line not seen yet)";
    }
    out << "\n";
  }
}

void DaySummary::PrintCounter(std::ostream& out) const {
  const CounterFigures& c = counter;
  if (c.handover_state.empty()) return;
  out << "\n  The counter (柜台)\n"
      << "    hand-over (交房) of " << c.handover_unit << ": " << c.handover_state << "; "
      << c.defects << " defects at the inspection, " << c.defects_under_warranty
      << " under warranty (sent to the developer), " << c.defects_accepted
      << " repaired and accepted by the owner (+100 for the office once the committee confirms)\n"
      << "    the directory: " << (c.unit_handed_over ? "handed over" : "NOT handed over")
      << (c.unit_occupancy == 2 ? ", lived in by its owner" : "") << " (billing prorates from the day)\n"
      << "    renovation (装修): " << c.renovation_state << ", deposit " << Yuan(c.renovation_deposit_fen)
      << " yuan asked by billing, " << c.renovation_cases_open << " case(s) open from the patrol\n"
      << "    access card lost: " << (c.card_blocked ? "blocked" : "NOT blocked")
      << ", replaced for " << Yuan(c.replacement_fee_fen) << " yuan\n";
  if (c.notice_tickets > 0) {
    out << "    water cut (停水) notice: " << c.notice_tickets << " calls linked, "
        << c.notice_tickets_resolved << " resolved together when it ended\n";
  }
}

void DaySummary::Print(std::ostream& out) const {
  out << "\nThe day " << day << " (" << kTimeZone << ") as a manager reads it\n";
  for (const auto& s : skipped) out << "  skipped: " << s << "\n";
  if (tickets > 0) {
    std::vector<std::string> states;
    for (const auto& [state, n] : tickets_by_state) states.push_back(absl::StrCat(state, " ", n));
    out << "\n  Tickets of the day: " << tickets << " (" << absl::StrJoin(states, ", ") << ")"
        << "\n  Carrier call log (sunny hotline): " << carrier_calls << " calls, "
        << carrier_matched << " matched to a ticket, " << carrier_skipped << " unanswered, "
        << carrier_findings << " unrecorded call(s) found\n";
    if (!hotline.order_number.empty()) {
      out << "  12345 government hotline: order " << hotline.order_number << ", "
          << hotline.due_reason << "; "
          << (hotline.replied
                  ? (hotline.on_time ? "replied and delivered in time" : "replied, delivered late")
                  : "not replied")
          << ", " << hotline.exported << " reply exported to the platform";
      if (!hotline.government_result.empty()) {
        out << "; government callback: " << hotline.government_result;
      }
      out << "\n";
      if (hotline.has_report) {
        out << "  12345 month of the estate: " << hotline.report_orders << " order(s), "
            << hotline.report_replied << " replied (" << hotline.report_replied_on_time
            << " on time, " << Percent(hotline.report_on_time_bp) << "), "
            << hotline.report_callbacks << " government callback(s), satisfaction "
            << Percent(hotline.report_satisfaction_bp) << "\n";
      }
    }
    for (const auto& c : call_findings) {
      out << "    " << c.local_time << " (" << c.duration_seconds << " s), "
          << (c.resident ? "a resident's number" : "a number of no resident") << ": "
          << (c.deducted ? "deducted, −20 for the office" : "to review, no deduction");
      if (c.deducted) {
        out << (c.charged.empty()
                    ? ", no agent on duty"
                    : absl::StrCat(", on the forms of ", absl::StrJoin(c.charged, ", "),
                                   " (on duty) by the group's mapping"));
      }
      out << "\n";
    }
  }
  if (!sla.empty()) {
    out << "\n  SLA per priority (work orders)\n";
    std::vector<int> w = {12, 6, 4, 6, 5};
    Line(out, {"priority", "orders", "met", "missed", "open"}, w);
    for (const auto& [p, f] : sla) {
      Line(out,
           {p, absl::StrCat(f.orders), absl::StrCat(f.met), absl::StrCat(f.missed),
            absl::StrCat(f.open)},
           w);
    }
    out << "  " << work_orders_completed << " orders finished today, "
        << completed_without_signature << " completed without the resident's signature\n";
    if (work_orders_paused > 0) {
      out << "  " << work_orders_paused << " paused (" << pauses_agreed
          << " with the resident's agreement, " << pauses_approved
          << " asked without it and approved by a supervisor; " << paused_minutes
          << " min paused; the clock kept the time already spent)\n";
    }
    if (sla_report.read) {
      const auto& r = sla_report;
      out << absl::StrFormat(
          "  SLA report %04d-%02d (all estates): %d orders stopped, %d met counting pauses, %d "
          "met as if never paused; %d pause(s), %d ms paused; %d open (%d paused now)\n",
          r.year, r.month, r.orders, r.met, r.met_unpaused, r.pauses, r.paused_ms, r.open,
          r.open_paused);
    }
  }
  PrintDuty(out);
  PrintCounter(out);
  bool any_cov = false, any_coll = false, any_visits = false;
  for (const auto& f : estates) {
    any_cov |= f.has_coverage;
    any_coll |= f.has_collection;
    any_visits |= f.has_visits;
  }
  if (any_cov) {
    // The band follows the households served in the month, not the estate's size
    // (004_…, 5.5.2).
    out << "\n  Callback coverage of the month against the quota of the households served\n";
    std::vector<int> w = {22, 10, 6, 5, 8, 4, 7, 4};
    Line(out, {"estate", "households", "served", "quota", "required", "done", "missing", "met"}, w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, absl::StrCat(f.households), absl::StrCat(f.households_served),
            absl::StrCat(f.quota_percent, "%"), absl::StrCat(f.callbacks_required),
            absl::StrCat(f.callbacks_done), absl::StrCat(f.missing_mandatory),
            f.coverage_met ? "yes" : "NO"},
           w);
    }
  }
  if (any_coll) {
    out << "\n  Collection of the month (target ≥ 95 %, arrears share ≤ 25 %)\n";
    std::vector<int> w = {22, 10, 10, 7, 7, 6};
    Line(out, {"estate", "billed", "collected", "rate", "arrears", "target"}, w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, Yuan(f.billed_fen), Yuan(f.collected_fen), Percent(f.collection_rate_bp),
            Percent(f.arrears_share_bp), f.meets_collection_target ? "met" : "MISSED"},
           w);
    }
    out << "  " << payments_recorded << " payments; payment " << duplicate_payment_id
        << " was sent twice and recorded " << (duplicate_recorded_once ? "once" : "TWICE")
        << "; ledger " << (ledger_balanced ? "balanced" : "NOT BALANCED") << " ("
        << ledger_transactions << " transactions, sum " << Yuan(ledger_sum_fen) << ")\n";
    if (elder_charges_fen > 0 || paid_work_fen > 0) {
      out << "  charges: elderly-care fees " << Yuan(elder_charges_fen) << " yuan, paid work "
          << Yuan(paid_work_fen) << " yuan\n";
    }
  }
  bool any_clinic = false;
  for (const auto& f : estates) any_clinic |= f.has_clinic;
  if (any_clinic) {
    out << "\n  Clinic settlement of the month (社区医疗保健室; net, outstanding > 0: the office "
           "owes the clinic)\n";
    std::vector<int> w = {22, 10, 10, 10, 9, 9, 9, 11, 9, 9};
    Line(out,
         {"estate", "for clinic", "collected", "unpaid", "mgmt fee", "net", "settled",
          "outstanding", "deposits", "at centre"},
         w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, Yuan(f.clinic_billed_fen), Yuan(f.clinic_collected_fen),
            Yuan(f.clinic_uncollected_fen), Yuan(f.clinic_fee_fen), Yuan(f.clinic_net_fen),
            Yuan(f.clinic_settled_fen), Yuan(f.clinic_outstanding_fen),
            Yuan(f.clinic_deposits_held_fen), Yuan(f.clinic_deposits_at_centre_fen)},
           w);
    }
  }
  if (any_visits) {
    out << "\n  Home elderly care: " << elder_ids.size() << " enrolled today, " << visits_recorded
        << " visits, " << care_days << " sick-bed day, " << elder_emergencies << " emergency\n";
    for (const auto& f : estates) {
      out << "    " << f.name << ": " << f.elders << " elders, " << f.visits_due
          << " visits due by " << visits_due_by << " (" << f.visits_overdue << " overdue)\n";
    }
  }
  auto print_lines = [&](const char* title, const std::vector<ScoreLine>& lines) {
    if (lines.empty()) return;
    out << "  " << title << "\n";
    for (const auto& l : lines) {
      out << "    " << l.name << ": " << l.score << "\n";
      for (const auto& e : l.evidence) out << "      " << e << "\n";
    }
  };
  bool any_quality = false;
  for (const auto& f : estates) any_quality |= f.has_quality;
  if (any_quality) {
    // 000_…, 二: the office's score, assessed by the owners' supervisory committee.
    out << "\n  Office service quality ledger of the month (服务质量标准分值)\n";
    std::vector<int> w = {22, 13, 14, 8, 17, 10};
    Line(out,
         {"estate", "quality score", "arrears points", "lines", "unrecorded calls", "to review"},
         w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, absl::StrCat(f.quality_score), absl::StrCat(f.team_points),
            absl::StrCat(f.quality_lines), absl::StrCat(f.team_unrecorded_calls),
            absl::StrCat(f.findings_to_review)},
           w);
    }
  }
  bool any_team = false;
  for (const auto& f : estates) any_team |= f.has_team;
  if (any_team) {
    // 002_…, 第七章: each person's 100-point monthly form.
    out << "\n  People's monthly forms (100 points each)\n";
    std::vector<int> w = {22, 18};
    Line(out, {"estate", "average form score"}, w);
    for (const auto& f : estates) Line(out, {f.name, absl::StrCat(f.team_average_score)}, w);
  }
  if (!best.empty() || !worst.empty()) {
    out << "\n  People's forms of the month\n";
    print_lines("highest", best);
    print_lines("lowest", worst);
  }
  for (const auto& n : notes) out << "  note: " << n << "\n";
  out << std::flush;
}

}  // namespace wuye::demo
