-- The 12345 government hotline (issue 27 §3, docs/api/intake.md "12345 government hotline").
-- A 12345 order is a ticket (channel GOVERNMENT_HOTLINE, kind complaint) with the city's
-- order: one ticket per group, city and order number, so a second import changes nothing.
ALTER TABLE tickets
  ADD COLUMN hotline_city       text,
  ADD COLUMN hotline_order      text,
  ADD COLUMN hotline_month      text,         -- 'YYYY-MM' of the hotline's receipt, estate-local
  ADD COLUMN external_due_at    timestamptz,  -- the reply to the hotline is due
  ADD COLUMN hotline_warn_at    timestamptz,  -- intake.hotline.due_soon from here
  ADD COLUMN hotline_replied_at timestamptz,  -- the first reply recorded
  ADD COLUMN hotline_result     smallint NOT NULL DEFAULT 0,  -- the government's callback
  ADD COLUMN hotline_callback_at timestamptz,
  ADD COLUMN hotline_due_soon_published boolean NOT NULL DEFAULT false,
  ADD COLUMN hotline_overdue_published  boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX tickets_hotline_order ON tickets (group_id, hotline_city, hotline_order)
  WHERE hotline_order IS NOT NULL;
CREATE INDEX tickets_hotline_month ON tickets (group_id, estate_id, hotline_month)
  WHERE hotline_month IS NOT NULL;
-- The timers (intake_jobs.h): each fires once per order.
CREATE INDEX tickets_hotline_due_soon ON tickets (hotline_warn_at)
  WHERE hotline_order IS NOT NULL AND hotline_replied_at IS NULL
    AND NOT hotline_due_soon_published;
CREATE INDEX tickets_hotline_overdue ON tickets (external_due_at)
  WHERE hotline_order IS NOT NULL AND hotline_replied_at IS NULL
    AND NOT hotline_overdue_published;

-- The replies sent back to the hotline; exported once each (ExportHotlineReplies).
CREATE TABLE hotline_replies (
  id            uuid        PRIMARY KEY,
  group_id      uuid        NOT NULL,
  estate_id     uuid        NOT NULL,
  ticket_id     uuid        NOT NULL REFERENCES tickets (id),
  city          text        NOT NULL,
  order_number  text        NOT NULL,
  reply         text        NOT NULL,
  replied_by    text        NOT NULL,
  replied_at    timestamptz NOT NULL,
  on_time       boolean     NOT NULL,
  exported_at   timestamptz
);
CREATE INDEX hotline_replies_ticket ON hotline_replies (ticket_id);
CREATE INDEX hotline_replies_unexported ON hotline_replies (group_id, city, replied_at, id)
  WHERE exported_at IS NULL;
