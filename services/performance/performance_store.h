// The only code that knows performance's tables. Every call takes the caller's group and
// filters by it; rules live in performance.h and permissions in the handlers.
#pragma once

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/performance/evidence.h"
#include "services/performance/performance.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "wuye/performance/v1/performance.pb.h"

namespace wuye {
const MigrationSet& performance_migrations();
}

namespace wuye::performance {

struct StaffCopy {
  std::string id;
  std::vector<std::string> roles;
  std::vector<std::string> estate_ids;
  bool active = false;
  // The estate of the staff member's sheet: the first home estate.
  std::string home() const { return estate_ids.empty() ? "" : estate_ids.front(); }
};

// The form item an office item moves onto, and its points.
struct FormTarget {
  std::string code;
  int32_t points = 0;
};

struct ClosedSheet {
  std::string id, staff_id, estate_id;
  int32_t score = 0;
  std::string grade;
  int32_t pay_percent = 0;
};

struct RankRow {
  pb::Ranking ranking;
  bool closed = false;
  pb::Figures figures;
};

class PerformanceStore {
 public:
  explicit PerformanceStore(Db& db);

  // ---- the directory copy (newer versions only) ----
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    const std::string& tz, int64_t version);
  void UpsertStaff(pqxx::work& tx, const std::string& group, const StaffCopy& s, int64_t version);
  std::string EstateZone(pqxx::work& tx, const std::string& group, const std::string& estate);
  std::optional<StaffCopy> GetStaff(pqxx::work& tx, const std::string& group,
                                    const std::string& id);
  // The shift roster.
  void UpsertShift(pqxx::work& tx, const std::string& group, const std::string& id,
                   const std::string& estate, const std::string& staff, absl::Time start,
                   absl::Time end);
  void DeleteShift(pqxx::work& tx, const std::string& group, const std::string& id);
  // Agents (role "agent") on a shift of `estate` at `at` (start <= at < end).
  std::vector<std::string> AgentsOnDuty(pqxx::work& tx, const std::string& group,
                                        const std::string& estate, absl::Time at);
  // Deducted findings of `estate` in [start, end) whose office line does not name `staff`
  // yet: the evidence a shift that arrived after the call still charges.
  struct Uncharged {
    std::string source_event_id, quality_line_id, item, period;
    absl::Time call_at;
  };
  std::vector<Uncharged> FindingsInShift(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& staff,
                                         absl::Time start, absl::Time end);
  void AddResponsible(pqxx::work& tx, const std::string& group, const std::string& quality_line,
                      const std::string& staff);

  // ---- rules and settings ----
  // The group's points for every rule (catalogue defaults where none is set).
  std::map<std::string, int32_t> RulePoints(pqxx::work& tx, const std::string& group);
  void PutRule(pqxx::work& tx, const std::string& group, const std::string& rule, int32_t points,
               const std::optional<std::string>& form_item, absl::Time now);
  // The group's form item of each office item (none for items mapped to nothing).
  std::map<std::string, std::string> FormItemOf(pqxx::work& tx, const std::string& group);
  // The group's form items: the defaults with its points, and its own.
  std::vector<pb::FormItem> FormItems(pqxx::work& tx, const std::string& group);
  void PutFormItem(pqxx::work& tx, const std::string& group, const pb::FormItem& item, bool custom,
                   absl::Time now);
  // office item → the form item and its points, by the group's mapping.
  std::map<std::string, FormTarget> FormTargets(pqxx::work& tx, const std::string& group);
  pb::Settings GetSettings(pqxx::work& tx, const std::string& group);
  void PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s, absl::Time now);

  // ---- evidence ----
  // Writes lines set-based: the sheet of each (staff, month) is made when missing; a line
  // whose month's sheet is closed goes to the month after the last closed one, with
  // carried_from; evidence applied before (same source, staff, rule) is skipped. Returns
  // the number of lines written.
  int64_t ApplyLines(pqxx::work& tx, const std::string& group, const std::vector<LineDraft>& lines);
  // Writes quality lines set-based; evidence applied before (same source, item) is skipped.
  void ApplyQuality(pqxx::work& tx, const std::string& group,
                    const std::vector<QualityDraft>& lines);
  // Findings, set-based; one stored before is skipped.
  void InsertFindings(pqxx::work& tx, const std::string& group,
                      const std::vector<FindingDraft>& findings);
  void AddFacts(pqxx::work& tx, const std::string& group, const std::vector<FactDelta>& facts);
  // The counter's closed surveys, once per survey (the office's satisfaction figure).
  void PutSurveys(pqxx::work& tx, const std::string& group, const std::vector<SurveyDraft>& surveys);
  void PutCollection(pqxx::work& tx, const std::string& group, const std::string& estate,
                     const std::string& period, int32_t arrears_bp, int32_t collection_bp,
                     int32_t team_points, int64_t version);

  // ---- sheets ----
  std::optional<pb::Line> GetLine(pqxx::work& tx, const std::string& group, const std::string& id);
  std::optional<pb::Line> LineBySource(pqxx::work& tx, const std::string& group,
                                       const std::string& source, const std::string& staff,
                                       const std::string& rule);
  // The stored sheet (id, estate, state, close fields), if any; lines/figures not filled.
  std::optional<pb::Sheet> GetSheetRow(pqxx::work& tx, const std::string& group,
                                       const std::string& staff, const std::string& period);
  std::vector<pb::Line> Lines(pqxx::work& tx, const std::string& group, const std::string& staff,
                              const std::string& period);
  pb::Figures StaffFigures(pqxx::work& tx, const std::string& group, const std::string& staff,
                           const std::string& period);
  std::vector<pb::Appeal> Appeals(pqxx::work& tx, const std::string& group,
                                  const std::string& staff, const std::string& period);

  // Staff of an estate in rank order: those whose home estates include it and those with a
  // sheet of it that month; open sheets scored live from `base`.
  std::vector<RankRow> Rankings(pqxx::work& tx, const std::string& group, const std::string& estate,
                                const std::string& period, const std::string& role, int32_t base);
  // The estate's summed figures; team KPI row if any.
  pb::TeamSheet TeamSheet(pqxx::work& tx, const std::string& group, const std::string& estate,
                          const std::string& period);

  // ---- the office's quality ledger ----
  std::vector<pb::QualityLine> QualityLines(pqxx::work& tx, const std::string& group,
                                            const std::string& estate, const std::string& period);
  std::optional<pb::QualityLine> GetQualityLine(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update);
  std::optional<pb::QualityLine> QualityLineBySource(pqxx::work& tx, const std::string& group,
                                                     const std::string& source,
                                                     const std::string& item);
  // counted points of the month + the arrears team points.
  int32_t QualityScore(pqxx::work& tx, const std::string& group, const std::string& estate,
                       const std::string& period);
  // Records the committee's confirmation: the line counts, and its form lines stop being
  // pending (on a closed form: a copy in the next open month, carried_from).
  void ConfirmQuality(pqxx::work& tx, const std::string& group, const pb::QualityLine& line,
                      const std::string& ref, const std::string& by, absl::Time now);
  // Withdraws an office line: it counts nothing; its form lines are voided (on a closed
  // form: reversed in the next open month). False (and nothing changed) when it was
  // withdrawn before.
  bool WithdrawQuality(pqxx::work& tx, const std::string& group, const std::string& id,
                       const std::string& reason, absl::Time now);

  // ---- unrecorded-call findings ----
  std::vector<pb::CallFinding> Findings(pqxx::work& tx, const std::string& group,
                                        const std::string& estate, const std::string& period);
  std::optional<pb::CallFinding> GetFinding(pqxx::work& tx, const std::string& group,
                                            const std::string& id, bool for_update);
  void DismissFinding(pqxx::work& tx, const std::string& group, const std::string& id,
                      const std::string& reason, const std::string& by, absl::Time now);

  // ---- appeals ----
  void InsertAppeal(pqxx::work& tx, const std::string& group, const std::string& id,
                    const pb::Line& line, const std::string& reason, absl::Time now,
                    pb::Appeal* out);
  bool LineAppealed(pqxx::work& tx, const std::string& group, const std::string& line_id);
  // An appeal of the estate office against a line of its quality ledger, by `by`.
  void InsertQualityAppeal(pqxx::work& tx, const std::string& group, const std::string& id,
                           const pb::QualityLine& line, const std::string& reason,
                           const std::string& by, absl::Time now, pb::Appeal* out);
  // The office's appeals of an estate's month.
  std::vector<pb::Appeal> QualityAppeals(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& period);
  // True once a sheet of the estate's month is closed (CloseMonth ran for it).
  bool EstateMonthClosed(pqxx::work& tx, const std::string& group, const std::string& estate,
                         const std::string& period);
  std::optional<pb::Appeal> GetAppeal(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update);
  // Upheld: a form line's appeal voids the line; an office line's withdraws it
  // (WithdrawQuality: its form lines voided once). `ref`: the committee's record.
  void DecideAppeal(pqxx::work& tx, const std::string& group, const std::string& id, bool uphold,
                    const std::string& reason, const std::string& ref, const std::string& by,
                    absl::Time now, pb::Appeal* out);

  // ---- closing a month ----
  // A transaction-scoped advisory lock per group: shared by writers of evidence,
  // exclusive while a month closes, so that no line lands in a sheet being graded.
  void LockEvidence(pqxx::work& tx, const std::string& group, bool exclusive);
  int64_t PendingAppeals(pqxx::work& tx, const std::string& group, const std::string& estate,
                         const std::string& period);
  // Set-based: makes the missing sheets of the scope's active staff (estate "" = group),
  // then grades every open sheet of the month in one UPDATE. Returns the sheets closed.
  std::vector<ClosedSheet> CloseMonth(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, const std::string& period,
                                      int32_t base, absl::Time now, const std::string& id_prefix);
};

}  // namespace wuye::performance
