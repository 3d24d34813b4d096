-- Elderly-care money (004_… 5.2): fees as settings, the family-call fund's balance, the
-- checkup's advance, and what a settling charge settles.

-- The fees of a group (estate_id NULL) or an estate's override (an ElderFees message,
-- serialized; an unset fee inherits).
CREATE TABLE fee_settings (
  group_id    uuid        NOT NULL,
  estate_id   uuid,
  fees        bytea       NOT NULL,
  version     bigint      NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX fee_settings_scope
  ON fee_settings (group_id, COALESCE(estate_id, '00000000-0000-0000-0000-000000000000'));

-- Prepaid and topped up, less the calls paid from it.
ALTER TABLE elders ADD COLUMN family_call_fund_fen bigint NOT NULL DEFAULT 0;
ALTER TABLE family_calls ADD COLUMN cost_fen bigint NOT NULL DEFAULT 0;
-- The advance collected for the checkup; cost_fen is its actual cost.
ALTER TABLE checkups ADD COLUMN advance_fen bigint NOT NULL DEFAULT 0;
-- The deposit a refund returns, the advance a checkup's settlement settles.
ALTER TABLE charges ADD COLUMN settles_charge_id uuid;
