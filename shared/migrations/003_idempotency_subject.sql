-- The subject ("sub" of the token) whose call first used a request_id: a replay is given
-- only to the same caller (shared/idempotency.h). '' for rows written without one.
ALTER TABLE wuye_idempotency ADD COLUMN subject text NOT NULL DEFAULT '';
