-- Whatever a hostile account puts on chain is stored, or recorded as refused; nothing
-- stops the indexer (issue 16).

-- Counts up to u32::MAX: an INT turned u32::MAX into -1 ("sold out", "none left").
ALTER TABLE releases ALTER COLUMN max_editions TYPE BIGINT;
ALTER TABLE perks ALTER COLUMN quantity_limit TYPE BIGINT;

-- Text stored cleaned (NUL and control characters replaced, see crates/types/src/stored.rs):
-- the original bytes, by the event that carried them.
CREATE TABLE sanitized_text (
    block_number BIGINT NOT NULL,
    event_index INT NOT NULL,
    field TEXT NOT NULL,
    original BYTEA NOT NULL,
    PRIMARY KEY (block_number, event_index, field)
);

-- An event the read model could not take (a value beyond a column), kept raw with why;
-- the rest of its batch is written.
ALTER TABLE raw_events ADD COLUMN rejected TEXT;
