-- The API's own tables, beside the indexer's read model (versions from 1001 on, so the
-- two migration sets never collide). Nothing here is derived from the chain.

-- Sign-In with Substrate: a nonce is good once, for five minutes.
CREATE TABLE auth_nonces (
    nonce TEXT PRIMARY KEY,
    address BYTEA NOT NULL,
    message TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);

-- Sessions are looked up by the BLAKE2b-256 hash of their bearer token.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    address BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Private messages: a thread is one release's artist and one holder of that release.
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    release BYTEA NOT NULL,
    fan BYTEA NOT NULL,
    sender BYTEA NOT NULL,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX messages_thread ON messages (release, fan, id);
