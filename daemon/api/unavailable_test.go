package api_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gent/daemon/server"
	"gent/daemon/server/servertest"
	"gent/daemon/store"
	"gent/models"
)

// With its PostgreSQL server stopped, the API answers 503 unavailable with
// Retry-After — as /readyz does — not 500 internal_error: the request may
// be retried. The server is a cluster of the test's own, really stopped
// (pg_ctl stop: running backends end with admin_shutdown, new connections
// are refused).
func TestDatabaseDownIs503(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	// The server runs as the postgres user when tests run as root.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	emb, err := store.StartEmbedded(dir, store.EmbeddedOptions{Child: true, Settings: map[string]string{
		"fsync": "off", "full_page_writes": "off"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = emb.Stop()
		}
	})
	ctx := context.Background()
	st, err := store.Connect(ctx, emb.URL("postgres"), 10, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Pool.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := server.New(servertest.Config(t), st, log)
	if err != nil {
		t.Fatal(err)
	}
	env := &servertest.Env{T: t, Daemon: d}
	org := env.Setup()
	name := models.NewID("") + ".example.com"
	env.VerifiedDomain(org, name)
	in := env.Inbox(org, "agent@"+name)
	tok := env.Token(org, in.ID, servertest.AllScopes())
	env.MustStatus(200, "GET", "/v1/inboxes/"+in.ID+"/messages", tok.Secret, nil)
	env.MustStatus(200, "GET", "/readyz", "", nil)

	if err := emb.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true

	send := models.SendRequest{To: []string{"someone@outside.test"}, Subject: "hi", Text: "hello"}
	cases := []struct {
		method, path, cred string
		body               any
	}{
		{"GET", "/readyz", "", nil},
		{"GET", "/v1/auth/status", "", nil},
		{"POST", "/v1/auth/login", "", models.LoginRequest{Email: org.OwnerEmail, Password: "correct horse battery"}},
		{"GET", "/v1/inboxes/" + in.ID + "/messages", tok.Secret, nil},
		{"GET", "/v1/inboxes/" + in.ID + "/messages", tok.Secret, nil}, // again: no connection left in the pool
		{"POST", "/v1/inboxes/" + in.ID + "/messages/send", tok.Secret, send},
		{"GET", "/v1/domains", org.Owner, nil},
		{"POST", "/v1/tokens", org.Owner, models.CreateTokenRequest{InboxID: in.ID, Label: "x", Scopes: []string{models.ScopeEmailRead}}},
	}
	for _, c := range cases {
		r := env.Do(c.method, c.path, c.cred, c.body)
		if r.Status != 503 || r.ErrorCode() != models.CodeUnavailable {
			t.Errorf("%s %s with the database stopped: %d %s, want 503 unavailable", c.method, c.path, r.Status, r.Body)
			continue
		}
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s %s: Retry-After %q, want whole seconds", c.method, c.path, r.Header.Get("Retry-After"))
		}
	}
}
