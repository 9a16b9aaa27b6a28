package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// Against a real daemon: a send held and a message quarantined while the
// reviewer is elsewhere ring the bell and say so in the status line, with
// the subject and who sent it; on the screen that lists them they just
// appear there. Goldens of the notice and of a list's / filter at 80×24.
func TestFlowNoticesElsewhere(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	in := s.inbox
	bells := func() int { return strings.Count(r.Term.String(), bell) }

	s.hold(t, note("Meeting notes"))
	r.goldenAs("held_notice", r.wait("! New held send “Meeting notes” from supervised-reply-agent.", "!  1   waiting for a decision"))
	if bells() != 1 {
		t.Fatalf("%d bells for a held send", bells())
	}
	d.Deliver(in, injection(in.Address, "Schedule"))
	r.wait("! Message quarantined “Schedule” from mallory@evil.test.")
	if bells() != 2 {
		t.Fatalf("%d bells after a quarantined message", bells())
	}

	// On the approvals screen a held send shows in the queue: no bell.
	r.runes("a")
	r.wait("1 waiting for a decision")
	s.hold(t, note("Invoice reminder"))
	v := r.wait("2 waiting for a decision", "Invoice reminder")
	if bells() != 2 || strings.Contains(v, "New held send") {
		t.Fatalf("a bell or notice on the approvals screen (%d bells):\n%s", bells(), v)
	}
	// … but a quarantined message still rings there.
	d.Deliver(in, injection(in.Address, "Agenda"))
	r.wait("! Message quarantined “Agenda”")
	if bells() != 3 {
		t.Fatalf("%d bells after a message quarantined while on approvals", bells())
	}

	// / filters the queue; q is typed into the filter, not taken for quit.
	r.runes("/")
	r.typ("invq")
	r.press(tea.KeyBackspace)
	r.goldenAs("approvals_filter", r.wait("/inv", "1 of 2", "Invoice reminder"))
	r.press(tea.KeyEsc)
	v = r.wait("2 waiting for a decision", "Meeting notes")
	if r.p.m.top().Title() != "Approvals" {
		t.Fatalf("esc in the filter left the screen: %s", r.p.m.top().Title())
	}
	r.runes("q")
	r.quit()
}
