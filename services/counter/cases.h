// The counter's rules of violation and dispute cases, their actions and inspections. Pure: no I/O,
// no clock.
//
// Seeds: 000_… 二.7 (私搭乱建、擅自改变房屋用途: 勸告、報告並協助有關部門依法處理), 二.8
// (違反管理規約: 告知、勸阻、制止; 糾紛: 協調、制止), 二.9 (violations found in a renovation); for
// each, 處理過程 及處理結果必須形成書面材料, 由相關責任人簽字, 整理后存檔, and an inspection
// (定期或不定期進行 檢查) that finds one not handled costs 50 points.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/counter/counter.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter {

inline constexpr int kMaxCaseActions = 200;

// "illegal_building", "change_of_use", "rules_breach", "neighbour_dispute",
// "renovation_damage".
std::string CaseKindName(pb::CaseKind kind);

// A new case's kind and description (INVALID_ARGUMENT naming the field). The location's
// estate and place are checked by the handler against the counter's copies.
absl::Status CheckNewCase(const pb::CreateCaseRequest& req);

// A step of the case's record: its kind, note, and for a report the authority; the case
// still open (FAILED_PRECONDITION CASE_CLOSED).
absl::Status CheckCaseAction(const pb::Case& c, const pb::RecordCaseActionRequest& req);

// Closing (000_… 二.7–9): an outcome, the written record and who signed it (missing:
// FAILED_PRECONDITION NO_SIGNED_RECORD), the case open (CASE_CLOSED).
absl::Status CheckClose(const pb::Case& c, const pb::CloseCaseRequest& req);

// An inspection: a note required when not handled, at most 500 characters.
absl::Status CheckInspection(const pb::InspectCaseRequest& req);

// The payload of "counter.case.opened" / "counter.case.closed".
events::v1::CaseChanged CaseEvent(const pb::Case& c, absl::Time at);

}  // namespace wuye::counter
