-- The release lists (the API's, the home page, an artist's) show the newest first and a
-- page at a time: with this index they read the page, not every release (EXPLAIN ANALYZE at
-- 1 000 releases: 0.23 ms instead of 1.0 for the first 20).
CREATE INDEX releases_newest ON releases (block_number DESC, address);
