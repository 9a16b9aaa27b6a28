-- +goose Up
-- A send: the exact bytes to deliver (before the DKIM signature, which is
-- added per attempt), its envelope and aggregate status. The id is the id
-- of the sent copy stored in the inbox.
CREATE TABLE outbound_messages (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id          text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    domain_id         text NOT NULL,
    message_id_header text NOT NULL,
    envelope_from     text NOT NULL,
    raw               bytea,
    digest            bytea NOT NULL,
    -- pending_approval, queued, sending, deferred, delivered,
    -- partially_delivered, bounced, rejected, expired
    status            text NOT NULL,
    recipient_count   int NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
CREATE INDEX outbound_messages_inbox_idx ON outbound_messages (inbox_id, created_at);
CREATE INDEX outbound_messages_org_idx ON outbound_messages (org_id, id);

-- One row per envelope recipient.
CREATE TABLE delivery_recipients (
    outbound_id     text NOT NULL REFERENCES outbound_messages (id) ON DELETE CASCADE,
    address         text NOT NULL,
    org_id          text NOT NULL,
    domain          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('to', 'cc', 'bcc')),
    -- queued, deferred, delivered, bounced
    status          text NOT NULL DEFAULT 'queued',
    attempts        int NOT NULL DEFAULT 0,
    last_code       int NOT NULL DEFAULT 0,
    last_response   text NOT NULL DEFAULT '',
    mx              text NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (outbound_id, address)
);

-- Addresses an inbox no longer sends to (hard bounces, or added by hand).
CREATE TABLE suppressions (
    inbox_id   text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    address    text NOT NULL,
    org_id     text NOT NULL,
    reason     text NOT NULL,
    message_id text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (inbox_id, address)
);

-- +goose Down
DROP TABLE suppressions;
DROP TABLE delivery_recipients;
DROP TABLE outbound_messages;
