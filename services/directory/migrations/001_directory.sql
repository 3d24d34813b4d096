-- The directory's schema. Every row carries group_id; every query filters by it.
CREATE EXTENSION IF NOT EXISTS btree_gist;  -- for the no-overlapping-shifts constraint

CREATE TABLE groups (
  id          uuid        PRIMARY KEY,
  name        text        NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE estates (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL REFERENCES groups (id),
  name             text        NOT NULL,
  kind             smallint    NOT NULL,
  time_zone        text        NOT NULL,
  desk_opens_min   smallint    NOT NULL,  -- minutes after local midnight
  desk_closes_min  smallint    NOT NULL,
  fee_fen_per_m2   bigint      NOT NULL CHECK (fee_fen_per_m2 > 0),
  household_count  int         NOT NULL CHECK (household_count >= 0),
  address          text        NOT NULL DEFAULT '',
  version          bigint      NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX estates_group ON estates (group_id, id);

CREATE TABLE buildings (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL REFERENCES estates (id),
  name        text        NOT NULL,
  floors      int         NOT NULL DEFAULT 0,
  version     bigint      NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  UNIQUE (estate_id, name)
);

CREATE TABLE units (
  id           uuid          PRIMARY KEY,
  group_id     uuid          NOT NULL,
  estate_id    uuid          NOT NULL REFERENCES estates (id),
  building_id  uuid          NOT NULL REFERENCES buildings (id),
  number       text          NOT NULL,
  area_m2      numeric(7, 2) NOT NULL CHECK (area_m2 > 0),  -- exact, never float
  type         smallint      NOT NULL,
  occupancy    smallint      NOT NULL,
  handed_over  boolean       NOT NULL DEFAULT false,
  floor        int           NOT NULL DEFAULT 0,
  version      bigint        NOT NULL DEFAULT 1,
  created_at   timestamptz   NOT NULL,
  updated_at   timestamptz   NOT NULL,
  UNIQUE (building_id, number)
);
CREATE INDEX units_estate ON units (estate_id, id);

CREATE TABLE residents (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL REFERENCES estates (id),
  unit_id     uuid        NOT NULL REFERENCES units (id),
  name        text        NOT NULL,
  phone       text        NOT NULL DEFAULT '',
  birth_date  date,
  role        smallint    NOT NULL,
  lease_start date,
  lease_end   date,
  version     bigint      NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX residents_estate ON residents (estate_id, id);
CREATE INDEX residents_unit ON residents (unit_id);

CREATE TABLE staff (
  id            uuid        PRIMARY KEY,
  group_id      uuid        NOT NULL REFERENCES groups (id),
  name          text        NOT NULL,
  phone         text        NOT NULL DEFAULT '',
  roles         smallint[]  NOT NULL,
  skills        smallint[]  NOT NULL DEFAULT '{}',
  home_estates  uuid[]      NOT NULL,
  active        boolean     NOT NULL DEFAULT true,
  start_date    date,
  version       bigint      NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX staff_group ON staff (group_id, id);
CREATE INDEX staff_home_estates ON staff USING gin (home_estates);

CREATE TABLE shifts (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL REFERENCES estates (id),
  staff_id    uuid        NOT NULL REFERENCES staff (id),
  during      tstzrange   NOT NULL,
  created_at  timestamptz NOT NULL,
  CONSTRAINT shifts_no_overlap EXCLUDE USING gist (staff_id WITH =, during WITH &&)
);
CREATE INDEX shifts_estate ON shifts USING gist (estate_id, during);
