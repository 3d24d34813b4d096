-- Shift handovers (交接班, 000_… 二.1), daily work logs (上班日志, 000_… 二.2) and their
-- timers. Numbered 004 so that other work on duty's schema may take 002 and 003.

-- Who holds which ticket and work order, as intake's and dispatch's events say: the
-- newest version of each wins. Only ids: what a handover lists.
CREATE TABLE holdings (
  group_id   uuid     NOT NULL,
  ref        text     NOT NULL,  -- "ticket/…", "work_order/…"
  estate_id  uuid     NOT NULL,
  holders    uuid[]   NOT NULL,
  open       boolean  NOT NULL,
  version    bigint   NOT NULL,
  PRIMARY KEY (group_id, ref)
);
CREATE INDEX holdings_open ON holdings USING gin (holders) WHERE open;

-- The refs a person served on a day of the estate's calendar (the log's filled-in part).
CREATE TABLE served_refs (
  group_id   uuid  NOT NULL,
  estate_id  uuid  NOT NULL,
  staff_id   uuid  NOT NULL,
  day        date  NOT NULL,
  ref        text  NOT NULL,
  PRIMARY KEY (group_id, estate_id, staff_id, day, ref)
);

-- Handovers: kept for ever. At most one per roster shift.
CREATE TABLE handovers (
  id                 uuid         PRIMARY KEY,
  group_id           uuid         NOT NULL,
  estate_id          uuid         NOT NULL,
  shift_id           uuid,
  shift_end          timestamptz,
  outgoing_staff_id  uuid         NOT NULL,
  incoming_staff_id  uuid         NOT NULL,
  notes              text         NOT NULL,
  open_refs          text[]       NOT NULL,
  handed_over_at     timestamptz  NOT NULL,
  acknowledged_at    timestamptz,
  acknowledge_note   text         NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX handovers_one_per_shift ON handovers (group_id, shift_id)
  WHERE shift_id IS NOT NULL;
CREATE INDEX handovers_by_estate ON handovers (group_id, estate_id, id DESC);

-- Daily logs: a person's notes of a day at an estate (the served refs are served_refs').
CREATE TABLE daily_logs (
  group_id    uuid         NOT NULL,
  estate_id   uuid         NOT NULL,
  staff_id    uuid         NOT NULL,
  day         date         NOT NULL,
  notes       text         NOT NULL,
  updated_at  timestamptz  NOT NULL,
  PRIMARY KEY (group_id, estate_id, staff_id, day)
);

-- The handover and log timers: one row per thing to check, due at its deadline, fired
-- once (fired_at) by whichever replica claims it first (FOR UPDATE SKIP LOCKED).
--   kind 1, handover: key the shift id, base_at the shift's end.
--   kind 2, daily log: key "<staff id>/<yyyy-mm-dd>", day and staff_id set.
CREATE TABLE duty_timers (
  group_id   uuid         NOT NULL,
  kind       int          NOT NULL,
  key        text         NOT NULL,
  estate_id  uuid         NOT NULL,
  staff_id   uuid         NOT NULL,
  base_at    timestamptz,
  day        date,
  due_at     timestamptz  NOT NULL,
  fired_at   timestamptz,
  PRIMARY KEY (group_id, kind, estate_id, key)
);
CREATE INDEX duty_timers_due ON duty_timers (due_at) WHERE fired_at IS NULL;
