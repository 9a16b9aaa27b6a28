-- +goose Up
-- Managing users (DESIGN §12, docs/users.md). A disabled user keeps its
-- row (audit, ownership of what it made) but can neither sign in nor use
-- a session: authentication joins users and checks it.
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

-- One-time password reset codes issued by an owner or admin. Only the
-- SHA-256 of the code is kept; a code is used at most once (used_at) and
-- only before expires_at. Issuing a new code for a user deletes the
-- unused ones.
CREATE TABLE password_resets (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL UNIQUE,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- +goose Down
DROP TABLE password_resets;
ALTER TABLE users DROP COLUMN disabled;
