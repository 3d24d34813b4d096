// What intake does on other services' events:
//  - wuye.dispatch.events (WorkOrderChanged): its tickets move along (dispatched, in
//    progress, resolved) and remember the work orders and the workers; events without a
//    ticket_id, or for tickets intake does not have, are ignored; stale versions of a work
//    order are ignored.
//  - wuye.directory.events: the estates (household count, time zone) and staff (start date)
//    that the callback rule needs, versioned by subject_version; and the residents' numbers,
//    only as the hash the directory makes under the phone key both hold
//    (ResidentChanged.phone_hash), to tell whether an unrecorded call is a resident's.
//  - wuye.directory.events (CalendarChanged): its copy of the working calendars; open 12345
//    orders counted in working days, and complaints waiting for their written reply,
//    re-timed forward on the new calendar (time spent kept).
//  - wuye.counter.events (NoticeTickets): a cut's linked tickets of the notice's estate are
//    answered with the notice ("counter.notice.tickets_linked": consultations, suggestions
//    and praise still received) and, when it ends ("counter.notice.ended"), closed or
//    resolved with its resolution by the desk's rules; tickets already past that step, of
//    another estate or unknown to the group are left alone.
#pragma once

#include <string>

#include "shared/bus.h"
#include "shared/clock.h"
#include "shared/db.h"

namespace wuye::intake {

// The consumer's handler; it prepares its statements on `db`, and takes "now" from `clock`.
// Residents' numbers arrive hashed already (the directory hashes them with intake's phone
// key).
// `hotline_due_soon_days`: --hotline_due_soon_working_days, for the 12345 orders a calendar
// change re-times.
EventHandler MakeHandler(Db& db, const Clock& clock, int hotline_due_soon_days = 1);

}  // namespace wuye::intake
