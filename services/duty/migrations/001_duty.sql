-- The duty desk's schema. Every row carries group_id; every query filters by it (the
-- acknowledgement timer reads across groups and then acts within each task's group).

-- Its copy of the directory (wuye.directory.events), newest version wins. No names, no
-- phones: only what deciding who is on duty needs.
CREATE TABLE dir_estates (
  id                 uuid     PRIMARY KEY,
  group_id           uuid     NOT NULL,
  time_zone          text     NOT NULL,
  desk_24h           boolean  NOT NULL,
  desk_opens_minute  int      NOT NULL,
  desk_closes_minute int      NOT NULL,
  version            bigint   NOT NULL
);
CREATE TABLE dir_staff (
  id               uuid     PRIMARY KEY,
  group_id         uuid     NOT NULL,
  active           boolean  NOT NULL,
  roles            int[]    NOT NULL,  -- wuye.events.v1.StaffRole numbers
  home_estate_ids  uuid[]   NOT NULL,
  version          bigint   NOT NULL
);
-- A deleted shift stays as a tombstone so that a late "created" cannot revive it.
CREATE TABLE dir_shifts (
  id          uuid         PRIMARY KEY,
  group_id    uuid         NOT NULL,
  estate_id   uuid         NOT NULL,
  staff_id    uuid         NOT NULL,
  start_time  timestamptz  NOT NULL,
  end_time    timestamptz  NOT NULL,
  deleted     boolean      NOT NULL,
  version     bigint       NOT NULL
);
CREATE INDEX dir_shifts_on_duty ON dir_shifts (group_id, estate_id, end_time) WHERE NOT deleted;

-- Check-ins and check-outs (值班登记, 000_… 二.1): kept for ever.
CREATE TABLE attendances (
  id              uuid         PRIMARY KEY,
  group_id        uuid         NOT NULL,
  estate_id       uuid         NOT NULL,
  staff_id        uuid         NOT NULL,
  role            int          NOT NULL,
  check_in_time   timestamptz  NOT NULL,
  check_out_time  timestamptz,
  note            text         NOT NULL DEFAULT '',
  out_note        text         NOT NULL DEFAULT ''
);
-- At most one open check-in per person and estate.
CREATE UNIQUE INDEX attendances_open ON attendances (group_id, estate_id, staff_id)
  WHERE check_out_time IS NULL;
CREATE INDEX attendances_by_estate ON attendances (group_id, estate_id, id DESC);

-- The desk's own settings of an estate (its hours are dir_estates').
CREATE TABLE desks (
  group_id    uuid         NOT NULL,
  estate_id   uuid         NOT NULL,
  duty_phone  text         NOT NULL,
  version     bigint       NOT NULL,
  updated_at  timestamptz  NOT NULL,
  PRIMARY KEY (group_id, estate_id)
);

-- The group's settings (wuye.duty.v1.Settings, binary).
CREATE TABLE settings (
  group_id    uuid         PRIMARY KEY,
  settings    bytea        NOT NULL,
  updated_at  timestamptz  NOT NULL
);

-- Tasks. One per (source event, role): a redelivered event raises nothing twice.
CREATE TABLE tasks (
  id                  uuid         PRIMARY KEY,
  group_id            uuid         NOT NULL,
  estate_id           uuid         NOT NULL,
  kind                int          NOT NULL,
  state               int          NOT NULL,
  role                int          NOT NULL,
  level               int          NOT NULL,
  subject_ref         text         NOT NULL,
  location            bytea        NOT NULL,  -- wuye.common.v1.Location
  title               text         NOT NULL,
  assignee_ids        uuid[]       NOT NULL,
  ack_due_at          timestamptz  NOT NULL,
  acknowledged_by     uuid,
  acknowledged_at     timestamptz,
  source_event_id     text         NOT NULL,
  first_role          int          NOT NULL,
  closed_by_event_id  text         NOT NULL DEFAULT '',
  created_at          timestamptz  NOT NULL,
  closed_at           timestamptz,
  updated_at          timestamptz  NOT NULL,
  version             bigint       NOT NULL,
  UNIQUE (group_id, source_event_id, first_role)
);
CREATE INDEX tasks_by_estate ON tasks (group_id, estate_id, id DESC);
CREATE INDEX tasks_by_subject ON tasks (group_id, subject_ref) WHERE state IN (1, 2, 3);
CREATE INDEX tasks_changed ON tasks (group_id, estate_id, updated_at);
-- The acknowledgement timer's queue: open or escalated, by due time.
CREATE INDEX tasks_ack_due ON tasks (ack_due_at) WHERE state IN (1, 2) AND level < 3;
