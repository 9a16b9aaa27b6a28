-- +goose Up
-- A message's extracted text (its text without quoted history) is stored
-- only when it differs from its text tidied (trailing blanks and runs of
-- blank lines removed, LF line ends): NULL means "text_body, tidied", which
-- is most mail, and the reader derives it (daemon/mail messageRow.detail).
-- Rows stored before keep their copy; both forms read the same.
ALTER TABLE messages ALTER COLUMN extracted_text DROP NOT NULL;

-- +goose Down
UPDATE messages SET extracted_text = btrim(replace(text_body, E'\r\n', E'\n')) WHERE extracted_text IS NULL;
ALTER TABLE messages ALTER COLUMN extracted_text SET NOT NULL;
