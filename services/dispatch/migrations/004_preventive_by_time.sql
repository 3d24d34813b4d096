-- Preventive orders by unit, category and time (issue 26 §5): each repair completed asks whether
-- a preventive order was raised for its unit and category within the window
-- (dp_preventive_raised). Through work_orders_repairs that read walked every order the unit
-- ever had in the category, checking created_at and origin row by row: a few more each month, so
-- the check read twice as much after six months as in the first (make scale, cost per call).
-- Through this index (preventive orders only, a small share) it reads the window and nothing
-- else, the same in the fifth year as in the first.
CREATE INDEX work_orders_preventive ON work_orders (group_id, unit_id, category, created_at)
  WHERE origin = 4;
