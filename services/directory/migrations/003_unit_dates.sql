-- The days a unit was handed over (收楼) and first lived in or let (入住), in the estate's
-- time zone; NULL when unknown. Billing prorates the first month from them and owes stair
-- lighting from move-in on (003_…, Q4 and Q6).
ALTER TABLE units ADD COLUMN handover_date date;
ALTER TABLE units ADD COLUMN move_in_date date;
