-- The read model's version: a number that every write to the read model changes, in the
-- writing transaction. The API keeps its expensive answers (analytics, the audit lists,
-- the league) keyed by it (api/src/memo.rs): an answer read at one version is the answer
-- any read at that version would give, so nothing is ever served stale. A trigger rather
-- than a line in the indexer's batch: any writer — a repair by hand, a test, a later
-- migration — moves it too. A table, not a sequence: a sequence moves before its
-- transaction commits, and an answer computed meanwhile from the old rows would be kept
-- under the new number.
CREATE TABLE read_model_version (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    version BIGINT NOT NULL
);
INSERT INTO read_model_version (id, version) VALUES (TRUE, 0);

CREATE FUNCTION bump_read_model_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE read_model_version SET version = version + 1;
    RETURN NULL;
END
$$;

-- The table is found by the search path of the migration (the indexer's schema), not by
-- that of whoever writes: a repair typed in psql under another search path still works.
ALTER FUNCTION bump_read_model_version() SET search_path FROM CURRENT;

-- Per statement, not per row: a batch of thousands of rows moves it a few times.
-- Every table of the read model (a test checks that none is missing) but the cursor and
-- the raw event logs, which no kept answer reads: the cursor moves with every block, and
-- an empty block must not throw every kept answer away.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['sanitized_text', 'artists', 'arbiters', 'releases', 'release_arbiters', 'perks', 'editions', 'transfers',
        'entitlements', 'entitlement_changes', 'ratings', 'reputation', 'withdrawals']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION bump_read_model_version()', t || '_version', t);
    END LOOP;
END
$$;

-- The analytics count each perk's confirmations, disputes and refunds by action.
CREATE INDEX entitlement_changes_perk_action ON entitlement_changes (release, perk, action);
-- The disputes an arbiter may still rule on, and when the next one lapses.
CREATE INDEX entitlements_disputed ON entitlements (disputed_at) WHERE state = 'disputed';
