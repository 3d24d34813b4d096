-- The progress of the deadlines intake re-times on calendar changes (issue #27 §1;
-- docs/api/intake.md): a complaint's written reply and a 12345 order's reply keep the time
-- their clock has spent until the last change (SlaProgress, shared/work_calendar.h), so the
-- next change settles from there, step by step as dispatch's clocks (sla_spent), instead of
-- counting again from receipt on a calendar edited since. NULL: nothing settled yet (nothing
-- spent, counting from receipt).
ALTER TABLE tickets
  ADD COLUMN reply_spent_us     bigint,
  ADD COLUMN reply_settled_at   timestamptz,
  ADD COLUMN hotline_spent_us   bigint,
  ADD COLUMN hotline_settled_at timestamptz;
