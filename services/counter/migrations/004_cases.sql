-- Violations and disputes (docs/api/counter.md, "Violations and disputes"): the cases and
-- their inspections.

-- A case: the counter.v1.Case (serialized) and the columns lists filter on.
CREATE TABLE cases (
  id              uuid        PRIMARY KEY,
  group_id        uuid        NOT NULL,
  estate_id       uuid        NOT NULL,
  kind            smallint    NOT NULL,
  state           smallint    NOT NULL,
  renovation_id   uuid,
  body            bytea       NOT NULL,
  version         bigint      NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX cases_by_estate ON cases (group_id, estate_id, id);
CREATE INDEX cases_by_renovation ON cases (renovation_id, state) WHERE renovation_id IS NOT NULL;

-- Inspections of a case (000_… 二.7–9: 定期或不定期进行检查).
CREATE TABLE case_inspections (
  id                  uuid        PRIMARY KEY,
  group_id            uuid        NOT NULL,
  case_id             uuid        NOT NULL,
  inspector_staff_id  text        NOT NULL,
  handled             boolean     NOT NULL,
  note                text        NOT NULL DEFAULT '',
  inspected_at        timestamptz NOT NULL
);
CREATE INDEX case_inspections_by_case ON case_inspections (case_id);
