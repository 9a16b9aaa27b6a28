-- +goose Up
CREATE TABLE inboxes (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    domain_id     text NOT NULL REFERENCES domains (id),
    address       text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    metadata      jsonb NOT NULL DEFAULT '{}',
    -- Usage counters, changed in the same transaction as each stored or
    -- deleted message.
    used_bytes    bigint NOT NULL DEFAULT 0,
    message_count bigint NOT NULL DEFAULT 0,
    -- active, or deleting while a job removes its mail.
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleting')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One live inbox per address.
CREATE UNIQUE INDEX inboxes_address_key ON inboxes (address) WHERE status = 'active';
CREATE INDEX inboxes_org_idx ON inboxes (org_id, id);
CREATE INDEX inboxes_domain_idx ON inboxes (domain_id);

CREATE TABLE tokens (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id          text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    label             text NOT NULL,
    scopes            text[] NOT NULL,
    requires_approval text[] NOT NULL DEFAULT '{}',
    token_hash        bytea NOT NULL UNIQUE,
    prefix            text NOT NULL,
    created_by        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    rotated_at        timestamptz,
    last_used_at      timestamptz,
    expires_at        timestamptz,
    revoked_at        timestamptz
);
CREATE INDEX tokens_org_idx ON tokens (org_id, id);
CREATE INDEX tokens_inbox_idx ON tokens (inbox_id);

-- +goose Down
DROP TABLE tokens;
DROP TABLE inboxes;
