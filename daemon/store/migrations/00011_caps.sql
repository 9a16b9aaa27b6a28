-- +goose Up
-- Storage caps (daemon/caps). The limit and mode are on inboxes since
-- 00006 (cap_limit_bytes, cap_mode). Added here:
--   cap_updated_at   when the cap was last set;
--   cap_alert_at     the smallest byte boundary of an armed alert threshold;
--   cap_rearm_below  the largest byte boundary of a fired alert threshold.
-- The two bounds are kept by the caps service, under the inbox row lock, so
-- that the message store's usage UPDATE knows in one comparison whether a
-- change has alert work to do (used_bytes >= cap_alert_at: an alert fires;
-- used_bytes < cap_rearm_below: one re-arms). NULL: nothing to do.
ALTER TABLE inboxes
    ADD COLUMN cap_updated_at  timestamptz,
    ADD COLUMN cap_alert_at    bigint,
    ADD COLUMN cap_rearm_below bigint;

-- One row per alert threshold of an inbox's cap (percent of the limit).
-- fired_at NULL: armed; set: fired, until usage falls below the threshold.
CREATE TABLE cap_alerts (
    org_id           text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id         text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    threshold        int NOT NULL CHECK (threshold BETWEEN 1 AND 100),
    fired_at         timestamptz,
    fired_used_bytes bigint,
    PRIMARY KEY (inbox_id, threshold)
);

-- The usage sampler's last look at each inbox: the values it holds until
-- the next sample (the interval between two samples is charged at the
-- values of the first).
CREATE TABLE usage_samples (
    inbox_id      text PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    org_id        text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    sampled_at    timestamptz NOT NULL,
    used_bytes    bigint NOT NULL,
    overage_bytes bigint NOT NULL,
    limit_bytes   bigint,
    mode          text NOT NULL DEFAULT ''
);

-- Hourly usage records (billing). No foreign key to inboxes: the records
-- of a deleted inbox are kept, with its address.
CREATE TABLE usage_hours (
    org_id               text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id             text NOT NULL,
    hour                 timestamptz NOT NULL,
    address              text NOT NULL DEFAULT '',
    -- Integrals over the hour of used bytes and of billable overage bytes
    -- (bytes above the limit under allow_and_bill), in byte-seconds.
    byte_seconds         numeric NOT NULL DEFAULT 0,
    overage_byte_seconds numeric NOT NULL DEFAULT 0,
    -- Seconds of the hour covered by samples.
    covered_seconds      numeric NOT NULL DEFAULT 0,
    max_used_bytes       bigint NOT NULL DEFAULT 0,
    max_overage_bytes    bigint NOT NULL DEFAULT 0,
    samples              int NOT NULL DEFAULT 0,
    -- The cap at the hour's last sample.
    limit_bytes          bigint,
    mode                 text NOT NULL DEFAULT '',
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, inbox_id, hour)
);

-- +goose Down
DROP TABLE usage_hours;
DROP TABLE usage_samples;
DROP TABLE cap_alerts;
ALTER TABLE inboxes DROP COLUMN cap_rearm_below, DROP COLUMN cap_alert_at, DROP COLUMN cap_updated_at;
