-- +goose Up
-- The GIN indexes of messages and their pending lists (docs/BENCHMARKS.md
-- has the measurements).
--
-- With fastupdate on (PostgreSQL's default), new entries go to an unsorted
-- pending list of up to gin_pending_list_limit (4 MB) that every lookup
-- reads in full before the index proper. The thread lookup of every new
-- message asks messages_refs_idx for its Message-ID, so it read tens to
-- hundreds of pending pages under load (0.6 ms with 34 pages, 0.01 ms
-- without). refs and labels add a few entries per message: they go
-- straight into the index. The search vector adds hundreds per message,
-- where the pending list pays for itself (inserting a 10 KiB message's
-- entries directly costs five times as much), so it keeps one, bounded
-- to 512 kB (64 pages) for what every search reads; inserts cost the same.
ALTER INDEX messages_refs_idx SET (fastupdate = off);
ALTER INDEX messages_labels_idx SET (fastupdate = off);
ALTER INDEX messages_search_idx SET (gin_pending_list_limit = 512);
-- Entries already pending are moved into the indexes now.
SELECT gin_clean_pending_list('messages_refs_idx'::regclass);
SELECT gin_clean_pending_list('messages_labels_idx'::regclass);
SELECT gin_clean_pending_list('messages_search_idx'::regclass);

-- +goose Down
ALTER INDEX messages_refs_idx RESET (fastupdate);
ALTER INDEX messages_labels_idx RESET (fastupdate);
ALTER INDEX messages_search_idx RESET (gin_pending_list_limit);
