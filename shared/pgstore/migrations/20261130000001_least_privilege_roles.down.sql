-- The roles belong to the cluster (other databases may use them): only
-- this database's grants are taken back.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['numbers_proxy', 'numbers_worker'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON numbers, idempotency_keys FROM %I', r);
            EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', current_schema(), r);
        END IF;
    END LOOP;
END
$$;
