package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func TestDomainAddDefaultDMARCFollowsTheUse(t *testing.T) {
	s := NewDomainAdd(newCommon(t, models.RoleAdmin))
	s.Init()
	s.SetSize(80, 20)
	tab := tea.KeyMsg{Type: tea.KeyTab}
	right := tea.KeyMsg{Type: tea.KeyRight}
	s.Update(tab) // to the use
	if v := s.View(); !strings.Contains(v, "DMARC defaults to quarantine") || !strings.Contains(v, "quarantine, the default for an existing domain") {
		t.Fatalf("existing domain:\n%s", v)
	}
	s.Update(right) // dedicated subdomain
	if v := s.View(); !strings.Contains(v, "Only agents send from it") || !strings.Contains(v, "reject, the default for a dedicated subdomain") {
		t.Fatalf("dedicated subdomain:\n%s", v)
	}
	if s.form.Value("domain_use") != models.DomainUseDedicated || s.form.Value("dmarc_policy") != "" {
		t.Fatalf("use %q policy %q", s.form.Value("domain_use"), s.form.Value("dmarc_policy"))
	}
	s.Update(tab)
	s.Update(right) // none
	s.Update(right) // quarantine: explicit, weaker than the default
	if got := s.form.Value("dmarc_policy"); got != models.DMARCQuarantine {
		t.Fatalf("policy %q", got)
	}
}

func TestDomainStatusesReadWithoutColour(t *testing.T) {
	st := newCommon(t, models.RoleAdmin).Styles
	for status, want := range map[string]string{
		models.DomainVerified: "✓ verified", models.DomainPending: "… pending", models.DomainDegraded: "! degraded",
	} {
		if got := domainStatus(st, status); got != want {
			t.Errorf("%s: %q", status, got)
		}
	}
	for _, c := range []struct {
		r    models.DNSRecord
		want string
	}{
		{models.DNSRecord{Status: models.RecordValid}, "✓ valid"},
		{models.DNSRecord{Status: models.RecordPending}, "… pending"},
		{models.DNSRecord{Status: models.RecordInvalid}, "✗ invalid"},
		{models.DNSRecord{Status: models.RecordInvalid, LookupError: models.LookupTimeout}, "✗ timeout"},
	} {
		if got := recordStatus(st, c.r); got != c.want {
			t.Errorf("%+v: %q", c.r, got)
		}
	}
}

func TestDomainDeleteAsksFirst(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewDomains(c)
	s.SetSize(80, 20)
	s.Init() // request 1
	s.Update(common.ResultMsg[[]models.Domain]{ID: 1, Value: []models.Domain{{ID: "dom_1", Name: "mail.example.com", Status: models.DomainPending}}})
	_, cmd := s.Update(runes("d"))
	if cmd != nil || !s.Typing() || !strings.Contains(s.View(), "Delete mail.example.com?") {
		t.Fatalf("d did not ask:\n%s", s.View())
	}
	for _, k := range []string{"q", "x", "d"} { // other keys do nothing
		if _, cmd := s.Update(runes(k)); cmd != nil || s.confirm == nil {
			t.Fatalf("%q answered the question", k)
		}
	}
	s.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if s.confirm != nil || s.req.Pending("delete") {
		t.Fatal("esc did not cancel")
	}
	s.Update(runes("d"))
	s.Update(runes("y"))
	if !s.req.Pending("delete") || s.confirm != nil {
		t.Fatal("y did not delete")
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

// A long value (DKIM's key) uses the free height: at 120×40 it is shown
// whole, not cut after three lines; at 80×24 it still fits.
func TestDomainLongValueUsesTheHeight(t *testing.T) {
	key := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9)
	d := models.Domain{ID: "dom_1", Name: "mail.example.com", Status: models.DomainPending, Records: []models.DNSRecord{
		{Purpose: "dkim", Type: "TXT", Name: "gent._domainkey.mail.example.com", Value: key, Required: true, Status: models.RecordPending}}}
	for _, size := range [][2]int{{120, 36}, {80, 20}} {
		s := NewDomain(newCommon(t, models.RoleAdmin), d, false)
		s.SetSize(size[0], size[1])
		v := s.View()
		flat := strings.Join(strings.Fields(v), "")
		whole := strings.Contains(flat, strings.Join(strings.Fields(key), ""))
		if size[0] == 120 && !whole {
			t.Fatalf("%v: the key is cut with room to spare:\n%s", size, v)
		}
		if n := strings.Count(v, "\n") + 1; n > size[1] {
			t.Fatalf("%v: %d lines:\n%s", size, n, v)
		}
	}
}
