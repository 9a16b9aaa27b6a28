-- +goose Up
-- Sending policy (docs/policy.md): one row per inbox that has a policy set
-- (no row: the defaults), one per organization, and the reasons a send
-- was held on its approval.
CREATE TABLE inbox_policies (
    inbox_id   text PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    policy     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_policies_org_idx ON inbox_policies (org_id);

CREATE TABLE org_policies (
    org_id         text PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    sending_paused boolean NOT NULL DEFAULT false,
    block          jsonb NOT NULL DEFAULT '[]',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE approvals ADD COLUMN hold_reasons jsonb NOT NULL DEFAULT '[]';

CREATE INDEX delivery_recipients_delivered_idx ON delivery_recipients (org_id, address) WHERE status = 'delivered';

-- The lifecycle of a message reads its events.
CREATE INDEX events_message_idx ON events (org_id, (payload->>'message_id'));

-- +goose Down
DROP INDEX events_message_idx;
DROP INDEX delivery_recipients_delivered_idx;
ALTER TABLE approvals DROP COLUMN hold_reasons;
DROP TABLE org_policies;
DROP TABLE inbox_policies;
