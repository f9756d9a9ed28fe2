-- Delivery automation: the secrets behind automatic perks, accepted only when they match
-- the hash the perk committed to on chain. A single secret (link, invite) serves every
-- holder; a pool of codes (committed as a Merkle root) gives each edition its own code.
CREATE TABLE perk_secrets (
    release BYTEA NOT NULL,
    perk INT NOT NULL,
    secret TEXT,
    pool_size INT,
    uploaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (release, perk),
    CHECK ((secret IS NULL) <> (pool_size IS NULL))
);

CREATE TABLE perk_codes (
    release BYTEA NOT NULL,
    perk INT NOT NULL,
    idx INT NOT NULL,
    code TEXT NOT NULL,
    edition INT,
    PRIMARY KEY (release, perk, idx),
    UNIQUE (release, perk, edition),
    FOREIGN KEY (release, perk) REFERENCES perk_secrets (release, perk)
);
