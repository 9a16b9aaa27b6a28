package store_test

import (
	"context"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"gent/daemon/store/storetest"
	"gent/models"
)

// Migration 00023 gives the recipients stored before it an id, their
// inbox and creation time, and marks those of held, rejected and expired
// sends (which were "queued" though never in the queue).
func TestQueueMigrationBackfill(t *testing.T) {
	s := storetest.NewDB(t)
	ctx := context.Background()
	p, err := goose.NewProvider(goose.DialectPostgres, s.SQL, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 22); err != nil {
		t.Fatal(err)
	}
	org, dom, inbox := models.NewID(models.PrefixOrg), models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, name) VALUES (?, 'Old')`, []any{org}},
		{`INSERT INTO domains (id, org_id, name, status, ownership_token, dkim_selector, dkim_rsa_private, dkim_rsa_public,
			dkim_ed25519_selector, dkim_ed25519_private, dkim_ed25519_public)
			VALUES (?, ?, 'mail.example.com', 'verified', 'unused', 'unused', '\x00', '', 'unused-ed', '\x00', '')`, []any{dom, org}},
		{`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, 'agent@mail.example.com')`, []any{inbox, org, dom}},
	} {
		if err := s.DB.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	sends := map[string]string{"pending_approval": "held", "rejected": "rejected", "expired": "expired", "deferred": "deferred"}
	ids := map[string]string{}
	for status, rstatus := range sends {
		id := models.NewID(models.PrefixMessage)
		ids[id] = rstatus
		if err := s.DB.Exec(`INSERT INTO outbound_messages (id, org_id, inbox_id, domain_id, message_id_header, envelope_from, digest, status, recipient_count, created_at)
			VALUES (?, ?, ?, ?, '<x@mail.example.com>', 'agent@mail.example.com', '\x00', ?, 1, '2026-01-02T03:04:05Z')`, id, org, inbox, dom, status).Error; err != nil {
			t.Fatal(err)
		}
		st := "queued"
		if status == "deferred" {
			st = "deferred"
		}
		if err := s.DB.Exec(`INSERT INTO delivery_recipients (outbound_id, address, org_id, domain, kind, status) VALUES (?, 'a@example.net', ?, 'example.net', 'to', ?)`,
			id, org, st).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID, OutboundID, InboxID, Status string
		Year                            int
	}
	if err := s.DB.Raw(`SELECT id, outbound_id, inbox_id, status, extract(year FROM created_at)::int AS year FROM delivery_recipients`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(sends) {
		t.Fatalf("%d rows", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if !models.IsID(r.ID, models.PrefixQueued) || seen[r.ID] || r.InboxID != inbox || r.Year != 2026 || r.Status != ids[r.OutboundID] {
			t.Errorf("backfilled %+v, want status %s", r, ids[r.OutboundID])
		}
		seen[r.ID] = true
	}
	// The id sorts by creation time like the ids Go makes: 2026-01-02 is
	// before now.
	if now := models.NewID(models.PrefixQueued); rows[0].ID >= now {
		t.Errorf("backfilled id %s does not sort before %s", rows[0].ID, now)
	}
}
