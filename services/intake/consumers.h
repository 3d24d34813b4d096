// What intake does on other services' events:
//  - wuye.dispatch.events (WorkOrderChanged): its tickets move along (dispatched, in
//    progress, resolved) and remember the work orders and the workers; events without a
//    ticket_id, or for tickets intake does not have, are ignored; stale versions of a work
//    order are ignored.
//  - wuye.directory.events: the estates (household count, time zone) and staff (start date)
//    that the callback rule needs, versioned by subject_version.
#pragma once

#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::intake {

// The consumer's handler; it prepares its statements on `db`.
EventHandler MakeHandler(Db& db);

}  // namespace wuye::intake
