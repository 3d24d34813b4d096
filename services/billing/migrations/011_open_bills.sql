-- Open bills by unit (issue 26 §5): a payment locks its unit's open bills and GetUnitAccount sums
-- them. Through bills_unit that read walks every bill the unit ever had (twelve more a year);
-- through this index, only the open ones, so a unit's payments cost the same in its fifth
-- year as in its first.
CREATE INDEX bills_open ON bills (unit_id, due_at) WHERE paid_fen < amount_fen;
