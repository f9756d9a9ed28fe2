-- Artists' webhooks: each unlock of one of their perks the indexer sees after the hook was
-- set is POSTed to it, HMAC-SHA256-signed; failures are retried with backoff and every
-- attempt stays visible to the artist.
CREATE TABLE webhooks (
    artist BYTEA PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Unlocks in blocks after this one are notified.
    from_block BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    artist BYTEA NOT NULL,
    release BYTEA NOT NULL,
    edition INT NOT NULL,
    perk INT NOT NULL,
    block_number BIGINT NOT NULL,
    event_index INT NOT NULL,
    payload TEXT NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    last_status INT,
    last_error TEXT,
    UNIQUE (artist, block_number, event_index)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt) WHERE delivered_at IS NULL;
