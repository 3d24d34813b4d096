// The counter's rules of hand-over, move-in and defects. Pure: no I/O, no clock.
#pragma once

#include "services/counter/counter.h"

namespace wuye::counter {}  // namespace wuye::counter
