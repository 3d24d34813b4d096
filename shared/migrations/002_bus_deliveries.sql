-- Stream entries a consumer group has not applied yet and has something to remember about
-- (shared/bus.h): how often its handler refused the entry (the count that dead-letters it),
-- since when it waits for another event, and attempts that never came back (a consumer
-- that died in the handler). A row goes in the transaction that applies its entry, or when
-- the entry is dead-lettered. Only handler answers are counted here: a database or Redis
-- outage counts nothing.
CREATE TABLE wuye_bus_deliveries (
  consumer_group text        NOT NULL,  -- the consuming service, e.g. 'billing'
  stream         text        NOT NULL,  -- e.g. 'wuye.dispatch.events'
  entry_ms       bigint      NOT NULL,  -- the stream entry id "<ms>-<seq>"
  entry_seq      bigint      NOT NULL,
  subject_key    text        NOT NULL,  -- the event's group id and subject; '' for none
  refusals       int         NOT NULL DEFAULT 0,  -- handler errors other than UNAVAILABLE
  waits          int         NOT NULL DEFAULT 0,  -- UNAVAILABLE answers, or held behind
  waiting_since  timestamptz,                     -- set while the entry waits
  unfinished     int         NOT NULL DEFAULT 0,  -- attempts in a row that never answered
  last_error     text        NOT NULL DEFAULT '',
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, stream, entry_ms, entry_seq)
);
-- "Is an earlier entry of this subject still unapplied?" before each entry or batch.
CREATE INDEX wuye_bus_deliveries_subject
  ON wuye_bus_deliveries (consumer_group, stream, subject_key, entry_ms, entry_seq);
