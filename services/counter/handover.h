// The counter's rules of hand-over, move-in and defects. Pure: no I/O, no clock.
//
// The hand-over follows 002_… 第七章 4 (办理入住流程): 业主登记 → 签约 → 交费 → 钥匙及资料交接 →
// 抄表 → 验房; the fees (交费) are billing's, owed from the hand-over day recorded at
// signing. A defect found at the inspection or later is followed under the warranty periods
// of 003_… Q3 (the settings' `warranty`), 000_… 二.11: under warranty it is sent to the
// developer, past it the office agrees the repair and its cost with the owner.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "services/counter/counter.h"

namespace wuye::counter {

// ---- the hand-over's steps ----

// OK when a step that needs state `needed` may run in `state`; otherwise FAILED_PRECONDITION
// HANDOVER_OUT_OF_ORDER naming the step, the state it needs and the state it found.
absl::Status CheckHandoverStep(pb::HandoverState state, pb::HandoverState needed,
                               absl::string_view step);

// Whether a hand-over in `state` has handed the unit over (signed, fees owed): SIGNED on.
bool HandedOver(pb::HandoverState state);

// The resident registered as the owner must be an owner of the unit in the counter's copy of
// the directory and not have moved out by `today` (a tenant, a family member, someone of
// another unit or who left: FAILED_PRECONDITION NOT_THE_OWNER). `role` is the directory's
// ResidentRole.
absl::Status CheckOwner(int role, const std::string& resident_unit, const std::string& unit,
                        const std::optional<absl::CivilDay>& move_out, absl::CivilDay today);

// The ID number shown at registration: a valid GB 11643 number (shared/id_number.h) whose
// birth date is the resident's when the directory knows it. INVALID_ARGUMENT `id_number`,
// never echoing the number. Returns the canonical number.
absl::StatusOr<std::string> CheckOwnerIdNumber(absl::string_view id_number,
                                               const std::optional<absl::CivilDay>& birth,
                                               absl::CivilDay today);

// A file reference: uri 1..300 printable characters on one line, title at most 100.
absl::Status CheckFileRef(const pb::FileRef& ref, absl::string_view field);
// 1..`max` file references (`min` 0 for optional lists).
absl::Status CheckFileRefs(const google::protobuf::RepeatedPtrField<pb::FileRef>& refs,
                           absl::string_view field, int min, int max);

// The keys handed over: 1..20 sets, each a kind (1..50 characters) and a count 1..50.
absl::Status CheckKeySets(const google::protobuf::RepeatedPtrField<pb::KeySet>& keys,
                          absl::string_view field);

// A meter's value: an exact non-negative decimal with at most two places and at most nine
// digits before the point ("0", "12.5", "1234.56"). Returns it without leading zeros.
absl::StatusOr<std::string> CanonicalMeterValue(absl::string_view value, absl::string_view field);
// The readings at hand-over: at least one, each kind known and at most once; values made
// canonical in place.
absl::Status CheckReadings(google::protobuf::RepeatedPtrField<pb::MeterValue>* readings,
                           absl::string_view field);
// "water", "electricity", "gas" (the events' words).
std::string MeterName(pb::MeterKind kind);

// ---- warranty ----

// `day` plus `months` calendar months; a day the month lacks is its last day (31 January
// plus one month is 28 or 29 February).
absl::CivilDay AddMonths(absl::CivilDay day, int months);

struct Warranty {
  bool under = false;
  // The last day covered; none when the category has no warranty (0 months).
  std::optional<absl::CivilDay> end;
};
// A defect recorded on `recorded` (the estate's day) of a unit handed over on `handover`,
// in a category with `months` of warranty (003_… Q3): under warranty when `recorded` is
// before `handover` + `months`; `end` is the day before that.
Warranty WarrantyOf(absl::CivilDay handover, int months, absl::CivilDay recorded);

// ---- defects ----

bool DefectClosed(pb::DefectState state);

// The moves of DefectState (000_… 二.11):
//   RECORDED → SENT_TO_DEVELOPER (only under warranty, else NOT_UNDER_WARRANTY)
//   RECORDED → AGREED_WITH_OWNER (only past it, else UNDER_WARRANTY)
//   SENT_TO_DEVELOPER, AGREED_WITH_OWNER → REPAIRED
//   REPAIRED → ACCEPTED (the owner signs), or rejected: back to SENT_TO_DEVELOPER (under
//   warranty) or AGREED_WITH_OWNER (past it)
//   any state but ACCEPTED and WITHDRAWN → WITHDRAWN
// FAILED_PRECONDITION: DEFECT_CLOSED from a final state, ILLEGAL_STATE_MOVE otherwise.
absl::Status CheckDefectMove(pb::DefectState from, pb::DefectState to, bool under_warranty);

// What a move needs besides: a note (1..500 characters, no phone or ID number) for
// SENT_TO_DEVELOPER and AGREED_WITH_OWNER (the letter's reference, the cost agreed, a
// rejection's reason), optional otherwise; the owner's signature for ACCEPTED and for no
// other. INVALID_ARGUMENT naming `note` or `signature`.
absl::Status CheckDefectMoveFields(pb::DefectState to, const std::string& note,
                                   const pb::FileRef* signature);

// A defect's description: 1..500 characters, no phone or ID number.
absl::Status CheckDefectDescription(absl::string_view text, absl::string_view field);

// Whether an accepted defect was a warranty claim that succeeded (000_… 二.11: +100 once
// the supervisory committee confirms it): accepted after going to the developer.
bool ClaimSucceeded(pb::DefectState to, bool under_warranty);

}  // namespace wuye::counter
