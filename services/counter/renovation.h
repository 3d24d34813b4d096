// The counter's rules of renovation: applications, consent, admissions, patrols, acceptance. Pure:
// no I/O, no clock.
//
// Seeds: 000_… 二.9 (装修协议、审批记录、装修人员登记、日常巡查记录及验收手续), 003_… Q9 (the
// application: items, 装修平面图、电路走向图、给排水布置图, 装修责任承诺书), Q10 (08:00–12:00,
// 14:00–18:00; outside them only with the office's written consent), 2.6 (每日现场巡查).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/counter/counter.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter {

inline constexpr int kMaxRenovationItems = 20;
inline constexpr int kMaxRenovationDocuments = 20;
inline constexpr int kMaxWorkers = 50;
inline constexpr int kMaxRenovationDays = 180;
inline constexpr int kMaxPatrolFindings = 10;
inline constexpr int kMaxFindingPhotos = 10;
inline constexpr int kMaxOvertimes = 200;

// Documents: each of a kind and with its file.
absl::Status CheckDocuments(const google::protobuf::RepeatedPtrField<pb::RenovationDocument>& docs,
                            const std::string& field);

// Every field of an application (INVALID_ARGUMENT naming it); `today` is the estate's day:
// the start not before it, the end not before the start, at most 180 days.
absl::Status CheckApplication(const pb::CreateRenovationRequest& req, absl::CivilDay today);

// The required kinds not among `documents`, in the order of `required`.
std::vector<pb::DocumentKind> MissingDocuments(
    const pb::Settings& s, const google::protobuf::RepeatedPtrField<pb::RenovationDocument>& docs);
// "floor_plan", "wiring_plan", … (lower case, without the prefix).
std::string DocumentKindName(pb::DocumentKind kind);
// Approval (003_… Q9): FAILED_PRECONDITION MISSING_DOCUMENTS naming each missing kind.
absl::Status CheckDocumentsComplete(const pb::Settings& s, const pb::Renovation& r);

// The planned period, inclusive.
absl::CivilDay StartOf(const pb::Renovation& r);
absl::CivilDay EndOf(const pb::Renovation& r);
bool InPeriod(const pb::Renovation& r, absl::CivilDay day);

// An overtime consent (003_… Q10): the window a real, non-empty span of the day lying wholly
// outside the working hours (INVALID_ARGUMENT `window`); the date within the period and not
// before `today` (INVALID_ARGUMENT `date`).
absl::Status CheckOvertime(const pb::Settings& s, const pb::Renovation& r,
                           const pb::GrantOvertimeRequest& req, absl::CivilDay today);

// The gate's check of workers at `day` and `minute` (after local midnight): the renovation
// approved (NOT_APPROVED), the day in its period (OUTSIDE_PERIOD), each pass a registered
// worker's (INVALID_ARGUMENT pass_numbers[i]), and the moment in the working hours or in a
// consent's window of that day (OUTSIDE_WORKING_HOURS). Returns whether a consent was what
// allowed it.
absl::StatusOr<bool> CheckAdmission(const pb::Settings& s, const pb::Renovation& r,
                                    const google::protobuf::RepeatedPtrField<std::string>& passes,
                                    absl::CivilDay day, int minute);

// The findings of a patrol: at most 10, each of a kind, with its note and photos.
absl::Status CheckFindings(const google::protobuf::RepeatedPtrField<pb::PatrolFinding>& findings);
// A patrol may be recorded on an approved renovation (NOT_APPROVED) on a day of its period
// (OUTSIDE_PERIOD).
absl::Status CheckPatrol(const pb::Renovation& r, absl::CivilDay day);
// "structure", "facade", … (lower case, without the prefix).
std::string ViolationKindName(pb::ViolationKind kind);

// Acceptance (验收): the renovation approved (NOT_APPROVED), no linked case open
// (OPEN_CASES), the deduction 0..deposit (INVALID_ARGUMENT deduction_fen), with a reason when
// it is > 0 (INVALID_ARGUMENT deduction_reason).
absl::Status CheckAcceptance(const pb::Renovation& r, const pb::AcceptRenovationRequest& req);

// The events' payloads.
events::v1::RenovationApplied AppliedEvent(const pb::Renovation& r, const pb::Settings& s,
                                           absl::Time at);
events::v1::RenovationDecided DecidedEvent(const pb::Renovation& r, absl::Time at);
events::v1::RenovationAccepted AcceptedEvent(const pb::Renovation& r, absl::Time at);
events::v1::PatrolMissed PatrolMissedEvent(const std::string& renovation_id,
                                           const std::string& estate_id, const std::string& unit_id,
                                           absl::CivilDay day);
// The subject_version of "counter.renovation.patrol_missed": yyyymmdd.
int64_t DayNumber(absl::CivilDay day);

}  // namespace wuye::counter
