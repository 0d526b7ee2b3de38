-- Least-privilege roles (NOLOGIN): the operator grants them to the login
-- roles the proxy and the worker use (GRANT numbers_proxy TO app_proxy).
--   numbers_proxy:  reads numbers, claims idempotency keys.
--   numbers_worker: stores numbers (INSERT, and SELECT for ON CONFLICT and
--                   the health probe), prunes idempotency keys.
-- Roles belong to the whole cluster: creating them needs CREATEROLE (RDS's
-- master user has it). Without it the roles are skipped (the process logs
-- it, see Store.checkRoles); where they exist, this database's grants are
-- made all the same. Several databases may migrate at once: a role created
-- meanwhile by another one is fine.
DO $$
DECLARE
    r text;
    may_create boolean;
BEGIN
    SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles WHERE rolname = current_user;
    FOREACH r IN ARRAY ARRAY['numbers_proxy', 'numbers_worker'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            IF NOT may_create THEN
                RAISE NOTICE 'numbers: role % not created: % lacks CREATEROLE', r, current_user;
                CONTINUE;
            END IF;
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created by a concurrent migration of another database
            END;
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), r);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'numbers_proxy') THEN
        GRANT SELECT ON numbers TO numbers_proxy;
        GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO numbers_proxy;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'numbers_worker') THEN
        GRANT SELECT, INSERT ON numbers TO numbers_worker;
        GRANT SELECT, DELETE ON idempotency_keys TO numbers_worker;
    END IF;
END
$$;
