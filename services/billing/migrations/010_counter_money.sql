-- The counter's money (issue 25, docs/api/billing.md "The counter's events"). A meter's
-- opening reading, taken with the owner at hand-over (counter.meters.read): the baseline of
-- the unit's first consumption of its kind, filed under the month before the hand-over.
-- New accounts, no new tables: renovation_deposit_due (a renovation deposit asked, per
-- unit), revenue:renovation_deduction, revenue:card_replacement; a paid renovation deposit
-- is held in deposit_held.
ALTER TABLE meter_readings ADD COLUMN opening boolean NOT NULL DEFAULT false;
CREATE INDEX meter_readings_opening ON meter_readings (unit_id, kind) WHERE opening;
