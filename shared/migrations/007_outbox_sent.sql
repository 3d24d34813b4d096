-- Sent outbox rows are kept for --bus_keep_sent (24 h, to re-send what a lost Redis lacks)
-- and pruned by age every 30 s by the relay's leader (shared/bus.cc TrimOnce). Without an
-- index on sent_at that DELETE read the whole outbox each time: at a large group's size
-- (make scale, 1 000 estates) 21 212 buffers a call in the directory's database and 9 415
-- in intake's, to delete nothing. With it, only the rows it removes. Only sent rows are
-- indexed; the relay's unsent rows have their own index (001).
CREATE INDEX wuye_outbox_sent ON wuye_outbox (sent_at) WHERE sent_at IS NOT NULL;
