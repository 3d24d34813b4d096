-- Keys held by the office, their loans and checks (003_… 2.3), access / IC / visitor cards
-- (001_… 物业客服领班 1, 4) and the registers of lost and found, storage and umbrellas
-- (001_… 物业客服领班 1, 2). docs/api/counter.md, "Keys, cards and registers".

-- A key of the cabinet: what it opens (a unit or a common area in words).
CREATE TABLE office_keys (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  number           text        NOT NULL,
  unit_id          uuid,
  common_area      text        NOT NULL DEFAULT '',
  label            text        NOT NULL DEFAULT '',
  state            smallint    NOT NULL,  -- counter.v1.KeyState
  current_loan_id  uuid,
  last_check_at    timestamptz,
  version          bigint      NOT NULL,
  created_at       timestamptz NOT NULL,
  UNIQUE (group_id, estate_id, number)
);

-- A loan: who took the key (a staff id, or a name with no phone), for what, and its return.
CREATE TABLE key_loans (
  id                 uuid        PRIMARY KEY,
  group_id           uuid        NOT NULL,
  estate_id          uuid        NOT NULL,
  key_id             uuid        NOT NULL REFERENCES office_keys (id),
  borrower_staff_id  text        NOT NULL DEFAULT '',
  borrower_name      text        NOT NULL DEFAULT '',
  purpose            text        NOT NULL,
  lent_at            timestamptz NOT NULL,
  due_at             timestamptz,
  returned_at        timestamptz,
  lent_by            text        NOT NULL,
  received_by        text        NOT NULL DEFAULT ''
);
-- A key is out on one loan at most (the row lock of LendKey decides; this is the backstop).
CREATE UNIQUE INDEX key_loans_one_open ON key_loans (key_id) WHERE returned_at IS NULL;
CREATE INDEX key_loans_by_estate ON key_loans (group_id, estate_id, id);

-- A count of the cabinet (核对).
CREATE TABLE key_checks (
  id               uuid        PRIMARY KEY,
  group_id         uuid        NOT NULL,
  estate_id        uuid        NOT NULL,
  checked_at       timestamptz NOT NULL,
  checked_by       text        NOT NULL,
  keys_registered  integer     NOT NULL,
  keys_found       integer     NOT NULL,
  keys_lent        integer     NOT NULL,
  missing_numbers  text[]      NOT NULL
);

-- A card issued; a lost one stays BLOCKED, linked to its replacement.
CREATE TABLE cards (
  id           uuid        PRIMARY KEY,
  group_id     uuid        NOT NULL,
  estate_id    uuid        NOT NULL,
  kind         smallint    NOT NULL,  -- counter.v1.CardKind
  number       text        NOT NULL,
  unit_id      uuid,
  resident_id  uuid,
  holder_name  text        NOT NULL DEFAULT '',
  state        smallint    NOT NULL,  -- counter.v1.CardState
  issued_at    timestamptz NOT NULL,
  issued_by    text        NOT NULL,
  returned_at  timestamptz,
  blocked_at   timestamptz,
  replaced_by  uuid,
  replaces     uuid,
  fee_fen      bigint      NOT NULL DEFAULT 0,
  version      bigint      NOT NULL
);
-- A number is out once per estate (state 1: ISSUED).
CREATE UNIQUE INDEX cards_issued_number ON cards (group_id, estate_id, number) WHERE state = 1;
CREATE INDEX cards_by_number ON cards (group_id, estate_id, number, issued_at);

-- An entry of a register: found item, loss report, storage, umbrella.
CREATE TABLE register_entries (
  id              uuid        PRIMARY KEY,
  group_id        uuid        NOT NULL,
  estate_id       uuid        NOT NULL,
  kind            smallint    NOT NULL,  -- counter.v1.RegisterKind
  description     text        NOT NULL,
  person_name     text        NOT NULL,
  unit_id         uuid,
  kept_at         text        NOT NULL DEFAULT '',
  due_at          timestamptz,
  opened_at       timestamptz NOT NULL,
  opened_by       text        NOT NULL,
  closed          boolean     NOT NULL DEFAULT false,
  closed_to_name  text        NOT NULL DEFAULT '',
  closed_at       timestamptz,
  closed_by       text        NOT NULL DEFAULT '',
  matched_entry_id uuid
);
CREATE INDEX register_entries_by_estate ON register_entries (group_id, estate_id, id);
