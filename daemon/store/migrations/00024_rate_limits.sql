-- +goose Up
-- Shared rate limits (GCRA): one row per limited subject (a credential's
-- HTTP requests, an inbox's sends), read and advanced by one atomic
-- INSERT ... ON CONFLICT DO UPDATE per request, so every replica on this
-- database enforces the same limit. tat1/tat2 are the theoretical arrival
-- times of up to two limits on the subject (an inbox: messages a minute
-- and recipients a day), decided together. UNLOGGED: the state is not
-- worth a WAL write per request; after a crash of PostgreSQL the table is
-- empty, which only forgets recent usage. No index but the key: every
-- update stays HOT; the hourly cleanup scans the (small) table.
CREATE UNLOGGED TABLE rate_limits (
    key     text PRIMARY KEY,
    org_id  text NOT NULL,
    tat1    timestamptz NOT NULL,
    tat2    timestamptz NOT NULL,
    allowed boolean NOT NULL DEFAULT true
);

-- +goose Down
DROP TABLE rate_limits;
