-- +goose Up
-- The sandbox domain (DESIGN section 14): one per organization, verified
-- without DNS; its outside mail is captured instead of sent.
ALTER TABLE domains DROP CONSTRAINT domains_domain_use_check;
ALTER TABLE domains ADD CONSTRAINT domains_domain_use_check
    CHECK (domain_use IN ('existing_domain', 'dedicated_subdomain', 'sandbox'));
-- An admin turns a sandbox off (PATCH /v1/domains/{id}): its inboxes then
-- refuse sends. Only sandbox domains may be disabled.
ALTER TABLE domains ADD COLUMN disabled boolean NOT NULL DEFAULT false;
ALTER TABLE domains ADD CONSTRAINT domains_disabled_sandbox_check CHECK (NOT disabled OR domain_use = 'sandbox');

-- Inboxes on a sandbox domain, marked so every inbox answer says so
-- without a join (a domain's use never changes).
ALTER TABLE inboxes ADD COLUMN sandbox boolean NOT NULL DEFAULT false;

-- Mail a sandbox inbox sent outside its organization: one row per SMTP
-- transaction that would have happened (one per send and recipient
-- domain), with the exact signed bytes that would have been handed over.
CREATE TABLE captured_messages (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id          text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    -- The sent copy in the inbox (and the outbound_messages row).
    message_id        text NOT NULL,
    domain            text NOT NULL,
    envelope_from     text NOT NULL,
    -- Lower-cased envelope recipients of this transaction.
    recipients        text[] NOT NULL,
    subject           text NOT NULL DEFAULT '',
    message_id_header text NOT NULL DEFAULT '',
    raw               bytea NOT NULL,
    size_bytes        int NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- A delivery job run twice (after a crash) captures once.
    UNIQUE (message_id, domain)
);
-- Keyset pages, newest first, for the organization and per inbox.
CREATE INDEX captured_messages_org_idx ON captured_messages (org_id, id);
CREATE INDEX captured_messages_inbox_idx ON captured_messages (org_id, inbox_id, id);
CREATE INDEX captured_messages_rcpt_idx ON captured_messages USING gin (recipients);

-- +goose Down
DROP TABLE captured_messages;
ALTER TABLE inboxes DROP COLUMN sandbox;
ALTER TABLE domains DROP CONSTRAINT domains_disabled_sandbox_check;
ALTER TABLE domains DROP COLUMN disabled;
ALTER TABLE domains DROP CONSTRAINT domains_domain_use_check;
ALTER TABLE domains ADD CONSTRAINT domains_domain_use_check
    CHECK (domain_use IN ('existing_domain', 'dedicated_subdomain'));
