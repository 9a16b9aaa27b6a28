-- +goose Up
-- A draft is a stored outbound message with status 'draft' (it counts in
-- the inbox's usage) plus the request it was built from, so it can be
-- edited and sent.
CREATE TABLE drafts (
    id         text PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    org_id     text NOT NULL,
    inbox_id   text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    mode       text NOT NULL DEFAULT 'send' CHECK (mode IN ('send', 'reply', 'reply_all', 'forward')),
    original   text NOT NULL DEFAULT '',
    request    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drafts_inbox_idx ON drafts (inbox_id, id DESC);

-- +goose Down
DROP TABLE drafts;
