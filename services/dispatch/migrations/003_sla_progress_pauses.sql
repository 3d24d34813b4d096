-- Issue 27: SLA clocks on the working calendar, pauses that keep their history, and the
-- reports of SLA met with and without pauses.

-- Each order's SLA progress (also inside `data`): the time counted until sla_settled_at,
-- whether the clock runs (false while paused or stopped), and once it stopped, when and
-- whether it was met counting pauses and as if no pause had stopped it. Orders made
-- before this migration have none (NULL): their deadline stays as it was computed.
ALTER TABLE work_orders
  ADD COLUMN sla_spent_us      bigint,
  ADD COLUMN sla_settled_at    timestamptz,
  ADD COLUMN sla_running       boolean,
  ADD COLUMN sla_stopped_at    timestamptz,
  ADD COLUMN sla_met           boolean,
  ADD COLUMN sla_met_unpaused  boolean;
-- The open clocks of a group or estate (a calendar change re-computes them).
CREATE INDEX work_orders_open_clocks ON work_orders (group_id, estate_id)
  WHERE sla_settled_at IS NOT NULL AND sla_stopped_at IS NULL;
-- The report: clocks stopped in a month.
CREATE INDEX work_orders_sla_stopped ON work_orders (group_id, estate_id, sla_stopped_at)
  WHERE sla_stopped_at IS NOT NULL;

-- Every pause that stopped a clock (also in the order's `data`, with its whole history):
-- from the agreement or approval to the resume. worker_ids: the workers on the order then.
CREATE TABLE work_order_pauses (
  id             uuid         PRIMARY KEY,
  group_id       uuid         NOT NULL,
  estate_id      uuid         NOT NULL,
  work_order_id  uuid         NOT NULL,
  reason_code    text         NOT NULL,
  worker_ids     uuid[]       NOT NULL,
  paused_at      timestamptz  NOT NULL,
  resumed_at     timestamptz
);
CREATE INDEX work_order_pauses_estate ON work_order_pauses (group_id, estate_id, paused_at);

-- The group's list of pause reasons (wuye.dispatch.v1.PauseReasons); none: the seeded list.
CREATE TABLE pause_reasons (
  group_id    uuid         PRIMARY KEY,
  data        bytea        NOT NULL,
  version     bigint       NOT NULL,
  updated_at  timestamptz  NOT NULL
);
