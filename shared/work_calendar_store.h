// Working calendars in a service's database (table wuye_work_calendars, platform migration
// 006): the directory records the years groups and estates import there, and every service
// that counts deadlines on working time keeps a copy from directory.calendar.changed.
#pragma once

#include <pqxx/pqxx>
#include <string_view>

#include "shared/work_calendar.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye {

// A group's calendars are read under its calendar lock, a PostgreSQL advisory lock held
// until the transaction ends (key space: class 0x63616c65 'cale', hashtext(group); no other
// advisory lock of the code uses it). Readers (LoadWorkCalendar) take it shared; a change
// that re-times the deadlines counted on the old calendar (a consumer of
// directory.calendar.changed, a change of the zone the clocks count in) takes it exclusive
// FIRST, before it reads anything. So an order made, paused or resumed while a change is
// applied either finishes before the change reads the open orders, or waits and counts on
// the new calendar. Whoever locks a row of an order whose deadline a change re-times takes
// the shared lock before the row (else the two can deadlock). Taking it again in the same
// transaction is free.
enum class CalendarLock { kShared, kExclusive };
void LockWorkCalendars(pqxx::transaction_base& tx, std::string_view group_id, CalendarLock mode);

// Stores the event's year unless a version at least as new is stored (replays, reordering).
// True when it changed the copy. Malformed calendar text (no producer sends it) is stored as
// withdrawn, so the layer below applies. Takes the group's calendar lock exclusive.
bool ApplyCalendarChanged(pqxx::work& tx, const events::v1::CalendarChanged& event);

// An estate's calendar: the State Council's years, the group's imported years over them,
// then the estate's own (estate_id empty: the group's calendar). Takes the group's
// calendar lock shared.
WorkCalendar LoadWorkCalendar(pqxx::transaction_base& tx, std::string_view group_id,
                              std::string_view estate_id);

}  // namespace wuye
