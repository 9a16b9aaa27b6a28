-- +goose Up
-- How message rows are stored (docs/BENCHMARKS.md has the measurements).
--
-- Only the bodies (raw, text_body, html_body, extracted_text, headers)
-- are moved out of the row; everything else, the search vector included,
-- stays in it (STORAGE MAIN: compressed, and moved out only when the row
-- would not fit a page even without the bodies). A search that walks an
-- inbox newest first then tests each message without TOAST lookups: ten
-- times faster than with the vector out of line. The small columns need
-- MAIN too: PostgreSQL moves EXTENDED values out of a row, largest first,
-- until it is under 2 kB, and with the vector kept in, that would push
-- out ids and addresses (4 more buffer reads per column per row read).
ALTER TABLE messages
    ALTER COLUMN search SET STORAGE MAIN,
    ALTER COLUMN id SET STORAGE MAIN,
    ALTER COLUMN org_id SET STORAGE MAIN,
    ALTER COLUMN inbox_id SET STORAGE MAIN,
    ALTER COLUMN thread_id SET STORAGE MAIN,
    ALTER COLUMN direction SET STORAGE MAIN,
    ALTER COLUMN status SET STORAGE MAIN,
    ALTER COLUMN mail_from SET STORAGE MAIN,
    ALTER COLUMN rcpt_to SET STORAGE MAIN,
    ALTER COLUMN message_id SET STORAGE MAIN,
    ALTER COLUMN in_reply_to SET STORAGE MAIN,
    ALTER COLUMN refs SET STORAGE MAIN,
    ALTER COLUMN from_addr SET STORAGE MAIN,
    ALTER COLUMN reply_to SET STORAGE MAIN,
    ALTER COLUMN to_addrs SET STORAGE MAIN,
    ALTER COLUMN cc_addrs SET STORAGE MAIN,
    ALTER COLUMN bcc_addrs SET STORAGE MAIN,
    ALTER COLUMN subject SET STORAGE MAIN,
    ALTER COLUMN preview SET STORAGE MAIN,
    ALTER COLUMN auth SET STORAGE MAIN,
    ALTER COLUMN labels SET STORAGE MAIN;

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
ALTER TABLE messages
    ALTER COLUMN search SET STORAGE EXTENDED,
    ALTER COLUMN id SET STORAGE EXTENDED,
    ALTER COLUMN org_id SET STORAGE EXTENDED,
    ALTER COLUMN inbox_id SET STORAGE EXTENDED,
    ALTER COLUMN thread_id SET STORAGE EXTENDED,
    ALTER COLUMN direction SET STORAGE EXTENDED,
    ALTER COLUMN status SET STORAGE EXTENDED,
    ALTER COLUMN mail_from SET STORAGE EXTENDED,
    ALTER COLUMN rcpt_to SET STORAGE EXTENDED,
    ALTER COLUMN message_id SET STORAGE EXTENDED,
    ALTER COLUMN in_reply_to SET STORAGE EXTENDED,
    ALTER COLUMN refs SET STORAGE EXTENDED,
    ALTER COLUMN from_addr SET STORAGE EXTENDED,
    ALTER COLUMN reply_to SET STORAGE EXTENDED,
    ALTER COLUMN to_addrs SET STORAGE EXTENDED,
    ALTER COLUMN cc_addrs SET STORAGE EXTENDED,
    ALTER COLUMN bcc_addrs SET STORAGE EXTENDED,
    ALTER COLUMN subject SET STORAGE EXTENDED,
    ALTER COLUMN preview SET STORAGE EXTENDED,
    ALTER COLUMN auth SET STORAGE EXTENDED,
    ALTER COLUMN labels SET STORAGE EXTENDED;
ALTER TABLE messages
    ALTER COLUMN raw SET COMPRESSION DEFAULT,
    ALTER COLUMN text_body SET COMPRESSION DEFAULT,
    ALTER COLUMN html_body SET COMPRESSION DEFAULT,
    ALTER COLUMN extracted_text SET COMPRESSION DEFAULT,
    ALTER COLUMN headers SET COMPRESSION DEFAULT,
    ALTER COLUMN search SET COMPRESSION DEFAULT;
ALTER TABLE outbound_messages ALTER COLUMN raw SET COMPRESSION DEFAULT;
