package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/store"
	"gent/models"
)

// readyz returns the status of GET /readyz (0 when nothing answers).
func (d *daemon) readyz() int {
	resp, err := http.Get("http://" + d.addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, d *daemon, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s\n%s", what, timeout, d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smtpSend sends one message to agent@mail.example.com in a session of
// its own; nil means 250.
func smtpSend(addr, id string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("load.example.org"); err != nil {
		return err
	}
	return sendOne(c, id)
}

// TestEmbeddedPostgresSupervised kills the embedded postmaster (SIGKILL)
// under a running gentd. gentd must start it again by itself: while it
// cannot (the test holds the server's port for a while), /readyz answers
// 503 and SMTP a temporary failure; once it can, mail is accepted over
// SMTP and the API answers, without restarting gentd.
func TestEmbeddedPostgresSupervised(t *testing.T) {
	t.Parallel() // waits on other processes most of the time
	dir, bin := buildGentd(t)
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"),
		env: []string{"GENT_DNS_RESOLVER=127.0.0.1:9", "GENT_DNS_TIMEOUT=100ms"}}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			d.stop(syscall.SIGTERM)
		}
	})
	d.start()

	code, err := os.ReadFile(filepath.Join(d.dataDir, "setup-code"))
	if err != nil {
		t.Fatal(err)
	}
	st, m := d.post("/v1/auth/setup", "", map[string]string{"setup_code": strings.TrimSpace(string(code)),
		"org_name": "Acme", "email": "owner@acme.test", "password": "correct horse battery"})
	if st != 201 {
		t.Fatalf("setup: %d %v", st, m)
	}
	owner := m["token"].(string)

	// A receiving inbox, written straight into the embedded database.
	pidLines := func() []string {
		b, err := os.ReadFile(filepath.Join(d.dataDir, "postgres", "data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	port := strings.TrimSpace(pidLines()[3])
	pw, err := os.ReadFile(filepath.Join(d.dataDir, "postgres.password"))
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://gent:%s@127.0.0.1:%s/gent?sslmode=disable", strings.TrimSpace(string(pw)), port)
	db, err := store.Connect(context.Background(), url, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var orgID string
	if err := db.DB.Raw(`SELECT id FROM orgs`).Scan(&orgID).Error; err != nil {
		t.Fatal(err)
	}
	domID, inboxID := models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES (?, ?, 'mail.example.com', 'verified', 'unused', 'unused', '\x00', '', 'unused-ed', '\x00', '')`, []any{domID, orgID}},
		{`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'agent@mail.example.com')`, []any{inboxID, orgID, domID}},
	} {
		if err := db.DB.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	db.Pool.Close()
	if err := smtpSend(d.smtpAddr, "before"); err != nil {
		t.Fatalf("send before the kill: %v", err)
	}

	// Kill the postmaster and take its port, so that restarts fail until
	// the test lets go of it.
	pid, _ := strconv.Atoi(strings.TrimSpace(pidLines()[0]))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var hold net.Listener
	waitFor(t, d, 10*time.Second, "take the dead server's port", func() bool {
		hold, err = net.Listen("tcp", "127.0.0.1:"+port)
		return err == nil
	})
	go func() { // refuse at once rather than leave clients waiting
		for {
			c, err := hold.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	waitFor(t, d, 30*time.Second, "a failed restart", func() bool {
		return strings.Contains(d.out.String(), "restart embedded PostgreSQL failed")
	})
	if !strings.Contains(d.out.String(), "embedded PostgreSQL exited; restarting it") {
		t.Fatalf("the exit was not logged:\n%s", d.out.String())
	}
	if st := d.readyz(); st != 503 {
		t.Fatalf("/readyz with the database down: %d", st)
	}
	err = smtpSend(d.smtpAddr, "during")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code/100 != 4 {
		t.Fatalf("SMTP with the database down: want a temporary failure (4xx), got %v", err)
	}
	t.Logf("SMTP with the database down: %v", err)

	hold.Close()
	waitFor(t, d, 60*time.Second, "/readyz 200 after the restart", func() bool { return d.readyz() == 200 })
	// PostgreSQL accepts connections a moment before pg_ctl returns to the
	// supervisor, so the log line may trail /readyz by a little.
	waitFor(t, d, 10*time.Second, "the restart logged", func() bool {
		return strings.Contains(d.out.String(), "embedded PostgreSQL restarted")
	})
	if err := smtpSend(d.smtpAddr, "after"); err != nil {
		t.Fatalf("send after the restart: %v\n%s", err, d.out.String())
	}
	st, body := d.get("/v1/inboxes/"+inboxID+"/messages", owner)
	if st != 200 || !strings.Contains(string(body), "crash after") || !strings.Contains(string(body), "crash before") {
		t.Fatalf("messages after the restart: %d %s", st, body)
	}
	if d.cmd.ProcessState != nil {
		t.Fatal("gentd exited")
	}
}
