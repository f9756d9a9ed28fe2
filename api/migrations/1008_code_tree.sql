-- A pool's Merkle tree, stored once when the pool is uploaded: a holder's proof is then
-- a lookup of one node per level, instead of hashing the whole pool (up to 100 000 codes)
-- on every fetch. Level 0 holds the leaves; a pool uploaded before this is built on its
-- first fetch.
CREATE TABLE perk_code_nodes (
    release BYTEA NOT NULL,
    perk INT NOT NULL,
    level INT NOT NULL,
    idx INT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (release, perk, level, idx),
    FOREIGN KEY (release, perk) REFERENCES perk_secrets (release, perk)
);
