// What an event of another service is as performance evidence (docs/api/performance.md#events):
// pure, no I/O; the time zone that decides an event's month is passed in. The lines, findings
// and figures drafted here are written by EvidenceFlow (evidence_flow.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/performance/performance.h"
#include "wuye/events/v1/envelope.pb.h"
#include "wuye/performance/v1/performance.pb.h"

namespace wuye::performance {

inline constexpr char kNilId[] = "00000000-0000-0000-0000-000000000000";

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
  // The office item of the quality line it comes from ("" for a form item only): the
  // line's quality_line_id is that line's id; or the id itself, when known.
  std::string quality_item, quality_line_id;
  bool pending = false;  // awaiting the committee's confirmation
};

// One line of the office's quality ledger. Its id is md5(group:source:item)::uuid.
struct QualityDraft {
  std::string estate_id, period, item;
  int32_t points = 0;
  pb::QualityLineState state = pb::QUALITY_LINE_STATE_COUNTED;
  std::string source_event_id, note, entered_by;
  std::vector<std::string> responsible;
  absl::Time at;
};

struct FindingDraft {
  std::string id, estate_id, period;
  absl::Time call_at;
  int32_t duration_seconds = 0;
  pb::CallerKind caller = pb::CALLER_KIND_UNSPECIFIED;
  pb::FindingState state = pb::FINDING_STATE_TO_REVIEW;
  std::string source_event_id;
  std::string quality_item;  // the deduction's office item when deducted
};

// Figures to add to a staff member's (or, with kNilId, the estate's) month.
struct FactDelta {
  std::string staff_id, estate_id, period;
  int64_t requests_handled = 0, sla_hits = 0, sla_misses = 0, callbacks_rated = 0,
          callbacks_satisfied = 0, callbacks_unsatisfied = 0, complaints_against = 0,
          callbacks_made = 0, tickets_closed = 0, unrecorded_calls = 0;
  // Of sla_hits, met only thanks to a pause (missed as if never paused).
  int64_t sla_hits_paused_only = 0;
};

// A satisfaction survey the counter closed (counter.survey.closed): a figure of the
// office's month, never points. Kept once per survey.
struct SurveyDraft {
  std::string survey_id, estate_id, period;
  int32_t households_answered = 0, households = 0, satisfied_bp = 0;
  std::string source_event_id;
  absl::Time at;
};

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
  std::vector<SurveyDraft> surveys;

  bool empty() const {
    return quality.empty() && lines.empty() && findings.empty() && facts.empty() &&
           surveys.empty();
  }
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

}  // namespace wuye::performance
