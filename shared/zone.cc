#include "shared/zone.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "shared/status.h"

namespace wuye {
namespace {

using ZoneSet = absl::flat_hash_set<std::string>;

// The cheap refusals, before any set lookup: the shape of a path, not of a zone name.
bool PlausibleName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxZoneNameBytes || name.front() == '/') return false;
  if (absl::StrContains(name, "..")) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

// "Z <name> ..." is a zone, "L <target> <name>" a link.
void ReadTzdataZi(std::istream& in, ZoneSet* out) {
  std::string line;
  while (std::getline(in, line)) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 2 && f[0] == "Z") out->emplace(f[1]);
    if (f.size() >= 3 && f[0] == "L") out->emplace(f[2]);
  }
}

// Tab-separated; the third column is the zone name; '#' starts a comment.
void ReadZoneTab(std::istream& in, ZoneSet* out) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() >= 3) out->emplace(f[2]);
  }
}

const ZoneSet& Zones() {
  static const ZoneSet* zones = [] {
    auto* set = new ZoneSet;
    const char* env = std::getenv("TZDIR");
    std::string dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
    if (std::ifstream zi(dir + "/tzdata.zi"); zi) {
      ReadTzdataZi(zi, set);
    } else {
      for (const char* tab : {"/zone1970.tab", "/zone.tab"}) {
        if (std::ifstream in(dir + tab); in) ReadZoneTab(in, set);
      }
    }
    set->emplace("UTC");
    // Nothing from the list can be a path; drop anything odd a damaged file might hold.
    auto* plausible = new ZoneSet;
    for (const std::string& n : *set) {
      if (PlausibleName(n)) plausible->insert(n);
    }
    delete set;
    return plausible;
  }();
  return *zones;
}

}  // namespace

bool IsIanaZoneName(absl::string_view name) {
  return PlausibleName(name) && Zones().contains(name);
}

absl::Status CheckTimeZoneName(absl::string_view name, absl::string_view field) {
  if (IsIanaZoneName(name)) return absl::OkStatus();
  return FieldError(field, "not a known IANA time zone");
}

bool LoadIanaZone(absl::string_view name, absl::TimeZone* tz) {
  if (!IsIanaZoneName(name)) return false;
  return absl::LoadTimeZone(std::string(name), tz);
}

absl::TimeZone EstateZone(absl::string_view iana_name) {
  absl::TimeZone tz;
  if (LoadIanaZone(iana_name, &tz) || absl::LoadTimeZone(kDefaultEstateZone, &tz)) return tz;
  return absl::FixedTimeZone(8 * 3600);
}

}  // namespace wuye
