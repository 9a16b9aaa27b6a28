package tui

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/miekg/dns"

	"gent/models"
	"gent/tui/screens"
)

// Flows of the domains, inboxes and tokens screens against a real daemon
// whose DNS lookups go to a loopback DNS server.

// osc52 is the clipboard escape sequence for text.
func osc52(text string) string {
	return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\x07"
}

func TestFlowDomainAddAndVerify(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("d")
	r.wait("No domains yet")
	r.runes("a")
	r.wait("Add a domain to Acme")
	r.typ("Mail.Example.com")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter) // existing domain, default DMARC
	v := r.wait("Added mail.example.com.", "_dmarc.mail.example.com")
	for _, want := range []string{"existing domain · DMARC quarantine", "_gent.mail.example.com", "gent-verification="} {
		if !strings.Contains(v, want) {
			t.Fatalf("records screen lacks %q:\n%s", want, v)
		}
	}
	var list models.List[models.Domain]
	d.MustStatus(200, "GET", "/v1/domains", org.Owner, nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].DMARCPolicy != models.DMARCQuarantine || list.Data[0].DomainUse != models.DomainUseExisting {
		t.Fatalf("domains: %+v", list.Data)
	}
	dom := list.Data[0]

	// c copies the zone snippet (OSC 52 on the terminal) and saves it.
	r.runes("c")
	path := filepath.Join(d.Config.DataDir, "mail.example.com.zone")
	r.wait("Copied the zone (OSC 52) and saved it as a file", "Zone file: "+path)
	zone := string(d.MustStatus(200, "GET", "/v1/domains/"+dom.ID+"/zone", org.Owner, nil).Body)
	if !strings.Contains(r.Term.String(), osc52(zone)) {
		t.Fatalf("the terminal did not receive the zone as OSC 52: %q", r.Term.String())
	}
	saved, err := os.ReadFile(path)
	if err != nil || string(saved) != zone {
		t.Fatalf("saved zone: %v\n%s", err, saved)
	}

	// Publish the saved file as it is, and verify now.
	if err := d.DNS.AddZone(string(saved)); err != nil {
		t.Fatal(err)
	}
	r.runes("v")
	v = r.wait("mail.example.com is verified: inboxes can be created on it.")
	if strings.Count(v, "✓ valid") != 6 || !strings.Contains(v, "✓ verified") {
		t.Fatalf("not every record valid:\n%s", v)
	}
	d.MustStatus(200, "GET", "/v1/domains/"+dom.ID, org.Owner, nil).JSON(t, &dom)
	if dom.Status != models.DomainVerified {
		t.Fatalf("status %s", dom.Status)
	}
	r.press(tea.KeyEsc)
	r.wait("1 domain · 1 verified", "✓ verified")
	r.press(tea.KeyEsc)
	r.wait("Domains        1   1 verified")

	// Adding it again returns the existing domain, unchanged.
	r.runes("d")
	r.wait("1 domain")
	r.runes("a")
	r.wait("Add a domain")
	r.typ("mail.example.com")
	r.press(tea.KeyEnter, tea.KeyRight, tea.KeyEnter, tea.KeyEnter)
	r.wait("mail.example.com was added before; its settings are unchanged.", "existing domain · DMARC quarantine")
	r.press(tea.KeyEsc)

	// The DMARC record disappears: v on the list checks again; degraded.
	d.DNS.Delete("_dmarc.mail.example.com", dns.TypeTXT)
	r.runes("v")
	r.wait("mail.example.com is degraded: 3 of 4 required records valid.", "… pending")
	r.press(tea.KeyEsc)
	r.wait("1 domain · 1 degraded", "! degraded")
	r.press(tea.KeyEsc)
	r.wait("Domains     !  1   1 degraded")

	// Delete: refused while an inbox uses the domain; n keeps it.
	d.DNS.SetTXT("_dmarc.mail.example.com", "v=DMARC1; p=quarantine")
	d.MustStatus(200, "POST", "/v1/domains/"+dom.ID+"/verify", org.Owner, nil).JSON(t, &dom)
	if dom.Status != models.DomainVerified {
		t.Fatalf("not verified again: %s", dom.Status)
	}
	d.Inbox(org, "agent@mail.example.com")
	r.runes("d")
	r.wait("✓ verified")
	r.press(tea.KeyEnter)
	r.wait("mail.example.com  ✓ verified")
	r.runes("d")
	r.wait("Delete mail.example.com?")
	r.runes("n")
	r.wait("v verify now")
	r.runes("d")
	r.wait("Delete mail.example.com?")
	r.runes("y")
	r.wait("✗ ", "inbox")
	d.MustStatus(200, "GET", "/v1/domains/"+dom.ID, org.Owner, nil)

	// A domain no inbox uses is deleted; the list and the API agree.
	other := d.addDomain(t, org.Owner, "other.example.com", false)
	r.press(tea.KeyEsc)
	r.runes("r")
	r.wait("2 domains")
	r.runes("jd")
	r.wait("Delete other.example.com?")
	r.runes("y")
	v = r.wait("Deleted other.example.com.", "1 domain ")
	if strings.Contains(v, "other.example.com  ") {
		t.Fatalf("deleted domain still listed:\n%s", v)
	}
	d.MustStatus(404, "GET", "/v1/domains/"+other.ID, org.Owner, nil)
}

func TestFlowInboxCreateAndDelete(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	d.addDomain(t, org.Owner, "pending.example.com", false)
	r.runes("i")
	r.wait("No inboxes yet")
	r.runes("a")
	v := r.wait("Local part", "mail.example.com")
	if strings.Contains(v, "pending.example.com") {
		t.Fatalf("an unverified domain is offered:\n%s", v)
	}
	r.typ("Support")
	r.press(tea.KeyTab, tea.KeyTab)
	r.typ("Support desk")
	r.press(tea.KeyEnter)
	v = r.wait("Created support@mail.example.com.", "1 inbox")
	if !strings.Contains(v, "› support@mail.example.com") || !strings.Contains(v, "Support desk") {
		t.Fatalf("new inbox not listed and selected:\n%s", v)
	}
	var ins models.List[models.Inbox]
	d.MustStatus(200, "GET", "/v1/inboxes", org.Owner, nil).JSON(t, &ins)
	if len(ins.Data) != 1 || ins.Data[0].Address != "support@mail.example.com" || ins.Data[0].DisplayName != "Support desk" {
		t.Fatalf("inboxes: %+v", ins.Data)
	}
	in := ins.Data[0]

	// The same address again is refused under the local part.
	r.runes("a")
	r.wait("Local part")
	r.typ("support")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.wait("✗ An inbox with this address already exists.")
	r.press(tea.KeyEsc)

	// t shows the inbox's tokens.
	tok := d.Token(org, in.ID, []string{models.ScopeEmailRead})
	r.runes("t")
	r.wait("Tokens of support@mail.example.com", tok.Label)
	r.press(tea.KeyEsc)
	r.press(tea.KeyEsc)
	r.wait("Inboxes        1   0 messages")
	r.runes("i")
	r.wait("1 inbox")

	// Delete, after a confirmation that says what goes with it.
	r.runes("d")
	r.wait("Delete support@mail.example.com?", "Every token of this inbox is revoked at once")
	r.runes("y")
	r.wait("Deleted support@mail.example.com; its tokens are revoked.", "No inboxes yet")
	d.MustStatus(404, "GET", "/v1/inboxes/"+in.ID, org.Owner, nil)
	var got models.Token
	d.MustStatus(200, "GET", "/v1/tokens/"+tok.ID, org.Owner, nil).JSON(t, &got)
	if got.Status != "revoked" {
		t.Fatalf("token of the deleted inbox: %s", got.Status)
	}
	d.MustStatus(401, "GET", "/v1/token", tok.Secret, nil)
}

var rawToken = regexp.MustCompile(`gent_[0-9A-Za-z]{36}`)

// whoAmI asks the daemon about a raw token.
func (d *daemon) whoAmI(t *testing.T, raw string) models.WhoAmI {
	t.Helper()
	var w models.WhoAmI
	d.MustStatus(200, "GET", "/v1/token", raw, nil).JSON(t, &w)
	return w
}

func TestFlowTokenWizardPresets(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	d.Inbox(org, "billing@mail.example.com")
	in := d.Inbox(org, "support@mail.example.com")
	r.runes("t")
	r.wait("No tokens yet")
	cases := []struct {
		key, label    string
		scopes, held  []string
		expiry        string
		expiresAround time.Duration
	}{
		{"1", "ops-agent-production", []string{"email:read", "email:send", "email:write", "files:read"}, nil, "", 0},
		{"2", "supervised-reply-agent", []string{"email:read", "email:send"}, []string{"email:send"}, "", 0},
		{"3", "triage-observer", []string{"email:read", "files:read", "contacts:read"}, nil, "30d", 30 * 24 * time.Hour},
	}
	for i, c := range cases {
		r.runes("a")
		r.wait("step 1 of 4: inbox")
		r.runes("j") // the second inbox: support@
		r.press(tea.KeyEnter)
		r.wait("step 2 of 4: label", "Inbox     support@mail.example.com")
		r.typ(c.label)
		r.press(tea.KeyEnter)
		r.wait("step 3 of 4: scopes")
		r.runes(c.key)
		r.press(tea.KeyEnter)
		r.wait("step 4 of 4: expiry")
		r.typ(c.expiry)
		r.press(tea.KeyEnter)
		v := r.wait("Store it now: it will not be shown again.", "Created "+c.label)
		raw := rawToken.FindString(v)
		if raw == "" {
			t.Fatalf("no token in the box:\n%s", v)
		}

		// The daemon made the token the preset describes.
		w := d.whoAmI(t, raw)
		if w.InboxID != in.ID || w.Label != c.label || !slices.Equal(w.Scopes, c.scopes) || !sameHeld(w.RequiresApproval, c.held) {
			t.Fatalf("preset %s: token %+v", c.key, w)
		}
		switch {
		case c.expiresAround == 0 && w.ExpiresAt != nil:
			t.Fatalf("preset %s expires %v", c.key, w.ExpiresAt)
		case c.expiresAround > 0 && (w.ExpiresAt == nil || time.Until(*w.ExpiresAt) < c.expiresAround-time.Minute || time.Until(*w.ExpiresAt) > c.expiresAround):
			t.Fatalf("preset %s expires %v, want in %s", c.key, w.ExpiresAt, c.expiresAround)
		}

		// enter leaves the box for the list; the value is gone.
		r.press(tea.KeyEnter)
		n := fmt.Sprintf("%d tokens · %d active", i+1, i+1)
		if i == 0 {
			n = "1 token · 1 active"
		}
		v = r.wait(n)
		if strings.Contains(v, raw) || !strings.Contains(v, "› "+c.label[:10]) {
			t.Fatalf("after the box:\n%s", v)
		}
	}
	// No screen kept any value, and esc goes back to the dashboard, not
	// to a box.
	r.press(tea.KeyEsc)
	v := r.wait("Tokens         3   3 active")
	if rawToken.MatchString(v) {
		t.Fatalf("a token value is on the dashboard:\n%s", v)
	}
	m := r.quit()
	for _, s := range m.stack {
		if _, ok := s.(*screens.TokenShown); ok || rawToken.MatchString(s.View()) {
			t.Fatalf("screen %q still shows a token", s.Title())
		}
	}
}

func sameHeld(got, want []string) bool {
	return len(got) == len(want) && (len(want) == 0 || slices.Equal(got, want))
}

func TestFlowTokenRotateRevoke(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	old := d.Token(org, in.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	r.runes("t")
	r.wait("1 token · 1 active")

	// n keeps the token as it is.
	r.runes("R")
	r.wait("Rotate " + old.Label + "?")
	r.runes("n")
	r.wait("R rotate")
	d.whoAmI(t, old.Secret)

	r.runes("R")
	r.wait("Rotate " + old.Label + "?")
	r.runes("y")
	v := r.wait("Rotated "+old.Label, "Store it now: it will not be shown again.", "previous value stopped working")
	raw := rawToken.FindString(v)
	if raw == "" || raw == old.Secret {
		t.Fatalf("no new value:\n%s", v)
	}
	d.MustStatus(401, "GET", "/v1/token", old.Secret, nil)
	if w := d.whoAmI(t, raw); !slices.Equal(w.RequiresApproval, []string{models.ScopeEmailSend}) {
		t.Fatalf("rotation lost the hold: %+v", w)
	}
	r.runes("c")
	r.wait("Copied the token to the clipboard (OSC 52).")
	if !strings.Contains(r.Term.String(), osc52(raw)) {
		t.Fatalf("the terminal did not receive the token as OSC 52")
	}
	r.press(tea.KeyEnter)
	v = r.wait("1 token · 1 active", "rotated 20")
	if strings.Contains(v, raw) {
		t.Fatalf("the value is still shown:\n%s", v)
	}

	r.runes("d")
	r.wait("Revoke " + old.Label + "?")
	r.runes("y")
	r.wait("Revoked "+old.Label+".", "1 token · 1 revoked", "✗ revoked")
	d.MustStatus(401, "GET", "/v1/token", raw, nil)

	// A revoked token is neither rotated nor revoked again.
	r.runes("R")
	r.wait(old.Label + " is revoked: it cannot be rotated.")
	r.runes("d")
	r.wait(old.Label + " is revoked: it cannot be revoked.")
}
