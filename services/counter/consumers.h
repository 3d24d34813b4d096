// What the counter does on other services' events (docs/api/counter.md#events-consumed):
//   wuye.directory.events  its copy of estates (time zone), units (hand-over, occupancy),
//                          residents (unit, role, date of birth, move-out) and staff (home
//                          estates); newest version wins.
//   wuye.intake.events     which tickets exist and are open, for the notices they link to.
#pragma once

#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::counter {

EventHandler MakeHandler(Db& db);

}  // namespace wuye::counter
