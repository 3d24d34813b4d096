-- The notification outlet (docs/api/duty.md "Notifications"): one row per task change that
-- notifies (raised, escalated), written in the same transaction as the change, and sent to
-- the group's gateway by the notifier job (notifier.h). Rows are kept: sent and failed
-- ones are the record of what left the desk.
CREATE TABLE notifications (
  id               uuid         PRIMARY KEY,  -- also the Idempotency-Key header
  group_id         uuid         NOT NULL,
  estate_id        uuid         NOT NULL,
  task_id          uuid         NOT NULL,
  task_version     bigint       NOT NULL,
  change           text         NOT NULL,     -- "raised" | "escalated"
  body             text         NOT NULL,     -- the JSON posted, built once
  state            int          NOT NULL,     -- 1 pending, 2 sent, 3 failed
  attempts         int          NOT NULL DEFAULT 0,
  -- Pending: when it may be claimed next. A claim moves it a lease ahead, so that a
  -- replica gone mid-send (crash) leaves a row that comes due again by itself.
  next_attempt_at  timestamptz  NOT NULL,
  claim            uuid,                      -- the current claim; a mark names it
  queued_at        timestamptz  NOT NULL,     -- max age counts from here (reset on retry)
  created_at       timestamptz  NOT NULL,
  sent_at          timestamptz,
  failed_at        timestamptz,
  last_error       text         NOT NULL DEFAULT '',  -- "HTTP 503", "timeout", never a body
  http_status      int          NOT NULL DEFAULT 0,
  UNIQUE (group_id, task_id, task_version)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 1;
CREATE INDEX notifications_pending_age ON notifications (queued_at) WHERE state = 1;
CREATE INDEX notifications_by_group ON notifications (group_id, state, id DESC);
