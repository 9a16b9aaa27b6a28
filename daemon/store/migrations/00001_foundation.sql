-- +goose Up
CREATE TABLE orgs (
    id         text PRIMARY KEY,
    org_id     text GENERATED ALWAYS AS (id) STORED,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'reviewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_org_idx ON users (org_id, id);

CREATE TABLE sessions (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    remote_addr  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The one-time setup code; at most one row, removed when setup completes.
CREATE TABLE setup_codes (
    id         int PRIMARY KEY CHECK (id = 1),
    org_id     text,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Failed login counters per email and per remote address.
CREATE TABLE auth_throttle (
    key              text PRIMARY KEY,
    org_id           text,
    failures         int NOT NULL DEFAULT 0,
    first_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until     timestamptz
);

CREATE TABLE audit_log (
    id          text PRIMARY KEY,
    org_id      text,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    outcome     text NOT NULL,
    status      int NOT NULL DEFAULT 0,
    remote_addr text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, id DESC);

CREATE TABLE idempotency_keys (
    credential_id text NOT NULL,
    key           text NOT NULL,
    org_id        text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    body_hash     bytea NOT NULL,
    status        int NOT NULL DEFAULT 0,
    content_type  text NOT NULL DEFAULT '',
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE audit_log;
DROP TABLE auth_throttle;
DROP TABLE setup_codes;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE orgs;
