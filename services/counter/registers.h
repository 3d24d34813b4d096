// The counter's rules of keys and their loans and checks, cards, the registers. Pure: no I/O, no
// clock.
#pragma once

#include "services/counter/counter.h"

namespace wuye::counter {}  // namespace wuye::counter
