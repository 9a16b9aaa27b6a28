-- +goose Up
CREATE TABLE domains (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       text NOT NULL UNIQUE,
    -- pending: not all required records valid yet; verified; degraded: was
    -- verified, a later check found a record missing or changed.
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'degraded')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_org_idx ON domains (org_id, id);

-- +goose Down
DROP TABLE domains;
