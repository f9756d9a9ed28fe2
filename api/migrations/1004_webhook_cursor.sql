-- How far each webhook's unlocks have been queued: the dispatcher then reads only the
-- blocks the indexer committed since (a range of entitlement_changes' primary key) rather
-- than every unlock ever made, twice a second.
ALTER TABLE webhooks ADD COLUMN queued_through BIGINT;
