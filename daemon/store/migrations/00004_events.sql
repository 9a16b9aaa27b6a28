-- +goose Up
-- The event log is the source of truth for SSE streams and webhooks. Each
-- event is inserted in the transaction of the change it reports.
CREATE TABLE events (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id   text,
    type       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_org_idx ON events (org_id, id);
CREATE INDEX events_inbox_idx ON events (inbox_id, id) WHERE inbox_id IS NOT NULL;

-- +goose Down
DROP TABLE events;
