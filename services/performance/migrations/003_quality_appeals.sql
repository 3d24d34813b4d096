-- Appeals against a line of the office's quality ledger (seed 000_…, 二), beside those
-- against a person's form line: an appeal names exactly one of the two. An office line's
-- appeal belongs to the estate and month of the line and to no staff member's sheet.
ALTER TABLE appeals ALTER COLUMN line_id DROP NOT NULL;
ALTER TABLE appeals ALTER COLUMN staff_id DROP NOT NULL;
ALTER TABLE appeals ADD COLUMN quality_line_id uuid UNIQUE REFERENCES quality_lines (id);
ALTER TABLE appeals ADD CONSTRAINT appeals_one_line
  CHECK ((line_id IS NULL) <> (quality_line_id IS NULL));
-- Who appealed (the staff member, or the estate manager for the office), and the
-- supervisory committee's record of an office appeal's decision.
ALTER TABLE appeals ADD COLUMN appealed_by text NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN decision_ref text NOT NULL DEFAULT '';
UPDATE appeals SET appealed_by = staff_id::text WHERE line_id IS NOT NULL;
CREATE INDEX appeals_quality_estate ON appeals (group_id, estate_id, period)
  WHERE quality_line_id IS NOT NULL;
