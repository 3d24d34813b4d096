-- The counter's base: the group's settings and the copies it keeps of other services' data
-- (docs/api/counter.md). Each area's own tables come in the following files.

-- The group's settings (counter.v1.Settings, serialized); absent: the defaults.
CREATE TABLE settings (
  group_id    uuid        PRIMARY KEY,
  body        bytea       NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- From the directory's events, newer versions only.
CREATE TABLE dir_estates (
  id         uuid   PRIMARY KEY,
  group_id   uuid   NOT NULL,
  time_zone  text   NOT NULL DEFAULT '',
  version    bigint NOT NULL
);
CREATE TABLE dir_units (
  id             uuid     PRIMARY KEY,
  group_id       uuid     NOT NULL,
  estate_id      uuid     NOT NULL,
  number         text     NOT NULL DEFAULT '',
  handed_over    boolean  NOT NULL DEFAULT false,
  handover_date  date,
  move_in_date   date,
  occupancy      smallint NOT NULL DEFAULT 0,
  version        bigint   NOT NULL
);
CREATE INDEX dir_units_by_estate ON dir_units (group_id, estate_id);
-- Only what the counter checks: no name, no phone.
CREATE TABLE dir_residents (
  id             uuid     PRIMARY KEY,
  group_id       uuid     NOT NULL,
  estate_id      uuid     NOT NULL,
  unit_id        uuid     NOT NULL,
  role           smallint NOT NULL,
  birth_date     date,
  move_out_date  date,
  version        bigint   NOT NULL
);
CREATE TABLE dir_staff (
  id          uuid   PRIMARY KEY,
  group_id    uuid   NOT NULL,
  estate_ids  uuid[] NOT NULL,
  active      boolean NOT NULL,
  version     bigint NOT NULL
);

-- From intake's events: which tickets exist, where, and whether they are still open.
CREATE TABLE intake_tickets (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  estate_id  uuid    NOT NULL,
  open       boolean NOT NULL,
  version    bigint  NOT NULL
);
