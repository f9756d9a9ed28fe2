-- The salt of an automatic perk's commitment (dreamster_types::commitment): for one secret,
-- the salt its hash on chain was made with; for a code pool, the pool key each code's salt
-- comes from. NULL for a perk committed before salting: its secret's bare hash, or a root of bare leaves.
ALTER TABLE perk_secrets ADD COLUMN salt BYTEA CHECK (salt IS NULL OR length(salt) = 32);
