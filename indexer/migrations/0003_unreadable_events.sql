-- Events the indexer could not read with the metadata of the runtime that produced their
-- block (issue 16): a contract event of a layout the client does not know, or an event the
-- metadata cannot decode (then the block's later events cannot be told apart either:
-- `rest_read` is false). Kept so an auditor sees what the read model may be missing; the
-- indexer goes on.
CREATE TABLE unreadable_events (
    block_number BIGINT NOT NULL,
    block_hash BYTEA NOT NULL,
    spec_version BIGINT NOT NULL,
    event_index INT NOT NULL,
    rest_read BOOLEAN NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (block_number, event_index)
);
