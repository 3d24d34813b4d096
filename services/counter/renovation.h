// The counter's rules of renovation: applications, consent, admissions, patrols, acceptance. Pure:
// no I/O, no clock.
#pragma once

#include "services/counter/counter.h"

namespace wuye::counter {}  // namespace wuye::counter
