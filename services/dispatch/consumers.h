// What dispatch does on other services' events: intake's work requests and eldercare's
// emergencies become work orders (one per source), the directory's estates, staff and
// shifts are copied for assignment, billing's prices for quotes.
#pragma once

#include "shared/bus.h"
#include "shared/clock.h"
#include "shared/db.h"

namespace wuye::dispatch {

// Streams dispatch consumes.
std::vector<std::string> ConsumedStreams();

EventHandler MakeHandler(Db& db, const Clock& clock);

}  // namespace wuye::dispatch
