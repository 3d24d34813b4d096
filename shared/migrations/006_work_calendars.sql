-- Working calendars (shared/work_calendar_store.h): the directory's own record of the years
-- groups and estates imported, and each consumer's copy of them from
-- directory.calendar.changed. The State Council's years are compiled in, not stored.
CREATE TABLE wuye_work_calendars (
  group_id   text   NOT NULL,
  estate_id  text   NOT NULL DEFAULT '',  -- '': the group's own calendar
  year       int    NOT NULL,
  calendar   text   NOT NULL,             -- the year's normalised file; '' when withdrawn
  version    bigint NOT NULL,
  PRIMARY KEY (group_id, estate_id, year)
);
