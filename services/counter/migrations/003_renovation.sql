-- Renovation (docs/api/counter.md, "Renovation"): applications with their documents,
-- decision, overtime consents and acceptance; the admissions at the gate; the daily patrols;
-- the days the daily check found without a patrol.

-- A renovation: the counter.v1.Renovation (serialized, without the counts, which are read
-- from cases and renovation_missed_days) and the columns lists and the daily check filter on.
CREATE TABLE renovations (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  unit_id     uuid        NOT NULL,
  state       smallint    NOT NULL,
  start_date  date        NOT NULL,
  end_date    date        NOT NULL,
  body        bytea       NOT NULL,
  version     bigint      NOT NULL,
  -- The daily patrol check: the first estate day not yet checked (set at approval; NULL
  -- until then).
  next_check_day  date,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX renovations_by_estate ON renovations (group_id, estate_id, id);
CREATE INDEX renovations_by_unit ON renovations (group_id, unit_id) WHERE state IN (1, 2);
CREATE INDEX renovations_to_check ON renovations (next_check_day) WHERE state = 2;

-- The workers let in (counter.v1.Admission, serialized).
CREATE TABLE renovation_admissions (
  id             uuid        PRIMARY KEY,
  group_id       uuid        NOT NULL,
  renovation_id  uuid        NOT NULL,
  body           bytea       NOT NULL,
  admitted_at    timestamptz NOT NULL
);
CREATE INDEX renovation_admissions_by_renovation ON renovation_admissions (renovation_id, id);

-- The patrols (counter.v1.Patrol, serialized) by the estate day they count for.
CREATE TABLE renovation_patrols (
  id             uuid        PRIMARY KEY,
  group_id       uuid        NOT NULL,
  renovation_id  uuid        NOT NULL,
  day            date        NOT NULL,
  body           bytea       NOT NULL,
  patrolled_at   timestamptz NOT NULL
);
CREATE INDEX renovation_patrols_by_day ON renovation_patrols (renovation_id, day);
CREATE INDEX renovation_patrols_by_renovation ON renovation_patrols (renovation_id, id);

-- A day of approved work that ended without a patrol: one row per renovation and day, so
-- the finding (and its event) happens once.
CREATE TABLE renovation_missed_days (
  renovation_id  uuid        NOT NULL,
  day            date        NOT NULL,
  group_id       uuid        NOT NULL,
  found_at       timestamptz NOT NULL,
  PRIMARY KEY (renovation_id, day)
);
