package store

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestReachable(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // the test's directories are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	closed := filepath.Join(base, "home")
	data := filepath.Join(closed, "gent", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(closed, 0o755) })
	owner := uint32(os.Getuid())
	const stranger = 4242424

	// The owner may pass; another user may not, and is told where and why.
	if err := reachable(data, owner, nil); err != nil {
		t.Fatalf("owner: %v", err)
	}
	err := reachable(data, stranger, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+closed+" (mode 0700") ||
		!strings.Contains(err.Error(), "chmod o+x "+closed) {
		t.Fatalf("stranger: %v", err)
	}
	// Group members pass through a directory open to the group.
	if err := os.Chmod(closed, 0o710); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(closed)
	gid := fileGid(t, fi)
	if err := reachable(data, stranger, []uint32{gid}); err != nil {
		t.Fatalf("group member: %v", err)
	}
	if err := reachable(data, stranger, nil); err == nil {
		t.Fatal("a stranger passed a directory open only to its group")
	}
	// Open to others: anyone passes.
	if err := os.Chmod(closed, 0o701); err != nil {
		t.Fatal(err)
	}
	if err := reachable(data, stranger, nil); err != nil {
		t.Fatalf("o+x: %v", err)
	}
}

func fileGid(t *testing.T, fi os.FileInfo) uint32 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatal("no Stat_t")
	}
	return st.Gid
}

func TestSharedBuffers(t *testing.T) {
	if got := SharedBuffers("512MB"); got != "512MB" {
		t.Fatalf("configured: %s", got)
	}
	got := SharedBuffers("")
	n, err := strconv.Atoi(strings.TrimSuffix(got, "MB"))
	if err != nil || !strings.HasSuffix(got, "MB") || n < 128 || n > 1024 {
		t.Fatalf("automatic shared_buffers %q, want 128MB-1024MB", got)
	}
}

// TestStartEmbeddedFailureReleasesLock: a server that fails to start
// (here: a data directory of an unknown version) makes StartEmbedded
// return the error — it once panicked releasing the lock — and leaves the
// data-dir lock free.
func TestStartEmbeddedFailureReleasesLock(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // the server may run as the postgres user
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pgdata := filepath.Join(base, "postgres", "data")
	if err := os.MkdirAll(pgdata, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "postgres.password"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := StartEmbedded(base, EmbeddedOptions{Child: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		_ = e.Stop()
		t.Fatal("a broken data directory started")
	}
	f, err := lockDataDir(base)
	if err != nil {
		t.Fatalf("lock left taken after a failed start: %v", err)
	}
	f.Close()
}
