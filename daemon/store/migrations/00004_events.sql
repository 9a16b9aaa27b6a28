-- +goose Up
-- The event log is the source of truth for SSE streams and webhooks. Each
-- event is inserted in the transaction of the change it reports.
--
-- txid is the inserting (top-level) transaction. Event ids are ULIDs made
-- before commit, so concurrent transactions commit them out of id order;
-- readers therefore walk the log in (txid, id) order and only hand out rows
-- whose txid is below the oldest running transaction
-- (pg_snapshot_xmin(pg_current_snapshot())): no row can later appear
-- behind that point. See docs/events.md.
CREATE TABLE events (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id   text,
    type       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    txid       xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX events_org_txid_idx ON events (org_id, txid, id);
CREATE INDEX events_inbox_txid_idx ON events (inbox_id, txid, id) WHERE inbox_id IS NOT NULL;

-- +goose Down
DROP TABLE events;
