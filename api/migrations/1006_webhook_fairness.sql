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
