-- Subjects a consumer group holds behind a dead letter (shared/bus.h, docs/events.md
-- "Order"): when an entry of a subject is dead-lettered, the later entries of that subject
-- are not applied but parked on the dead-letter stream, marked "held behind <its id>",
-- until the dead letter's replay is applied; `wuyectl bus replay` of it replays them after
-- it, in order. A replay refused again moves the hold to its new dead letter. The row goes
-- in the transaction that applies the replay.
CREATE TABLE wuye_bus_holds (
  consumer_group text        NOT NULL,  -- the consuming service, e.g. 'billing'
  stream         text        NOT NULL,  -- e.g. 'wuye.dispatch.events'
  subject_key    text        NOT NULL,  -- the event's group id and subject
  dead_letter_id text        NOT NULL,  -- the dead letter's id in '<stream>.dead'
  entry_ms       bigint      NOT NULL,  -- the dead-lettered entry's id on the stream: only
  entry_seq      bigint      NOT NULL,  -- entries after it are held
  held           int         NOT NULL DEFAULT 0,  -- entries parked behind it so far
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, stream, subject_key)
);
