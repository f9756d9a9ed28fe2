-- The read model: a projection of the chain, rebuilt from it at will. Every projection
-- row records the block and extrinsic it came from, so an auditor can check it on chain.
-- Accounts and hashes are 32-byte bytea; balances are NUMERIC(39,0) (u128).

CREATE TABLE indexer_cursor (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    registry BYTEA NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash BYTEA NOT NULL
);

-- Append-only log of every contract event of the registry and its releases.
CREATE TABLE raw_events (
    block_number BIGINT NOT NULL,
    block_hash BYTEA NOT NULL,
    extrinsic_index INT,
    event_index INT NOT NULL,
    contract BYTEA NOT NULL,
    topics BYTEA[] NOT NULL,
    data BYTEA NOT NULL,
    -- NULL when the event could not be decoded (kept raw, reported, never dropped).
    name TEXT,
    decode_error TEXT,
    PRIMARY KEY (block_number, event_index)
);

CREATE TABLE artists (
    address BYTEA PRIMARY KEY,
    name TEXT NOT NULL,
    metadata_uri TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT
);

CREATE TABLE arbiters (
    address BYTEA PRIMARY KEY,
    active BOOLEAN NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT
);

CREATE TABLE releases (
    address BYTEA PRIMARY KEY,
    registry BYTEA NOT NULL,
    artist BYTEA NOT NULL,
    title TEXT NOT NULL,
    metadata_uri TEXT NOT NULL,
    price NUMERIC(39, 0) NOT NULL,
    max_editions INT,
    sale_start BIGINT NOT NULL,
    sale_end BIGINT,
    dispute_window BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    editions_sold INT NOT NULL DEFAULT 0,
    escrow_held NUMERIC(39, 0) NOT NULL DEFAULT 0,
    artist_withdrawable NUMERIC(39, 0) NOT NULL DEFAULT 0,
    refunds_owed NUMERIC(39, 0) NOT NULL DEFAULT 0,
    withdrawn NUMERIC(39, 0) NOT NULL DEFAULT 0,
    block_number BIGINT NOT NULL,
    extrinsic_index INT
);
CREATE INDEX releases_artist ON releases (artist);

CREATE TABLE perks (
    release BYTEA NOT NULL REFERENCES releases (address),
    perk INT NOT NULL,
    category TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    metadata_uri TEXT NOT NULL,
    estimated_value NUMERIC(39, 0) NOT NULL,
    escrow_bps INT NOT NULL,
    delivery TEXT NOT NULL,
    content_hash BYTEA,
    quantity_limit INT,
    deadline BIGINT NOT NULL,
    added_at_edition INT NOT NULL,
    added_at BIGINT NOT NULL,
    granted INT NOT NULL DEFAULT 0,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    PRIMARY KEY (release, perk)
);

-- One row per edition sold; `owner` follows transfers.
CREATE TABLE editions (
    release BYTEA NOT NULL REFERENCES releases (address),
    edition INT NOT NULL,
    buyer BYTEA NOT NULL,
    owner BYTEA NOT NULL,
    price NUMERIC(39, 0) NOT NULL,
    artist_share NUMERIC(39, 0) NOT NULL,
    sold_at BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    PRIMARY KEY (release, edition)
);
CREATE INDEX editions_owner ON editions (owner);

CREATE TABLE transfers (
    release BYTEA NOT NULL,
    edition INT NOT NULL,
    from_account BYTEA,
    to_account BYTEA,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    event_index INT NOT NULL,
    PRIMARY KEY (block_number, event_index)
);

CREATE TABLE entitlements (
    release BYTEA NOT NULL,
    edition INT NOT NULL,
    perk INT NOT NULL,
    escrow NUMERIC(39, 0) NOT NULL,
    state TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    delivered_at BIGINT,
    proof BYTEA,
    evidence BYTEA,
    rating SMALLINT,
    unlocked BOOLEAN NOT NULL DEFAULT FALSE,
    late BOOLEAN,
    created_block BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    PRIMARY KEY (release, edition, perk),
    FOREIGN KEY (release, perk) REFERENCES perks (release, perk)
);
CREATE INDEX entitlements_state ON entitlements (state, deadline);

-- Every move of an entitlement: deliveries, confirmations, disputes, resolutions, refunds.
CREATE TABLE entitlement_changes (
    release BYTEA NOT NULL,
    edition INT NOT NULL,
    perk INT NOT NULL,
    actor BYTEA NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    action TEXT NOT NULL,
    proof BYTEA,
    amount NUMERIC(39, 0),
    refund BOOLEAN,
    late BOOLEAN,
    at BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    event_index INT NOT NULL,
    PRIMARY KEY (block_number, event_index)
);
CREATE INDEX entitlement_changes_key ON entitlement_changes (release, edition, perk);

CREATE VIEW deliveries AS
    SELECT * FROM entitlement_changes WHERE action IN ('unlocked', 'marked_delivered');
CREATE VIEW disputes AS
    SELECT * FROM entitlement_changes WHERE action IN ('disputed', 'resolved');
CREATE VIEW refunds AS
    SELECT * FROM entitlement_changes WHERE action = 'refunded';

CREATE TABLE ratings (
    release BYTEA NOT NULL,
    edition INT NOT NULL,
    perk INT NOT NULL,
    holder BYTEA NOT NULL,
    rating SMALLINT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    PRIMARY KEY (release, edition, perk)
);

CREATE TABLE reputation (
    artist BYTEA PRIMARY KEY,
    delivered_on_time INT NOT NULL,
    delivered_late INT NOT NULL,
    refunded_overdue INT NOT NULL,
    disputes_won INT NOT NULL,
    disputes_lost INT NOT NULL,
    rating_sum BIGINT NOT NULL,
    rating_count INT NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT
);

CREATE TABLE withdrawals (
    release BYTEA NOT NULL,
    artist BYTEA NOT NULL,
    amount NUMERIC(39, 0) NOT NULL,
    block_number BIGINT NOT NULL,
    extrinsic_index INT,
    event_index INT NOT NULL,
    PRIMARY KEY (block_number, event_index)
);
