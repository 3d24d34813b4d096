-- Whose number a carrier-log call is (seed 000 二.5: only an owner's/resident's unrecorded
-- call is deducted): the residents' numbers as intake's HMAC (never the number itself), one
-- row per resident at the version of the last directory.resident.* event applied. A phone
-- or estate that changes replaces the row's hash or estate, so the old number stops matching.
CREATE TABLE resident_phones (
  group_id     uuid    NOT NULL,
  resident_id  text    NOT NULL,
  estate_id    uuid    NOT NULL,
  phone_hash   bytea,             -- NULL: no usable number
  version      bigint  NOT NULL,
  PRIMARY KEY (group_id, resident_id)
);
CREATE INDEX resident_phones_match ON resident_phones (group_id, estate_id, phone_hash)
  WHERE phone_hash IS NOT NULL;
