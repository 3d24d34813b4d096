// The directory's domain rules: what makes an estate, unit, resident, staff member or shift
// valid. Pure functions: no I/O, no clock (today's date is passed in).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye::directory {

inline constexpr int kMaxImportUnits = 200000;

// A building area as an exact number of hundredths of a m² (centi-m²): "89.5" → 8950.
// Refuses anything but digits with at most two decimals, > 0 and < 100000 m².
absl::StatusOr<int64_t> ParseArea(absl::string_view text, absl::string_view field);
// 8950 → "89.50".
std::string FormatArea(int64_t centi_m2);

// 7..15 digits, optionally with a leading '+', spaces and dashes. Returns the digits (with
// the '+'), which is what is stored.
absl::StatusOr<std::string> NormalizePhone(absl::string_view text, absl::string_view field);
absl::Status CheckTimeZone(absl::string_view tz, absl::string_view field);
absl::Status CheckDate(const v1::Date& date, absl::string_view field);
absl::Status CheckTimeOfDay(const v1::TimeOfDay& t, absl::string_view field);
bool DateIsSet(const v1::Date& date);
// The date as "YYYY-MM-DD", or "" when unset.
std::string DateText(const v1::Date& date);
v1::Date DateFromText(absl::string_view text);

// Fills defaults (time zone, desk hours, kind) and checks every field of a new or changed
// estate. `prefix` is the field path of the estate in the request, e.g. "estate".
absl::Status PrepareEstate(v1::Estate& estate, absl::string_view prefix);
// Applies the desk fields an UpdateEstate mask names (desk_opens, desk_closes, desk_24h)
// to `estate`: hours given turn desk_24h off, desk_24h clears the hours, and desk_24h
// turned off without hours is refused. PrepareEstate checks the result.
absl::Status UpdateDeskHours(v1::Estate& estate, const v1::Estate& in,
                             const google::protobuf::FieldMask& mask, absl::string_view prefix);
absl::Status PrepareBuilding(v1::Building& building, absl::string_view prefix);
// Checks a unit and rewrites its area in canonical form.
absl::Status PrepareUnit(v1::Unit& unit, absl::string_view prefix);
absl::Status PrepareImportedUnit(v1::ImportedUnit& unit, absl::string_view prefix);
// `today` is the estate-local date; dates of birth may not be after it.
absl::Status PrepareResident(v1::Resident& resident, absl::string_view prefix,
                             const v1::Date& today);
absl::Status PrepareStaff(v1::Staff& staff, absl::string_view prefix);
// Shifts are 1 minute to 24 hours long.
absl::Status CheckShift(const v1::Shift& shift, absl::string_view prefix);

// Checks an update_mask against the fields a caller may change.
absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       std::initializer_list<absl::string_view> allowed);
bool MaskHas(const google::protobuf::FieldMask& mask, absl::string_view path);

}  // namespace wuye::directory
