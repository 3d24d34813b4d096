-- A resident's move-out day (迁出, in the estate's time zone; NULL while they live there) and
-- the time a resident was removed (DeleteResident; NULL while registered). A removed
-- resident's row is kept for history but no longer read, listed or changed. Intake stops
-- counting their number as a resident's from these on (000_…, 二.5: 有业主通话记录).
ALTER TABLE residents ADD COLUMN move_out_date date;
ALTER TABLE residents ADD COLUMN removed_at timestamptz;
