#include "services/performance/performance_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/basis_points.h"
#include "shared/ids.h"
#include "shared/sql.h"

namespace wuye::performance {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;

// Declared first: the statements below add themselves to it in order (shared/sql.h).
sql::Statements statements;

constexpr char kLineCols[] =
    "id, staff_id, estate_id, period::text, rule, points, source_event_id, note, entered_by, "
    "voided, COALESCE(carried_from::text, ''), " WUYE_SQL_MICROS("created_at") ", "
    "COALESCE(quality_line_id::text, ''), pending";

pb::Line LineRow(const pqxx::row& r) {
  pb::Line l;
  l.set_id(Text(r[0]));
  l.set_staff_id(Text(r[1]));
  l.set_estate_id(Text(r[2]));
  *l.mutable_period() = MonthFromDate(Text(r[3]));
  l.set_rule(Text(r[4]));
  l.set_points(r[5].as<int32_t>());
  l.set_evidence_ref(Text(r[6]));
  l.set_note(Text(r[7]));
  l.set_entered_by(Text(r[8]));
  l.set_voided(r[9].as<bool>());
  if (std::string from = Text(r[10]); !from.empty())
    *l.mutable_carried_from() = MonthFromDate(from);
  *l.mutable_create_time() = Stamp(r[11]);
  l.set_quality_line_id(Text(r[12]));
  l.set_pending(r[13].as<bool>());
  return l;
}

// A quality line's id from its group, source and item.
#define QUALITY_ID(group, source, item) \
  "md5(" group "::text || ':' || " source " || ':' || " item ")::uuid"

constexpr char kQualityCols[] =
    "id, estate_id, period::text, item, points, state, source_event_id, note, entered_by, "
    "responsible::text[], confirmation_ref, confirmed_by, "
    "COALESCE(" WUYE_SQL_MICROS("confirmed_at") ", 0), "
    "withdraw_reason, " WUYE_SQL_MICROS("created_at") ", "
    // Its appeal, if any (one per line), and whether it awaits a decision.
    "COALESCE((SELECT a.id::text || ':' || a.state FROM appeals a WHERE a.group_id = "
    "quality_lines.group_id AND a.quality_line_id = quality_lines.id), '')";

pb::QualityLine QualityRow(const pqxx::row& r) {
  pb::QualityLine q;
  q.set_id(Text(r[0]));
  q.set_estate_id(Text(r[1]));
  *q.mutable_period() = MonthFromDate(Text(r[2]));
  q.set_item(Text(r[3]));
  q.set_points(r[4].as<int32_t>());
  q.set_state(static_cast<pb::QualityLineState>(r[5].as<int>()));
  q.set_evidence_ref(Text(r[6]));
  q.set_note(Text(r[7]));
  q.set_entered_by(Text(r[8]));
  for (auto& id : ParsePgArray(r[9])) q.add_responsible_staff_ids(std::move(id));
  q.set_confirmation_ref(Text(r[10]));
  q.set_confirmed_by(Text(r[11]));
  if (r[12].as<int64_t>() != 0) *q.mutable_confirm_time() = Stamp(r[12]);
  q.set_withdraw_reason(Text(r[13]));
  *q.mutable_create_time() = Stamp(r[14]);
  if (std::string appeal = Text(r[15]); !appeal.empty()) {
    size_t colon = appeal.find(':');
    q.set_appeal_id(appeal.substr(0, colon));
    q.set_under_appeal(appeal.substr(colon + 1) == std::to_string(pb::APPEAL_STATE_PENDING));
  }
  return q;
}

constexpr char kFindingCols[] =
    "f.id, f.estate_id, f.period::text, " WUYE_SQL_MICROS("f.call_at") ", "
    "f.duration_seconds, f.caller, "
    "f.state, COALESCE(f.quality_line_id::text, ''), f.dismiss_reason, f.dismissed_by, "
    "COALESCE(" WUYE_SQL_MICROS("f.dismissed_at") ", 0), f.source_event_id, "
    "ARRAY(SELECT DISTINCT l.staff_id::text FROM lines l WHERE l.group_id = f.group_id "
    "  AND l.quality_line_id = f.quality_line_id AND l.source_event_id = f.source_event_id "
    "  ORDER BY 1)";

pb::CallFinding FindingRow(const pqxx::row& r) {
  pb::CallFinding f;
  f.set_id(Text(r[0]));
  f.set_estate_id(Text(r[1]));
  *f.mutable_period() = MonthFromDate(Text(r[2]));
  *f.mutable_call_time() = Stamp(r[3]);
  f.set_duration_seconds(r[4].as<int32_t>());
  f.set_caller(static_cast<pb::CallerKind>(r[5].as<int>()));
  f.set_state(static_cast<pb::FindingState>(r[6].as<int>()));
  f.set_quality_line_id(Text(r[7]));
  f.set_dismiss_reason(Text(r[8]));
  f.set_dismissed_by(Text(r[9]));
  if (r[10].as<int64_t>() != 0) *f.mutable_dismiss_time() = Stamp(r[10]);
  f.set_evidence_ref(Text(r[11]));
  for (auto& id : ParsePgArray(r[12])) f.add_charged_staff_ids(std::move(id));
  return f;
}

constexpr char kAppealCols[] =
    "id, line_id, staff_id, estate_id, period::text, reason, state, decision_reason, "
    "decided_by, " WUYE_SQL_MICROS("created_at") ", "
    "COALESCE(" WUYE_SQL_MICROS("decided_at") ", 0), quality_line_id, appealed_by, decision_ref";

pb::Appeal AppealRow(const pqxx::row& r) {
  pb::Appeal a;
  a.set_id(Text(r[0]));
  a.set_line_id(Text(r[1]));
  a.set_staff_id(Text(r[2]));
  a.set_estate_id(Text(r[3]));
  *a.mutable_period() = MonthFromDate(Text(r[4]));
  a.set_reason(Text(r[5]));
  a.set_state(static_cast<pb::AppealState>(r[6].as<int>()));
  a.set_decision_reason(Text(r[7]));
  a.set_decided_by(Text(r[8]));
  *a.mutable_create_time() = Stamp(r[9]);
  if (r[10].as<int64_t>() != 0) *a.mutable_decide_time() = Stamp(r[10]);
  a.set_quality_line_id(Text(r[11]));
  a.set_appealed_by(Text(r[12]));
  a.set_decision_ref(Text(r[13]));
  return a;
}

constexpr char kFigureSums[] =
    "COALESCE(sum(requests_handled), 0), COALESCE(sum(sla_hits), 0), "
    "COALESCE(sum(sla_misses), 0), COALESCE(sum(callbacks_rated), 0), "
    "COALESCE(sum(callbacks_satisfied), 0), COALESCE(sum(callbacks_unsatisfied), 0), "
    "COALESCE(sum(complaints_against), 0), COALESCE(sum(callbacks_made), 0), "
    "COALESCE(sum(tickets_closed), 0), COALESCE(sum(unrecorded_calls), 0), "
    "COALESCE(sum(sla_hits_paused_only), 0)";

// Nine figures from column `at` on and the eleventh (hits met only thanks to a pause); the
// tenth (unrecorded calls) is the team's.
pb::Figures FiguresRow(const pqxx::row& r, int at) {
  pb::Figures f;
  f.set_requests_handled(r[at].as<int64_t>());
  f.set_sla_hits(r[at + 1].as<int64_t>());
  f.set_sla_misses(r[at + 2].as<int64_t>());
  f.set_callbacks_rated(r[at + 3].as<int64_t>());
  f.set_callbacks_satisfied(r[at + 4].as<int64_t>());
  f.set_callbacks_unsatisfied(r[at + 5].as<int64_t>());
  f.set_complaints_against(r[at + 6].as<int64_t>());
  f.set_callbacks_made(r[at + 7].as<int64_t>());
  f.set_tickets_closed(r[at + 8].as<int64_t>());
  f.set_sla_hits_paused_only(r[at + 10].as<int64_t>());
  f.set_callback_coverage_bp(BasisPoints(f.callbacks_made(), f.tickets_closed(), 0));
  return f;
}

}  // namespace

PerformanceStore::PerformanceStore(Db& db) { statements.PrepareOn(db); }

// ---- the directory copy ---------------------------------------------------------------------

const sql::Statement kEstateUpsert = statements.Add(
    "pf_estate_upsert",
    "INSERT INTO pf_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET time_zone = excluded.time_zone, version = "
    "excluded.version WHERE pf_estates.version < excluded.version "
    "AND pf_estates.group_id = excluded.group_id");

void PerformanceStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                    const std::string& tz, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, tz, version);
}

const sql::Statement kStaffUpsert = statements.Add(
    "pf_staff_upsert",
    "INSERT INTO pf_staff (id, group_id, roles, estate_ids, active, version) "
    "VALUES ($1, $2, $3::text[], $4::uuid[], $5, $6) ON CONFLICT (id) DO UPDATE SET "
    "roles = excluded.roles, estate_ids = excluded.estate_ids, active = excluded.active, "
    "version = excluded.version WHERE pf_staff.version < excluded.version "
    "AND pf_staff.group_id = excluded.group_id");

void PerformanceStore::UpsertStaff(pqxx::work& tx, const std::string& group, const StaffCopy& s,
                                   int64_t version) {
  tx.exec_prepared(kStaffUpsert, s.id, group, PgArray(s.roles), PgArray(s.estate_ids), s.active,
                   version);
}

const sql::Statement kEstateZone = statements.Add(
    "pf_estate_zone", "SELECT time_zone FROM pf_estates WHERE group_id = $1 AND id = $2");

std::string PerformanceStore::EstateZone(pqxx::work& tx, const std::string& group,
                                         const std::string& estate) {
  if (estate.empty()) return "";
  pqxx::result r = tx.exec_prepared(kEstateZone, group, estate);
  return r.empty() ? "" : Text(r[0][0]);
}

const sql::Statement kStaffGet = statements.Add(
    "pf_staff_get",
    "SELECT id, roles, estate_ids, active FROM pf_staff WHERE group_id = $1 AND id = $2");

std::optional<StaffCopy> PerformanceStore::GetStaff(pqxx::work& tx, const std::string& group,
                                                    const std::string& id) {
  pqxx::result r = tx.exec_prepared(kStaffGet, group, id);
  if (r.empty()) return std::nullopt;
  StaffCopy s;
  s.id = Text(r[0][0]);
  s.roles = ParsePgArray(r[0][1]);
  s.estate_ids = ParsePgArray(r[0][2]);
  s.active = r[0][3].as<bool>();
  return s;
}

const sql::Statement kShiftUpsert = statements.Add("pf_shift_upsert",
    "INSERT INTO pf_shifts (id, group_id, estate_id, staff_id, start_at, end_at) VALUES ($1, $2, "
    "$3, $4, " WUYE_SQL_TIME("$5") ", " WUYE_SQL_TIME("$6") ") ON CONFLICT (id) DO UPDATE SET "
    "start_at = excluded.start_at, end_at = excluded.end_at WHERE pf_shifts.group_id = "
    "excluded.group_id");

void PerformanceStore::UpsertShift(pqxx::work& tx, const std::string& group, const std::string& id,
                                   const std::string& estate, const std::string& staff,
                                   absl::Time start, absl::Time end) {
  tx.exec_prepared(kShiftUpsert, id, group, estate, staff, Micros(start), Micros(end));
}

const sql::Statement kShiftDelete =
    statements.Add("pf_shift_delete", "DELETE FROM pf_shifts WHERE group_id = $1 AND id = $2");

void PerformanceStore::DeleteShift(pqxx::work& tx, const std::string& group,
                                   const std::string& id) {
  tx.exec_prepared(kShiftDelete, group, id);
}

const sql::Statement kOnDuty = statements.Add("pf_on_duty",
    "SELECT DISTINCT sh.staff_id::text FROM pf_shifts sh JOIN pf_staff st ON st.id = sh.staff_id "
    "AND st.group_id = sh.group_id WHERE sh.group_id = $1 AND sh.estate_id = $2 AND sh.start_at <= "
    WUYE_SQL_TIME("$3") " AND sh.end_at > " WUYE_SQL_TIME("$3") " AND 'agent' = ANY(st.roles) "
    "ORDER BY 1");

std::vector<std::string> PerformanceStore::AgentsOnDuty(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate, absl::Time at) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared(kOnDuty, group, estate, Micros(at))) {
    out.push_back(Text(r[0]));
  }
  return out;
}

const sql::Statement kFindingsInShift = statements.Add("pf_findings_in_shift",
    "SELECT f.source_event_id, f.quality_line_id::text, q.item, f.period::text, "
    WUYE_SQL_MICROS("f.call_at") " FROM call_findings f JOIN quality_lines q ON q.id = "
    "f.quality_line_id WHERE f.group_id = $1 AND f.estate_id = $2 AND f.state = 1 AND f.call_at >= "
    WUYE_SQL_TIME("$4") " AND f.call_at < " WUYE_SQL_TIME("$5") " AND q.state <> 3 AND NOT "
    "($3::uuid = ANY(q.responsible)) ORDER BY f.call_at");

std::vector<PerformanceStore::Uncharged> PerformanceStore::FindingsInShift(
    pqxx::work& tx, const std::string& group, const std::string& estate, const std::string& staff,
    absl::Time start, absl::Time end) {
  std::vector<Uncharged> out;
  for (const auto& r :
       tx.exec_prepared(kFindingsInShift, group, estate, staff, Micros(start), Micros(end))) {
    out.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]), TimeOf(r[4])});
  }
  return out;
}

const sql::Statement kQualityAddResponsible =
    statements.Add("pf_quality_add_responsible",
                   "UPDATE quality_lines SET responsible = array_append(responsible, $3::uuid) "
                   "WHERE group_id = $1 AND id = $2 AND NOT ($3::uuid = ANY(responsible))");

void PerformanceStore::AddResponsible(pqxx::work& tx, const std::string& group,
                                      const std::string& quality_line, const std::string& staff) {
  tx.exec_prepared(kQualityAddResponsible, group, quality_line, staff);
}

// ---- rules and settings ---------------------------------------------------------------------

const sql::Statement kRules = statements.Add(
    "pf_rules", "SELECT rule, points, form_item FROM rule_overrides WHERE group_id = $1");

std::map<std::string, int32_t> PerformanceStore::RulePoints(pqxx::work& tx,
                                                            const std::string& group) {
  std::map<std::string, int32_t> out;
  for (const RuleDef& r : Catalogue()) out[std::string(r.code)] = r.default_points;
  for (const auto& r : tx.exec_prepared(kRules, group)) {
    out[Text(r[0])] = r[1].as<int32_t>();
  }
  return out;
}

const sql::Statement kRulePut = statements.Add("pf_rule_put",
    "INSERT INTO rule_overrides (group_id, rule, points, updated_at, form_item) VALUES ($1, $2, "
    "$3, " WUYE_SQL_TIME("$4") ", CASE WHEN $5 THEN $6 END) ON CONFLICT (group_id, rule) DO "
    "UPDATE SET points = excluded.points, updated_at = excluded.updated_at, form_item = CASE "
    "WHEN $5 THEN excluded.form_item ELSE rule_overrides.form_item END");

void PerformanceStore::PutRule(pqxx::work& tx, const std::string& group, const std::string& rule,
                               int32_t points, const std::optional<std::string>& form_item,
                               absl::Time now) {
  tx.exec_prepared(kRulePut, group, rule, points, Micros(now), form_item.has_value(),
                   form_item.value_or(""));
}

std::map<std::string, std::string> PerformanceStore::FormItemOf(pqxx::work& tx,
                                                                const std::string& group) {
  std::map<std::string, std::string> out;
  for (const RuleDef& r : Catalogue()) out[std::string(r.code)] = DefaultFormItemOf(r.code);
  for (const auto& r : tx.exec_prepared(kRules, group)) {
    if (!r[2].is_null()) out[Text(r[0])] = Text(r[2]);
  }
  return out;
}

const sql::Statement kFormItems = statements.Add(
    "pf_form_items",
    "SELECT code, name, points, custom FROM form_items WHERE group_id = $1 ORDER BY code");

std::vector<pb::FormItem> PerformanceStore::FormItems(pqxx::work& tx, const std::string& group) {
  std::map<std::string, pb::FormItem> items;
  for (const FormItemDef& d : DefaultFormItems()) {
    pb::FormItem& f = items[d.code];
    f.set_code(d.code);
    f.set_name(d.name);
    f.set_points(d.default_points);
    f.set_default_points(d.default_points);
  }
  for (const auto& r : tx.exec_prepared(kFormItems, group)) {
    pb::FormItem& f = items[Text(r[0])];
    f.set_code(Text(r[0]));
    f.set_name(Text(r[1]));
    f.set_points(r[2].as<int32_t>());
    f.set_custom(r[3].as<bool>());
    if (f.custom()) f.set_default_points(f.points());
  }
  // The defaults in the catalogue's order, then the group's own by code.
  std::vector<pb::FormItem> out;
  for (const FormItemDef& d : DefaultFormItems()) out.push_back(items[d.code]);
  for (auto& [code, f] : items) {
    if (f.custom()) out.push_back(f);
  }
  return out;
}

const sql::Statement kFormItemPut = statements.Add("pf_form_item_put",
    "INSERT INTO form_items (group_id, code, name, points, custom, updated_at) VALUES ($1, $2, $3, "
    "$4, $5, " WUYE_SQL_TIME("$6") ") ON CONFLICT (group_id, code) DO UPDATE SET name = "
    "excluded.name, points = excluded.points, updated_at = excluded.updated_at");

void PerformanceStore::PutFormItem(pqxx::work& tx, const std::string& group,
                                   const pb::FormItem& item, bool custom, absl::Time now) {
  tx.exec_prepared(kFormItemPut, group, item.code(), item.name(), item.points(), custom,
                   Micros(now));
}

std::map<std::string, FormTarget> PerformanceStore::FormTargets(pqxx::work& tx,
                                                                const std::string& group) {
  std::map<std::string, int32_t> form_points;
  for (const pb::FormItem& f : FormItems(tx, group)) form_points[f.code()] = f.points();
  std::map<std::string, FormTarget> out;
  for (const auto& [office, form] : FormItemOf(tx, group)) {
    auto it = form_points.find(form);
    if (form.empty() || it == form_points.end()) continue;
    out[office] = {form, it->second};
  }
  return out;
}

const sql::Statement kSettingsGet = statements.Add(
    "pf_settings_get", "SELECT base_score, appeal_window_days FROM settings WHERE group_id = $1");

pb::Settings PerformanceStore::GetSettings(pqxx::work& tx, const std::string& group) {
  pqxx::result r = tx.exec_prepared(kSettingsGet, group);
  if (r.empty()) return DefaultSettings();
  pb::Settings s;
  s.set_base_score(r[0][0].as<int32_t>());
  s.set_appeal_window_days(r[0][1].as<int32_t>());
  return s;
}

const sql::Statement kSettingsPut = statements.Add("pf_settings_put",
    "INSERT INTO settings (group_id, base_score, appeal_window_days, updated_at) VALUES ($1, $2, "
    "$3, " WUYE_SQL_TIME("$4") ") ON CONFLICT (group_id) DO UPDATE SET base_score = "
    "excluded.base_score, appeal_window_days = excluded.appeal_window_days, updated_at = "
    "excluded.updated_at");

void PerformanceStore::PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s,
                                   absl::Time now) {
  tx.exec_prepared(kSettingsPut, group, s.base_score(), s.appeal_window_days(), Micros(now));
}

// ---- evidence -------------------------------------------------------------------------------

// The evidence, and the month each line goes to: its own, or after the last closed one when
// its own is closed.
const sql::Statement kLinesApply = statements.Add("pf_lines_apply",
    "WITH ev AS (  SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::date[], "
    "$6::text[],    $7::int[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::uuid[],    "
    "$13::text[], $14::text[], $15::bool[])    AS e(id, staff_id, estate_id, period, rule, points, "
    "source, note, entered_by, at_us,         sheet_id, qitem, qid, pending)), tgt AS (  SELECT "
    "e.*, CASE WHEN EXISTS (SELECT 1 FROM sheets s WHERE s.group_id = $1      AND s.staff_id = "
    "e.staff_id AND s.period = e.period AND s.state = 2)    THEN (SELECT (max(s.period) + interval "
    "'1 month')::date FROM sheets s      WHERE s.group_id = $1 AND s.staff_id = e.staff_id AND "
    "s.period >= e.period      AND s.state = 2)    ELSE e.period END AS target  FROM ev e), sh AS "
    "(  INSERT INTO sheets (id, group_id, staff_id, estate_id, period)  SELECT DISTINCT ON "
    "(t.staff_id, t.target) t.sheet_id, $1, t.staff_id,    COALESCE(st.estate_ids[1], "
    "t.estate_id), t.target  FROM tgt t LEFT JOIN pf_staff st ON st.id = t.staff_id AND "
    "st.group_id = $1  ORDER BY t.staff_id, t.target  ON CONFLICT (group_id, staff_id, period) DO "
    "NOTHING), ins AS (  INSERT INTO lines (id, group_id, staff_id, estate_id, period, rule, "
    "points,    source_event_id, note, entered_by, carried_from, created_at, quality_line_id, "
    "pending)  SELECT id, $1, staff_id, estate_id, target, rule, points, source, note, entered_by, "
    "   CASE WHEN target <> period THEN period END, " WUYE_SQL_TIME("at_us") ",    "
    "COALESCE(NULLIF(qid, '')::uuid, CASE WHEN qitem <> '' THEN "
    QUALITY_ID("$1", "source", "qitem") " END), pending FROM tgt  ON CONFLICT (group_id, "
    "source_event_id, staff_id, rule) DO NOTHING  RETURNING 1) SELECT count(*) FROM ins");

int64_t PerformanceStore::ApplyLines(pqxx::work& tx, const std::string& group,
                                     const std::vector<LineDraft>& lines) {
  if (lines.empty()) return 0;
  LockEvidence(tx, group, false);
  std::vector<std::string> ids, staff, estates, periods, rules, points, sources, notes, by, at,
      sheet_ids, qitems, qids, pending;
  for (const LineDraft& l : lines) {
    ids.push_back(l.id);
    staff.push_back(l.staff_id);
    estates.push_back(l.estate_id);
    periods.push_back(l.period);
    rules.push_back(l.rule);
    points.push_back(std::to_string(l.points));
    sources.push_back(l.source_event_id);
    notes.push_back(l.note);
    by.push_back(l.entered_by);
    at.push_back(std::to_string(Micros(l.at)));
    // A line's id doubles as the candidate id of its sheet (another table).
    sheet_ids.push_back(l.id);
    qitems.push_back(l.quality_item);
    qids.push_back(l.quality_line_id);
    pending.push_back(l.pending ? "true" : "false");
  }
  return tx
      .exec_prepared1(kLinesApply, group, PgArray(ids), PgArray(staff), PgArray(estates),
                      PgArray(periods), PgArray(rules), PgArray(points), PgArray(sources),
                      PgArray(notes), PgArray(by), PgArray(at), PgArray(sheet_ids), PgArray(qitems),
                      PgArray(qids), PgArray(pending))[0]
      .as<int64_t>();
}

const sql::Statement kQualityApply = statements.Add("pf_quality_apply",
    "INSERT INTO quality_lines (id, group_id, estate_id, period, item, points, state, "
    "source_event_id, note, entered_by, responsible, created_at) SELECT "
    QUALITY_ID("$1", "e.source", "e.item") ", $1::uuid, e.estate_id, e.period, e.item, e.points, "
    "e.state, e.source, e.note, e.entered_by, COALESCE(string_to_array(NULLIF(e.resp, ''), "
    "',')::uuid[], '{}'), " WUYE_SQL_TIME("e.at_us") " FROM unnest($2::uuid[], $3::date[], "
    "$4::text[], $5::int[], $6::smallint[], $7::text[], $8::text[], $9::text[], $10::text[], "
    "$11::bigint[]) AS e(estate_id, period, item, points, state, source, note, entered_by, resp, "
    "at_us) ON CONFLICT (group_id, source_event_id, item) DO NOTHING");

void PerformanceStore::ApplyQuality(pqxx::work& tx, const std::string& group,
                                    const std::vector<QualityDraft>& lines) {
  if (lines.empty()) return;
  std::vector<std::string> estates, periods, items, points, states, sources, notes, by, resp, at;
  for (const QualityDraft& q : lines) {
    estates.push_back(q.estate_id);
    periods.push_back(q.period);
    items.push_back(q.item);
    points.push_back(std::to_string(q.points));
    states.push_back(std::to_string(static_cast<int>(q.state)));
    sources.push_back(q.source_event_id);
    notes.push_back(q.note);
    by.push_back(q.entered_by);
    resp.push_back(absl::StrJoin(q.responsible, ","));
    at.push_back(std::to_string(Micros(q.at)));
  }
  tx.exec_prepared(kQualityApply, group, PgArray(estates), PgArray(periods), PgArray(items),
                   PgArray(points), PgArray(states), PgArray(sources), PgArray(notes), PgArray(by),
                   PgArray(resp), PgArray(at));
}

const sql::Statement kFindingsInsert = statements.Add("pf_findings_insert",
    "INSERT INTO call_findings (group_id, id, estate_id, period, call_at, duration_seconds, "
    "caller, state, source_event_id, quality_line_id) SELECT $1::uuid, f.id, f.estate_id, "
    "f.period, " WUYE_SQL_TIME("f.at_us") ", f.duration, f.caller, f.state, f.source, CASE WHEN "
    "f.item <> '' THEN " QUALITY_ID("$1", "f.source", "f.item") " END FROM unnest($2::uuid[], "
    "$3::uuid[], $4::date[], $5::bigint[], $6::int[], $7::smallint[], $8::smallint[], "
    "$9::text[], $10::text[]) AS f(id, estate_id, period, at_us, duration, caller, state, "
    "source, item) ON CONFLICT (group_id, id) DO NOTHING");

void PerformanceStore::InsertFindings(pqxx::work& tx, const std::string& group,
                                      const std::vector<FindingDraft>& findings) {
  if (findings.empty()) return;
  std::vector<std::string> ids, estates, periods, at, durations, callers, states, sources, items;
  for (const FindingDraft& f : findings) {
    ids.push_back(f.id);
    estates.push_back(f.estate_id);
    periods.push_back(f.period);
    at.push_back(std::to_string(Micros(f.call_at)));
    durations.push_back(std::to_string(f.duration_seconds));
    callers.push_back(std::to_string(static_cast<int>(f.caller)));
    states.push_back(std::to_string(static_cast<int>(f.state)));
    sources.push_back(f.source_event_id);
    items.push_back(f.quality_item);
  }
  tx.exec_prepared(kFindingsInsert, group, PgArray(ids), PgArray(estates), PgArray(periods),
                   PgArray(at), PgArray(durations), PgArray(callers), PgArray(states),
                   PgArray(sources), PgArray(items));
}

const sql::Statement kFactsAdd = statements.Add(
    "pf_facts_add",
    "INSERT INTO facts (group_id, staff_id, estate_id, period, requests_handled, sla_hits, "
    "sla_misses, callbacks_rated, callbacks_satisfied, callbacks_unsatisfied, "
    "complaints_against, callbacks_made, tickets_closed, unrecorded_calls, "
    "sla_hits_paused_only) "
    "SELECT $1, s, e, p, sum(a), sum(b), sum(c), sum(d), sum(g), sum(h), sum(i), sum(j), "
    "sum(k), sum(m), sum(n) FROM unnest($2::uuid[], $3::uuid[], $4::date[], $5::bigint[], "
    "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], "
    "$12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[]) "
    "AS f(s, e, p, a, b, c, d, g, h, i, j, k, m, n) "
    "GROUP BY s, e, p ORDER BY s, e, p "
    "ON CONFLICT (group_id, staff_id, estate_id, period) DO UPDATE SET "
    "requests_handled = facts.requests_handled + excluded.requests_handled, "
    "sla_hits = facts.sla_hits + excluded.sla_hits, "
    "sla_misses = facts.sla_misses + excluded.sla_misses, "
    "callbacks_rated = facts.callbacks_rated + excluded.callbacks_rated, "
    "callbacks_satisfied = facts.callbacks_satisfied + excluded.callbacks_satisfied, "
    "callbacks_unsatisfied = facts.callbacks_unsatisfied + excluded.callbacks_unsatisfied, "
    "complaints_against = facts.complaints_against + excluded.complaints_against, "
    "callbacks_made = facts.callbacks_made + excluded.callbacks_made, "
    "tickets_closed = facts.tickets_closed + excluded.tickets_closed, "
    "unrecorded_calls = facts.unrecorded_calls + excluded.unrecorded_calls, "
    "sla_hits_paused_only = facts.sla_hits_paused_only + excluded.sla_hits_paused_only");

void PerformanceStore::AddFacts(pqxx::work& tx, const std::string& group,
                                const std::vector<FactDelta>& facts) {
  if (facts.empty()) return;
  std::vector<std::string> s, e, p;
  std::vector<std::string> cols[11];
  for (const FactDelta& f : facts) {
    s.push_back(f.staff_id);
    e.push_back(f.estate_id);
    p.push_back(f.period);
    int64_t v[11] = {f.requests_handled,    f.sla_hits,
                     f.sla_misses,          f.callbacks_rated,
                     f.callbacks_satisfied, f.callbacks_unsatisfied,
                     f.complaints_against,  f.callbacks_made,
                     f.tickets_closed,      f.unrecorded_calls,
                     f.sla_hits_paused_only};
    for (int i = 0; i < 11; ++i) cols[i].push_back(std::to_string(v[i]));
  }
  tx.exec_prepared(kFactsAdd, group, PgArray(s), PgArray(e), PgArray(p), PgArray(cols[0]),
                   PgArray(cols[1]), PgArray(cols[2]), PgArray(cols[3]), PgArray(cols[4]),
                   PgArray(cols[5]), PgArray(cols[6]), PgArray(cols[7]), PgArray(cols[8]),
                   PgArray(cols[9]), PgArray(cols[10]));
}

const sql::Statement kSurveysPut = statements.Add(
    "pf_surveys_put",
    "INSERT INTO surveys (group_id, survey_id, estate_id, period, households_answered, "
    "households, satisfied_bp, source_event_id, closed_at) SELECT $1::uuid, v.id, v.estate_id, "
    "v.period, v.answered, v.households, v.bp, v.source, " WUYE_SQL_TIME("v.at_us") " FROM "
    "unnest($2::uuid[], $3::uuid[], $4::date[], $5::int[], $6::int[], $7::int[], $8::text[], "
    "$9::bigint[]) AS v(id, estate_id, period, answered, households, bp, source, at_us) "
    "ON CONFLICT (group_id, survey_id) DO NOTHING");

void PerformanceStore::PutSurveys(pqxx::work& tx, const std::string& group,
                                  const std::vector<SurveyDraft>& surveys) {
  if (surveys.empty()) return;
  std::vector<std::string> ids, estates, periods, answered, households, bp, sources, at;
  for (const SurveyDraft& v : surveys) {
    ids.push_back(v.survey_id);
    estates.push_back(v.estate_id);
    periods.push_back(v.period);
    answered.push_back(std::to_string(v.households_answered));
    households.push_back(std::to_string(v.households));
    bp.push_back(std::to_string(v.satisfied_bp));
    sources.push_back(v.source_event_id);
    at.push_back(std::to_string(Micros(v.at)));
  }
  tx.exec_prepared(kSurveysPut, group, PgArray(ids), PgArray(estates), PgArray(periods),
                   PgArray(answered), PgArray(households), PgArray(bp), PgArray(sources),
                   PgArray(at));
}

const sql::Statement kCollectionPut = statements.Add(
    "pf_collection_put",
    "INSERT INTO team_kpis (group_id, estate_id, period, arrears_share_bp, collection_rate_bp, "
    "team_points, version) VALUES ($1, $2, $3::date, $4, $5, $6, $7) "
    "ON CONFLICT (group_id, estate_id, period) DO UPDATE SET arrears_share_bp = "
    "excluded.arrears_share_bp, collection_rate_bp = excluded.collection_rate_bp, "
    "team_points = excluded.team_points, version = excluded.version "
    "WHERE team_kpis.version < excluded.version");

void PerformanceStore::PutCollection(pqxx::work& tx, const std::string& group,
                                     const std::string& estate, const std::string& period,
                                     int32_t arrears_bp, int32_t collection_bp, int32_t team_points,
                                     int64_t version) {
  tx.exec_prepared(kCollectionPut, group, estate, period, arrears_bp, collection_bp, team_points,
                   version);
}

// ---- sheets ---------------------------------------------------------------------------------

const sql::Statement kLineGet = statements.Add(
    "pf_line_get",
    absl::StrCat("SELECT ", kLineCols, " FROM lines WHERE group_id = $1 AND id = $2"));

std::optional<pb::Line> PerformanceStore::GetLine(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  pqxx::result r = tx.exec_prepared(kLineGet, group, id);
  if (r.empty()) return std::nullopt;
  return LineRow(r[0]);
}

const sql::Statement kLineBySource = statements.Add(
    "pf_line_by_source",
    absl::StrCat("SELECT ", kLineCols,
                 " FROM lines WHERE group_id = $1 AND source_event_id = $2 AND staff_id = $3 "
                 "AND rule = $4"));

std::optional<pb::Line> PerformanceStore::LineBySource(pqxx::work& tx, const std::string& group,
                                                       const std::string& source,
                                                       const std::string& staff,
                                                       const std::string& rule) {
  pqxx::result r = tx.exec_prepared(kLineBySource, group, source, staff, rule);
  if (r.empty()) return std::nullopt;
  return LineRow(r[0]);
}

const sql::Statement kSheetGet = statements.Add("pf_sheet_get",
    "SELECT id, estate_id, state, COALESCE(base_score, 0), COALESCE(score, 0), COALESCE(grade, "
    "''), COALESCE(pay_percent, 0), COALESCE(" WUYE_SQL_MICROS("closed_at") ", 0) FROM sheets "
    "WHERE group_id = $1 AND staff_id = $2 AND period = $3::date");

std::optional<pb::Sheet> PerformanceStore::GetSheetRow(pqxx::work& tx, const std::string& group,
                                                       const std::string& staff,
                                                       const std::string& period) {
  pqxx::result r = tx.exec_prepared(kSheetGet, group, staff, period);
  if (r.empty()) return std::nullopt;
  pb::Sheet s;
  s.set_id(Text(r[0][0]));
  s.set_staff_id(staff);
  s.set_estate_id(Text(r[0][1]));
  *s.mutable_period() = MonthFromDate(period);
  s.set_state(static_cast<pb::SheetState>(r[0][2].as<int>()));
  if (s.state() == pb::SHEET_STATE_CLOSED) {
    s.set_base_score(r[0][3].as<int32_t>());
    s.set_score(r[0][4].as<int32_t>());
    s.set_grade(Text(r[0][5]));
    s.set_pay_percent(r[0][6].as<int32_t>());
    *s.mutable_close_time() = Stamp(r[0][7]);
  }
  return s;
}

const sql::Statement kLines = statements.Add(
    "pf_lines",
    absl::StrCat("SELECT ", kLineCols,
                 " FROM lines WHERE group_id = $1 AND staff_id = $2 AND period = $3::date "
                 "ORDER BY created_at, id"));

std::vector<pb::Line> PerformanceStore::Lines(pqxx::work& tx, const std::string& group,
                                              const std::string& staff, const std::string& period) {
  std::vector<pb::Line> out;
  for (const auto& r : tx.exec_prepared(kLines, group, staff, period)) {
    out.push_back(LineRow(r));
  }
  return out;
}

const sql::Statement kStaffFigures = statements.Add(
    "pf_staff_figures", absl::StrCat("SELECT ", kFigureSums,
                                     " FROM facts WHERE group_id = $1 AND staff_id = $2 AND "
                                     "period = $3::date"));

pb::Figures PerformanceStore::StaffFigures(pqxx::work& tx, const std::string& group,
                                           const std::string& staff, const std::string& period) {
  return FiguresRow(tx.exec_prepared1(kStaffFigures, group, staff, period), 0);
}

const sql::Statement kAppeals = statements.Add(
    "pf_appeals",
    absl::StrCat("SELECT ", kAppealCols,
                 " FROM appeals WHERE group_id = $1 AND staff_id = $2 AND period = $3::date "
                 "ORDER BY created_at, id"));

std::vector<pb::Appeal> PerformanceStore::Appeals(pqxx::work& tx, const std::string& group,
                                                  const std::string& staff,
                                                  const std::string& period) {
  std::vector<pb::Appeal> out;
  for (const auto& r : tx.exec_prepared(kAppeals, group, staff, period)) {
    out.push_back(AppealRow(r));
  }
  return out;
}

const sql::Statement kRankings = statements.Add(
    "pf_rankings",
    absl::StrCat(
        "WITH pop AS ("
        "  SELECT id AS staff_id FROM pf_staff WHERE group_id = $1 AND estate_ids @> "
        "ARRAY[$2::uuid]"
        "    AND active"
        "  UNION SELECT staff_id FROM sheets WHERE group_id = $1 AND estate_id = $2 AND period = $3"
        "), pts AS ("
        "  SELECT staff_id, sum(points) AS pts FROM lines WHERE group_id = $1 AND period = $3"
        "    AND NOT voided AND NOT pending AND staff_id IN (SELECT staff_id FROM pop)"
        "  GROUP BY staff_id"
        "), f AS ("
        "  SELECT staff_id, ",
        kFigureSums,
        "  FROM facts WHERE group_id = $1 AND period = $3"
        "    AND staff_id IN (SELECT staff_id FROM pop) GROUP BY staff_id"
        "), scored AS ("
        "  SELECT p.staff_id, COALESCE(st.roles, '{}') AS roles, COALESCE(sh.state = 2, false)"
        "    AS closed, CASE WHEN sh.state = 2 THEN sh.score ELSE ",
        ClampSql("$5 + COALESCE(pts.pts, 0)"),
        " END AS score"
        "  FROM pop p LEFT JOIN pf_staff st ON st.id = p.staff_id AND st.group_id = $1"
        "  LEFT JOIN sheets sh ON sh.group_id = $1 AND sh.staff_id = p.staff_id AND sh.period = $3"
        "  LEFT JOIN pts ON pts.staff_id = p.staff_id"
        "  WHERE $4 = '' OR $4 = ANY(COALESCE(st.roles, '{}'))"
        ") SELECT s.staff_id, s.roles, s.closed, s.score::int,"
        "  (RANK() OVER (ORDER BY s.score DESC))::int AS rank, f.* FROM scored s"
        "  LEFT JOIN f ON f.staff_id = s.staff_id ORDER BY rank, s.staff_id"));

std::vector<RankRow> PerformanceStore::Rankings(pqxx::work& tx, const std::string& group,
                                                const std::string& estate,
                                                const std::string& period, const std::string& role,
                                                int32_t base) {
  std::vector<RankRow> out;
  for (const auto& r : tx.exec_prepared(kRankings, group, estate, period, role, base)) {
    RankRow row;
    row.ranking.set_staff_id(Text(r[0]));
    for (auto& role_name : ParsePgArray(r[1])) row.ranking.add_roles(std::move(role_name));
    row.closed = r[2].as<bool>();
    row.ranking.set_score(r[3].as<int32_t>());
    row.ranking.set_rank(r[4].as<int32_t>());
    row.ranking.set_grade(std::string(GradeOf(row.ranking.score()).name));
    // f.* : staff_id, then the figures (NULL when the staff member has none).
    if (!r[6].is_null()) row.figures = FiguresRow(r, 6);
    out.push_back(std::move(row));
  }
  return out;
}

const sql::Statement kEstateFigures = statements.Add(
    "pf_estate_figures",
    absl::StrCat("SELECT ", kFigureSums,
                 " FROM facts WHERE group_id = $1 AND estate_id = $2 AND period = $3::date"));

const sql::Statement kTeamKpi =
    statements.Add("pf_team_kpi",
                   "SELECT arrears_share_bp, collection_rate_bp, team_points FROM team_kpis "
                   "WHERE group_id = $1 AND estate_id = $2 AND period = $3::date");

// The month's surveys: answers and households summed, the satisfied share weighted by
// the households that answered (rounded to the nearest basis point).
const sql::Statement kSatisfaction = statements.Add(
    "pf_satisfaction",
    "SELECT count(*), COALESCE(sum(households_answered), 0), COALESCE(sum(households), 0), "
    "COALESCE(round(sum(satisfied_bp::numeric * households_answered) / "
    "NULLIF(sum(households_answered), 0)), 0)::int FROM surveys WHERE group_id = $1 AND "
    "estate_id = $2 AND period = $3::date");

pb::TeamSheet PerformanceStore::TeamSheet(pqxx::work& tx, const std::string& group,
                                          const std::string& estate, const std::string& period) {
  pb::TeamSheet t;
  t.set_estate_id(estate);
  *t.mutable_period() = MonthFromDate(period);
  pqxx::row f = tx.exec_prepared1(kEstateFigures, group, estate, period);
  *t.mutable_figures() = FiguresRow(f, 0);
  t.set_unrecorded_calls(f[9].as<int64_t>());
  pqxx::result k = tx.exec_prepared(kTeamKpi, group, estate, period);
  if (!k.empty()) {
    t.set_arrears_reported(true);
    t.set_arrears_share_bp(k[0][0].as<int32_t>());
    t.set_collection_rate_bp(k[0][1].as<int32_t>());
    t.set_team_points(k[0][2].as<int32_t>());
  }
  t.set_quality_score(QualityScore(tx, group, estate, period));
  pqxx::row v = tx.exec_prepared1(kSatisfaction, group, estate, period);
  pb::SatisfactionFigure* sat = t.mutable_satisfaction();
  sat->set_surveys(v[0].as<int32_t>());
  sat->set_households_answered(v[1].as<int32_t>());
  sat->set_households(v[2].as<int32_t>());
  sat->set_satisfied_bp(v[3].as<int32_t>());
  return t;
}

// ---- the office's quality ledger ------------------------------------------------------------

const sql::Statement kQualityLines = statements.Add(
    "pf_quality_lines",
    absl::StrCat("SELECT ", kQualityCols,
                 " FROM quality_lines WHERE group_id = $1 AND estate_id = $2 AND period = "
                 "$3::date ORDER BY created_at, id"));

std::vector<pb::QualityLine> PerformanceStore::QualityLines(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate,
                                                            const std::string& period) {
  std::vector<pb::QualityLine> out;
  for (const auto& r : tx.exec_prepared(kQualityLines, group, estate, period)) {
    out.push_back(QualityRow(r));
  }
  return out;
}

const sql::Statement kQualityGet = statements.Add(
    "pf_quality_get",
    absl::StrCat("SELECT ", kQualityCols, " FROM quality_lines WHERE group_id = $1 AND id = $2"));

const sql::Statement kQualityGetLocked = statements.Add(
    "pf_quality_get_locked", absl::StrCat("SELECT ", kQualityCols,
                                          " FROM quality_lines WHERE group_id = $1 AND id = $2 "
                                          "FOR UPDATE"));

std::optional<pb::QualityLine> PerformanceStore::GetQualityLine(pqxx::work& tx,
                                                                const std::string& group,
                                                                const std::string& id,
                                                                bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kQualityGetLocked : kQualityGet, group, id);
  if (r.empty()) return std::nullopt;
  return QualityRow(r[0]);
}

const sql::Statement kQualityBySource = statements.Add(
    "pf_quality_by_source",
    absl::StrCat("SELECT ", kQualityCols,
                 " FROM quality_lines WHERE group_id = $1 AND source_event_id = $2 AND "
                 "item = $3"));

std::optional<pb::QualityLine> PerformanceStore::QualityLineBySource(pqxx::work& tx,
                                                                     const std::string& group,
                                                                     const std::string& source,
                                                                     const std::string& item) {
  pqxx::result r = tx.exec_prepared(kQualityBySource, group, source, item);
  if (r.empty()) return std::nullopt;
  return QualityRow(r[0]);
}

const sql::Statement kQualityScore = statements.Add(
    "pf_quality_score",
    "SELECT (COALESCE((SELECT sum(points) FROM quality_lines WHERE group_id = $1 AND "
    "estate_id = $2 AND period = $3::date AND state = 1), 0) + COALESCE((SELECT team_points "
    "FROM team_kpis WHERE group_id = $1 AND estate_id = $2 AND period = $3::date), 0))::int");

int32_t PerformanceStore::QualityScore(pqxx::work& tx, const std::string& group,
                                       const std::string& estate, const std::string& period) {
  return tx.exec_prepared1(kQualityScore, group, estate, period)[0].as<int32_t>();
}

const sql::Statement kQualityConfirm = statements.Add(
    "pf_quality_confirm",
    "UPDATE quality_lines SET state = 1, confirmation_ref = $3, confirmed_by = $4, confirmed_at "
    "= " WUYE_SQL_TIME("$5") " WHERE group_id = $1 AND id = $2 AND state = 2");

// The form lines an office line put on people's forms (not the copies and reversals made
// later, whose source names the line), with their sheet's state.
const sql::Statement kQualityFormLines = statements.Add(
    "pf_quality_form_lines",
    "SELECT l.id, l.staff_id, l.estate_id, l.period::text, l.rule, l.points, "
    "COALESCE(s.state, 1), l.pending FROM lines l LEFT JOIN sheets s ON s.group_id = "
    "l.group_id AND s.staff_id = l.staff_id AND s.period = l.period WHERE l.group_id = $1 "
    "AND l.quality_line_id = $2 AND NOT l.voided AND l.source_event_id NOT LIKE '%:%' "
    "ORDER BY l.id");

const sql::Statement kLineUnpend = statements.Add(
    "pf_line_unpend", "UPDATE lines SET pending = false WHERE group_id = $1 AND id = $2");

void PerformanceStore::ConfirmQuality(pqxx::work& tx, const std::string& group,
                                      const pb::QualityLine& line, const std::string& ref,
                                      const std::string& by, absl::Time now) {
  tx.exec_prepared(kQualityConfirm, group, line.id(), ref, by, Micros(now));
  std::vector<LineDraft> carried;
  for (const auto& r : tx.exec_prepared(kQualityFormLines, group, line.id())) {
    if (!r[7].as<bool>()) continue;  // not pending
    if (r[6].as<int>() != 2) {
      tx.exec_prepared(kLineUnpend, group, Text(r[0]));
      continue;
    }
    // Its form is closed: the reward counts in the next open month, referring back.
    LineDraft d;
    d.id = NewId(now);
    d.staff_id = Text(r[1]);
    d.estate_id = Text(r[2]);
    d.period = Text(r[3]);
    d.rule = Text(r[4]);
    d.points = r[5].as<int32_t>();
    d.source_event_id = absl::StrCat("confirm:", Text(r[0]));
    d.note = "confirmed by the supervisory committee";
    d.entered_by = by;
    d.at = now;
    d.quality_line_id = line.id();
    carried.push_back(std::move(d));
  }
  ApplyLines(tx, group, carried);
}

const sql::Statement kQualityWithdraw = statements.Add(
    "pf_quality_withdraw",
    "UPDATE quality_lines SET state = 3, withdraw_reason = $3 WHERE group_id = $1 AND id = $2 "
    "AND state <> 3 RETURNING 1");

const sql::Statement kLineVoid = statements.Add(
    "pf_line_void", "UPDATE lines SET voided = true WHERE group_id = $1 AND id = $2");

bool PerformanceStore::WithdrawQuality(pqxx::work& tx, const std::string& group,
                                       const std::string& id, const std::string& reason,
                                       absl::Time now) {
  // Once: a line withdrawn before (a dismissed finding, an upheld appeal) is left as it is.
  if (tx.exec_prepared(kQualityWithdraw, group, id, reason).empty()) return false;
  std::vector<LineDraft> reversed;
  for (const auto& r : tx.exec_prepared(kQualityFormLines, group, id)) {
    if (r[6].as<int>() != 2 || r[7].as<bool>()) {
      tx.exec_prepared(kLineVoid, group, Text(r[0]));
      continue;
    }
    // Its form is closed: reversed in the next open month, referring back.
    LineDraft d;
    d.id = NewId(now);
    d.staff_id = Text(r[1]);
    d.estate_id = Text(r[2]);
    d.period = Text(r[3]);
    d.rule = Text(r[4]);
    d.points = -r[5].as<int32_t>();
    d.source_event_id = absl::StrCat("withdraw:", Text(r[0]));
    d.note = absl::StrCat("withdrawn: ", reason);
    d.at = now;
    d.quality_line_id = id;
    reversed.push_back(std::move(d));
  }
  ApplyLines(tx, group, reversed);
  return true;
}

// ---- unrecorded-call findings ---------------------------------------------------------------

const sql::Statement kFindings = statements.Add(
    "pf_findings",
    absl::StrCat("SELECT ", kFindingCols,
                 " FROM call_findings f WHERE f.group_id = $1 AND f.estate_id = $2 AND "
                 "f.period = $3::date ORDER BY f.call_at, f.id"));

std::vector<pb::CallFinding> PerformanceStore::Findings(pqxx::work& tx, const std::string& group,
                                                        const std::string& estate,
                                                        const std::string& period) {
  std::vector<pb::CallFinding> out;
  for (const auto& r : tx.exec_prepared(kFindings, group, estate, period)) {
    out.push_back(FindingRow(r));
  }
  return out;
}

const sql::Statement kFindingGet = statements.Add(
    "pf_finding_get", absl::StrCat("SELECT ", kFindingCols,
                                   " FROM call_findings f WHERE f.group_id = $1 AND f.id = $2"));

const sql::Statement kFindingLock = statements.Add(
    "pf_finding_lock", "SELECT 1 FROM call_findings WHERE group_id = $1 AND id = $2 FOR UPDATE");

std::optional<pb::CallFinding> PerformanceStore::GetFinding(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& id,
                                                            bool for_update) {
  if (for_update && tx.exec_prepared(kFindingLock, group, id).empty()) return std::nullopt;
  pqxx::result r = tx.exec_prepared(kFindingGet, group, id);
  if (r.empty()) return std::nullopt;
  return FindingRow(r[0]);
}

const sql::Statement kFindingDismiss =
    statements.Add("pf_finding_dismiss",
                   "UPDATE call_findings SET state = 3, dismiss_reason = $3, dismissed_by = $4, "
                   "dismissed_at = " WUYE_SQL_TIME("$5") " WHERE group_id = $1 AND id = $2");

void PerformanceStore::DismissFinding(pqxx::work& tx, const std::string& group,
                                      const std::string& id, const std::string& reason,
                                      const std::string& by, absl::Time now) {
  tx.exec_prepared(kFindingDismiss, group, id, reason, by, Micros(now));
}

// ---- appeals --------------------------------------------------------------------------------

const sql::Statement kAppealInsert = statements.Add(
    "pf_appeal_insert",
    absl::StrCat("INSERT INTO appeals (id, group_id, line_id, staff_id, estate_id, period, "
                 "reason, state, created_at, appealed_by) VALUES ($1, $2, $3, $4, $5, "
                 "$6::date, $7, 1, " WUYE_SQL_TIME("$8") ", $9) RETURNING ",
                 kAppealCols));

void PerformanceStore::InsertAppeal(pqxx::work& tx, const std::string& group, const std::string& id,
                                    const pb::Line& line, const std::string& reason, absl::Time now,
                                    pb::Appeal* out) {
  *out = AppealRow(tx.exec_prepared1(kAppealInsert, id, group, line.id(), line.staff_id(),
                                     line.estate_id(), MonthDate(line.period()), reason,
                                     Micros(now), line.staff_id()));
}

const sql::Statement kQualityAppealInsert = statements.Add(
    "pf_quality_appeal_insert",
    absl::StrCat("INSERT INTO appeals (id, group_id, quality_line_id, estate_id, period, "
                 "reason, state, created_at, appealed_by) VALUES ($1, $2, $3, $4, $5::date, "
                 "$6, 1, " WUYE_SQL_TIME("$7") ", $8) RETURNING ",
                 kAppealCols));

void PerformanceStore::InsertQualityAppeal(pqxx::work& tx, const std::string& group,
                                           const std::string& id, const pb::QualityLine& line,
                                           const std::string& reason, const std::string& by,
                                           absl::Time now, pb::Appeal* out) {
  *out = AppealRow(tx.exec_prepared1(kQualityAppealInsert, id, group, line.id(), line.estate_id(),
                                     MonthDate(line.period()), reason, Micros(now), by));
}

const sql::Statement kQualityAppeals = statements.Add(
    "pf_quality_appeals",
    absl::StrCat("SELECT ", kAppealCols,
                 " FROM appeals WHERE group_id = $1 AND estate_id = $2 AND period = $3::date "
                 "AND quality_line_id IS NOT NULL ORDER BY created_at, id"));

std::vector<pb::Appeal> PerformanceStore::QualityAppeals(pqxx::work& tx, const std::string& group,
                                                         const std::string& estate,
                                                         const std::string& period) {
  std::vector<pb::Appeal> out;
  for (const auto& r : tx.exec_prepared(kQualityAppeals, group, estate, period)) {
    out.push_back(AppealRow(r));
  }
  return out;
}

const sql::Statement kEstateMonthClosed = statements.Add(
    "pf_estate_month_closed",
    "SELECT 1 FROM sheets WHERE group_id = $1 AND estate_id = $2 AND period = $3::date "
    "AND state = 2 LIMIT 1");

bool PerformanceStore::EstateMonthClosed(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& period) {
  return !tx.exec_prepared(kEstateMonthClosed, group, estate, period).empty();
}

const sql::Statement kAppealForLine = statements.Add(
    "pf_appeal_for_line", "SELECT 1 FROM appeals WHERE group_id = $1 AND line_id = $2");

bool PerformanceStore::LineAppealed(pqxx::work& tx, const std::string& group,
                                    const std::string& line_id) {
  return !tx.exec_prepared(kAppealForLine, group, line_id).empty();
}

const sql::Statement kAppealGet = statements.Add(
    "pf_appeal_get",
    absl::StrCat("SELECT ", kAppealCols, " FROM appeals WHERE group_id = $1 AND id = $2"));

const sql::Statement kAppealGetLocked = statements.Add(
    "pf_appeal_get_locked", absl::StrCat("SELECT ", kAppealCols,
                                         " FROM appeals WHERE group_id = $1 AND id = $2 "
                                         "FOR UPDATE"));

std::optional<pb::Appeal> PerformanceStore::GetAppeal(pqxx::work& tx, const std::string& group,
                                                      const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kAppealGetLocked : kAppealGet, group, id);
  if (r.empty()) return std::nullopt;
  return AppealRow(r[0]);
}

const sql::Statement kAppealDecide = statements.Add(
    "pf_appeal_decide",
    absl::StrCat(
        "UPDATE appeals SET state = $3, decision_reason = $4, decided_by = $5, "
        "decided_at = " WUYE_SQL_TIME("$6") ", decision_ref = $7 WHERE group_id = $1 AND id = $2 "
                                            "RETURNING ",
        kAppealCols));

void PerformanceStore::DecideAppeal(pqxx::work& tx, const std::string& group, const std::string& id,
                                    bool uphold, const std::string& reason, const std::string& ref,
                                    const std::string& by, absl::Time now, pb::Appeal* out) {
  *out = AppealRow(tx.exec_prepared1(
      kAppealDecide, group, id,
      static_cast<int>(uphold ? pb::APPEAL_STATE_UPHELD : pb::APPEAL_STATE_REJECTED), reason, by,
      Micros(now), ref));
  if (!uphold) return;
  if (out->quality_line_id().empty()) {
    tx.exec_prepared(kLineVoid, group, out->line_id());
  } else {
    WithdrawQuality(tx, group, out->quality_line_id(), absl::StrCat("appeal upheld: ", reason),
                    now);
  }
}

// ---- closing a month ------------------------------------------------------------------------

const sql::Statement kLockShared =
    statements.Add("pf_lock_shared", "SELECT pg_advisory_xact_lock_shared(8, hashtext($1::text))");

const sql::Statement kLock =
    statements.Add("pf_lock", "SELECT pg_advisory_xact_lock(8, hashtext($1::text))");

void PerformanceStore::LockEvidence(pqxx::work& tx, const std::string& group, bool exclusive) {
  tx.exec_prepared(exclusive ? kLock : kLockShared, group);
}

const sql::Statement kPendingAppeals = statements.Add(
    "pf_pending_appeals",
    "SELECT count(*) FROM appeals WHERE group_id = $1 AND period = $3::date AND state = 1 "
    "AND ($2 = '' OR estate_id = NULLIF($2, '')::uuid)");

int64_t PerformanceStore::PendingAppeals(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& period) {
  return tx.exec_prepared1(kPendingAppeals, group, estate, period)[0].as<int64_t>();
}

const sql::Statement kCloseMakeSheets = statements.Add(
    "pf_close_make_sheets",
    "INSERT INTO sheets (id, group_id, staff_id, estate_id, period) "
    "SELECT ($4 || lpad(to_hex(row_number() OVER (ORDER BY id)), 12, '0'))::uuid, $1, id, "
    "estate_ids[1], $3::date FROM pf_staff WHERE group_id = $1 AND active "
    "AND cardinality(estate_ids) > 0 AND ($2 = '' OR estate_ids[1] = NULLIF($2, '')::uuid) "
    "ON CONFLICT (group_id, staff_id, period) DO NOTHING");

// One UPDATE, no join: each sheet's sum comes by the lines_sheet index, so the plan is
// the same whatever the statistics say (right after a bulk of evidence they are stale,
// and a join can go quadratic).
const sql::Statement kCloseGrade = statements.Add(
    "pf_close_grade",
    absl::StrCat(
        "UPDATE sheets s SET state = 2, base_score = $4::int, closed_at = ", WUYE_SQL_TIME("$5"),
        ", (score, grade, pay_percent) = (SELECT v, ", GradeSql("v"), ", ", PaySql("v"),
        "  FROM (SELECT ", ClampSql("$4::int + COALESCE(sum(l.points), 0)"),
        "::int AS v FROM lines l"
        "    WHERE l.group_id = s.group_id AND l.staff_id = s.staff_id AND l.period = s.period"
        "    AND NOT l.voided AND NOT l.pending) q)"
        " WHERE s.group_id = $1 AND s.period = $3 AND s.state = 1"
        "   AND ($2 = '' OR s.estate_id = NULLIF($2, '')::uuid)"
        " RETURNING s.id, s.staff_id, s.estate_id, s.score, s.grade, s.pay_percent"));

std::vector<ClosedSheet> PerformanceStore::CloseMonth(pqxx::work& tx, const std::string& group,
                                                      const std::string& estate,
                                                      const std::string& period, int32_t base,
                                                      absl::Time now,
                                                      const std::string& id_prefix) {
  tx.exec_prepared(kCloseMakeSheets, group, estate, period, id_prefix);
  std::vector<ClosedSheet> out;
  pqxx::result r = tx.exec_prepared(kCloseGrade, group, estate, period, base, Micros(now));
  out.reserve(r.size());
  for (const auto& row : r) {
    out.push_back({Text(row[0]), Text(row[1]), Text(row[2]), row[3].as<int32_t>(), Text(row[4]),
                   row[5].as<int32_t>()});
  }
  return out;
}

}  // namespace wuye::performance
