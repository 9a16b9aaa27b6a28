-- +goose Up
-- Webhook endpoints of an organization. The signing secret is kept sealed
-- (encrypted with the master key) because it is needed again to sign every
-- delivery; the raw value is shown once, at creation.
CREATE TABLE webhooks (
    id                   text PRIMARY KEY,
    org_id               text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url                  text NOT NULL,
    -- JSON array of event types this endpoint receives.
    event_types          jsonb NOT NULL,
    -- Only events of this inbox, or all of the organization's when NULL.
    inbox_id             text REFERENCES inboxes (id) ON DELETE CASCADE,
    secret               bytea NOT NULL,
    status               text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    -- Failed attempts in a row; reset by any success. Reaching
    -- webhooks.disable_after_failures disables the endpoint.
    consecutive_failures int NOT NULL DEFAULT 0,
    disabled_reason      text NOT NULL DEFAULT '',
    disabled_at          timestamptz,
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    created_by           text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, id);
-- Fan-out at emit time reads the enabled endpoints of one organization.
CREATE INDEX webhooks_enabled_idx ON webhooks (org_id) WHERE status = 'enabled';

-- One row per (event, endpoint); each is worked by a River job.
CREATE TABLE webhook_deliveries (
    id                 text PRIMARY KEY,
    org_id             text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    webhook_id         text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id           text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type         text NOT NULL,
    -- pending: not tried yet; retrying: failed, another attempt scheduled;
    -- succeeded; failed: gave up; canceled: the endpoint was disabled.
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'canceled')),
    attempts           int NOT NULL DEFAULT 0,
    last_response_code int,
    last_error         text NOT NULL DEFAULT '',
    next_attempt_at    timestamptz,
    delivered_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
