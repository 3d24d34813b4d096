-- Intake's schema. Every row carries group_id; every query filters by it.
-- A ticket is stored whole as its serialized wuye.intake.v1.Ticket (`body`, without history
-- and never with the caller's number) plus the columns that filters, reports and matching
-- need; the store keeps both in step.
CREATE TABLE tickets (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  state            smallint    NOT NULL,
  kind             smallint    NOT NULL,
  channel          smallint    NOT NULL,
  owner_id         text        NOT NULL,
  answer_due_at    timestamptz,               -- consultations
  caller_hash      bytea,                     -- HMAC-SHA256 of the hotline caller's number
  received_at      timestamptz NOT NULL,
  household        text        NOT NULL,      -- ticket.h HouseholdKey
  resolved_month   text,                      -- 'YYYY-MM' in the estate's zone, once resolved
  resolved_at      timestamptz,
  callback_reason  smallint    NOT NULL DEFAULT 0,
  callback_done    boolean     NOT NULL DEFAULT false,
  version          bigint      NOT NULL,
  body             bytea       NOT NULL
);
CREATE INDEX tickets_group_estate ON tickets (group_id, estate_id, id);
CREATE INDEX tickets_overdue ON tickets (group_id, answer_due_at) WHERE state = 1 AND kind = 1;
CREATE INDEX tickets_hotline ON tickets (group_id, estate_id, caller_hash, received_at)
  WHERE caller_hash IS NOT NULL;
CREATE INDEX tickets_month ON tickets (group_id, estate_id, resolved_month)
  WHERE resolved_month IS NOT NULL;

-- Every change of every ticket: who, when, why (存档).
CREATE TABLE ticket_history (
  seq           bigserial   PRIMARY KEY,
  group_id      uuid        NOT NULL,
  ticket_id     uuid        NOT NULL REFERENCES tickets (id),
  from_state    smallint    NOT NULL,
  to_state      smallint    NOT NULL,
  from_owner    text        NOT NULL,
  to_owner      text        NOT NULL,
  actor         text        NOT NULL,
  actor_roles   text[]      NOT NULL,
  at            timestamptz NOT NULL,
  reason        text        NOT NULL DEFAULT ''
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, seq);

-- The work orders of dispatch serving a ticket, as their last event told.
CREATE TABLE ticket_work_orders (
  work_order_id  text        PRIMARY KEY,
  group_id       uuid        NOT NULL,
  ticket_id      uuid        NOT NULL REFERENCES tickets (id),
  state          smallint    NOT NULL,
  worker_ids     text[]      NOT NULL,
  version        bigint      NOT NULL
);
CREATE INDEX ticket_work_orders_ticket ON ticket_work_orders (ticket_id);

CREATE TABLE callbacks (
  id            uuid        PRIMARY KEY,
  group_id      uuid        NOT NULL,
  estate_id     uuid        NOT NULL,
  ticket_id     uuid        NOT NULL REFERENCES tickets (id),
  satisfaction  smallint    NOT NULL,
  comment       text        NOT NULL DEFAULT '',
  agent_id      text        NOT NULL,
  reopened      boolean     NOT NULL,
  called_at     timestamptz NOT NULL
);
CREATE INDEX callbacks_ticket ON callbacks (ticket_id);

CREATE TABLE complaint_verifications (
  id           uuid        PRIMARY KEY,
  group_id     uuid        NOT NULL,
  estate_id    uuid        NOT NULL,
  ticket_id    uuid        NOT NULL REFERENCES tickets (id),
  staff_id     text        NOT NULL,
  finding      text        NOT NULL,
  verified_by  text        NOT NULL,
  verified_at  timestamptz NOT NULL
);

-- Hotline calls of the carrier's log that no ticket recorded. The number only as its hash.
CREATE TABLE unrecorded_calls (
  id           uuid        PRIMARY KEY,
  group_id     uuid        NOT NULL,
  estate_id    uuid        NOT NULL,
  call_at      timestamptz NOT NULL,
  caller_hash  bytea       NOT NULL,
  duration_s   int         NOT NULL,
  found_at     timestamptz NOT NULL,
  UNIQUE (group_id, estate_id, call_at, caller_hash)
);

-- Intake's copy of the directory: estates (quota size, time zone) and staff (start date),
-- each at the version of the last event applied.
CREATE TABLE estates (
  id               uuid     PRIMARY KEY,
  group_id         uuid     NOT NULL,
  household_count  int      NOT NULL,
  time_zone        text     NOT NULL,
  version          bigint   NOT NULL
);

CREATE TABLE staff (
  group_id    uuid     NOT NULL,
  id          text     NOT NULL,
  start_date  date,
  version     bigint   NOT NULL DEFAULT 0,   -- 0: known only from intake's own marks
  -- Complained about last time: a verified complaint or an unsatisfied callback of their
  -- work, not yet followed by a satisfied one.
  complained  boolean  NOT NULL DEFAULT false,
  PRIMARY KEY (group_id, id)
);
