-- Running balances of units' ledger accounts (issue 26 §5). A unit's credit and deposits held
-- were sums over every entry the unit ever had on the account (bl_unit_liability: each
-- GetUnitAccount, each reversal's credit check, each refund): a household that pays ahead
-- adds an entry a month, so the read grew with the unit's history for as long as the ledger is
-- kept, which is for ever (a business record, never pruned). Now each (unit, account) keeps its
-- sum here, and the reads take that one row: the same in the tenth year as in the first.
--
-- A trigger keeps the sums, in the transaction that inserts the entries (one upsert per
-- statement, summed over its rows, in (unit, account) order so that two transactions never
-- wait on each other crosswise), so every writer keeps them, a replica of the previous
-- release during a rolling upgrade included. Ledger entries are only ever inserted. The
-- sums of the entries already there are taken below, in the migration's transaction, while
-- CREATE TRIGGER's lock holds new entries back.
CREATE TABLE unit_balances (
  unit_id   uuid   NOT NULL,
  account   text   NOT NULL,
  group_id  uuid   NOT NULL,
  sum_fen   bigint NOT NULL,
  PRIMARY KEY (unit_id, account)
);

CREATE FUNCTION unit_balances_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO unit_balances (unit_id, account, group_id, sum_fen)
  SELECT unit_id, account, min(group_id::text)::uuid, sum(amount_fen)
    FROM new_entries WHERE unit_id IS NOT NULL
   GROUP BY unit_id, account ORDER BY unit_id, account
  ON CONFLICT (unit_id, account) DO UPDATE SET sum_fen = unit_balances.sum_fen + EXCLUDED.sum_fen;
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_unit_balances AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION unit_balances_add();

INSERT INTO unit_balances (unit_id, account, group_id, sum_fen)
SELECT unit_id, account, min(group_id::text)::uuid, sum(amount_fen)
  FROM ledger_entries WHERE unit_id IS NOT NULL GROUP BY unit_id, account;
