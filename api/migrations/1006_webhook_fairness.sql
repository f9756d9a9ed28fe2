-- Webhooks that hold against their receivers: a call is made only under a lease on its
-- row (so replicas never send one twice, and a crashed replica's lease lapses), and a hook
-- whose calls keep failing is turned off with the reason shown to its artist.
ALTER TABLE webhook_deliveries ADD COLUMN leased_until TIMESTAMPTZ;
ALTER TABLE webhooks
    ADD COLUMN failures_in_row INT NOT NULL DEFAULT 0,
    ADD COLUMN disabled_at TIMESTAMPTZ,
    ADD COLUMN disabled_reason TEXT;
-- Calls in flight, counted per artist at every lease.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (artist)
    WHERE delivered_at IS NULL AND leased_until IS NOT NULL;
-- Each hook's due deliveries as one index range, so a lease reads a few rows per artist
-- rather than the whole backlog; a delivery out of attempts (10) is outside it.
CREATE INDEX webhook_deliveries_due_by_artist ON webhook_deliveries (artist, next_attempt, id)
    WHERE delivered_at IS NULL AND attempts < 10;
UPDATE webhook_deliveries SET next_attempt = 'infinity' WHERE delivered_at IS NULL AND attempts >= 10;
-- Failures recorded before this change said what the network answered (a refused
-- connection, a timeout, a DNS error): the artist now sees one generic text for all.
UPDATE webhook_deliveries SET last_error = 'the receiver could not be reached'
    WHERE last_status IS NULL AND last_error IS NOT NULL;
