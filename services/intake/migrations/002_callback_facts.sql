-- The callback rule of 004_…, 5.5.2 reads facts the system knows: the households served in
-- the month (in-home services completed), the units' service contracts with their start,
-- the service items with their launch, and the group's "new" windows; and the desk's hours.

-- The unit an in-home service served (ticket.h ServedHousehold), set when it is resolved;
-- NULL for every other ticket. The households served of a month are its distinct values.
ALTER TABLE tickets ADD COLUMN served_unit text;
UPDATE tickets SET served_unit = substr(household, 6)
  WHERE resolved_month IS NOT NULL AND household LIKE 'unit:%' AND kind IN (3, 5, 9);

-- Service contracts (《居家服务协议书》) signed with a unit.
CREATE TABLE service_contracts (
  id          uuid        PRIMARY KEY,
  group_id    uuid        NOT NULL,
  estate_id   uuid        NOT NULL,
  unit_id     uuid        NOT NULL,
  summary     text        NOT NULL,
  start_date  date        NOT NULL,
  end_date    date,                     -- NULL: open-ended
  created_by  text        NOT NULL,
  created_at  timestamptz NOT NULL,
  CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX service_contracts_unit ON service_contracts (group_id, estate_id, unit_id, start_date);

-- When each paid-service item was launched in an estate: the effective time of its first
-- publication in billing's estate price list (billing.price.published) that intake saw.
CREATE TABLE service_items (
  group_id     uuid        NOT NULL,
  estate_id    uuid        NOT NULL,
  item_code    text        NOT NULL,
  launched_at  timestamptz NOT NULL,
  PRIMARY KEY (group_id, estate_id, item_code)
);

-- A group's "new" windows (intake.proto CallbackSettings); no row: the defaults.
CREATE TABLE callback_settings (
  group_id           uuid        PRIMARY KEY,
  new_staff_days     int         NOT NULL,
  new_contract_days  int         NOT NULL,
  new_item_days      int         NOT NULL,
  updated_at         timestamptz NOT NULL
);

-- The front desk's hours from the directory (000_…, 二.5), for the consultations' answer
-- deadline: a 24-hour desk (the default, and what an estate seen before had) or its local
-- opening and closing minutes.
ALTER TABLE estates
  ADD COLUMN desk_24h         boolean  NOT NULL DEFAULT true,
  ADD COLUMN desk_opens_min   smallint NOT NULL DEFAULT 0,
  ADD COLUMN desk_closes_min  smallint NOT NULL DEFAULT 0;
