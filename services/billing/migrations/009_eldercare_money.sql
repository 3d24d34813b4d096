-- Elderly-care money (004_… 5.2, 5.9, 5.12): the clinic's settlement reads the estate's
-- elder-care ledger transactions (kind 'eldercare_*') of a month. New accounts, no new
-- tables: clinic_billed, clinic_payable, clinic_receivable (the clinic's), family_call_fund_due,
-- family_call_fund (the office's fund), eldercare_deposit_due, eldercare_deposit_held.
CREATE INDEX ledger_txns_eldercare ON ledger_txns (estate_id, created_at)
  WHERE kind LIKE 'eldercare%';
