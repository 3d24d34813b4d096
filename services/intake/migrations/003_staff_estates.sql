-- A ticket is transferred only to an active staff member of its estate (首接负责制: the
-- owner must be someone who exists and works there). Filled by directory.staff.* events;
-- rows known before this migration have no estates until the directory updates them.
ALTER TABLE staff ADD COLUMN home_estate_ids text[] NOT NULL DEFAULT '{}';
ALTER TABLE staff ADD COLUMN active boolean NOT NULL DEFAULT false;
