-- The counter's closed satisfaction surveys (counter.survey.closed, issue #25 §5): the
-- office's satisfaction figure of a month, shown on the team sheet and the quality ledger.
-- A figure, never points. One row per survey: a redelivered event changes nothing.
CREATE TABLE surveys (
  group_id             uuid         NOT NULL,
  survey_id            uuid         NOT NULL,
  estate_id            uuid         NOT NULL,
  period               date         NOT NULL,
  households_answered  integer      NOT NULL,
  households           integer      NOT NULL,
  satisfied_bp         integer      NOT NULL,
  source_event_id      text         NOT NULL,
  closed_at            timestamptz  NOT NULL,
  PRIMARY KEY (group_id, survey_id)
);
CREATE INDEX surveys_by_month ON surveys (group_id, estate_id, period);
