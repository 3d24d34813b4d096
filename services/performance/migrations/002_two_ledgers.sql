-- Two ledgers (seed 000_…, 二 and 002_…, 第七章): the estate office's service quality
-- ledger, apart from each person's 100-point monthly form (sheets and lines).

-- The office's quality lines: one per piece of evidence and item. Its id is
-- md5(group:source:item)::uuid, so that the form lines it moves onto can name it.
-- state 1 counted, 2 awaiting the supervisory committee's confirmation, 3 withdrawn.
CREATE TABLE quality_lines (
  id                uuid         PRIMARY KEY,
  group_id          uuid         NOT NULL,
  estate_id         uuid         NOT NULL,
  period            date         NOT NULL,
  item              text         NOT NULL,
  points            integer      NOT NULL,
  state             smallint     NOT NULL,
  source_event_id   text         NOT NULL,
  note              text         NOT NULL DEFAULT '',
  entered_by        text         NOT NULL DEFAULT '',
  responsible       uuid[]       NOT NULL DEFAULT '{}',
  confirmation_ref  text         NOT NULL DEFAULT '',
  confirmed_by      text         NOT NULL DEFAULT '',
  confirmed_at      timestamptz,
  withdraw_reason   text         NOT NULL DEFAULT '',
  created_at        timestamptz  NOT NULL,
  UNIQUE (group_id, source_event_id, item)
);
CREATE INDEX quality_lines_estate ON quality_lines (group_id, estate_id, period);

-- A form line names the office line it comes from; pending while that awaits the
-- committee's confirmation (it then counts nothing).
ALTER TABLE lines ADD COLUMN quality_line_id uuid;
ALTER TABLE lines ADD COLUMN pending boolean NOT NULL DEFAULT false;
CREATE INDEX lines_quality ON lines (group_id, quality_line_id) WHERE quality_line_id IS NOT NULL;

-- The form item an office item maps to: NULL the default (the same code), '' none.
ALTER TABLE rule_overrides ADD COLUMN form_item text;

-- A group's form items: its points for a default item, or an item of its own.
CREATE TABLE form_items (
  group_id    uuid         NOT NULL,
  code        text         NOT NULL,
  name        text         NOT NULL,
  points      integer      NOT NULL,
  custom      boolean      NOT NULL,
  updated_at  timestamptz  NOT NULL,
  PRIMARY KEY (group_id, code)
);

-- The shift roster (directory.shift.created / deleted): who is on duty when.
CREATE TABLE pf_shifts (
  id        uuid         PRIMARY KEY,
  group_id  uuid         NOT NULL,
  estate_id uuid         NOT NULL,
  staff_id  uuid         NOT NULL,
  start_at  timestamptz  NOT NULL,
  end_at    timestamptz  NOT NULL
);
CREATE INDEX pf_shifts_estate ON pf_shifts (group_id, estate_id, start_at);

-- Unrecorded calls (intake.call.unrecorded), never with the phone number. caller 0 not
-- known, 1 a resident's, 2 no resident's; state 1 deducted, 2 to review, 3 dismissed.
CREATE TABLE call_findings (
  group_id          uuid         NOT NULL,
  id                uuid         NOT NULL,
  estate_id         uuid         NOT NULL,
  period            date         NOT NULL,
  call_at           timestamptz  NOT NULL,
  duration_seconds  integer      NOT NULL,
  caller            smallint     NOT NULL,
  state             smallint     NOT NULL,
  source_event_id   text         NOT NULL,
  quality_line_id   uuid,
  dismiss_reason    text         NOT NULL DEFAULT '',
  dismissed_by      text         NOT NULL DEFAULT '',
  dismissed_at      timestamptz,
  PRIMARY KEY (group_id, id)
);
CREATE INDEX call_findings_estate ON call_findings (group_id, estate_id, period);
CREATE INDEX call_findings_time ON call_findings (group_id, estate_id, call_at) WHERE state = 1;
