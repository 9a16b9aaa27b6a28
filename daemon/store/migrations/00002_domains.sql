-- +goose Up
CREATE TABLE domains (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- Normalised: lower case, A-labels (IDNA), no trailing dot.
    name       text NOT NULL UNIQUE,
    -- pending: not all required records valid yet; verified; degraded: was
    -- verified, a later check found a record missing or changed.
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'degraded')),
    domain_use   text NOT NULL DEFAULT 'existing_domain'
                 CHECK (domain_use IN ('existing_domain', 'dedicated_subdomain')),
    dmarc_policy text NOT NULL DEFAULT 'quarantine' CHECK (dmarc_policy IN ('none', 'quarantine', 'reject')),
    -- Published in the ownership TXT record.
    ownership_token text NOT NULL,
    -- DKIM: the RSA-2048 key (PKCS#8 DER) and the Ed25519 key (PKCS#8 DER),
    -- each sealed with the master key (daemon/secrets); the public halves
    -- are the base64 p= values of the DKIM records.
    dkim_selector         text NOT NULL,
    dkim_rsa_private      bytea NOT NULL,
    dkim_rsa_public       text NOT NULL,
    dkim_ed25519_selector text NOT NULL,
    dkim_ed25519_private  bytea NOT NULL,
    dkim_ed25519_public   text NOT NULL,
    -- The records to publish with the result of the last check
    -- (models.DNSRecord array).
    records         jsonb NOT NULL DEFAULT '[]',
    verified_at     timestamptz,
    last_checked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_org_idx ON domains (org_id, id);
-- The re-verification sweep takes the domains checked longest ago.
CREATE INDEX domains_checked_idx ON domains (last_checked_at NULLS FIRST);

-- +goose Down
DROP TABLE domains;
