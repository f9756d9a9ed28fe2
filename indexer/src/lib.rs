//! Follows finalized blocks and projects contract events into PostgreSQL (issue: indexer). Not built yet.
