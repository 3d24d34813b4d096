-- ListTickets' unit_id filter (the desk's "this unit already has an open ticket of this
-- kind" warning): a unit's tickets are those whose household key is 'unit:<id>'.
CREATE INDEX tickets_household ON tickets (group_id, household, id);
