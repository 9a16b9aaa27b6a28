-- +goose Up
-- Inbound screening (DESIGN §11, docs/screening.md). screening is the
-- verdict, score and findings of an inbound message (NULL for outbound
-- and for mail stored before screening); a quarantined message is kept,
-- counted in its inbox's usage, and invisible to the message, thread,
-- search and event routes until a reviewer releases it.
ALTER TABLE messages
    ADD COLUMN screening jsonb,
    ADD COLUMN quarantined boolean NOT NULL DEFAULT false;
-- Small and read with every listed message: kept in the row (00013).
ALTER TABLE messages ALTER COLUMN screening SET STORAGE MAIN;
CREATE INDEX messages_quarantine_idx ON messages (org_id, id DESC) WHERE quarantined;

-- Per-inbox screening settings until the inbox policy object carries
-- them: quarantine at this score (1–100; 101 never quarantines), and
-- quarantine mail that fails authentication whatever its score. An
-- inbox without a row uses 70 and false (screening.Settings).
CREATE TABLE inbox_screening (
    inbox_id             text PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    org_id               text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    quarantine_at        int NOT NULL DEFAULT 70 CHECK (quarantine_at BETWEEN 1 AND 101),
    hide_unauthenticated boolean NOT NULL DEFAULT false
);

-- +goose Down
DROP TABLE inbox_screening;
DROP INDEX messages_quarantine_idx;
ALTER TABLE messages DROP COLUMN quarantined, DROP COLUMN screening;
