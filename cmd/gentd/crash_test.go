package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/store"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// sendOne delivers one message on an open client; nil means 250.
func sendOne(c *smtp.Client, id string) error {
	if err := c.Mail("load@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt("agent@mail.example.com", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg := "From: load@example.org\r\nTo: agent@mail.example.com\r\nSubject: crash " + id +
		"\r\nMessage-ID: <" + id + "@crash.test>\r\nX-Crash-Id: " + id + "\r\n\r\n" + strings.Repeat("payload line\r\n", 40)
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// TestCrashKeepsAcceptedMail kills gentd (SIGKILL) while several clients
// are sending, restarts it, and checks that every message that got a 250
// is stored exactly once and that the usage counters match the rows.
func TestCrashKeepsAcceptedMail(t *testing.T) {
	url := storetest.NewURL(t)
	ctx := context.Background()
	st, err := store.Connect(ctx, url, 4, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Pool.Close()
	orgID, domID, inboxID := models.NewID(models.PrefixOrg), models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, name) VALUES (?, 'Crash')`, []any{orgID}},
		// The keys are never used: this test only receives mail.
		{`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES (?, ?, 'mail.example.com', 'verified', 'unused', 'unused', '\x00', '', 'unused-ed', '\x00', '')`, []any{domID, orgID}},
		{`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'agent@mail.example.com')`, []any{inboxID, orgID, domID}},
	} {
		if err := st.DB.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "gentd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"),
		env: []string{"GENT_DATABASE_URL=" + url, "GENT_DNS_RESOLVER=127.0.0.1:9", "GENT_DNS_TIMEOUT=100ms", "GENT_LOG_LEVEL=warn"}}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
	})
	d.start()

	const senders = 6
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		total    atomic.Int64
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; !killed.Load(); {
				c, err := smtp.Dial(d.smtpAddr)
				if err != nil {
					return // the daemon is gone
				}
				if c.Hello("load.example.org") != nil {
					c.Close()
					return
				}
				for ; !killed.Load(); i++ {
					id := fmt.Sprintf("g%d-%d", g, i)
					if err := sendOne(c, id); err != nil {
						break
					}
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
					total.Add(1)
				}
				c.Close()
			}
		}(g)
	}
	// Kill in the middle of the stream.
	deadline := time.Now().Add(20 * time.Second)
	for total.Load() < 150 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	killed.Store(true)
	wg.Wait()
	if len(accepted) < 50 {
		t.Fatalf("only %d messages accepted before the kill:\n%s", len(accepted), d.out.String())
	}

	d.start()
	var rows []struct {
		MessageID string
		N         int
	}
	if err := st.DB.Raw(`SELECT message_id, count(*) AS n FROM messages GROUP BY message_id`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, r := range rows {
		stored[strings.TrimSuffix(r.MessageID, "@crash.test")] = r.N
	}
	for id := range accepted {
		if stored[id] != 1 {
			t.Errorf("%s got 250 but is stored %d times", id, stored[id])
		}
	}
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	var c struct {
		UsedBytes, MessageCount, Rows, Bytes int64
	}
	st.DB.Raw(`SELECT i.used_bytes, i.message_count, (SELECT count(*) FROM messages) AS rows,
		(SELECT coalesce(sum(size), 0) FROM messages) AS bytes FROM inboxes i WHERE i.id = ?`, inboxID).Scan(&c)
	if c.UsedBytes != c.Bytes || c.MessageCount != c.Rows {
		t.Errorf("counters %d bytes/%d messages, rows %d bytes/%d messages", c.UsedBytes, c.MessageCount, c.Bytes, c.Rows)
	}
	t.Logf("%d accepted before SIGKILL, %d stored (%d committed without their 250 reaching the client)",
		len(accepted), len(stored), len(stored)-len(accepted))

	// The restarted daemon takes mail again and stops cleanly.
	cl, err := smtp.Dial(d.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Hello("load.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := sendOne(cl, "after-restart"); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	cl.Close()
	d.stop(syscall.SIGTERM)
}
