// The counter's rules of violation and dispute cases, their actions and inspections. Pure: no I/O,
// no clock.
#pragma once

#include "services/counter/counter.h"

namespace wuye::counter {}  // namespace wuye::counter
