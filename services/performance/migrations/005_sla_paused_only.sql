-- Issue 27 §2 ("pausing cannot hide misses"): of a person's SLA hits, those met only thanks
-- to a pause (dispatch's `sla_met` without `sla_met_unpaused`), shown beside the hits.
ALTER TABLE facts ADD COLUMN sla_hits_paused_only bigint NOT NULL DEFAULT 0;
