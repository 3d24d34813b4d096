// What eldercare does on other services' events (docs/api/eldercare.md#events-consumed):
//   wuye.directory.events  its own copy of estates (time zone), units, and residents (role,
//                          date of birth, lease) for the enrolment rules; newest version wins.
#pragma once

#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::eldercare {

EventHandler MakeHandler(Db& db);

}  // namespace wuye::eldercare
