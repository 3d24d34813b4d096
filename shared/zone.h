// Time-zone names. To the time-zone library a name is a file under /usr/share/zoneinfo:
// "../../etc/passwd" is read, and every name loaded is cached for good. So a name from a
// request or an event reaches it only when it is one of the system's IANA zone names.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye {

// Longer names are refused before any lookup (the longest IANA name has 32 characters).
inline constexpr size_t kMaxZoneNameBytes = 64;

// Whether `name` is in the system's zone list ($TZDIR, else /usr/share/zoneinfo: the zones
// and links of tzdata.zi, else zone1970.tab and zone.tab; "UTC" always). The list is read
// once.
bool IsIanaZoneName(absl::string_view name);

// OK for a known IANA name, else INVALID_ARGUMENT "<field>: not a known IANA time zone".
absl::Status CheckTimeZoneName(absl::string_view name, absl::string_view field);

// absl::LoadTimeZone for known IANA names only: false, leaving `tz` alone, for any other.
bool LoadIanaZone(absl::string_view name, absl::TimeZone* tz);

// The zone an estate's local day, month and desk hours are counted in when its own zone is
// empty or unknown (a copy not yet filled by directory's event, an old row): the group's
// estates are in mainland China (the seeds), so China Standard Time.
inline constexpr char kDefaultEstateZone[] = "Asia/Shanghai";
// kDefaultEstateZone as an SQL literal, for statements that turn a time into an estate's
// local date themselves: `AT TIME ZONE COALESCE(NULLIF(time_zone, ''), <this>)`.
#define WUYE_SQL_DEFAULT_ESTATE_ZONE "'Asia/Shanghai'"

// The estate's zone: `iana_name` when it is a known IANA name, else kDefaultEstateZone
// (UTC+8 should the system lack even that). Every service counts "today" with this.
absl::TimeZone EstateZone(absl::string_view iana_name);

}  // namespace wuye
