-- The households served and called in an estate's month, kept as tickets change (issue 26 §5).
-- The callback rule (004_…, 5.5.2) reads them on every resolution (in_month_counts); it
-- counted the distinct units of every ticket of the estate resolved in the month, which for a
-- 3 000-household estate is thousands of rows a resolution, more as the month goes on. Now the
-- rule reads the month's row, the unit's row and the resolving ticket's own: a few rows, on the
-- first of the month as on the last, in a small estate as in a large one.
--
-- A ticket counts in the month and unit it was last resolved in (resolved_month, served_unit:
-- a reopened one stays counted there until it is resolved again), and is called while its
-- callback_reason is neither 0 (undecided) nor 7 (not required). month_households holds, per
-- (estate, month, unit), how many such tickets there are and how many are called; month_counts
-- holds, per (estate, month), how many units have any (households served) and how many have a
-- called one (households called). A unit whose count falls to 0 is deleted.
--
-- Triggers keep both, in the transaction that changes the ticket, so every writer keeps them,
-- a replica of the previous release during a rolling upgrade included. Only a change of a
-- ticket's month, unit, estate or called-ness does anything; a month's row is written only
-- when a unit starts or stops counting. The service changes these columns only when it
-- resolves a ticket, after taking the estate-month's advisory lock (LockMonth): resolutions
-- of one estate-month read and write these rows one at a time, in resolution order. The
-- counts of the tickets already there are taken below, in the migration's transaction, while
-- CREATE TRIGGER's lock holds ticket writes back.
CREATE TABLE month_households (
  group_id     uuid NOT NULL,
  estate_id    uuid NOT NULL,
  month        text NOT NULL,
  served_unit  text NOT NULL,
  tickets      int  NOT NULL,
  called       int  NOT NULL,
  PRIMARY KEY (group_id, estate_id, month, served_unit)
);

CREATE TABLE month_counts (
  group_id           uuid NOT NULL,
  estate_id          uuid NOT NULL,
  month              text NOT NULL,
  households         int  NOT NULL,
  households_called  int  NOT NULL,
  PRIMARY KEY (group_id, estate_id, month)
);

-- Adds `n` tickets, `c` of them called, to a unit's month, and to the month's households
-- when the unit starts or stops counting.
CREATE FUNCTION month_households_add(g uuid, e uuid, m text, u text, n int, c int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  tickets_now int;
  called_now int;
BEGIN
  INSERT INTO month_households AS x (group_id, estate_id, month, served_unit, tickets, called)
  VALUES (g, e, m, u, n, c)
  ON CONFLICT (group_id, estate_id, month, served_unit)
  DO UPDATE SET tickets = x.tickets + EXCLUDED.tickets, called = x.called + EXCLUDED.called
  RETURNING x.tickets, x.called INTO tickets_now, called_now;
  IF tickets_now = 0 THEN
    DELETE FROM month_households
     WHERE group_id = g AND estate_id = e AND month = m AND served_unit = u;
  END IF;
  IF (tickets_now > 0) <> (tickets_now - n > 0) OR (called_now > 0) <> (called_now - c > 0) THEN
    INSERT INTO month_counts AS x (group_id, estate_id, month, households, households_called)
    VALUES (g, e, m, (tickets_now > 0)::int - (tickets_now - n > 0)::int,
            (called_now > 0)::int - (called_now - c > 0)::int)
    ON CONFLICT (group_id, estate_id, month)
    DO UPDATE SET households = x.households + EXCLUDED.households,
                  households_called = x.households_called + EXCLUDED.households_called;
  END IF;
END $$;

CREATE FUNCTION tickets_month_households() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was boolean := false;
  is_now boolean := false;
  was_called int := 0;
  is_called int := 0;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    was := OLD.resolved_month IS NOT NULL AND OLD.served_unit IS NOT NULL;
    was_called := (OLD.callback_reason NOT IN (0, 7))::int;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    is_now := NEW.resolved_month IS NOT NULL AND NEW.served_unit IS NOT NULL;
    is_called := (NEW.callback_reason NOT IN (0, 7))::int;
  END IF;
  IF was AND is_now AND OLD.group_id = NEW.group_id AND OLD.estate_id = NEW.estate_id
     AND OLD.resolved_month = NEW.resolved_month AND OLD.served_unit = NEW.served_unit THEN
    PERFORM month_households_add(NEW.group_id, NEW.estate_id, NEW.resolved_month, NEW.served_unit,
                            0, is_called - was_called);
    RETURN NULL;
  END IF;
  IF was THEN
    PERFORM month_households_add(OLD.group_id, OLD.estate_id, OLD.resolved_month, OLD.served_unit,
                            -1, -was_called);
  END IF;
  IF is_now THEN
    PERFORM month_households_add(NEW.group_id, NEW.estate_id, NEW.resolved_month, NEW.served_unit,
                            1, is_called);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tickets_month_households_insert AFTER INSERT ON tickets FOR EACH ROW
  WHEN (NEW.resolved_month IS NOT NULL AND NEW.served_unit IS NOT NULL)
  EXECUTE FUNCTION tickets_month_households();
CREATE TRIGGER tickets_month_households_update
  AFTER UPDATE OF group_id, estate_id, resolved_month, served_unit, callback_reason ON tickets
  FOR EACH ROW
  WHEN (OLD.group_id <> NEW.group_id OR OLD.estate_id <> NEW.estate_id
        OR OLD.resolved_month IS DISTINCT FROM NEW.resolved_month
        OR OLD.served_unit IS DISTINCT FROM NEW.served_unit
        OR (OLD.callback_reason NOT IN (0, 7)) <> (NEW.callback_reason NOT IN (0, 7)))
  EXECUTE FUNCTION tickets_month_households();
CREATE TRIGGER tickets_month_households_delete AFTER DELETE ON tickets FOR EACH ROW
  WHEN (OLD.resolved_month IS NOT NULL AND OLD.served_unit IS NOT NULL)
  EXECUTE FUNCTION tickets_month_households();

INSERT INTO month_households (group_id, estate_id, month, served_unit, tickets, called)
SELECT group_id, estate_id, resolved_month, served_unit, count(*),
       count(*) FILTER (WHERE callback_reason NOT IN (0, 7))
  FROM tickets WHERE resolved_month IS NOT NULL AND served_unit IS NOT NULL
 GROUP BY group_id, estate_id, resolved_month, served_unit;

INSERT INTO month_counts (group_id, estate_id, month, households, households_called)
SELECT group_id, estate_id, month, count(*), count(*) FILTER (WHERE called > 0)
  FROM month_households GROUP BY group_id, estate_id, month;
