// The counter's rules of notices with their tickets, surveys and their responses. Pure: no I/O, no
// clock.
#pragma once

#include "services/counter/counter.h"

namespace wuye::counter {}  // namespace wuye::counter
