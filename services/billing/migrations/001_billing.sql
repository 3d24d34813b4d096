-- Billing's schema. Every row carries group_id; every query filters by it.
-- Money is bigint fen; areas and readings are bigint hundredths (centi-m², centi-units).

-- The copy of the directory billing needs, fed by wuye.directory.events and versioned by
-- subject_version.
CREATE TABLE bl_estates (
  id              uuid     PRIMARY KEY,
  group_id        uuid     NOT NULL,
  fee_fen_per_m2  bigint   NOT NULL,
  time_zone       text     NOT NULL,
  version         bigint   NOT NULL
);
CREATE INDEX bl_estates_group ON bl_estates (group_id, id);

CREATE TABLE bl_units (
  id           uuid      PRIMARY KEY,
  group_id     uuid      NOT NULL,
  estate_id    uuid      NOT NULL,
  area_centi   bigint    NOT NULL,
  type         smallint  NOT NULL,
  occupancy    smallint  NOT NULL,
  handed_over  boolean   NOT NULL,
  version      bigint    NOT NULL
);
CREATE INDEX bl_units_estate ON bl_units (estate_id, id);

CREATE TABLE bl_residents (
  id        uuid     PRIMARY KEY,
  group_id  uuid     NOT NULL,
  unit_id   uuid     NOT NULL,
  owner     boolean  NOT NULL,
  version   bigint   NOT NULL
);
CREATE INDEX bl_residents_unit ON bl_residents (unit_id) WHERE owner;

-- Prices: the group's standard list and each estate's published price.
CREATE TABLE standard_prices (
  group_id    uuid        NOT NULL,
  item_code   text        NOT NULL,
  name        text        NOT NULL,
  price_fen   bigint      NOT NULL CHECK (price_fen > 0),
  per         text        NOT NULL,
  version     bigint      NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (group_id, item_code)
);

CREATE TABLE estate_prices (
  group_id            uuid        NOT NULL,
  estate_id           uuid        NOT NULL,
  item_code           text        NOT NULL,
  price_fen           bigint      NOT NULL,
  standard_price_fen  bigint      NOT NULL,
  withdrawn           boolean     NOT NULL DEFAULT false,
  version             bigint      NOT NULL DEFAULT 1,
  effective_at        timestamptz NOT NULL,
  PRIMARY KEY (estate_id, item_code)
);

-- An estate's monthly fee schedule (wuye.billing.v1.FeeSchedule, serialized).
CREATE TABLE fee_schedules (
  group_id   uuid    NOT NULL,
  estate_id  uuid    PRIMARY KEY,
  schedule   bytea   NOT NULL,
  version    bigint  NOT NULL DEFAULT 1
);

CREATE TABLE meter_readings (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  unit_id          uuid        NOT NULL,
  meter_id         text        NOT NULL,
  kind             smallint    NOT NULL,
  period           date        NOT NULL,
  reading_centi    bigint      NOT NULL,
  replaced         boolean     NOT NULL,
  old_final_centi  bigint      NOT NULL DEFAULT 0,
  consumption_centi bigint     NOT NULL,
  amount_fen       bigint      NOT NULL,
  state            smallint    NOT NULL,  -- 1 billable, 2 flagged
  flag_reason      text        NOT NULL DEFAULT '',
  recorded_at      timestamptz NOT NULL,
  UNIQUE (unit_id, meter_id, period)
);
CREATE INDEX meter_readings_period ON meter_readings (estate_id, period) WHERE state = 1;

-- Billing runs and their progress. A run works through its estates in id order, and
-- through each estate's units in id order; cursor_* is where the next chunk starts.
CREATE TABLE billing_runs (
  id             uuid        PRIMARY KEY,
  group_id       uuid        NOT NULL,
  estate_id      uuid,                    -- NULL: the whole group
  period         date        NOT NULL,
  state          smallint    NOT NULL,    -- 1 pending, 2 running, 3 done
  units_total    bigint      NOT NULL DEFAULT 0,
  units_done     bigint      NOT NULL DEFAULT 0,
  bills_issued   bigint      NOT NULL DEFAULT 0,
  amount_fen     bigint      NOT NULL DEFAULT 0,
  chunks_done    int         NOT NULL DEFAULT 0,
  cursor_estate  uuid,
  cursor_unit    uuid,
  trace_id       text        NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL,
  finished_at    timestamptz
);
CREATE INDEX billing_runs_active ON billing_runs (created_at) WHERE state < 3;

-- Bills. A monthly bill's lines are its fee columns (a line per non-zero column); a charge
-- has one line, `other_fen`, named by `item`.
CREATE TABLE bills (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  unit_id          uuid        NOT NULL,
  kind             smallint    NOT NULL,  -- 1 monthly, 2 charge
  period           date        NOT NULL,
  management_fen   bigint      NOT NULL DEFAULT 0,
  lighting_fen     bigint      NOT NULL DEFAULT 0,
  parking_fen      bigint      NOT NULL DEFAULT 0,
  water_fen        bigint      NOT NULL DEFAULT 0,
  electricity_fen  bigint      NOT NULL DEFAULT 0,
  gas_fen          bigint      NOT NULL DEFAULT 0,
  other_fen        bigint      NOT NULL DEFAULT 0,
  item             text        NOT NULL DEFAULT '',
  source           text        NOT NULL DEFAULT '',
  amount_fen       bigint      NOT NULL,
  paid_fen         bigint      NOT NULL DEFAULT 0,
  issued_at        timestamptz NOT NULL,
  due_at           timestamptz NOT NULL,
  run_id           uuid,
  CHECK (paid_fen >= 0 AND paid_fen <= amount_fen)
);
-- One monthly bill per unit and month (source ''), one charge per source: what makes a
-- second run issue nothing. It also finds a unit's bills. Three indexes in all, because
-- every one of them is paid for by every bill a run inserts.
CREATE UNIQUE INDEX bills_unit ON bills (unit_id, period, kind, source);
CREATE INDEX bills_estate ON bills (estate_id, id);

CREATE TABLE payments (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  unit_id          uuid        NOT NULL,
  amount_fen       bigint      NOT NULL CHECK (amount_fen > 0),
  method           smallint    NOT NULL,
  external_txn_no  text        NOT NULL,
  bill_id          uuid,
  credit_fen       bigint      NOT NULL,
  paid_at          timestamptz NOT NULL,
  reversed         boolean     NOT NULL DEFAULT false,
  reversal_reason  text        NOT NULL DEFAULT '',
  -- Exactly once per external transaction number, whatever the request_id.
  UNIQUE (group_id, method, external_txn_no)
);

CREATE TABLE allocations (
  payment_id  uuid    NOT NULL,
  bill_id     uuid    NOT NULL,
  amount_fen  bigint  NOT NULL CHECK (amount_fen > 0),
  PRIMARY KEY (payment_id, bill_id)
);

-- The double-entry ledger. Every transaction's entries sum to zero (debits positive,
-- credits negative). `ref` names what the transaction records, once per group:
-- "payment:<id>", "reversal:<id>", "run:<id>:<chunk>", "work_order:<id>",
-- "eldercare:<charge id>".
CREATE TABLE ledger_txns (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  kind        text        NOT NULL,
  ref         text        NOT NULL,
  created_at  timestamptz NOT NULL,
  UNIQUE (group_id, ref)
);

-- Accounts: receivable (from units; bills are its detail), revenue:<item>, cash:<method>,
-- unit_credit and deposit_held (liabilities to a unit), clinic_receivable.
CREATE TABLE ledger_entries (
  txn_id      uuid    NOT NULL REFERENCES ledger_txns (id),
  group_id    uuid    NOT NULL,
  account     text    NOT NULL,
  unit_id     uuid,
  amount_fen  bigint  NOT NULL
);
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);
CREATE INDEX ledger_entries_unit ON ledger_entries (unit_id, account) WHERE unit_id IS NOT NULL;

-- Open complaints that dispute a bill (from intake): reminders pause while one is open.
CREATE TABLE bill_disputes (
  ticket_id  uuid     PRIMARY KEY,
  group_id   uuid     NOT NULL,
  bill_id    text     NOT NULL,
  open       boolean  NOT NULL,
  version    bigint   NOT NULL
);
CREATE INDEX bill_disputes_bill ON bill_disputes (bill_id) WHERE open;

CREATE TABLE reminders (
  id         uuid        PRIMARY KEY,
  group_id   uuid        NOT NULL,
  estate_id  uuid        NOT NULL,
  unit_id    uuid        NOT NULL,
  bill_id    uuid        NOT NULL,
  channel    smallint    NOT NULL,
  note       text        NOT NULL DEFAULT '',
  staff_id   text        NOT NULL,
  sent_at    timestamptz NOT NULL
);
CREATE INDEX reminders_bill ON reminders (bill_id, sent_at);

CREATE TABLE collection_reports (
  group_id   uuid    NOT NULL,
  estate_id  uuid    NOT NULL,
  period     date    NOT NULL,
  version    bigint  NOT NULL,
  final      boolean NOT NULL,
  PRIMARY KEY (estate_id, period)
);
