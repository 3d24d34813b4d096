// What the directory does on other services' events (docs/api/directory.md#events-consumed):
//   wuye.counter.events  counter.unit.handed_over → the unit handed over on its day (vacant
//                        until someone moves in); counter.unit.moved_in → its occupancy
//                        (self-occupied or rented) and move-in day. Each through UpdateUnit's
//                        write path (unit_flow.h): a new version and its
//                        "directory.unit.updated", which billing prorates from.
// A unit of another group, or unknown, is left alone; a unit that already has the state
// the event brings is left alone too (no new version), so an event applied twice changes
// the unit once (and the inbox applies each event once).
#pragma once

#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::directory {

EventHandler MakeHandler(Db& db);

}  // namespace wuye::directory
