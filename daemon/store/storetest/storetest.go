// Package storetest gives tests a real PostgreSQL: one throwaway cluster per
// test binary (or the server at GENT_TEST_DATABASE_URL) and a fresh database
// per test, cloned from a migrated template. If PostgreSQL cannot be
// started the test fails with the reason; it never skips.
//
// Packages using it call storetest.Main from TestMain so the cluster and its
// files go away when the tests end.
package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"gent/daemon/store"
)

var (
	once     sync.Once
	setupErr error
	adminURL string // a URL to the server's maintenance database
	template string
	cluster  *store.Embedded
	tmpDir   string
	counter  atomic.Int64
	inMain   bool
)

// Main runs the tests and then removes the cluster and template.
func Main(m *testing.M) {
	inMain = true
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func cleanup() {
	if template != "" && adminURL != "" {
		_ = exec(adminURL, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, template))
	}
	if cluster != nil {
		_ = cluster.Stop()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
}

func exec(u, sql string) error {
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql).ReadAll()
	return err
}

func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

func setup() error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if u := os.Getenv("GENT_TEST_DATABASE_URL"); u != "" {
		adminURL = u
	} else {
		dir, err := os.MkdirTemp("", "gent-test-pg-")
		if err != nil {
			return err
		}
		tmpDir = dir
		// The server runs as the postgres user when we are root; it must
		// be able to reach its directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		cluster, err = store.StartEmbedded(dir, store.EmbeddedOptions{Child: true, Settings: map[string]string{
			"fsync": "off", "full_page_writes": "off", "max_connections": "300",
		}}, log)
		if err != nil {
			return fmt.Errorf("start test PostgreSQL: %w", err)
		}
		adminURL = cluster.URL("postgres")
	}
	template = fmt.Sprintf("gent_tpl_%d_%d", os.Getpid(), counter.Add(1))
	if err := exec(adminURL, fmt.Sprintf(`CREATE DATABASE %q`, template)); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	s, err := store.Connect(context.Background(), withDB(adminURL, template), 4, log)
	if err != nil {
		return err
	}
	defer s.Pool.Close()
	if err := s.Migrate(context.Background()); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}

// NewURL creates a fresh migrated database and returns its URL; it is
// dropped when the test ends.
func NewURL(tb testing.TB) string {
	tb.Helper()
	if !inMain {
		tb.Fatal("storetest: call storetest.Main(m) from TestMain in this package")
	}
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		tb.Fatalf("storetest: PostgreSQL is required for these tests and could not be started: %v", setupErr)
	}
	name := fmt.Sprintf("gent_t_%d_%d", os.Getpid(), counter.Add(1))
	if err := exec(adminURL, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, template)); err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := exec(adminURL, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil && !strings.Contains(err.Error(), "does not exist") {
			tb.Logf("storetest: drop database: %v", err)
		}
	})
	return withDB(adminURL, name)
}

// NewDB returns a store on a fresh migrated database.
func NewDB(tb testing.TB) *store.Store {
	tb.Helper()
	u := NewURL(tb)
	s, err := store.Connect(context.Background(), u, 20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatalf("storetest: connect: %v", err)
	}
	tb.Cleanup(func() { s.Pool.Close() })
	return s
}

// AdminURL returns the URL of the test server's maintenance database (for
// tests that create databases of their own).
func AdminURL(tb testing.TB) string {
	tb.Helper()
	NewURL(tb)
	return adminURL
}
