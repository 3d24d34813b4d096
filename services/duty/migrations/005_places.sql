-- Its copy of the directory's buildings and units (wuye.directory.events): the words of a
-- task's place, "building 3 unit 1201" (issue #22 §2). A building's name and a unit's
-- number only: nothing of who lives there.
CREATE TABLE dir_buildings (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  estate_id  uuid    NOT NULL,
  name       text    NOT NULL
);
-- Newest version wins (UnitChanged.version).
CREATE TABLE dir_units (
  id           uuid    PRIMARY KEY,
  group_id     uuid    NOT NULL,
  estate_id    uuid    NOT NULL,
  building_id  text    NOT NULL,  -- '' when the unit names none
  number       text    NOT NULL,
  version      bigint  NOT NULL
);
