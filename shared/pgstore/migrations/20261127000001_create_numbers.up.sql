CREATE TABLE IF NOT EXISTS numbers (
    id          uuid        PRIMARY KEY,
    value       bigint      NOT NULL,
    accepted_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);

--bun:split

-- Serves "newest first" keyset pagination: ORDER BY accepted_at DESC, id DESC.
CREATE INDEX IF NOT EXISTS numbers_newest_first ON numbers (accepted_at DESC, id DESC);
