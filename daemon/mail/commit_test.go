package mail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gent/daemon/mail"
	"gent/models"
)

func inbound(in models.Inbox, raw string) mail.StoreInput {
	return mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID, Direction: models.DirectionInbound,
		Status: models.StatusReceived, Raw: []byte(raw)}
}

// Concurrent callers share transactions; each hears back only after the
// commit that holds its message (another connection sees it), and the
// counters applied once per batch add up exactly.
func TestCommitterSharesTransactions(t *testing.T) {
	env, org, hot := setup(t)
	other := env.Inbox(org, "other@mail.example.com")
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1, MaxWait: 50 * time.Millisecond})
	defer c.Stop()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := hot
			if i%4 == 0 {
				in = other
			}
			subject := fmt.Sprintf("grouped %d", i)
			raw := fmt.Sprintf("From: Ada <ada@example.org>\r\nSubject: %s\r\nMessage-ID: <%d@grouped>\r\n\r\nbody %d\r\n", subject, i, i)
			err := c.Do(context.Background(), func(b *mail.Batch) error {
				_, err := b.Store(context.Background(), inbound(in, raw))
				return err
			})
			if err != nil {
				errs <- err
				return
			}
			var n int64
			env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE subject = ?`, subject).Scan(&n)
			if n != 1 {
				errs <- fmt.Errorf("message %d: Do returned before its commit was visible (%d rows)", i, n)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, in := range []models.Inbox{hot, other} {
		var u struct{ Used, Count, RowBytes, Rows, Received int64 }
		env.Store.DB.Raw(`SELECT i.used_bytes AS used, i.message_count AS count,
			(SELECT coalesce(sum(size), 0) FROM messages WHERE inbox_id = i.id) AS row_bytes,
			(SELECT count(*) FROM messages WHERE inbox_id = i.id) AS rows,
			(SELECT received_count FROM contacts WHERE inbox_id = i.id AND address = 'ada@example.org') AS received
			FROM inboxes i WHERE i.id = ?`, in.ID).Scan(&u)
		if u.Used != u.RowBytes || u.Count != u.Rows || u.Received != u.Rows || u.Rows == 0 {
			t.Errorf("inbox %s: counters %+v", in.Address, u)
		}
	}
	var txs int64
	env.Store.DB.Raw(`SELECT count(DISTINCT xmin::text) FROM messages`).Scan(&txs)
	if txs >= 40 {
		t.Fatalf("40 messages in %d transactions: nothing was grouped", txs)
	}
}

// A unit that fails gets its error and its writes are rolled back; the
// others of its batch are stored.
func TestCommitterIsolatesAFailure(t *testing.T) {
	env, _, in := setup(t)
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1, MaxWait: 50 * time.Millisecond})
	defer c.Stop()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, 12)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = c.Do(context.Background(), func(b *mail.Batch) error {
				raw := fmt.Sprintf("From: a@example.org\r\nSubject: unit %d\r\n\r\nx\r\n", i)
				if _, err := b.Store(context.Background(), inbound(in, raw)); err != nil {
					return err
				}
				if i == 5 {
					return boom // after its message was written
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i, err := range results {
		if (i == 5) != errors.Is(err, boom) || i != 5 && err != nil {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	var subjects []string
	env.Store.DB.Raw(`SELECT subject FROM messages ORDER BY subject`).Scan(&subjects)
	if len(subjects) != 11 || strings.Contains(strings.Join(subjects, ","), "unit 5,") {
		t.Fatalf("stored %v", subjects)
	}
	var u struct{ Used, Count, RowBytes int64 }
	env.Store.DB.Raw(`SELECT used_bytes AS used, message_count AS count, (SELECT sum(size) FROM messages) AS row_bytes
		FROM inboxes WHERE id = ?`, in.ID).Scan(&u)
	if u.Count != 11 || u.Used != u.RowBytes {
		t.Fatalf("counters %+v", u)
	}
	// The metrics count the committed messages once, not the rolled-back
	// batch's writes nor the units run again.
	if n, b := storedMetric(t, env.Metrics.Registry), float64(u.RowBytes); n[0] != 11 || n[1] != b {
		t.Fatalf("gent_messages_stored_total, _bytes_total = %v, want 11, %v", n, b)
	}
}

// storedMetric reads gent_messages_stored_total and _bytes_total for
// inbound mail from the daemon's registry.
func storedMetric(t *testing.T, g prometheus.Gatherer) (out [2]float64) {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for i, name := range []string{"gent_messages_stored_total", "gent_messages_stored_bytes_total"} {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.Metric {
				for _, lp := range m.Label {
					if lp.GetName() == "direction" && lp.GetValue() == "inbound" {
						out[i] = m.Counter.GetValue()
					}
				}
			}
		}
	}
	return out
}

// Under an enforce cap, grouped stores never take the inbox past it:
// exactly the messages that fit are stored, the others are refused.
func TestCommitterKeepsTheCap(t *testing.T) {
	env, _, in := setup(t)
	raw := "From: a@example.org\r\nSubject: cap\r\n\r\n" + strings.Repeat("x", 1000) + "\r\n"
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 2, MaxWait: 20 * time.Millisecond})
	defer c.Stop()
	raceForCap(t, env, in, []byte(raw), func() error {
		return c.Do(context.Background(), func(b *mail.Batch) error {
			_, err := b.Store(context.Background(), inbound(in, raw))
			return err
		})
	})
}

// A batch whose counter update finds its inbox gone is redone message by
// message: each caller hears not_found, nothing is stored.
func TestCommitterInboxGone(t *testing.T) {
	env, _, in := setup(t)
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1})
	defer c.Stop()
	err := c.Do(context.Background(), func(b *mail.Batch) error {
		if _, err := b.Store(context.Background(), inbound(in, "From: a@example.org\r\nSubject: x\r\n\r\nx\r\n")); err != nil {
			return err
		}
		// The inbox is deleted between the store and the commit.
		return env.Store.DB.Exec(`UPDATE inboxes SET status = 'deleting' WHERE id = ?`, in.ID).Error
	})
	if models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("want not_found, got %v", err)
	}
	var n int64
	env.Store.DB.Raw(`SELECT count(*) FROM messages`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d messages stored into a deleted inbox", n)
	}
}

// The caller's own recent read of the inbox (Seen, from the SMTP recipient
// lookup) replaces the batch's read, but not its checks: an inbox
// deactivated since, or filled past its cap since, still refuses.
func TestCommitterStaleSeenInbox(t *testing.T) {
	env, _, in := setup(t)
	raw := "From: a@example.org\r\nSubject: seen\r\n\r\n" + strings.Repeat("x", 1000) + "\r\n"
	seen, _, err := env.Mail.ResolveRecipient(context.Background(), in.Address, "a@example.org")
	if err != nil || seen == nil {
		t.Fatalf("resolve: %v %v", seen, err)
	}
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1})
	defer c.Stop()
	store := func() error {
		return c.Do(context.Background(), func(b *mail.Batch) error {
			si := inbound(in, raw)
			si.Seen = seen
			_, err := b.Store(context.Background(), si)
			return err
		})
	}
	if err := store(); err != nil {
		t.Fatalf("store with a fresh read: %v", err)
	}
	// Full since the read: the cap holds.
	env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = used_bytes WHERE id = ?`, in.ID)
	if err := store(); models.ErrorCode(err) != models.CodeStorageCapExceeded {
		t.Fatalf("inbox full since the read: want storage_cap_exceeded, got %v", err)
	}
	// Deactivated since the read: not_found.
	env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = NULL, cap_limit_bytes = NULL, status = 'deleting' WHERE id = ?`, in.ID)
	if err := store(); models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("inbox deactivated since the read: want not_found, got %v", err)
	}
	var n, used int64
	env.Store.DB.Raw(`SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE inbox_id = ?`, in.ID).Row().Scan(&n, &used)
	var counted int64
	env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, in.ID).Scan(&counted)
	if n != 1 || counted != used {
		t.Fatalf("stored %d (want 1), counted %d bytes of %d", n, counted, used)
	}
}

func TestCommitterStopped(t *testing.T) {
	env, _, in := setup(t)
	c := env.Mail.NewCommitter(mail.CommitOptions{})
	if err := c.Do(context.Background(), func(b *mail.Batch) error {
		_, err := b.Store(context.Background(), inbound(in, "From: a@example.org\r\nSubject: x\r\n\r\nx\r\n"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	c.Stop() // idempotent
	if err := c.Do(context.Background(), func(*mail.Batch) error { return nil }); !errors.Is(err, mail.ErrCommitterStopped) {
		t.Fatalf("Do after Stop: %v", err)
	}
}
