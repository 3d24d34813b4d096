-- The inbox is kept for --bus keep_keys (30 days) and pruned by age every 30 s by the relay's
-- leader (shared/bus.cc TrimOnce). Without an index that DELETE read the whole month of
-- applied event ids each time (millions of rows at a large group's rate, issue 26 §5); with
-- it, only the rows it removes.
CREATE INDEX wuye_inbox_applied ON wuye_inbox (applied_at);
