-- Hand-over (交房), move-in (入住) and defects (docs/api/counter.md#hand-over-交房-and-move-in-入住).
-- Each object is stored whole as its serialized counter.v1 message (`body`) plus the columns
-- that filters and rules need; the store keeps both in step.

CREATE TABLE handovers (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  unit_id     uuid        NOT NULL,
  state       smallint    NOT NULL,
  -- The hand-over day, from SIGNED on (the warranty runs from it).
  handover_date date,
  -- HMAC-SHA256 of the owner's ID number under the counter's lookup key (never a plain
  -- hash); the number itself only in sealed_values.
  id_digest   bytea,
  version     bigint      NOT NULL,
  body        bytea       NOT NULL
);
CREATE INDEX handovers_estate ON handovers (group_id, estate_id, id);
-- One hand-over per unit that is not completed (ALREADY_OPEN), and none after one signed
-- (ALREADY_HANDED_OVER, checked under the unit's lock).
CREATE UNIQUE INDEX handovers_one_open ON handovers (group_id, unit_id) WHERE state < 6;
CREATE INDEX handovers_unit ON handovers (group_id, unit_id);

-- Every sealed value (AES-256-GCM, shared/sealing.h), keyed by the record and field it
-- belongs to, as eldercare keeps them: bound to group, table, row and field.
CREATE TABLE sealed_values (
  group_id      uuid        NOT NULL,
  record_table  text        NOT NULL,
  record_id     uuid        NOT NULL,
  field         text        NOT NULL,
  key_id        text        NOT NULL,
  blob          bytea       NOT NULL,  -- nonce || ciphertext || tag
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (record_table, record_id, field)
);
CREATE INDEX sealed_values_key ON sealed_values (key_id);

CREATE TABLE move_ins (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  unit_id     uuid        NOT NULL,
  -- 1, 2, … per unit: the event's subject_version.
  seq         int         NOT NULL,
  body        bytea       NOT NULL,
  UNIQUE (group_id, unit_id, seq)
);

CREATE TABLE defects (
  id           uuid        PRIMARY KEY,
  group_id     uuid        NOT NULL,
  estate_id    uuid        NOT NULL,
  unit_id      uuid        NOT NULL,
  handover_id  uuid,
  state        smallint    NOT NULL,
  version      bigint      NOT NULL,
  body         bytea       NOT NULL
);
CREATE INDEX defects_estate ON defects (group_id, estate_id, id);
CREATE INDEX defects_unit ON defects (group_id, unit_id);
