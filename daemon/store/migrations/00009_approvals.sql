-- +goose Up
-- A send held for a reviewer's decision. digest is the SHA-256 of exactly
-- what will be sent (envelope and bytes); approve checks it.
CREATE TABLE approvals (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id        text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    message_id      text NOT NULL UNIQUE,
    token_id        text NOT NULL DEFAULT '',
    token_label     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    digest          bytea NOT NULL,
    approved_digest bytea,
    draft           jsonb NOT NULL,
    reason          text NOT NULL DEFAULT '',
    decided_by      text NOT NULL DEFAULT '',
    decided_at      timestamptz,
    edited          boolean NOT NULL DEFAULT false,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approvals_org_status_idx ON approvals (org_id, status, id DESC);
CREATE INDEX approvals_org_idx ON approvals (org_id, id DESC);
CREATE INDEX approvals_expiry_idx ON approvals (expires_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE approvals;
