package store_test

import (
	"context"
	"fmt"
	"testing"

	"gent/daemon/store"
	"gent/daemon/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestFreshDatabaseIsMigrated(t *testing.T) {
	s := storetest.NewDB(t)
	var n int
	if err := s.DB.Raw(`SELECT count(*) FROM information_schema.tables WHERE table_name IN ('orgs','users','sessions','audit_log','river_job')`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("want 5 tables, got %d", n)
	}
}

func TestMigrateTwiceConcurrently(t *testing.T) {
	s := storetest.NewDB(t)
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { errs <- s.Migrate(context.Background()) }()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestWrapErrorUnique(t *testing.T) {
	s := storetest.NewDB(t)
	ins := `INSERT INTO orgs (id, name) VALUES ('org_x', 'x')`
	if err := s.DB.Exec(ins).Error; err != nil {
		t.Fatal(err)
	}
	err := store.WrapError(s.DB.Exec(ins).Error, "organization")
	if code := codeOf(err); code != "conflict" {
		t.Fatalf("want conflict, got %v", err)
	}
}

// Message bodies are compressed with lz4 (migration 00013) when the server
// has it, which the test server (the machine's PostgreSQL) does; the
// bodies may leave the row, the search vector and the small columns stay.
func TestMessageStorage(t *testing.T) {
	s := storetest.NewDB(t)
	var cols []struct{ Attname, Attcompression, Attstorage string }
	if err := s.DB.Raw(`SELECT attname, attcompression::text, attstorage::text FROM pg_attribute
		WHERE attrelid = 'messages'::regclass AND attname IN ('raw', 'text_body', 'html_body', 'extracted_text', 'headers', 'search')
		ORDER BY attname`).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	if len(cols) != 6 {
		t.Fatalf("columns %v", cols)
	}
	var outOfRow []string
	if err := s.DB.Raw(`SELECT attname FROM pg_attribute WHERE attrelid = 'messages'::regclass AND attnum > 0
		AND NOT attisdropped AND attstorage = 'x' ORDER BY attname`).Scan(&outOfRow).Error; err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(outOfRow); got != "[extracted_text headers html_body raw text_body]" {
		t.Errorf("columns that may leave the row: %s", got)
	}
	for _, c := range cols {
		if c.Attcompression != "l" {
			t.Errorf("messages.%s compression %q, want lz4 (l)", c.Attname, c.Attcompression)
		}
		if want := map[string]string{"search": "m"}[c.Attname]; want == "" && c.Attstorage != "x" || want != "" && c.Attstorage != want {
			t.Errorf("messages.%s storage %q", c.Attname, c.Attstorage)
		}
	}
}

// The GIN indexes of messages: refs and labels without a pending list
// (the thread lookup of every message reads refs), search with a small one
// (migration 00014).
func TestMessageGINOptions(t *testing.T) {
	s := storetest.NewDB(t)
	var rows []struct {
		Relname string
		Opts    string
	}
	if err := s.DB.Raw(`SELECT relname, coalesce(array_to_string(reloptions, ','), '') AS opts FROM pg_class
		WHERE relname IN ('messages_refs_idx', 'messages_labels_idx', 'messages_search_idx') ORDER BY relname`).
		Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	want := "[{messages_labels_idx fastupdate=off} {messages_refs_idx fastupdate=off} {messages_search_idx gin_pending_list_limit=512}]"
	if got := fmt.Sprint(rows); got != want {
		t.Fatalf("GIN options %s, want %s", got, want)
	}
}
