// The only code that knows performance's tables. Every call takes the caller's group and
// filters by it; rules live in performance.h and permissions in the handlers.
#pragma once

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/performance/performance.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "wuye/performance/v1/performance.pb.h"

namespace wuye {
const MigrationSet& performance_migrations();
}

namespace wuye::performance {

inline constexpr char kNilId[] = "00000000-0000-0000-0000-000000000000";

struct StaffCopy {
  std::string id;
  std::vector<std::string> roles;
  std::vector<std::string> estate_ids;
  bool active = false;
  // The estate of the staff member's sheet: the first home estate.
  std::string home() const { return estate_ids.empty() ? "" : estate_ids.front(); }
};

// One line to write: a deduction or reward with its evidence.
struct LineDraft {
  std::string id;  // a new id (unused when the evidence was applied before)
  std::string staff_id, estate_id;
  std::string period;  // "YYYY-MM-01": the month of the evidence
  std::string rule;
  int32_t points = 0;
  std::string source_event_id;
  std::string note, entered_by;
  absl::Time at;
};

// Figures to add to a staff member's (or, with kNilId, the estate's) month.
struct FactDelta {
  std::string staff_id, estate_id, period;
  int64_t requests_handled = 0, sla_hits = 0, sla_misses = 0, callbacks_rated = 0,
          callbacks_satisfied = 0, callbacks_unsatisfied = 0, complaints_against = 0,
          callbacks_made = 0, tickets_closed = 0, unrecorded_calls = 0;
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
  // Active agents whose home estates include `estate` (the desk).
  std::vector<std::string> DeskAgents(pqxx::work& tx, const std::string& group,
                                      const std::string& estate);

  // ---- rules and settings ----
  // The group's points for every rule (catalogue defaults where none is set).
  std::map<std::string, int32_t> RulePoints(pqxx::work& tx, const std::string& group);
  void PutRule(pqxx::work& tx, const std::string& group, const std::string& rule, int32_t points,
               absl::Time now);
  pb::Settings GetSettings(pqxx::work& tx, const std::string& group);
  void PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s, absl::Time now);

  // ---- evidence ----
  // Writes lines set-based: the sheet of each (staff, month) is made when missing; a line
  // whose month's sheet is closed goes to the month after the last closed one, with
  // carried_from; evidence applied before (same source, staff, rule) is skipped. Returns
  // the number of lines written.
  int64_t ApplyLines(pqxx::work& tx, const std::string& group, const std::vector<LineDraft>& lines);
  void AddFacts(pqxx::work& tx, const std::string& group, const std::vector<FactDelta>& facts);
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

  // ---- appeals ----
  void InsertAppeal(pqxx::work& tx, const std::string& group, const std::string& id,
                    const pb::Line& line, const std::string& reason, absl::Time now,
                    pb::Appeal* out);
  bool LineAppealed(pqxx::work& tx, const std::string& group, const std::string& line_id);
  std::optional<pb::Appeal> GetAppeal(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update);
  void DecideAppeal(pqxx::work& tx, const std::string& group, const std::string& id, bool uphold,
                    const std::string& reason, const std::string& by, absl::Time now,
                    pb::Appeal* out);

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
