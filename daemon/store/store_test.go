package store_test

import (
	"context"
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
