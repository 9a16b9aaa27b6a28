package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/miekg/dns"

	"gent/models"
)

// Golden screens of the domains, inboxes and tokens screens. Each test
// walks through a screen's states and compares each to
// testdata/<test>/<state>.golden.

func TestGoldenDomains(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("d")
	r.goldenAs("empty", r.wait("No domains yet"))

	d.addDomain(t, org.Owner, "mail.example.com", true)
	d.addDomain(t, org.Owner, "agents.example.com", false)
	r.runes("r")
	r.goldenAs("list", r.wait("2 domains · 1 verified · 1 pending"))

	r.runes("d")
	r.goldenAs("delete_confirm", r.wait("Delete mail.example.com?"))
	r.runes("n")
	r.wait("2 domains")
}

func TestGoldenDomainAdd(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("d")
	r.wait("No domains yet")
	r.runes("a")
	r.wait("Add a domain to Acme")
	r.typ("agents.example.com")
	r.press(tea.KeyTab, tea.KeyRight, tea.KeyTab)
	r.goldenAs("wizard", r.wait("reject, the default for a dedicated subdomain"))

	r.press(tea.KeyShiftTab, tea.KeyShiftTab, tea.KeyCtrlU)
	r.typ("not a domain")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.goldenAs("error", r.wait("✗ "))

	r.press(tea.KeyCtrlU)
	r.typ("agents.example.com")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.goldenAs("records", r.wait("Added agents.example.com", "Publish"))

	// Publish the records with a weaker DMARC policy than chosen, and check.
	var list models.List[models.Domain]
	d.MustStatus(200, "GET", "/v1/domains", org.Owner, nil).JSON(t, &list)
	d.publish(t, org.Owner, list.Data[0].ID)
	d.DNS.SetTXT("_dmarc.agents.example.com", "v=DMARC1; p=none")
	r.runes("v") // the first failing record is selected
	r.goldenAs("verify_result", r.wait("agents.example.com is pending", "weaker"))
	r.runes("kk")
	r.goldenAs("dkim_record", r.wait("k=rsa"))

	// The DMARC lookup fails: the record says why, and never counts.
	d.DNS.ServFail("_dmarc.agents.example.com")
	r.runes("v")
	r.goldenAs("lookup_error", r.wait("✗ servfail", "3 of 4 required"))
}

func TestGoldenInboxes(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("i")
	r.goldenAs("empty", r.wait("No inboxes yet"))
	r.runes("a")
	r.goldenAs("no_domain", r.wait("No verified domain yet"))
	r.press(tea.KeyEsc)

	d.addDomain(t, org.Owner, "mail.example.com", true)
	d.addDomain(t, org.Owner, "agents.example.com", true)
	d.addDomain(t, org.Owner, "pending.example.com", false)
	r.runes("a")
	r.wait("Local part")
	r.typ("support")
	r.press(tea.KeyTab, tea.KeyRight, tea.KeyTab)
	r.typ("Support agent")
	r.goldenAs("create", r.wait("support@agents.example.com"))

	r.press(tea.KeyShiftTab, tea.KeyShiftTab, tea.KeyCtrlU)
	r.typ("sup port")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.goldenAs("create_error", r.wait("✗ "))
	r.press(tea.KeyEsc)

	d.Inbox(org, "support@mail.example.com")
	d.Inbox(org, "billing@agents.example.com")
	r.runes("r")
	r.goldenAs("list", r.wait("2 inboxes"))
	r.runes("d")
	r.goldenAs("delete_confirm", r.wait("Delete support@mail.example.com?"))
}

func TestGoldenTokens(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	d.Inbox(org, "billing@mail.example.com")
	r.runes("t")
	r.goldenAs("empty", r.wait("No tokens yet"))

	r.runes("a")
	r.goldenAs("wizard_inbox", r.wait("Which inbox"))
	r.press(tea.KeyEnter)
	r.typ("supervised-reply-agent")
	r.goldenAs("wizard_label", r.wait("Label           supervised-reply-agent"))
	r.press(tea.KeyEnter)
	r.runes("2")
	r.goldenAs("wizard_scopes", r.wait("Preset: supervised send"))
	r.press(tea.KeyEnter)
	r.typ("yesterday")
	r.press(tea.KeyEnter)
	r.goldenAs("wizard_expiry_error", r.wait("not an expiry"))
	r.press(tea.KeyCtrlU)
	r.typ("30d")
	r.press(tea.KeyEnter)
	r.goldenAs("token_shown", r.wait("Store it now"))
	r.press(tea.KeyEnter)

	d.Token(org, in.ID, []string{models.ScopeEmailRead})
	r.runes("r")
	r.goldenAs("list", r.wait("2 tokens · 2 active"))
	r.runes("R")
	r.goldenAs("rotate_confirm", r.wait("Rotate supervised-reply-agent?"))
	r.runes("y")
	r.goldenAs("rotated", r.wait("Rotated supervised-reply-agent"))
	r.press(tea.KeyEsc)
	r.wait("2 tokens · 2 active") // the list reloaded after the rotation (it selects the rotated token)
	r.runes("j")
	r.runes("d")
	r.goldenAs("revoke_confirm", r.wait("Revoke test-email:read?"))
	r.runes("y")
	r.goldenAs("revoked", r.wait("1 revoked"))
}

func TestGoldenDashboardCounts(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	deg := d.addDomain(t, org.Owner, "agents.example.com", true)
	d.addDomain(t, org.Owner, "pending.example.com", false)
	d.DNS.Delete("_dmarc.agents.example.com", dns.TypeTXT)
	d.MustStatus(200, "POST", "/v1/domains/"+deg.ID+"/verify", org.Owner, nil)
	in := d.Inbox(org, "support@mail.example.com")
	d.Inbox(org, "billing@mail.example.com")
	d.Token(org, in.ID, []string{models.ScopeEmailRead})
	tok := d.Token(org, in.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	d.MustStatus(204, "DELETE", "/v1/tokens/"+tok.ID, org.Owner, nil)
	s := &supervised{d: d, org: org, inbox: in, token: tok}
	s.token = d.Token(org, in.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	s.hold(t, note("Meeting notes"))
	s.hold(t, note("Follow-up"))
	d.setUsage(t, in.ID, 900_000_000, 12)
	d.setCap(t, org.Owner, in.ID, 1, models.CapEnforce, 80, 95)
	r.runes("r")
	r.golden(r.wait("1 verified · 1 pending · 1 degraded", "2 active · 1 revoked", "2   waiting", "1 alert fired"))
}
