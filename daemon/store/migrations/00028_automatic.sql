-- +goose Up
-- What marks an inbound message as automatic mail (docs/policy.md, Loop
-- guard): "Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id",
-- "null return path", "delivery status notification"; '' when nothing
-- does; NULL for mail stored before it was recorded (the reply path then
-- reads the raw headers) and for outbound mail.
ALTER TABLE messages ADD COLUMN automatic text;
-- A few words at most: kept in the row like the other small columns
-- (only bodies may leave it, TestMessageStorage).
ALTER TABLE messages ALTER COLUMN automatic SET STORAGE MAIN;

-- +goose Down
ALTER TABLE messages DROP COLUMN automatic;
