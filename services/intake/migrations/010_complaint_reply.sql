-- A complaint's written reply to the resident (issue #27 §1; docs/api/intake.md "A
-- complaint's written reply"): its deadline on the estate's working calendar beside the
-- ticket, the timers that fire once each, and the group's window.
ALTER TABLE tickets
  ADD COLUMN reply_due_at    timestamptz,  -- NULL: no reply deadline (not a complaint, 12345)
  ADD COLUMN reply_warn_at   timestamptz,  -- intake.complaint.reply_due_soon from here
  ADD COLUMN reply_month     text,         -- 'YYYY-MM' of received_at, estate-local
  ADD COLUMN reply_given_at  timestamptz,  -- the handling result first given
  ADD COLUMN reply_due_soon_published boolean NOT NULL DEFAULT false,
  ADD COLUMN reply_overdue_published  boolean NOT NULL DEFAULT false;
CREATE INDEX tickets_reply_month ON tickets (group_id, estate_id, reply_month)
  WHERE reply_month IS NOT NULL;
-- The timers (intake_jobs.h) and the calendar's re-timing: the open replies.
CREATE INDEX tickets_reply_due_soon ON tickets (reply_warn_at)
  WHERE reply_due_at IS NOT NULL AND reply_given_at IS NULL AND NOT reply_due_soon_published;
CREATE INDEX tickets_reply_overdue ON tickets (reply_due_at)
  WHERE reply_due_at IS NOT NULL AND reply_given_at IS NULL AND NOT reply_overdue_published;
CREATE INDEX tickets_reply_open ON tickets (group_id, estate_id)
  WHERE reply_due_at IS NOT NULL AND reply_given_at IS NULL;

-- The group's window (CallbackSettings.complaint_reply_hours, complaint_reply_clock:
-- wuye.common.v1.SlaClock, 2 = WORKING_DAYS).
ALTER TABLE callback_settings
  ADD COLUMN complaint_reply_hours integer  NOT NULL DEFAULT 72,
  ADD COLUMN complaint_reply_clock smallint NOT NULL DEFAULT 2;
