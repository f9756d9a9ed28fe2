-- Who may touch what in one Dreamster database (issue 17, finding 8). Run by the
-- database's owner, a member of the three roles `scripts/setup.sh` creates:
-- - dreamster_indexer owns the read model (schema read_model): only it writes it;
-- - dreamster_api owns its own tables (schema dreamster_api: sessions, secrets, webhooks…)
--   and may only read the read model;
-- - dreamster_reader (the refund keeper, audits) may only read the read model.
-- The indexer cannot read the API's tables at all. Idempotent; no parameters (it works on
-- the database it is run in), so psql and the tests run the very same file.

CREATE SCHEMA IF NOT EXISTS read_model AUTHORIZATION dreamster_indexer;
CREATE SCHEMA IF NOT EXISTS dreamster_api AUTHORIZATION dreamster_api;
-- Nobody else creates anything anywhere.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA read_model FROM PUBLIC;
REVOKE ALL ON SCHEMA dreamster_api FROM PUBLIC;
GRANT USAGE ON SCHEMA read_model TO dreamster_api, dreamster_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA read_model TO dreamster_api, dreamster_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE dreamster_indexer IN SCHEMA read_model
    GRANT SELECT ON TABLES TO dreamster_api, dreamster_reader;
-- Each role finds its own schema first ("$user": the API's tables land in dreamster_api),
-- then the read model: no service names a schema in its queries or migrations.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = "$user", read_model', current_database());
END
$$;
