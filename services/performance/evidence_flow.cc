#include "services/performance/evidence_flow.h"

#include <map>
#include <optional>
#include <utility>

#include "shared/ids.h"

namespace wuye::performance {

absl::Status EvidenceFlow::Apply(pqxx::work& tx, const std::string& group,
                                 std::vector<Evidence> batch) {
  std::vector<QualityDraft> quality;
  std::vector<LineDraft> lines;
  std::vector<FindingDraft> findings;
  std::vector<FactDelta> facts;
  std::vector<SurveyDraft> surveys;
  std::optional<std::map<std::string, FormTarget>> targets;  // office item → form item
  for (Evidence& ev : batch) {
    for (QualityEvidence& q : ev.quality) {
      if (q.on_duty && q.line.responsible.empty()) {
        q.line.responsible = store_.AgentsOnDuty(tx, group, q.line.estate_id, q.line.at);
      }
      if (!targets) targets = store_.FormTargets(tx, group);
      auto t = targets->find(q.line.item);
      if (t != targets->end()) {
        for (const std::string& staff : q.line.responsible) {
          LineDraft l;
          l.id = NewId(q.line.at);
          l.staff_id = staff;
          l.estate_id = q.line.estate_id;
          l.period = q.line.period;
          l.rule = t->second.code;
          l.points = t->second.points;
          l.source_event_id = q.line.source_event_id;
          l.note = q.line.note;
          l.entered_by = q.line.entered_by;
          l.at = q.line.at;
          l.quality_item = q.line.item;
          l.pending = q.line.state == pb::QUALITY_LINE_STATE_AWAITING_CONFIRMATION;
          lines.push_back(std::move(l));
        }
      }
      quality.push_back(std::move(q.line));
    }
    for (LineDraft& l : ev.lines) lines.push_back(std::move(l));
    for (FindingDraft& f : ev.findings) findings.push_back(std::move(f));
    for (FactDelta& f : ev.facts) facts.push_back(std::move(f));
    for (SurveyDraft& v : ev.surveys) surveys.push_back(std::move(v));
  }
  store_.InsertFindings(tx, group, findings);
  store_.ApplyQuality(tx, group, quality);
  store_.ApplyLines(tx, group, lines);
  store_.AddFacts(tx, group, facts);
  store_.PutSurveys(tx, group, surveys);
  return absl::OkStatus();
}

}  // namespace wuye::performance
