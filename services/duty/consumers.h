// What the duty desk does on other services' events (docs/api/duty.md):
//   wuye.directory.events  its copy of estates (time zone, desk hours), staff (roles, home
//                          estates), the shift roster (who is on duty when), and buildings
//                          and units (the words of a task's place, places.h);
//   wuye.intake.events, wuye.dispatch.events, wuye.eldercare.events,
//   wuye.performance.events, wuye.billing.events, wuye.counter.events
//                          the tasks each event raises and the ones it closes (ReadEvent);
//                          intake's and dispatch's: who holds which open ticket and work
//                          order and who served what on which day (ReadHoldings), for
//                          handovers and daily logs; a roster shift arms its handover and
//                          log timers (HandoverFlow).
// Each task is keyed by its event's envelope id and role: applied twice, raised once (the
// counter's by the event's type and subject instead: once per subject, duty.cc).
#pragma once

#include <string>
#include <vector>

#include "shared/bus.h"
#include "shared/clock.h"
#include "shared/db.h"

namespace wuye::duty {

// The streams it reads (services.txt's "reads").
std::vector<std::string> ConsumedStreams();

EventHandler MakeHandler(Db& db, const Clock& clock);

}  // namespace wuye::duty
