-- Contracts v2 (issue 14): perks can be cancelled, disputes time out, refunds say why, and
-- each release keeps the arbiters it was created with.

-- The code each release runs, as its ReleaseCreated said.
ALTER TABLE releases ADD COLUMN code_hash BYTEA;

-- When the artist cancelled the perk; its pending entitlements are refundable from then.
ALTER TABLE perks ADD COLUMN cancelled_at BIGINT;

-- When the holder disputed the delivery: the arbiters' time to rule runs from here.
ALTER TABLE entitlements ADD COLUMN disputed_at BIGINT;

-- Why a refund was paid: ruled, overdue, delivered_late, cancelled or ruling_expired.
ALTER TABLE entitlement_changes ADD COLUMN refund_reason TEXT;

-- Who may rule on a release's disputes, fixed when the registry created it.
CREATE TABLE release_arbiters (
    release BYTEA NOT NULL REFERENCES releases (address),
    arbiter BYTEA NOT NULL,
    PRIMARY KEY (release, arbiter)
);
CREATE INDEX release_arbiters_arbiter ON release_arbiters (arbiter);

-- Reputation by who failed, and the part of it from the artist's own purchases.
ALTER TABLE reputation
    ADD COLUMN cancelled INT NOT NULL DEFAULT 0,
    ADD COLUMN unclaimed INT NOT NULL DEFAULT 0,
    ADD COLUMN rulings_expired INT NOT NULL DEFAULT 0,
    ADD COLUMN self_dealt INT NOT NULL DEFAULT 0,
    ADD COLUMN self_rating_sum BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN self_rating_count INT NOT NULL DEFAULT 0;
