-- Dispute evidence, content-addressed: the text whose hash a holder put on chain with
-- `dispute`. Anyone may store a text, but only under its own hash.
CREATE TABLE dispute_evidence (
    hash BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    text TEXT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A session can be revoked (logout) before it expires.
ALTER TABLE sessions ADD COLUMN revoked_at TIMESTAMPTZ;
