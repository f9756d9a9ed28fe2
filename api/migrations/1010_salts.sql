-- The salt of an automatic perk's commitment (dreamster_types::commitment): for one secret,
-- the salt its hash on chain was made with; for a code pool, the pool key each code's salt
-- comes from. NULL for a secret stored before salting, committed as its bare hash.
ALTER TABLE perk_secrets ADD COLUMN salt BYTEA;
