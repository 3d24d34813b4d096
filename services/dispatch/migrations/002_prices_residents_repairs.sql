-- The seeds' rules (issue 19: prices, sign-off, repeat repairs).

-- One source of prices: billing's lists (004_…, 5.6.1). SetPrice is gone, so the prices it
-- set (source 'dispatch', never checked against the ±30 % band) no longer quote anything.
DELETE FROM prices WHERE source = 'dispatch';
ALTER TABLE prices ADD COLUMN per text NOT NULL DEFAULT 'job';

-- The group's standard price list ("billing.standard_price.set"): what a paid job is quoted
-- at where the estate publishes no price of its own.
CREATE TABLE standard_prices (
  group_id   uuid    NOT NULL,
  item_code  text    NOT NULL,
  name       text    NOT NULL,
  price_fen  bigint  NOT NULL,
  per        text    NOT NULL,
  version    bigint  NOT NULL,
  PRIMARY KEY (group_id, item_code)
);

-- Which unit each resident lives in (directory.resident.*), so that a signature and a
-- price agreement name a resident of the unit. No names, no phones.
CREATE TABLE dir_residents (
  id         uuid    PRIMARY KEY,
  group_id   uuid    NOT NULL,
  estate_id  uuid    NOT NULL,
  unit_id    uuid,
  version    bigint  NOT NULL
);

-- Repeat-repair detection counts repairs only: unpaid work of a repair trade (plumbing,
-- electrical, HVAC, civil, locksmith, appliances) from a ticket or staff, not paid
-- cleaning, elderly-care emergencies or preventive inspections. Older orders: by origin
-- and category (their paid flag is inside `data`).
ALTER TABLE work_orders ADD COLUMN repair boolean NOT NULL DEFAULT false;
UPDATE work_orders SET repair = origin IN (1, 2) AND category IN (1, 2, 3, 4);
