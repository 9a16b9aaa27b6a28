-- +goose Up
-- The master key check value: a known plaintext sealed with the master key
-- on first start. A daemon started with another key fails to open it and
-- stops with a clear error. At most one row.
CREATE TABLE secrets_key_check (
    id          int PRIMARY KEY CHECK (id = 1),
    org_id      text,
    check_value bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE secrets_key_check;
