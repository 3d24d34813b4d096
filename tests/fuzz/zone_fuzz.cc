// The time-zone check (shared/zone.h): any bytes as a zone name give OK or INVALID_ARGUMENT,
// never a crash, and nothing shaped like a path or longer than the bound is ever accepted.
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "shared/zone.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string name(reinterpret_cast<const char*>(data), size);
  absl::Status status = wuye::CheckTimeZoneName(name, "time_zone");
  bool known = wuye::IsIanaZoneName(name);
  if (status.ok() != known) std::abort();
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (known && (name.empty() || name.size() > wuye::kMaxZoneNameBytes || name[0] == '/' ||
                absl::StrContains(name, ".."))) {
    std::abort();
  }
  absl::TimeZone tz;
  if (wuye::LoadIanaZone(name, &tz) != known) std::abort();
  return 0;
}
