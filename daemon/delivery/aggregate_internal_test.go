package delivery

import (
	"testing"
	"time"

	"gent/daemon/store/storetest"
	"gent/models"
)

// Two delivery jobs of one send (one per recipient domain) that record
// their results at the same time: the second to count must see the
// first's committed recipient, so the send ends delivered, not queued.
// The first job's transaction is held open after its count; the second's
// count then either waits for it (the send's row lock) or, as it did
// before, counts at once and leaves the send "queued" behind it.
func TestAggregateOfConcurrentJobs(t *testing.T) {
	st := storetest.NewDB(t)
	db := st.DB
	org, dom, inbox, id := models.NewID(models.PrefixOrg), models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox), models.NewID(models.PrefixMessage)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, name) VALUES (?, 'Race')`, []any{org}},
		{`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES (?, ?, 'mail.example.com', 'verified', 'unused', 'unused', '\x00', '', 'unused-ed', '\x00', '')`, []any{dom, org}},
		{`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'agent@mail.example.com')`, []any{inbox, org, dom}},
		{`INSERT INTO outbound_messages (id, org_id, inbox_id, domain_id, message_id_header, envelope_from, digest, status, recipient_count)
			VALUES (?, ?, ?, ?, '<x@mail.example.com>', 'agent@mail.example.com', '\x00', 'queued', 2)`, []any{id, org, inbox, dom}},
		{`INSERT INTO delivery_recipients (outbound_id, address, org_id, inbox_id, domain, kind) VALUES
			(?, 'a@one.example', ?, ?, 'one.example', 'to'), (?, 'b@two.example', ?, ?, 'two.example', 'to')`, []any{id, org, inbox, id, org, inbox}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	s := &Service{}
	deliver := `UPDATE delivery_recipients SET status = 'delivered' WHERE outbound_id = ? AND address = ?`

	first := db.Begin()
	if err := first.Exec(deliver, id, "a@one.example").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.aggregate(first, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		second := db.Begin()
		if err := second.Exec(deliver, id, "b@two.example").Error; err != nil {
			second.Rollback()
			done <- err
			return
		}
		if err := s.aggregate(second, id); err != nil {
			second.Rollback()
			done <- err
			return
		}
		done <- second.Commit().Error
	}()
	// Commit the first once the second has finished or waits on a lock.
	var secondErr error
	finished, got := false, false
	for !finished {
		select {
		case secondErr = <-done:
			finished, got = true, true
		default:
			var waiting int64
			if err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting).Error; err != nil {
				t.Fatal(err)
			}
			if waiting > 0 {
				finished = true
			} else {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	if err := first.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if !got {
		secondErr = <-done
	}
	if secondErr != nil {
		t.Fatal(secondErr)
	}
	var status string
	if err := db.Raw(`SELECT status FROM outbound_messages WHERE id = ?`, id).Scan(&status).Error; err != nil {
		t.Fatal(err)
	}
	if status != StatusDelivered {
		t.Fatalf("both recipients delivered, the send is %q", status)
	}
}
