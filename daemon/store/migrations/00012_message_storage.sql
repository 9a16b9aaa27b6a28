-- +goose Up
-- How message rows are stored (docs/BENCHMARKS.md has the measurements).
--
-- The search vector stays in the row (STORAGE MAIN: compressed, moved out
-- of line only when the row would not fit a page), so a search that walks
-- an inbox newest first tests each message without a TOAST lookup: ten
-- times faster than with the vector out of line among the bodies.
ALTER TABLE messages ALTER COLUMN search SET STORAGE MAIN;

-- Bodies and the search vector are compressed with lz4 rather than the
-- default pglz: several times faster both ways for about the same size,
-- and compressing was most of the database's cost of storing a message
-- after its search vector. Only newly written values use either setting;
-- a server built without lz4 keeps pglz.
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE messages
        ALTER COLUMN raw SET COMPRESSION lz4,
        ALTER COLUMN text_body SET COMPRESSION lz4,
        ALTER COLUMN html_body SET COMPRESSION lz4,
        ALTER COLUMN extracted_text SET COMPRESSION lz4,
        ALTER COLUMN headers SET COMPRESSION lz4,
        ALTER COLUMN search SET COMPRESSION lz4;
    ALTER TABLE outbound_messages ALTER COLUMN raw SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available in this PostgreSQL build; message bodies stay compressed with pglz';
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE messages ALTER COLUMN search SET STORAGE EXTENDED;
ALTER TABLE messages
    ALTER COLUMN raw SET COMPRESSION DEFAULT,
    ALTER COLUMN text_body SET COMPRESSION DEFAULT,
    ALTER COLUMN html_body SET COMPRESSION DEFAULT,
    ALTER COLUMN extracted_text SET COMPRESSION DEFAULT,
    ALTER COLUMN headers SET COMPRESSION DEFAULT,
    ALTER COLUMN search SET COMPRESSION DEFAULT;
ALTER TABLE outbound_messages ALTER COLUMN raw SET COMPRESSION DEFAULT;
