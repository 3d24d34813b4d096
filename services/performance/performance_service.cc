#include "services/performance/performance_service.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/performance/evidence_flow.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"
#include "wuye/events/v1/performance_events.pb.h"

namespace wuye::performance {
namespace {

using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSupervisor;
using roles::kTeamLead;

// Who may read sheets other than their own.
const std::initializer_list<std::string_view> kManagers = {kGroupAdmin, kEstateManager, kSupervisor,
                                                           kTeamLead, kQualityInspector};

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

pb::Rule RuleOf(const RuleDef& def, int32_t points, const std::string& form_item) {
  pb::Rule r;
  r.set_code(std::string(def.code));
  r.set_name(std::string(def.name));
  r.set_source(def.source);
  r.set_points(points);
  r.set_default_points(def.default_points);
  r.set_form_item(form_item);
  r.set_clause(std::string(def.clause));
  return r;
}

// A known role name of tokens, or empty.
absl::Status CheckRoleName(const std::string& role, absl::string_view field) {
  if (role.empty()) return absl::OkStatus();
  if (role.size() > 32) return FieldError(field, "at most 32 characters");
  for (char c : role) {
    if (!(c >= 'a' && c <= 'z') && c != '_') return FieldError(field, "a role name like agent");
  }
  return absl::OkStatus();
}

// "performance.appeal.created" (version 1) and ".decided" (version 2): ids only, never the
// reason (docs/events.md).
void PublishAppeal(Outbox& outbox, pqxx::work& tx, const std::string& group, const pb::Appeal& a,
                   const std::string& type, int64_t version, absl::Time now,
                   const std::string& trace_id) {
  wuye::events::v1::AppealChanged p;
  p.set_appeal_id(a.id());
  p.set_estate_id(a.estate_id());
  p.set_staff_id(a.staff_id());
  p.set_office(!a.quality_line_id().empty());
  *p.mutable_period() = a.period();
  p.set_upheld(a.state() == pb::APPEAL_STATE_UPHELD);
  *p.mutable_at() = ToProtoTime(now);
  outbox.Append(tx,
                {.type = type,
                 .group_id = group,
                 .estate_id = a.estate_id(),
                 .subject = a.id(),
                 .subject_version = version,
                 .payload = &p},
                now, trace_id);
}

}  // namespace

PerformanceServiceImpl::PerformanceServiceImpl(Db& db, const TokenVerifier& verifier,
                                               const Clock& clock)
    : db_(db), store_(db), outbox_(db, "performance"), rpc_("performance", verifier, clock) {}

absl::Status PerformanceServiceImpl::CheckEstateRead(const RequestContext& rc,
                                                     const std::string& estate_id,
                                                     const wuye::common::v1::Month& period) {
  WUYE_RETURN_IF_ERROR(rc.RequireGroup());
  WUYE_RETURN_IF_ERROR(rc.RequireRole(kManagers));
  WUYE_RETURN_IF_ERROR(CheckId(estate_id, "estate_id"));
  WUYE_RETURN_IF_ERROR(CheckMonth(period, "period"));
  return rc.RequireEstate(estate_id);
}

// ---- rules and settings -----------------------------------------------------------------------

grpc::Status PerformanceServiceImpl::ListRules(Ctx* ctx, const pb::ListRulesRequest* req,
                                               pb::ListRulesResponse* resp) {
  return rpc_.Run(ctx, "ListRules", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    // In the catalogue's (fixed) order; the page key is the last rule's code.
    const std::string filters = "rules";
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParsePage(req->page_size(), req->page_token(), filters));
    if (!page.after.empty() && FindRule(page.after) == nullptr) {
      return FieldError("page_token", "not a token this service issued");
    }
    return db_.Transact([&](pqxx::work& tx) {
      auto points = store_.RulePoints(tx, rc.caller.group_id);
      auto forms = store_.FormItemOf(tx, rc.caller.group_id);
      std::vector<pb::Rule> rows;
      bool started = page.after.empty();
      for (const RuleDef& def : Catalogue()) {
        std::string code(def.code);
        if (!started) {
          started = code == page.after;
          continue;
        }
        if (static_cast<int>(rows.size()) > page.size) break;
        rows.push_back(RuleOf(def, points[code], forms[code]));
      }
      resp->set_next_page_token(FillPageBy(std::move(rows), page, filters, resp->mutable_rules(),
                                           [](const pb::Rule& r) { return r.code(); }));
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::UpdateRule(Ctx* ctx, const pb::UpdateRuleRequest* req,
                                                pb::Rule* resp) {
  return rpc_.Run(ctx, "UpdateRule", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    const RuleDef* def = FindRule(req->code());
    if (def == nullptr) return FieldError("code", "not a rule of the catalogue");
    WUYE_RETURN_IF_ERROR(CheckRulePoints(*def, req->points(), "points"));
    if (req->has_form_item() && !req->form_item().empty() && def->source == pb::RULE_SOURCE_TEAM) {
      return FieldError("form_item", "a team item moves onto nobody's form");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      std::optional<std::string> form;
      if (req->has_form_item()) {
        form = req->form_item();
        bool known = form->empty();
        for (const pb::FormItem& f : store_.FormItems(tx, group)) known |= f.code() == *form;
        if (!known) return FieldError("form_item", "not a form item of the group");
      }
      store_.PutRule(tx, group, req->code(), req->points(), form, rc.now);
      *resp = RuleOf(*def, req->points(), store_.FormItemOf(tx, group)[req->code()]);
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::GetSettings(Ctx* ctx, const pb::GetSettingsRequest*,
                                                 pb::Settings* resp) {
  return rpc_.Run(ctx, "GetSettings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    return db_.Transact([&](pqxx::work& tx) {
      *resp = store_.GetSettings(tx, rc.caller.group_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::UpdateSettings(Ctx* ctx, const pb::UpdateSettingsRequest* req,
                                                    pb::Settings* resp) {
  return rpc_.Run(ctx, "UpdateSettings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckUpdateMask(req->update_mask(), pb::Settings::descriptor(),
                                         {"base_score", "appeal_window_days"}));
    if (req->update_mask().paths().empty()) {
      WUYE_RETURN_IF_ERROR(CheckSettings(req->settings(), "settings"));
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // With a mask, the masked fields over the stored settings.
      LockForUpdate(tx, absl::StrCat("settings/", rc.caller.group_id));
      pb::Settings merged = store_.GetSettings(tx, rc.caller.group_id);
      ApplyUpdateMask(req->settings(), req->update_mask(), &merged);
      WUYE_RETURN_IF_ERROR(CheckSettings(merged, "settings"));
      store_.PutSettings(tx, rc.caller.group_id, merged, rc.now);
      *resp = merged;
      return absl::OkStatus();
    });
  });
}

// ---- manual entries and sheets ----------------------------------------------------------------

grpc::Status PerformanceServiceImpl::CreateManualEntry(Ctx* ctx,
                                                       const pb::CreateManualEntryRequest* req,
                                                       pb::Line* resp) {
  return rpc_.Run(ctx, "CreateManualEntry", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kQualityInspector, kTeamLead, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    const RuleDef* def = FindRule(req->rule());
    if (def != nullptr && def->source != pb::RULE_SOURCE_MANUAL) {
      return FieldError("rule", "counted from events, not entered by people");
    }
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 2000, Presence::kRequired, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->note(), "note"));
    if (!req->has_occurred_at()) return FieldError("occurred_at", "required");
    WUYE_RETURN_IF_ERROR(CheckOccurredAt(req->occurred_at(), rc.now, "occurred_at"));
    absl::Time at = FromProtoTime(req->occurred_at());
    if (req->staff_id() == rc.caller.subject) {
      return absl::PermissionDeniedError("staff_id: no entries on one's own sheet");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      // Not an office item: a form item of the group's own (the form only).
      std::optional<pb::FormItem> form_only;
      if (def == nullptr) {
        for (const pb::FormItem& f : store_.FormItems(tx, group)) {
          if (f.code() == req->rule() && FindRule(f.code()) == nullptr) form_only = f;
        }
        if (!form_only) return FieldError("rule", "not an office item nor a form item");
      }
      auto staff = store_.GetStaff(tx, group, req->staff_id());
      if (!staff || staff->home().empty()) {
        return absl::NotFoundError("staff_id: no such staff member");
      }
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(staff->home()));
      absl::TimeZone tz = EstateZone(store_.EstateZone(tx, group, staff->home()));
      std::string id = NewId(rc.now);  // the entry is its own evidence
      wuye::common::v1::Month month = MonthOf(at, tz);
      std::string period = MonthDate(month);
      // Never into a closed month, nor after its appeal window: the line must be appealable.
      store_.LockEvidence(tx, group, false);  // no month closes between the check and the write
      auto sheet = store_.GetSheetRow(tx, group, staff->id, period);
      bool closed = (sheet && sheet->state() == pb::SHEET_STATE_CLOSED) ||
                    store_.EstateMonthClosed(tx, group, staff->home(), period);
      WUYE_RETURN_IF_ERROR(CheckEntryMonth(month, closed, tz,
                                           store_.GetSettings(tx, group).appeal_window_days(),
                                           rc.now, "occurred_at"));
      Evidence evidence;
      std::string form_rule = req->rule();
      if (form_only) {
        LineDraft line;
        line.id = id;
        line.staff_id = staff->id;
        line.estate_id = staff->home();
        line.period = period;
        line.rule = form_only->code();
        line.points = form_only->points();
        line.source_event_id = id;
        line.note = req->note();
        line.entered_by = rc.caller.subject;
        line.at = rc.now;
        evidence.lines.push_back(std::move(line));
      } else {
        // 000_…, 二: a line of the office's quality ledger naming the person responsible;
        // 二.11: a housing claim waits for the supervisory committee's confirmation.
        QualityEvidence q;
        q.line.estate_id = staff->home();
        q.line.period = period;
        q.line.item = req->rule();
        q.line.points = store_.RulePoints(tx, group)[req->rule()];
        q.line.state = NeedsConfirmation(req->rule()) ? pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION
                                                      : pb::QUALITY_LINE_STATE_COUNTED;
        q.line.source_event_id = id;
        q.line.note = req->note();
        q.line.entered_by = rc.caller.subject;
        q.line.responsible = {staff->id};
        q.line.at = rc.now;
        evidence.quality.push_back(std::move(q));
        auto targets = store_.FormTargets(tx, group);
        auto t = targets.find(req->rule());
        form_rule = t == targets.end() ? "" : t->second.code;
      }
      std::vector<Evidence> batch;
      batch.push_back(std::move(evidence));
      WUYE_RETURN_IF_ERROR(EvidenceFlow(store_).Apply(tx, group, std::move(batch)));
      if (form_rule.empty()) {
        // The office item maps to no form item: the office line only.
        resp->set_staff_id(staff->id);
        resp->set_estate_id(staff->home());
        *resp->mutable_period() = MonthFromDate(period);
        resp->set_rule(req->rule());
        resp->set_evidence_ref(id);
        resp->set_note(req->note());
        resp->set_entered_by(rc.caller.subject);
        if (auto q = store_.QualityLineBySource(tx, group, id, req->rule())) {
          resp->set_quality_line_id(q->id());
        }
        return absl::OkStatus();
      }
      auto written = store_.LineBySource(tx, group, id, staff->id, form_rule);
      if (!written) return absl::InternalError("manual entry: line not written");
      *resp = *written;
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::GetSheet(Ctx* ctx, const pb::GetSheetRequest* req,
                                              pb::Sheet* resp) {
  return rpc_.Run(ctx, "GetSheet", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());  // one's own sheet; others' below
    WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->period(), "period"));
    bool own = req->staff_id() == rc.caller.subject;
    if (!own) WUYE_RETURN_IF_ERROR(rc.RequireRole(kManagers));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      std::string period = MonthDate(req->period());
      auto staff = store_.GetStaff(tx, group, req->staff_id());
      auto sheet = store_.GetSheetRow(tx, group, req->staff_id(), period);
      if (!sheet && (!staff || staff->home().empty())) {
        return absl::NotFoundError("staff_id: no sheet for this staff member and month");
      }
      pb::Sheet out;
      if (sheet) {
        out = *sheet;
      } else {
        out.set_staff_id(req->staff_id());
        out.set_estate_id(staff->home());
        *out.mutable_period() = req->period();
        out.set_state(pb::SHEET_STATE_OPEN);
      }
      if (!own) WUYE_RETURN_IF_ERROR(rc.RequireEstate(out.estate_id()));
      pb::Settings settings = store_.GetSettings(tx, group);
      std::vector<LinePoints> points;
      for (auto& line : store_.Lines(tx, group, req->staff_id(), period)) {
        points.push_back({line.points(), line.voided(), line.pending()});
        *out.add_lines() = std::move(line);
      }
      if (out.state() != pb::SHEET_STATE_CLOSED) {
        out.set_base_score(settings.base_score());
        out.set_score(SheetScore(settings.base_score(), points));
        Grade g = GradeOf(out.score());
        out.set_grade(std::string(g.name));
        out.set_pay_percent(g.pay_percent);
      }
      *out.mutable_figures() = store_.StaffFigures(tx, group, req->staff_id(), period);
      for (auto& a : store_.Appeals(tx, group, req->staff_id(), period)) {
        *out.add_appeals() = std::move(a);
      }
      absl::TimeZone tz = EstateZone(store_.EstateZone(tx, group, out.estate_id()));
      *out.mutable_appeal_deadline() =
          ToProtoTime(AppealDeadline(req->period(), tz, settings.appeal_window_days()));
      *resp = std::move(out);
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::ListRankings(Ctx* ctx, const pb::ListRankingsRequest* req,
                                                  pb::ListRankingsResponse* resp) {
  return rpc_.Run(ctx, "ListRankings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(CheckEstateRead(rc, req->estate_id(), req->period()));
    WUYE_RETURN_IF_ERROR(CheckRoleName(req->role(), "role"));
    // Ordered by rank, then staff id: the page key is both. The ranks are computed whole, so
    // the page is cut from them here.
    const std::string filters = absl::StrCat("rankings;", req->estate_id(), ";",
                                             MonthDate(req->period()), ";", req->role());
    int after_rank = 0;
    WUYE_ASSIGN_OR_RETURN(
        PageRequest page,
        ParseSortedPage(req->page_size(), req->page_token(), filters, [&](absl::string_view sort) {
          return absl::SimpleAtoi(sort, &after_rank);
        }));
    const SortedKey after = SplitSortedKey(page.after);
    return db_.Transact([&](pqxx::work& tx) {
      const std::string& group = rc.caller.group_id;
      int32_t base = store_.GetSettings(tx, group).base_score();
      std::vector<pb::Ranking> rows;
      for (auto& row : store_.Rankings(tx, group, req->estate_id(), MonthDate(req->period()),
                                       req->role(), base)) {
        const pb::Ranking& r = row.ranking;
        if (!after.id.empty() &&
            std::pair(r.rank(), r.staff_id()) <= std::pair(after_rank, after.id)) {
          continue;
        }
        if (static_cast<int>(rows.size()) > page.size) break;
        rows.push_back(std::move(row.ranking));
      }
      resp->set_next_page_token(FillPageBy(
          std::move(rows), page, filters, resp->mutable_rankings(), [](const pb::Ranking& r) {
            return SortedPageKey(absl::StrCat(r.rank()), r.staff_id());
          }));
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::GetTeamSheet(Ctx* ctx, const pb::GetTeamSheetRequest* req,
                                                  pb::TeamSheet* resp) {
  return rpc_.Run(ctx, "GetTeamSheet", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(CheckEstateRead(rc, req->estate_id(), req->period()));
    return db_.Transact([&](pqxx::work& tx) {
      const std::string& group = rc.caller.group_id;
      std::string period = MonthDate(req->period());
      *resp = store_.TeamSheet(tx, group, req->estate_id(), period);
      int32_t base = store_.GetSettings(tx, group).base_score();
      auto rows = store_.Rankings(tx, group, req->estate_id(), period, "", base);
      int64_t total = 0;
      for (const auto& r : rows) total += r.ranking.score();
      resp->set_staff_count(static_cast<int32_t>(rows.size()));
      resp->set_average_score(rows.empty() ? 0 : static_cast<int32_t>(total / rows.size()));
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::ExportSheets(Ctx* ctx, const pb::ExportSheetsRequest* req,
                                                  pb::ExportSheetsResponse* resp) {
  return rpc_.Run(ctx, "ExportSheets", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(CheckEstateRead(rc, req->estate_id(), req->period()));
    return db_.Transact([&](pqxx::work& tx) {
      const std::string& group = rc.caller.group_id;
      int32_t base = store_.GetSettings(tx, group).base_score();
      std::string csv =
          "rank,staff_id,roles,state,score,grade,pay_percent,requests_handled,sla_hits,"
          "sla_misses,callbacks_rated,callbacks_satisfied,callbacks_unsatisfied,"
          "complaints_against,callbacks_made,callback_coverage_bp,sla_hits_paused_only\n";
      for (const auto& row :
           store_.Rankings(tx, group, req->estate_id(), MonthDate(req->period()), "", base)) {
        const pb::Ranking& r = row.ranking;
        const pb::Figures& f = row.figures;
        Grade g = GradeOf(r.score());
        absl::StrAppend(&csv, r.rank(), ",", CsvField(r.staff_id()), ",",
                        CsvField(absl::StrJoin(r.roles(), ";")), ",",
                        row.closed ? "closed" : "open", ",", r.score(), ",", std::string(g.name),
                        ",", g.pay_percent, ",", f.requests_handled(), ",", f.sla_hits(), ",",
                        f.sla_misses(), ",", f.callbacks_rated(), ",", f.callbacks_satisfied(), ",",
                        f.callbacks_unsatisfied(), ",", f.complaints_against(), ",",
                        f.callbacks_made(), ",", f.callback_coverage_bp(), ",",
                        f.sla_hits_paused_only(), "\n");
      }
      resp->set_csv(std::move(csv));
      return absl::OkStatus();
    });
  });
}

// ---- appeals ----------------------------------------------------------------------------------

grpc::Status PerformanceServiceImpl::CreateAppeal(Ctx* ctx, const pb::CreateAppealRequest* req,
                                                  pb::Appeal* resp) {
  return rpc_.Run(ctx, "CreateAppeal", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    if (!req->quality_line_id().empty()) return CreateQualityAppeal(rc, *req, resp);
    // Any member of staff (whose sheet it may be); the line decides whose it is.
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {roles::kEstateManager, roles::kSupervisor, roles::kTeamLead, roles::kAgent,
         roles::kTechnician, roles::kCleaner, roles::kGardener, roles::kSecurityGuard,
         roles::kCareWorker, roles::kNurse, roles::kFinanceClerk, roles::kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->line_id(), "line_id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 2000, Presence::kRequired, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->reason(), "reason"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto line = store_.GetLine(tx, group, req->line_id());
      if (!line) return absl::NotFoundError("line_id: no such line");
      if (line->staff_id() != rc.caller.subject) {
        return absl::PermissionDeniedError("line_id: only the staff member appeals their line");
      }
      std::string period = MonthDate(line->period());
      auto sheet = store_.GetSheetRow(tx, group, line->staff_id(), period);
      if (!sheet) return absl::InternalError("line without a sheet");
      int32_t window = store_.GetSettings(tx, group).appeal_window_days();
      absl::TimeZone tz = EstateZone(store_.EstateZone(tx, group, sheet->estate_id()));
      if (sheet->state() == pb::SHEET_STATE_CLOSED ||
          rc.now >= AppealDeadline(line->period(), tz, window)) {
        return Refused("line_id: the appeal window of its month has closed",
                       "APPEAL_WINDOW_CLOSED");
      }
      if (line->voided()) return Refused("line_id: the line is voided", "LINE_VOIDED");
      if (store_.LineAppealed(tx, group, line->id())) {
        return Refused("line_id: the line was appealed before", "ALREADY_APPEALED");
      }
      pb::Line scoped = *line;
      scoped.set_estate_id(sheet->estate_id());  // appeals follow the sheet's estate
      store_.InsertAppeal(tx, group, NewId(rc.now), scoped, req->reason(), rc.now, resp);
      PublishAppeal(outbox_, tx, group, *resp, "performance.appeal.created", 1, rc.now,
                    rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// 000_…, 二: the owners' supervisory committee assesses the office; the office, through its
// estate manager, objects to a line of its ledger (a reading: the seed names no appeal).
absl::Status PerformanceServiceImpl::CreateQualityAppeal(RequestContext& rc,
                                                         const pb::CreateAppealRequest& req,
                                                         pb::Appeal* resp) {
  WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager}));
  WUYE_RETURN_IF_ERROR(CheckId(req.quality_line_id(), "quality_line_id"));
  if (!req.line_id().empty()) {
    return FieldError("line_id", "only one of line_id and quality_line_id");
  }
  WUYE_RETURN_IF_ERROR(CheckText(req.reason(), "reason", 2000, Presence::kRequired, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.reason(), "reason"));
  return RunOnce(db_, rc.Key(), req, resp, [&](pqxx::work& tx) -> absl::Status {
    const std::string& group = rc.caller.group_id;
    auto line = store_.GetQualityLine(tx, group, req.quality_line_id(), true);
    if (!line) return absl::NotFoundError("quality_line_id: no such line");
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(line->estate_id()));
    int32_t window = store_.GetSettings(tx, group).appeal_window_days();
    absl::TimeZone tz = EstateZone(store_.EstateZone(tx, group, line->estate_id()));
    if (rc.now >= AppealDeadline(line->period(), tz, window) ||
        store_.EstateMonthClosed(tx, group, line->estate_id(), MonthDate(line->period()))) {
      return Refused("quality_line_id: the appeal window of its month has closed",
                     "APPEAL_WINDOW_CLOSED");
    }
    if (line->state() == pb::QUALITY_LINE_STATE_WITHDRAWN) {
      return Refused("quality_line_id: the line is withdrawn", "LINE_WITHDRAWN");
    }
    if (line->state() == pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION) {
      return Refused("quality_line_id: the line awaits the committee's confirmation",
                     "AWAITING_CONFIRMATION");
    }
    if (!line->appeal_id().empty()) {
      return Refused("quality_line_id: the line was appealed before", "ALREADY_APPEALED");
    }
    store_.InsertQualityAppeal(tx, group, NewId(rc.now), *line, req.reason(), rc.caller.subject,
                               rc.now, resp);
    PublishAppeal(outbox_, tx, group, *resp, "performance.appeal.created", 1, rc.now, rc.trace_id);
    return absl::OkStatus();
  });
}

grpc::Status PerformanceServiceImpl::DecideAppeal(Ctx* ctx, const pb::DecideAppealRequest* req,
                                                  pb::Appeal* resp) {
  return rpc_.Run(ctx, "DecideAppeal", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->appeal_id(), "appeal_id"));
    if (req->decision() != pb::DECISION_UPHOLD && req->decision() != pb::DECISION_REJECT) {
      return FieldError("decision", "UPHOLD or REJECT");
    }
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 2000, Presence::kRequired, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->reason(), "reason"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->decision_ref(), "decision_ref", 200, Presence::kOptional, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->decision_ref(), "decision_ref"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto appeal = store_.GetAppeal(tx, group, req->appeal_id(), true);
      if (!appeal) return absl::NotFoundError("appeal_id: no such appeal");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(appeal->estate_id()));
      if (appeal->staff_id() == rc.caller.subject || appeal->appealed_by() == rc.caller.subject) {
        return absl::PermissionDeniedError("appeal_id: nobody decides their own appeal");
      }
      if (!appeal->quality_line_id().empty()) {
        // The office's appeal: the supervisory committee's decision (000_…, 二), recorded by
        // the group, never by the office that appealed nor by a person the line names.
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
        auto line = store_.GetQualityLine(tx, group, appeal->quality_line_id(), true);
        if (!line) return absl::InternalError("office appeal without its line");
        for (const std::string& staff : line->responsible_staff_ids()) {
          if (staff == rc.caller.subject) {
            return absl::PermissionDeniedError("appeal_id: the line names the caller");
          }
        }
      }
      if (appeal->state() != pb::APPEAL_STATE_PENDING) {
        return Refused("appeal_id: decided before", "ALREADY_DECIDED");
      }
      if (!appeal->quality_line_id().empty() && req->decision_ref().empty()) {
        return FieldError("decision_ref", "required: the supervisory committee's record");
      }
      // Its form lines may move to an open month (an office line withdrawn).
      store_.LockEvidence(tx, group, false);
      store_.DecideAppeal(tx, group, appeal->id(), req->decision() == pb::DECISION_UPHOLD,
                          req->reason(), req->decision_ref(), rc.caller.subject, rc.now, resp);
      PublishAppeal(outbox_, tx, group, *resp, "performance.appeal.decided", 2, rc.now,
                    rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// ---- closing a month --------------------------------------------------------------------------

grpc::Status PerformanceServiceImpl::CloseMonth(Ctx* ctx, const pb::CloseMonthRequest* req,
                                                pb::CloseMonthResponse* resp) {
  return rpc_.Run(ctx, "CloseMonth", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    if (req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    } else {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    WUYE_RETURN_IF_ERROR(CheckMonth(req->period(), "period"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      store_.LockEvidence(tx, group, true);  // no evidence lands in a sheet being closed
      std::string period = MonthDate(req->period());
      pb::Settings settings = store_.GetSettings(tx, group);
      absl::TimeZone tz = EstateZone(store_.EstateZone(tx, group, req->estate_id()));
      if (rc.now < AppealDeadline(req->period(), tz, settings.appeal_window_days())) {
        return Refused("period: the appeal window is still open", "APPEAL_WINDOW_OPEN");
      }
      if (store_.PendingAppeals(tx, group, req->estate_id(), period) > 0) {
        return Refused("period: appeals are pending a decision", "APPEALS_PENDING");
      }
      std::vector<ClosedSheet> closed =
          store_.CloseMonth(tx, group, req->estate_id(), period, settings.base_score(), rc.now,
                            NewId(rc.now).substr(0, 24));
      std::vector<wuye::events::v1::SheetClosed> payloads(closed.size());
      std::vector<EventDraft> drafts;
      drafts.reserve(closed.size());
      for (size_t i = 0; i < closed.size(); ++i) {
        const ClosedSheet& c = closed[i];
        auto& p = payloads[i];
        p.set_sheet_id(c.id);
        p.set_staff_id(c.staff_id);
        p.set_estate_id(c.estate_id);
        *p.mutable_period() = req->period();
        p.set_score(c.score);
        p.set_grade(c.grade);
        p.set_pay_percent(c.pay_percent);
        *p.mutable_closed_at() = ToProtoTime(rc.now);
        drafts.push_back({"performance.sheet.closed", group, c.estate_id, c.id, 2, &p});
        resp->set_sheets_closed(resp->sheets_closed() + 1);
        if (c.grade == "excellent") resp->set_excellent(resp->excellent() + 1);
        if (c.grade == "good") resp->set_good(resp->good() + 1);
        if (c.grade == "pass") resp->set_pass(resp->pass() + 1);
        if (c.grade == "fail") resp->set_fail(resp->fail() + 1);
      }
      outbox_.AppendMany(tx, drafts, rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// ---- the person's form items ------------------------------------------------------------------

grpc::Status PerformanceServiceImpl::ListFormItems(Ctx* ctx, const pb::ListFormItemsRequest*,
                                                   pb::ListFormItemsResponse* resp) {
  return rpc_.Run(ctx, "ListFormItems", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    return db_.Transact([&](pqxx::work& tx) {
      for (auto& f : store_.FormItems(tx, rc.caller.group_id)) *resp->add_items() = std::move(f);
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::UpdateFormItem(Ctx* ctx, const pb::UpdateFormItemRequest* req,
                                                    pb::FormItem* resp) {
  return rpc_.Run(ctx, "UpdateFormItem", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    const FormItemDef* def = FindDefaultFormItem(req->item().code());
    const google::protobuf::FieldMask& mask = req->update_mask();
    WUYE_RETURN_IF_ERROR(CheckUpdateMask(mask, pb::FormItem::descriptor(), {"name", "points"}));
    if (mask.paths().empty()) {
      WUYE_RETURN_IF_ERROR(CheckFormItem(req->item(), "item", def == nullptr));
    }
    if (def == nullptr && FindRule(req->item().code()) != nullptr) {
      return FieldError("item.code", "an office team item is no form item");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // With a mask, the masked fields over the stored item (a new one: nothing stored).
      LockForUpdate(tx, absl::StrCat("form_item/", rc.caller.group_id, "/", req->item().code()));
      pb::FormItem item;
      item.set_code(req->item().code());
      if (!mask.paths().empty()) {
        for (const pb::FormItem& f : store_.FormItems(tx, rc.caller.group_id)) {
          if (f.code() != item.code()) continue;
          item.set_name(f.name());
          item.set_points(f.points());
        }
      }
      ApplyUpdateMask(req->item(), mask, &item);
      WUYE_RETURN_IF_ERROR(CheckFormItem(item, "item", def == nullptr));
      if (def != nullptr && item.name().empty()) item.set_name(def->name);
      store_.PutFormItem(tx, rc.caller.group_id, item, def == nullptr, rc.now);
      for (const pb::FormItem& f : store_.FormItems(tx, rc.caller.group_id)) {
        if (f.code() == item.code()) *resp = f;
      }
      return absl::OkStatus();
    });
  });
}

// ---- the office's quality ledger --------------------------------------------------------------

grpc::Status PerformanceServiceImpl::GetQualityLedger(Ctx* ctx,
                                                      const pb::GetQualityLedgerRequest* req,
                                                      pb::QualityLedger* resp) {
  return rpc_.Run(ctx, "GetQualityLedger", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(CheckEstateRead(rc, req->estate_id(), req->period()));
    return db_.Transact([&](pqxx::work& tx) {
      const std::string& group = rc.caller.group_id;
      std::string period = MonthDate(req->period());
      resp->set_estate_id(req->estate_id());
      *resp->mutable_period() = req->period();
      pb::TeamSheet team = store_.TeamSheet(tx, group, req->estate_id(), period);
      resp->set_arrears_reported(team.arrears_reported());
      resp->set_arrears_share_bp(team.arrears_share_bp());
      resp->set_arrears_points(team.team_points());
      resp->set_score(team.quality_score());
      *resp->mutable_satisfaction() = team.satisfaction();
      for (auto& q : store_.QualityLines(tx, group, req->estate_id(), period)) {
        if (q.state() == pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION) {
          resp->set_awaiting_confirmation(resp->awaiting_confirmation() + 1);
        }
        if (q.under_appeal()) resp->set_under_appeal(resp->under_appeal() + 1);
        *resp->add_lines() = std::move(q);
      }
      for (auto& a : store_.QualityAppeals(tx, group, req->estate_id(), period)) {
        *resp->add_appeals() = std::move(a);
      }
      for (const auto& f : store_.Findings(tx, group, req->estate_id(), period)) {
        if (f.state() == pb::FINDING_STATE_TO_REVIEW) {
          resp->set_findings_to_review(resp->findings_to_review() + 1);
        }
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::ConfirmQualityLine(Ctx* ctx,
                                                        const pb::ConfirmQualityLineRequest* req,
                                                        pb::QualityLine* resp) {
  return rpc_.Run(ctx, "ConfirmQualityLine", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->quality_line_id(), "quality_line_id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->confirmation_ref(), "confirmation_ref", 200,
                                   Presence::kRequired, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->confirmation_ref(), "confirmation_ref"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto line = store_.GetQualityLine(tx, group, req->quality_line_id(), true);
      if (!line) return absl::NotFoundError("quality_line_id: no such line");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(line->estate_id()));
      // 000_…, 二.11: the committee's confirmation, recorded by someone with nothing to gain
      // from it — never by a person the line names (their own form's reward), as an office
      // appeal is never decided by one (DecideAppeal).
      for (const std::string& staff : line->responsible_staff_ids()) {
        if (staff == rc.caller.subject) {
          return absl::PermissionDeniedError("quality_line_id: the line names the caller");
        }
      }
      if (line->state() != pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION) {
        return Refused("quality_line_id: the line awaits no confirmation",
                       "NOT_AWAITING_CONFIRMATION");
      }
      store_.LockEvidence(tx, group, false);  // its form lines may move to an open month
      store_.ConfirmQuality(tx, group, *line, req->confirmation_ref(), rc.caller.subject, rc.now);
      *resp = *store_.GetQualityLine(tx, group, line->id(), false);
      return absl::OkStatus();
    });
  });
}

// ---- unrecorded-call findings -----------------------------------------------------------------

grpc::Status PerformanceServiceImpl::ListCallFindings(Ctx* ctx,
                                                      const pb::ListCallFindingsRequest* req,
                                                      pb::ListCallFindingsResponse* resp) {
  return rpc_.Run(ctx, "ListCallFindings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(CheckEstateRead(rc, req->estate_id(), req->period()));
    return db_.Transact([&](pqxx::work& tx) {
      for (auto& f :
           store_.Findings(tx, rc.caller.group_id, req->estate_id(), MonthDate(req->period()))) {
        *resp->add_findings() = std::move(f);
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status PerformanceServiceImpl::DismissCallFinding(Ctx* ctx,
                                                        const pb::DismissCallFindingRequest* req,
                                                        pb::CallFinding* resp) {
  return rpc_.Run(ctx, "DismissCallFinding", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->finding_id(), "finding_id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 2000, Presence::kRequired, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->reason(), "reason"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto finding = store_.GetFinding(tx, group, req->finding_id(), true);
      if (!finding) return absl::NotFoundError("finding_id: no such finding");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(finding->estate_id()));
      if (finding->state() == pb::FINDING_STATE_DISMISSED) {
        return Refused("finding_id: dismissed before", "ALREADY_DISMISSED");
      }
      store_.LockEvidence(tx, group, false);  // reversals may move to an open month
      if (finding->state() == pb::FINDING_STATE_DEDUCTED && !finding->quality_line_id().empty()) {
        store_.WithdrawQuality(tx, group, finding->quality_line_id(),
                               absl::StrCat("finding dismissed: ", req->reason()), rc.now);
      }
      store_.DismissFinding(tx, group, finding->id(), req->reason(), rc.caller.subject, rc.now);
      *resp = *store_.GetFinding(tx, group, finding->id(), false);
      // The duty desk's review task closes (docs/events.md); never the reason.
      wuye::events::v1::CallFindingDismissed dismissed;
      dismissed.set_finding_id(resp->id());
      dismissed.set_estate_id(resp->estate_id());
      *dismissed.mutable_at() = ToProtoTime(rc.now);
      outbox_.Append(tx,
                     {.type = "performance.call_finding.dismissed",
                      .group_id = group,
                      .estate_id = resp->estate_id(),
                      .subject = resp->id(),
                      .subject_version = 0,
                      .payload = &dismissed},
                     rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::performance
