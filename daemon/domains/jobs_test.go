package domains_test

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/config"
	"gent/models"
)

func (h *harness) waitStatus(id, want string) models.Domain {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := h.get(id)
		if d.Status == want {
			return d
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("domain %s still %s after 20s, want %s: %+v", d.Name, d.Status, want, d.Records)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReverifyJob: the periodic job re-checks every domain; a verified
// domain whose DKIM record disappears becomes degraded, with an event and
// an audit entry, and recovers when the record is back. A pending domain
// whose records appear becomes verified without anyone asking.
func TestReverifyJob(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Domains.ReverifyInterval = config.Duration(time.Second) })
	d := h.create(models.CreateDomainRequest{Domain: "mail.example.com"}, 201)
	h.publish(d.ID)
	if v := h.verify(d.ID); v.Status != models.DomainVerified {
		t.Fatalf("verify: %s", v.Status)
	}
	later := h.create(models.CreateDomainRequest{Domain: "later.example.com"}, 201)
	h.publish(later.ID)

	dk := rec(t, d, models.PurposeDKIM)
	h.dns.Delete(dk.Name, dns.TypeTXT)
	h.env.StartJobs()

	got := h.waitStatus(d.ID, models.DomainDegraded)
	expectStatus(t, rec(t, got, models.PurposeDKIM), models.RecordPending, "no DKIM record")
	if got.VerifiedAt == nil {
		t.Error("verified_at cleared on degrade")
	}
	var ev models.Event
	if err := h.env.Store.DB.Where("org_id = ? AND type = ?", h.org.ID, models.EventDomainChanged).Take(&ev).Error; err != nil {
		t.Fatalf("no %s event: %v", models.EventDomainChanged, err)
	}
	if ev.Payload["domain_id"] != d.ID || ev.Payload["status"] != models.DomainDegraded || ev.Payload["previous_status"] != models.DomainVerified {
		t.Errorf("event payload: %v", ev.Payload)
	}
	if failing, _ := ev.Payload["failing"].([]any); len(failing) != 1 {
		t.Errorf("event lists failing records %v", ev.Payload["failing"])
	}
	var entry models.AuditEntry
	if err := h.env.Store.DB.Where("org_id = ? AND action = 'domains.status_changed' AND target_id = ? AND actor_type = 'system'",
		h.org.ID, d.ID).Take(&entry).Error; err != nil {
		t.Fatalf("no audit entry for the degrade: %v", err)
	}
	if entry.Outcome != "failure" || entry.Detail["status"] != models.DomainDegraded {
		t.Errorf("audit entry: %+v", entry)
	}

	// The other domain was verified by the job alone.
	h.waitStatus(later.ID, models.DomainVerified)

	// Put the record back: the job restores the domain.
	h.dns.SetTXT(dk.Name, dk.Value)
	h.waitStatus(d.ID, models.DomainVerified)
	types := h.eventTypes()
	if count(types, models.EventDomainChanged) != 2 || count(types, models.EventDomainVerified) != 3 {
		t.Errorf("events: %v (want 2 %s and 3 %s)", types, models.EventDomainChanged, models.EventDomainVerified)
	}
}
