-- Issue 19 (rules) and 20 (hardening) of billing.

-- The directory's hand-over and move-in dates (estate-local days; NULL when unknown): the
-- first month is prorated from them, and stair lighting is owed from move-in (003_…, Q6).
ALTER TABLE bl_units ADD COLUMN handover_date date;
ALTER TABLE bl_units ADD COLUMN move_in_date date;

-- The group's billing settings (wuye.billing.v1.BillingSettings, serialized); no row: the
-- defaults.
CREATE TABLE billing_settings (
  group_id     uuid    PRIMARY KEY,
  settings     bytea   NOT NULL,
  -- settings.collection_grace_days, for the close worker's query
  grace_days   int     NOT NULL DEFAULT 0,
  version      bigint  NOT NULL DEFAULT 1
);

-- When a payment was reversed, so that a month's figures can be taken as of its close.
ALTER TABLE payments ADD COLUMN reversed_at timestamptz;
CREATE INDEX allocations_bill ON allocations (bill_id);

-- A month's collection is fixed at its close (due_at + the group's grace) by the service's
-- own worker; until then a report is provisional. The fixed figures are kept here.
ALTER TABLE collection_reports ADD COLUMN due_at timestamptz;
ALTER TABLE collection_reports ADD COLUMN billed_fen bigint;
ALTER TABLE collection_reports ADD COLUMN collected_fen bigint;
ALTER TABLE collection_reports ADD COLUMN owners integer;
ALTER TABLE collection_reports ADD COLUMN owners_in_arrears integer;
ALTER TABLE collection_reports ADD COLUMN as_of timestamptz;
CREATE INDEX collection_reports_open ON collection_reports (due_at) WHERE NOT final;
-- A month a caller called final before kept no figures: the service fixes it at its close.
UPDATE collection_reports SET final = false;
