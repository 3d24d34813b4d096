// The counter's periodic work (none yet).
#pragma once

namespace wuye::counter {}  // namespace wuye::counter
