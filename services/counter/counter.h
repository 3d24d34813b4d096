// The counter's rules shared by its areas: settings (defaults from the seeds, checks),
// dates and times of day in the estate's zone. Pure: no I/O, no clock. Each area's own
// rules are in its file: handover.h, renovation.h, cases.h, registers.h, notices.h.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "wuye/counter/v1/counter.pb.h"

namespace wuye::counter {

namespace pb = ::wuye::counter::v1;

// The settings a group has until it changes them (docs/api/counter.md: each default's
// seed clause or reading).
pb::Settings DefaultSettings();
// INVALID_ARGUMENT naming the field under `field` ("settings.working_hours[1]").
absl::Status CheckSettings(const pb::Settings& s, absl::string_view field);

// Warranty months of a category under `s` (0: none).
int32_t WarrantyMonths(const pb::Settings& s, pb::DefectCategory category);

// A real calendar date (INVALID_ARGUMENT naming `field` otherwise).
absl::StatusOr<absl::CivilDay> DayOf(const pb::Date& d, absl::string_view field);
pb::Date ToDate(absl::CivilDay day);
// "2026-12-06", the form dates take in SQL.
std::string DayText(absl::CivilDay day);
// A date column read as text ("2026-12-06"); nullopt for "" (NULL) or anything else.
std::optional<absl::CivilDay> ParseDayText(absl::string_view text);

// FAILED_PRECONDITION with its reason (`KEY_ALREADY_LENT`): the refusal every area gives
// for a state that does not allow the call.
absl::Status Refused(absl::string_view message, absl::string_view reason);

// Minutes after local midnight of a time of day, or of a window's ends.
int MinuteOf(const pb::TimeOfDay& t);
// Whether `minute` (after local midnight) falls in one of `windows` ([start, end)).
bool InWindows(const google::protobuf::RepeatedPtrField<pb::DayWindow>& windows, int minute);

}  // namespace wuye::counter
