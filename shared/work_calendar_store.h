// Working calendars in a service's database (table wuye_work_calendars, platform migration
// 006): the directory records the years groups and estates import there, and every service
// that counts deadlines on working time keeps a copy from directory.calendar.changed.
#pragma once

#include <pqxx/pqxx>
#include <string_view>

#include "shared/work_calendar.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye {

// Stores the event's year unless a version at least as new is stored (replays, reordering).
// True when it changed the copy. Malformed calendar text (no producer sends it) is stored as
// withdrawn, so the layer below applies.
bool ApplyCalendarChanged(pqxx::work& tx, const events::v1::CalendarChanged& event);

// An estate's calendar: the State Council's years, the group's imported years over them,
// then the estate's own (estate_id empty: the group's calendar).
WorkCalendar LoadWorkCalendar(pqxx::transaction_base& tx, std::string_view group_id,
                              std::string_view estate_id);

}  // namespace wuye
