-- Eldercare's schema. Every row carries group_id; every query filters by it. Health
-- fields, ID numbers, family contacts and care notes live only in sealed_values, encrypted
-- (AES-256-GCM, associated data = group, table, row, field, key id); nothing else here
-- holds them.

-- Its copy of the directory (wuye.directory.events), newest version wins.
CREATE TABLE dir_estates (
  id         uuid     PRIMARY KEY,
  group_id   uuid     NOT NULL,
  time_zone  text     NOT NULL,
  version    bigint   NOT NULL
);
CREATE TABLE dir_units (
  id         uuid     PRIMARY KEY,
  group_id   uuid     NOT NULL,
  estate_id  uuid     NOT NULL,
  version    bigint   NOT NULL
);
-- Only what enrolment needs: no name, no phone.
CREATE TABLE dir_residents (
  id           uuid     PRIMARY KEY,
  group_id     uuid     NOT NULL,
  estate_id    uuid     NOT NULL,
  unit_id      uuid     NOT NULL,
  role         smallint NOT NULL,
  birth_date   date,
  lease_start  date,
  lease_end    date,
  version      bigint   NOT NULL
);

CREATE TABLE elders (
  id                 uuid        PRIMARY KEY,
  group_id           uuid        NOT NULL,
  estate_id          uuid        NOT NULL,
  unit_id            uuid        NOT NULL,
  resident_id        uuid        NOT NULL,
  state              smallint    NOT NULL,  -- 1 enrolled, 2 exited
  enrolled_on        date        NOT NULL,
  exited_on          date,
  exit_reason        text        NOT NULL DEFAULT '',
  consent_scope      text        NOT NULL,
  consent_version    text        NOT NULL,
  consent_signed_at  timestamptz NOT NULL,
  consent_signed_by  text        NOT NULL,
  -- HMAC-SHA256 of the ID number under the lookup key (never a plain hash).
  id_digest          bytea       NOT NULL,
  visit_every_days   int         NOT NULL CHECK (visit_every_days BETWEEN 1 AND 90),
  next_visit_due     date        NOT NULL,
  paid_through       date        NOT NULL,
  deposit_held       boolean     NOT NULL,
  contacts_version   bigint      NOT NULL DEFAULT 1,
  version            bigint      NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX elders_estate ON elders (group_id, estate_id, id);
CREATE UNIQUE INDEX elders_enrolled_resident ON elders (group_id, resident_id) WHERE state = 1;
CREATE UNIQUE INDEX elders_enrolled_id_number ON elders (group_id, id_digest) WHERE state = 1;
CREATE INDEX elders_due ON elders (group_id, estate_id, next_visit_due) WHERE state = 1;
CREATE INDEX elders_renewal ON elders (paid_through) WHERE state = 1;

-- Every encrypted value, keyed by the record and field it belongs to.
CREATE TABLE sealed_values (
  group_id      uuid        NOT NULL,
  record_table  text        NOT NULL,
  record_id     uuid        NOT NULL,
  field         text        NOT NULL,
  key_id        text        NOT NULL,
  blob          bytea       NOT NULL,  -- nonce || ciphertext || tag
  elder_id      uuid        NOT NULL,  -- whose record, for the audit trail of a rotation
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (record_table, record_id, field)
);
CREATE INDEX sealed_values_key ON sealed_values (key_id);

CREATE TABLE health_cards (
  elder_id    uuid        PRIMARY KEY REFERENCES elders (id),
  group_id    uuid        NOT NULL,
  version     bigint      NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL
);

CREATE TABLE checkups (
  id             uuid        PRIMARY KEY,
  group_id       uuid        NOT NULL,
  estate_id      uuid        NOT NULL,
  elder_id       uuid        NOT NULL REFERENCES elders (id),
  performed_on   date        NOT NULL,
  cost_fen       bigint      NOT NULL CHECK (cost_fen > 0),
  has_care_plan  boolean     NOT NULL DEFAULT false,
  follow_up_on   date,
  created_at     timestamptz NOT NULL
);
CREATE INDEX checkups_elder ON checkups (group_id, elder_id, id);

CREATE TABLE visits (
  id                  uuid        PRIMARY KEY,
  group_id            uuid        NOT NULL,
  elder_id            uuid        NOT NULL REFERENCES elders (id),
  visited_at          timestamptz NOT NULL,
  care_plan_followed  boolean     NOT NULL,
  visitor             text        NOT NULL,
  created_at          timestamptz NOT NULL
);
CREATE INDEX visits_elder ON visits (group_id, elder_id, visited_at);

CREATE TABLE family_calls (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  elder_id    uuid        NOT NULL REFERENCES elders (id),
  called_at   timestamptz NOT NULL,
  caller      text        NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE care_days (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  elder_id    uuid        NOT NULL REFERENCES elders (id),
  day         date        NOT NULL,
  kind        smallint    NOT NULL,  -- 1 sick-bed, 2 hospice
  charge_id   uuid,                  -- set once charged
  created_at  timestamptz NOT NULL,
  UNIQUE (elder_id, day)
);
CREATE INDEX care_days_uncharged ON care_days (day) WHERE charge_id IS NULL;

-- Every charge published, once (charge_id is what billing de-duplicates on).
CREATE TABLE charges (
  charge_id   uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  elder_id    uuid        NOT NULL,
  kind        smallint    NOT NULL,
  payer       smallint    NOT NULL,
  amount_fen  bigint      NOT NULL,
  quantity    int         NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX charges_elder ON charges (group_id, elder_id);

CREATE TABLE emergencies (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  elder_id    uuid        NOT NULL REFERENCES elders (id),
  unit_id     uuid        NOT NULL,
  raised_by   text        NOT NULL,
  raised_at   timestamptz NOT NULL
);

CREATE TABLE safety_checks (
  id            uuid        PRIMARY KEY,
  group_id      uuid        NOT NULL,
  estate_id     uuid        NOT NULL,
  reason        text        NOT NULL,
  homes         int         NOT NULL,
  raised_at     timestamptz NOT NULL,
  completed_at  timestamptz
);
CREATE TABLE safety_check_homes (
  check_id    uuid        NOT NULL REFERENCES safety_checks (id),
  elder_id    uuid        NOT NULL,
  unit_id     uuid        NOT NULL,
  checked_at  timestamptz,
  safe        boolean,
  PRIMARY KEY (check_id, elder_id)
);

-- Who read or wrote which health record, when and why; written in the same transaction.
CREATE TABLE audit_log (
  id           uuid        PRIMARY KEY,
  group_id     uuid        NOT NULL,
  elder_id     uuid        NOT NULL,
  actor        text        NOT NULL,
  actor_roles  text[]      NOT NULL,
  action       text        NOT NULL,
  fields       text[]      NOT NULL,
  purpose      text        NOT NULL,
  break_glass  boolean     NOT NULL,
  trace_id     text        NOT NULL,
  at           timestamptz NOT NULL
);
CREATE INDEX audit_log_elder ON audit_log (group_id, elder_id, id DESC);
CREATE INDEX audit_log_break_glass ON audit_log (group_id, at) WHERE break_glass;
