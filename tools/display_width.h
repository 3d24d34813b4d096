// How many terminal columns a UTF-8 string takes, for the demo's text tables.
#pragma once

#include "absl/strings/string_view.h"

namespace wuye::demo {

// East Asian wide characters (CJK, Hangul, full-width forms) take two columns, others one.
int DisplayWidth(absl::string_view s);

}  // namespace wuye::demo
