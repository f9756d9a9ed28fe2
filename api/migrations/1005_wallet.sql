-- Dispute evidence, content-addressed: the text whose hash a holder put on chain with
-- `dispute`, stored under its own hash when the signed-in holder prepares the dispute;
-- read only by the parties and the arbiters.
CREATE TABLE dispute_evidence (
    hash BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    text TEXT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A session can be revoked (logout) before it expires.
ALTER TABLE sessions ADD COLUMN revoked_at TIMESTAMPTZ;
