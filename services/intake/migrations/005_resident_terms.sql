-- Whether a number was a resident's on a call's day (seed 000 二.5: 有业主通话记录 — only a
-- resident's unrecorded call is deducted): per resident, besides its estate and number's
-- hash (004), its role, a tenant's lease (inclusive days), the day it moved out and the time
-- the directory removed it, as the last directory.resident.* event applied says. The days
-- are in the estate's time zone. Rows applied before this migration have role 0 (unknown)
-- and no dates, and keep matching as before until the resident's next event.
ALTER TABLE resident_phones
  ADD COLUMN role           smallint     NOT NULL DEFAULT 0,
  ADD COLUMN lease_start    date,
  ADD COLUMN lease_end      date,
  ADD COLUMN move_out_date  date,
  ADD COLUMN removed_at     timestamptz;
