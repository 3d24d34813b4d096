-- Notices (公告) with the tickets a cut links, satisfaction surveys (满意度调查) and their
-- responses (docs/api/counter.md#notices-公告-and-surveys-满意度调查).

CREATE TABLE notices (
  id            uuid        PRIMARY KEY,
  group_id      uuid        NOT NULL,
  estate_id     uuid        NOT NULL,
  kind          smallint    NOT NULL,  -- counter.v1.NoticeKind
  title         text        NOT NULL,
  body          text        NOT NULL,
  start_time    timestamptz NOT NULL,
  end_time      timestamptz NOT NULL,
  state         smallint    NOT NULL,  -- counter.v1.NoticeState
  resolution    text        NOT NULL DEFAULT '',
  ended_at      timestamptz,
  published_by  text        NOT NULL,
  version       bigint      NOT NULL,
  created_at    timestamptz NOT NULL,
  CHECK (end_time > start_time)
);
CREATE INDEX notices_by_estate ON notices (group_id, estate_id, id);

-- The tickets a cut caused, each linked once; `seq` keeps the order they were linked in.
CREATE TABLE notice_tickets (
  notice_id  uuid        NOT NULL REFERENCES notices (id),
  ticket_id  uuid        NOT NULL,
  seq        bigserial   NOT NULL,
  linked_at  timestamptz NOT NULL,
  PRIMARY KEY (notice_id, ticket_id)
);

CREATE TABLE surveys (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  title       text        NOT NULL,
  questions   text[]      NOT NULL,
  state       smallint    NOT NULL,  -- counter.v1.SurveyState
  open_time   timestamptz NOT NULL,
  close_time  timestamptz,
  -- The estate's units known when the survey closed (its results' households then).
  households  integer,
  created_by  text        NOT NULL,
  version     bigint      NOT NULL
);
CREATE INDEX surveys_by_estate ON surveys (group_id, estate_id, id);

-- One household's answers (counter.v1.Satisfaction, one per question in order): one per
-- unit and survey.
CREATE TABLE survey_responses (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  survey_id   uuid        NOT NULL REFERENCES surveys (id),
  unit_id     uuid        NOT NULL,
  answers     smallint[]  NOT NULL,
  comment     text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL,
  UNIQUE (survey_id, unit_id)
);
