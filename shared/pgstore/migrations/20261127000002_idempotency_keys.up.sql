-- Idempotency-Key header: a client's key, bound to the event it produced, so
-- a retried POST returns the same id and stores one row, whichever proxy
-- instance answers it.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key         text        PRIMARY KEY,
    id          uuid        NOT NULL,
    value       bigint      NOT NULL,
    accepted_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
