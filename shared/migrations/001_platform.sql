-- The platform tables every service database has.

-- The first answer to each mutating request, so that a retry gets it back (shared/idempotency.h).
CREATE TABLE wuye_idempotency (
  group_key    text        NOT NULL,  -- the caller's group id ('' for platform calls)
  request_id   text        NOT NULL,
  method       text        NOT NULL,
  request_hash bytea       NOT NULL,  -- SHA-256 of the request without its request_id
  response     bytea,                 -- the serialized response
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_key, request_id)
);
CREATE INDEX wuye_idempotency_created ON wuye_idempotency (created_at);

-- Events written in the same transaction as the change they describe (shared/outbox.h).
-- The relay moves them to the service's Redis stream and stamps sent_at.
CREATE TABLE wuye_outbox (
  id          bigserial   PRIMARY KEY,
  event_id    uuid        NOT NULL UNIQUE,
  type        text        NOT NULL,
  envelope    bytea       NOT NULL,  -- serialized wuye.events.v1.Event
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
CREATE INDEX wuye_outbox_unsent ON wuye_outbox (id) WHERE sent_at IS NULL;

-- Events of other services this service has applied, for exactly-once consumption.
CREATE TABLE wuye_inbox (
  event_id    uuid        PRIMARY KEY,
  stream      text        NOT NULL,
  type        text        NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);
