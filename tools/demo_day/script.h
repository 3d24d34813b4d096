// The demo's data (tools/demo_data/demo_day.proto): the text protos of tools/demo_data/,
// embedded at build time, merged into one DayScript.
#pragma once

#include "absl/status/statusor.h"
#include "demo_data/demo_day.pb.h"

namespace wuye::demo {

// Parsed once; an error names the file, line and column.
absl::StatusOr<const v1::DayScript*> LoadDayScript();

}  // namespace wuye::demo
