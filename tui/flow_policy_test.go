package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

func TestGoldenPolicy(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	d.Inbox(org, "support@mail.example.com")
	r.runes("i")
	r.wait("support@mail.example.com")
	r.runes("P")
	r.goldenAs("inbox", r.wait("Sending policy of support@mail.example.com", "Quarantine at"))

	// The daemon's 422 goes under the field it names.
	r.press(tea.KeyTab, tea.KeyTab, tea.KeyTab, tea.KeyTab)
	r.typ("ok.example, a@@b")
	r.press(tea.KeyCtrlS)
	r.goldenAs("inbox_error", r.wait("✗ Block list: not an email address"))
	r.press(tea.KeyEsc)
	r.wait("Display name")
	r.press(tea.KeyEsc)
	r.wait("Recent activity")

	r.runes("P")
	r.goldenAs("org", r.wait("Sending policy of Acme", "Block list"))
	r.press(tea.KeyRight, tea.KeyCtrlS)
	r.goldenAs("paused", r.wait("Saved: sending is paused for the whole organization.", "SENDING PAUSED for the whole organization"))
}

func TestFlowPolicy(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	r.runes("i")
	r.wait("support@mail.example.com")
	r.runes("P")
	r.wait("Sending policy of support@mail.example.com", "Quarantine at")

	// First contact: hold; a block list with a bad entry, refused under
	// its field; a budget that is not a number, refused here.
	r.press(tea.KeyTab)
	r.press(tea.KeyRight)
	r.press(tea.KeyTab, tea.KeyTab, tea.KeyTab)
	r.typ("spam.example, a@@b")
	r.press(tea.KeyTab)
	r.typ("10")
	r.press(tea.KeyTab)
	r.typ("ten")
	r.press(tea.KeyCtrlS)
	r.wait("✗ Per day must be a whole number, not \"ten\".")
	r.press(tea.KeyCtrlU)
	r.press(tea.KeyCtrlS)
	v := r.wait("✗ Block list: not an email address")
	if !strings.Contains(v, "› Block list") {
		t.Fatalf("the focus is not on the field in error:\n%s", v)
	}
	r.press(tea.KeyCtrlU)
	r.typ("spam.example")
	r.press(tea.KeyCtrlS)
	r.wait("Saved the policy of support@mail.example.com.", "Address")

	var p models.InboxPolicy
	d.MustStatus(200, "GET", "/v1/inboxes/"+in.ID+"/policy", org.Owner, nil).JSON(t, &p)
	if p.FirstContact != "hold" || len(p.Recipients.Block) != 1 || p.Recipients.Block[0] != "spam.example" ||
		p.Budget.PerHour == nil || *p.Budget.PerHour != 10 || p.Budget.PerDay != nil || p.Screening.QuarantineAt != 70 || !p.LoopGuard {
		t.Fatalf("policy as saved: %+v", p)
	}

	// Opened again, the form shows what was saved.
	r.runes("P")
	v = r.wait("Sending policy of support@mail.example.com", "spam.example")
	if !strings.Contains(v, "(•) hold") {
		t.Fatalf("first contact not shown as hold:\n%s", v)
	}
	r.press(tea.KeyEsc)
	r.wait("Display name")
	r.press(tea.KeyEsc)

	// The organization's pause: the banner shows on every screen.
	r.wait("Recent activity")
	r.runes("P")
	r.wait("Sending policy of Acme")
	r.press(tea.KeyRight, tea.KeyCtrlS)
	r.wait("SENDING PAUSED for the whole organization", "Recent activity")
	var op models.OrgPolicy
	d.MustStatus(200, "GET", "/v1/policy", org.Owner, nil).JSON(t, &op)
	if !op.SendingPaused {
		t.Fatalf("organization not paused: %+v", op)
	}
	r.runes("a")
	r.wait("SENDING PAUSED for the whole organization", "Approvals")
	r.press(tea.KeyEsc)

	// Resumed elsewhere: the banner goes without a key.
	d.MustStatus(200, "PUT", "/v1/policy", org.Owner, models.OrgPolicy{Block: []string{}})
	r.waitGone("SENDING PAUSED")

	// One inbox paused elsewhere: the banner names it.
	p.SendingPaused = true
	p.UpdatedAt = nil
	d.MustStatus(200, "PUT", "/v1/inboxes/"+in.ID+"/policy", org.Owner, p)
	r.wait("SENDING PAUSED for support@mail.example.com")
}

// waitGone waits until the screen no longer shows s.
func (r *tui) waitGone(s string) string {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := r.wait()
		if !strings.Contains(v, s) {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("screen still shows %q:\n%s", s, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
