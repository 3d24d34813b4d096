-- The consultation timer (intake_jobs.h): a consultation not answered by its due time is
-- published once as intake.consultation.overdue; the flag records that it was.
ALTER TABLE tickets ADD COLUMN overdue_published boolean NOT NULL DEFAULT false;
CREATE INDEX tickets_overdue_unpublished ON tickets (answer_due_at)
  WHERE state = 1 AND kind = 1 AND NOT overdue_published;
