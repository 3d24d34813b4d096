-- A 12345 order is on time by when its reply reached the city's platform (issue 27 §3;
-- docs/api/intake.md "12345 government hotline"): the export that first included one of its
-- replies (ExportHotlineReplies) or the HTTP exchange's accepted post, not the reply_time the
-- desk states. The timers run until then.
ALTER TABLE tickets
  ADD COLUMN hotline_delivered_at timestamptz;  -- a reply first reached the platform
-- The replies exported before: delivered then.
UPDATE tickets t SET hotline_delivered_at = d.at
  FROM (SELECT ticket_id, min(exported_at) AS at FROM hotline_replies
        WHERE exported_at IS NOT NULL GROUP BY ticket_id) d
  WHERE t.id = d.ticket_id;
-- A reply's on_time is now its delivery's: false until it is exported.
UPDATE hotline_replies r
  SET on_time = (r.exported_at IS NOT NULL AND r.exported_at <= t.external_due_at)
  FROM tickets t WHERE t.id = r.ticket_id;
-- The timers (intake_jobs.h) key on the delivery instead of the reply recorded.
DROP INDEX tickets_hotline_due_soon;
DROP INDEX tickets_hotline_overdue;
CREATE INDEX tickets_hotline_due_soon ON tickets (hotline_warn_at)
  WHERE hotline_order IS NOT NULL AND hotline_delivered_at IS NULL
    AND NOT hotline_due_soon_published;
CREATE INDEX tickets_hotline_overdue ON tickets (external_due_at)
  WHERE hotline_order IS NOT NULL AND hotline_delivered_at IS NULL
    AND NOT hotline_overdue_published;

-- How far a reply's stated reply_time may lie before it is recorded
-- (CallbackSettings.hotline_reply_backdate_hours; the seeds are silent, 24 a reading).
ALTER TABLE callback_settings
  ADD COLUMN hotline_reply_backdate_hours integer NOT NULL DEFAULT 24;
