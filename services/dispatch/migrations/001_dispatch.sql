-- Dispatch's schema. Every row carries group_id; every query filters by it (the background
-- workers read across groups and then act within each order's group).

-- Its copy of the directory (wuye.directory.events), newest version wins. No names, no
-- phones: only what assignment needs.
CREATE TABLE dir_estates (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  time_zone  text    NOT NULL,
  version    bigint  NOT NULL
);
-- Which estate each unit belongs to, so that an order's location is consistent.
CREATE TABLE dir_units (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  estate_id  uuid    NOT NULL,
  version    bigint  NOT NULL
);
CREATE TABLE dir_staff (
  id               uuid     PRIMARY KEY,
  group_id         uuid     NOT NULL,
  active           boolean  NOT NULL,
  skills           int[]    NOT NULL,
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

-- Work orders: the order itself (wuye.dispatch.v1.WorkOrder, without the signature image)
-- in `data`, and the columns that queries and timers need beside it.
CREATE TABLE work_orders (
  id                  uuid         PRIMARY KEY,
  group_id            uuid         NOT NULL,
  estate_id           uuid         NOT NULL,
  state               smallint     NOT NULL,
  priority            smallint     NOT NULL,
  category            smallint     NOT NULL,
  origin              smallint     NOT NULL,
  -- "ticket:<id>", "elder_emergency:<id>", "preventive:<order id>": one order per source.
  origin_ref          text         NOT NULL DEFAULT '',
  unit_id             uuid,
  worker_ids          uuid[]       NOT NULL DEFAULT '{}',
  next_sla_at         timestamptz,
  next_escalation_at  timestamptz,
  completed_at        timestamptz,
  version             bigint       NOT NULL,
  created_at          timestamptz  NOT NULL,
  updated_at          timestamptz  NOT NULL,
  data                bytea        NOT NULL
);
CREATE UNIQUE INDEX work_orders_origin ON work_orders (group_id, origin_ref) WHERE origin_ref <> '';
CREATE INDEX work_orders_estate ON work_orders (group_id, estate_id, id);
CREATE INDEX work_orders_workers ON work_orders USING gin (worker_ids);
CREATE INDEX work_orders_sla ON work_orders (next_sla_at) WHERE next_sla_at IS NOT NULL;
CREATE INDEX work_orders_escalation ON work_orders (next_escalation_at)
  WHERE next_escalation_at IS NOT NULL;
CREATE INDEX work_orders_waiting ON work_orders (updated_at) WHERE state = 1;
CREATE INDEX work_orders_repairs ON work_orders (group_id, unit_id, category, completed_at)
  WHERE unit_id IS NOT NULL;

-- Who works which order: open load and the last assignment of each worker.
CREATE TABLE assignments (
  work_order_id  uuid         NOT NULL,
  staff_id       uuid         NOT NULL,
  group_id       uuid         NOT NULL,
  assigned_at    timestamptz  NOT NULL,
  open           boolean      NOT NULL,
  PRIMARY KEY (work_order_id, staff_id)
);
CREATE INDEX assignments_open ON assignments (staff_id) WHERE open;
CREATE INDEX assignments_last ON assignments (staff_id, assigned_at);

-- Each worker's open orders and last assignment, kept with `assignments` (what the
-- automatic choice ranks by, without counting per candidate).
CREATE TABLE staff_load (
  staff_id          uuid         PRIMARY KEY,
  group_id          uuid         NOT NULL,
  open_orders       int          NOT NULL,
  last_assigned_at  timestamptz
);

-- The last automatic choice of each order (wuye.dispatch.v1.AssignmentDecision).
CREATE TABLE assignment_decisions (
  work_order_id  uuid   PRIMARY KEY,
  group_id       uuid   NOT NULL,
  data           bytea  NOT NULL
);

CREATE TABLE signature_images (
  work_order_id  uuid   PRIMARY KEY,
  group_id       uuid   NOT NULL,
  image          bytea  NOT NULL
);

-- SLA policies: estate_id '' is the group's default (wuye.dispatch.v1.SlaPolicy in data).
CREATE TABLE sla_policies (
  group_id    uuid         NOT NULL,
  estate_id   text         NOT NULL,
  data        bytea        NOT NULL,
  version     bigint       NOT NULL,
  updated_at  timestamptz  NOT NULL,
  PRIMARY KEY (group_id, estate_id)
);

-- Prices of paid services: set here (source 'dispatch') until billing publishes them
-- (source 'billing', which then wins).
CREATE TABLE prices (
  group_id   uuid     NOT NULL,
  estate_id  uuid     NOT NULL,
  item_code  text     NOT NULL,
  name       text     NOT NULL,
  price_fen  bigint   NOT NULL,
  withdrawn  boolean  NOT NULL,
  source     text     NOT NULL,
  version    bigint   NOT NULL,
  PRIMARY KEY (group_id, estate_id, item_code)
);
