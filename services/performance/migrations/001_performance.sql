-- Performance's schema. Every row carries group_id; every query filters by it.
-- Months are dates (the first of the month).

-- The copy of the directory performance needs (wuye.directory.events, by version).
CREATE TABLE pf_estates (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  time_zone  text    NOT NULL,
  version    bigint  NOT NULL
);

CREATE TABLE pf_staff (
  id          uuid     PRIMARY KEY,
  group_id    uuid     NOT NULL,
  roles       text[]   NOT NULL,   -- token role names: "agent", "technician", ...
  estate_ids  uuid[]   NOT NULL,   -- home estates; the first is the sheet's estate
  active      boolean  NOT NULL,
  version     bigint   NOT NULL
);
CREATE INDEX pf_staff_estates ON pf_staff USING gin (estate_ids);

-- A group's points for a rule; without a row the catalogue's default holds.
CREATE TABLE rule_overrides (
  group_id    uuid         NOT NULL,
  rule        text         NOT NULL,
  points      integer      NOT NULL,
  updated_at  timestamptz  NOT NULL,
  PRIMARY KEY (group_id, rule)
);

CREATE TABLE settings (
  group_id            uuid         PRIMARY KEY,
  base_score          integer      NOT NULL,
  appeal_window_days  integer      NOT NULL,
  updated_at          timestamptz  NOT NULL
);

-- One sheet per staff member and month. state 1 open, 2 closed; score, grade and pay are
-- set when the month closes.
CREATE TABLE sheets (
  id           uuid         PRIMARY KEY,
  group_id     uuid         NOT NULL,
  staff_id     uuid         NOT NULL,
  estate_id    uuid         NOT NULL,
  period       date         NOT NULL,
  state        smallint     NOT NULL DEFAULT 1,
  base_score   integer,
  score        integer,
  grade        text,
  pay_percent  integer,
  closed_at    timestamptz,
  UNIQUE (group_id, staff_id, period)
);
CREATE INDEX sheets_estate ON sheets (group_id, estate_id, period);
-- Closed sheets, which evidence must not join (it goes to the next month).
CREATE INDEX sheets_closed ON sheets (group_id, staff_id, period) WHERE state = 2;
CREATE INDEX sheets_period ON sheets (group_id, period);

-- Deductions and rewards. A line belongs to the sheet (group_id, staff_id, period).
-- The same evidence (event id or manual entry id) counts once per staff member and rule.
CREATE TABLE lines (
  id               uuid         PRIMARY KEY,
  group_id         uuid         NOT NULL,
  staff_id         uuid         NOT NULL,
  estate_id        uuid         NOT NULL,
  period           date         NOT NULL,
  rule             text         NOT NULL,
  points           integer      NOT NULL,
  source_event_id  text         NOT NULL,
  note             text         NOT NULL DEFAULT '',
  entered_by       text         NOT NULL DEFAULT '',
  carried_from     date,
  voided           boolean      NOT NULL DEFAULT false,
  created_at       timestamptz  NOT NULL,
  UNIQUE (group_id, source_event_id, staff_id, rule)
);
CREATE INDEX lines_sheet ON lines (group_id, staff_id, period);

-- Quantitative figures per staff member, estate and month; staff_id is the nil uuid for
-- figures of the estate that concern nobody in particular.
CREATE TABLE facts (
  group_id               uuid    NOT NULL,
  staff_id               uuid    NOT NULL,
  estate_id              uuid    NOT NULL,
  period                 date    NOT NULL,
  requests_handled       bigint  NOT NULL DEFAULT 0,
  sla_hits               bigint  NOT NULL DEFAULT 0,
  sla_misses             bigint  NOT NULL DEFAULT 0,
  callbacks_rated        bigint  NOT NULL DEFAULT 0,
  callbacks_satisfied    bigint  NOT NULL DEFAULT 0,
  callbacks_unsatisfied  bigint  NOT NULL DEFAULT 0,
  complaints_against     bigint  NOT NULL DEFAULT 0,
  callbacks_made         bigint  NOT NULL DEFAULT 0,
  tickets_closed         bigint  NOT NULL DEFAULT 0,
  unrecorded_calls       bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (group_id, staff_id, estate_id, period)
);
CREATE INDEX facts_estate ON facts (group_id, estate_id, period);

-- The estate team's month: billing's collection report and its team points.
CREATE TABLE team_kpis (
  group_id            uuid     NOT NULL,
  estate_id           uuid     NOT NULL,
  period              date     NOT NULL,
  arrears_share_bp    integer  NOT NULL,
  collection_rate_bp  integer  NOT NULL,
  team_points         integer  NOT NULL,
  version             bigint   NOT NULL,
  PRIMARY KEY (group_id, estate_id, period)
);

-- Appeals (申诉): one per line, every decision kept. state 1 pending, 2 upheld, 3 rejected.
CREATE TABLE appeals (
  id               uuid         PRIMARY KEY,
  group_id         uuid         NOT NULL,
  line_id          uuid         NOT NULL UNIQUE REFERENCES lines (id),
  staff_id         uuid         NOT NULL,
  estate_id        uuid         NOT NULL,
  period           date         NOT NULL,
  reason           text         NOT NULL,
  state            smallint     NOT NULL,
  decision_reason  text         NOT NULL DEFAULT '',
  decided_by       text         NOT NULL DEFAULT '',
  created_at       timestamptz  NOT NULL,
  decided_at       timestamptz
);
CREATE INDEX appeals_period ON appeals (group_id, period) WHERE state = 1;
