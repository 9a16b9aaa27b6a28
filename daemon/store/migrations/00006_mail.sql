-- +goose Up
-- Storage cap of an inbox (set by the caps API): NULL means no cap. Under
-- 'enforce', growth past cap_limit_bytes is refused in the same UPDATE that
-- adds a message's bytes to used_bytes.
ALTER TABLE inboxes
    ADD COLUMN cap_limit_bytes bigint CHECK (cap_limit_bytes IS NULL OR cap_limit_bytes >= 0),
    ADD COLUMN cap_mode text CHECK (cap_mode IS NULL OR cap_mode IN ('enforce', 'allow_and_bill'));

CREATE TABLE threads (
    id                 text PRIMARY KEY,
    org_id             text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id           text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    subject            text NOT NULL DEFAULT '',
    -- Subject without Re:/Fwd: prefixes, lower-cased: the fallback link for
    -- replies that carry no In-Reply-To or References.
    normalized_subject text NOT NULL DEFAULT '',
    preview            text NOT NULL DEFAULT '',
    participants       text[] NOT NULL DEFAULT '{}',
    message_count      bigint NOT NULL DEFAULT 0,
    unread_count       bigint NOT NULL DEFAULT 0,
    last_message_at    timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_inbox_idx ON threads (inbox_id, last_message_at DESC, id DESC);
CREATE INDEX threads_subject_idx ON threads (inbox_id, normalized_subject, last_message_at DESC);

CREATE TABLE messages (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id        text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    thread_id       text NOT NULL REFERENCES threads (id),
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status          text NOT NULL,
    -- Envelope (MAIL FROM / RCPT TO) of inbound mail.
    mail_from       text NOT NULL DEFAULT '',
    rcpt_to         text NOT NULL DEFAULT '',
    -- Header fields, decoded.
    message_id      text NOT NULL DEFAULT '',
    in_reply_to     text NOT NULL DEFAULT '',
    refs            text[] NOT NULL DEFAULT '{}',
    from_addr       jsonb NOT NULL DEFAULT '{}',
    reply_to        jsonb NOT NULL DEFAULT '[]',
    to_addrs        jsonb NOT NULL DEFAULT '[]',
    cc_addrs        jsonb NOT NULL DEFAULT '[]',
    bcc_addrs       jsonb NOT NULL DEFAULT '[]',
    subject         text NOT NULL DEFAULT '',
    sent_at         timestamptz,
    headers         jsonb NOT NULL DEFAULT '[]',
    text_body       text NOT NULL DEFAULT '',
    html_body       text NOT NULL DEFAULT '',
    extracted_text  text NOT NULL DEFAULT '',
    preview         text NOT NULL DEFAULT '',
    -- SPF/DKIM/DMARC of inbound mail; NULL for outbound.
    auth            jsonb,
    labels          text[] NOT NULL DEFAULT '{}',
    read            boolean NOT NULL DEFAULT false,
    -- The message exactly as stored (RFC 5322), and its length, which is
    -- what it counts toward the inbox's used_bytes.
    raw             bytea NOT NULL,
    size            bigint NOT NULL,
    search          tsvector NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- Keyset pages, newest first (ids are time-sortable ULIDs).
CREATE INDEX messages_inbox_idx ON messages (inbox_id, id DESC);
CREATE INDEX messages_thread_idx ON messages (thread_id, id);
-- Threading: find a message of the inbox by its Message-ID, or the
-- messages that refer to it.
CREATE INDEX messages_message_id_idx ON messages (inbox_id, message_id) WHERE message_id <> '';
CREATE INDEX messages_in_reply_to_idx ON messages (inbox_id, in_reply_to) WHERE in_reply_to <> '';
CREATE INDEX messages_refs_idx ON messages USING gin (refs);
CREATE INDEX messages_labels_idx ON messages USING gin (labels);
CREATE INDEX messages_search_idx ON messages USING gin (search);

CREATE TABLE attachments (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id     text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    message_id   text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- MIME part path in the raw message ("1.0"); the bytes are decoded
    -- from messages.raw when downloaded, so they are stored once.
    part_path    text NOT NULL,
    filename     text NOT NULL DEFAULT '',
    content_type text NOT NULL,
    size         bigint NOT NULL,
    content_id   text NOT NULL DEFAULT '',
    inline       boolean NOT NULL DEFAULT false,
    position     int NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id, position);
CREATE INDEX attachments_inbox_idx ON attachments (inbox_id);

CREATE TABLE contacts (
    id             text PRIMARY KEY,
    org_id         text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id       text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    address        text NOT NULL,
    name           text NOT NULL DEFAULT '',
    source         text NOT NULL DEFAULT 'mail' CHECK (source IN ('mail', 'api')),
    received_count bigint NOT NULL DEFAULT 0,
    sent_count     bigint NOT NULL DEFAULT 0,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, address)
);
CREATE INDEX contacts_inbox_idx ON contacts (inbox_id, id);

-- Per-inbox sender allow/block rules: an address, a domain (with its
-- subdomains) or "*".
CREATE TABLE sender_rules (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    inbox_id   text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    pattern    text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('allow', 'block')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, pattern)
);
CREATE INDEX sender_rules_inbox_idx ON sender_rules (inbox_id, id);

-- +goose Down
DROP TABLE sender_rules;
DROP TABLE contacts;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE threads;
ALTER TABLE inboxes DROP COLUMN cap_mode, DROP COLUMN cap_limit_bytes;
