package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/daemon/config"
	"gent/models"
)

// Flows of the approvals and caps screens, and the live updates, against
// a real daemon: sends held by a supervised token (the product page's
// body), decided in the TUI, checked through the API.

func (s *supervised) approval(t *testing.T, id string) models.ApprovalDetail {
	t.Helper()
	var a models.ApprovalDetail
	s.d.MustStatus(200, "GET", "/v1/approvals/"+id, s.org.Owner, nil).JSON(t, &a)
	return a
}

// message is the held message as its agent sees it.
func (s *supervised) message(t *testing.T, id string) models.SentMessage {
	t.Helper()
	var m models.SentMessage
	s.d.MustStatus(200, "GET", "/v1/inboxes/"+s.inbox.ID+"/messages/"+id, s.token.Secret, nil).JSON(t, &m)
	return m
}

func TestFlowApproveAndReject(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	first := s.hold(t, refund())
	second := s.hold(t, note("Meeting notes"))
	r.runes("a")
	r.wait("2 waiting for a decision")

	// The detail shows the message as it will be sent.
	r.runes("j")
	r.press(tea.KeyEnter)
	v := r.wait("Digest", "lines 1–")
	for _, want := range []string{"To         Ann <ann@example.net>", "Cc         billing@example.net", "Bcc        audit@example.net",
		"Files      receipt.txt · text/plain · 8 B", "Headers    X-Ticket: T-1042", "Agent      supervised-reply-agent",
		"Held for   token_requires_approval"} {
		if !strings.Contains(v, want) {
			t.Fatalf("detail lacks %q:\n%s", want, v)
		}
	}
	// The body scrolls under the headers (the hold reasons take a line).
	r.press(tea.KeyDown)
	r.press(tea.KeyDown)
	r.wait("We have refunded your order in full.")
	if want := s.approval(t, first.ApprovalID).Digest; !strings.Contains(v, want) {
		t.Fatalf("detail lacks the digest %s:\n%s", want, v)
	}
	r.runes("G")
	r.wait("We have refunded your order & shipping.", "See our policy <https://example.com/refunds>.")

	// a, then n, changes nothing; a, then y, approves it and it leaves.
	r.runes("a")
	r.wait("Approve “Your refund”?")
	r.runes("n")
	r.wait("lines ")
	if a := s.approval(t, first.ApprovalID); a.Status != models.ApprovalPending {
		t.Fatalf("n approved it: %s", a.Status)
	}
	r.runes("a")
	r.wait("Approve “Your refund”?")
	r.runes("y")
	v = r.wait("Approved “Your refund”: it is queued for delivery.", "1 waiting for a decision")
	if strings.Contains(v, "Your refund  ") || r.p.m.top().Title() != "Approvals" {
		t.Fatalf("the approved send is still shown:\n%s", v)
	}
	a := s.approval(t, first.ApprovalID)
	if a.Status != models.ApprovalApproved || a.Edited || a.DecidedBy != org.OwnerID {
		t.Fatalf("approval %+v", a.Approval)
	}
	if m := s.message(t, first.ID); m.Status == "pending_approval" || m.Approval == nil || m.Approval.Status != models.ApprovalApproved {
		t.Fatalf("message after approval: %s %+v", m.Status, m.Approval)
	}

	// r asks for a reason; it is required; the agent sees it.
	r.runes("r")
	r.wait("Reject “Meeting notes”?")
	r.press(tea.KeyEnter)
	r.wait("✗ A reason is required: the agent is told why.")
	if a := s.approval(t, second.ApprovalID); a.Status != models.ApprovalPending {
		t.Fatalf("rejected without a reason: %s", a.Status)
	}
	r.typ("Do not promise refunds; escalate to billing.")
	r.press(tea.KeyEnter)
	r.wait("Rejected “Meeting notes”; the agent is told why.", "Nothing waits for a decision")
	a = s.approval(t, second.ApprovalID)
	if a.Status != models.ApprovalRejected || a.Reason != "Do not promise refunds; escalate to billing." {
		t.Fatalf("rejection %+v", a.Approval)
	}
	if m := s.message(t, second.ID); m.Status != "rejected" || m.Approval.Reason != a.Reason {
		t.Fatalf("message after rejection: %s %+v", m.Status, m.Approval)
	}

	// The other views list them.
	r.runes("s")
	r.wait("(•) approved", "1 approved", "Your refund")
	r.runes("s")
	v = r.wait("(•) rejected", "1 rejected", "✗ rejected")
	if !strings.Contains(v, "Do not promise refunds") {
		t.Fatalf("the reason is not shown:\n%s", v)
	}
	// Only pending sends can be decided.
	r.runes("a")
	r.wait("“Meeting notes” is rejected: only pending sends can be decided.")

	// In the inbox's mail, the rejected send reads rejected, not sent:
	// its state and its label.
	r.press(tea.KeyEsc)
	r.runes("i")
	r.wait("support@mail.example.com")
	r.press(tea.KeyEnter)
	r.wait("Conversations, latest first", "Meeting notes", "Your refund")
	r.runes("g")
	r.press(tea.KeyEnter)
	v = r.wait("The messages of this conversation", "✗ rejected")
	r.press(tea.KeyEnter)
	v = r.wait("Meeting notes", "✗ rejected", "Labels      rejected")
	if strings.Contains(v, "sent,") || strings.Contains(v, "Labels      sent") {
		t.Fatalf("a rejected send is labelled sent:\n%s", v)
	}
	// The approved one lists its attachment.
	r.press(tea.KeyEsc)
	r.press(tea.KeyEsc)
	r.wait("Conversations, latest first")
	r.runes("j")
	r.press(tea.KeyEnter)
	r.wait("The messages of this conversation", "Your refund")
	r.press(tea.KeyEnter)
	r.wait("Labels      sent", "Files       receipt.txt · text/plain · 8 B")
}

func TestFlowEditThenApprove(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	held := s.hold(t, refund())
	r.runes("a")
	r.wait("1 waiting for a decision")
	r.runes("e")
	r.wait("then approve it", "HTML part")

	// A bad address is refused by the daemon, under To.
	r.press(tea.KeyCtrlU)
	r.typ("Ann <ann@example.net>, nobody@")
	r.press(tea.KeyCtrlS)
	r.wait("as shown?")
	r.runes("y")
	r.wait("✗ ", "nobody@")
	if a := s.approval(t, held.ApprovalID); a.Status != models.ApprovalPending {
		t.Fatalf("approved with a bad address: %s", a.Status)
	}

	r.press(tea.KeyCtrlU)
	r.typ("Ann <ann@example.net>")
	r.press(tea.KeyTab, tea.KeyCtrlU) // remove the Cc
	r.press(tea.KeyTab, tea.KeyTab, tea.KeyCtrlU)
	r.typ("Your refund is on its way")
	r.press(tea.KeyTab, tea.KeyCtrlE) // to the end of the text's first line
	r.typ(" Thank you.")
	r.press(tea.KeyEnter)
	r.typ("P.S. no fees.")
	r.press(tea.KeyTab, tea.KeyRight) // drop the HTML part
	r.press(tea.KeyCtrlS)
	// A final look before it goes: nothing is approved until y.
	r.wait("as shown?", "Cc:      (none: removed)", "Changed: Cc, subject, text, HTML part dropped.")
	if a := s.approval(t, held.ApprovalID); a.Status != models.ApprovalPending {
		t.Fatalf("approved before the final look: %s", a.Status)
	}
	r.runes("y")
	r.wait("Approved “Your refund is on its way” as edited: it is queued for delivery.", "Nothing waits for a decision")

	a := s.approval(t, held.ApprovalID)
	m := a.Message
	if a.Status != models.ApprovalApproved || !a.Edited || m.Subject != "Your refund is on its way" || m.HTML != "" ||
		len(m.To) != 1 || m.To[0].Address != "ann@example.net" || len(m.Cc) != 0 || len(m.Bcc) != 1 ||
		!strings.HasPrefix(m.Text, "Hi Ann, Thank you.\nP.S. no fees.\n") {
		t.Fatalf("edited send %+v\n%+v", a.Approval, m)
	}
}

// A send decided elsewhere, or expired, is refused with 409 and the
// reason is shown in the status line; the TUI carries on.
func TestFlowApprovalConflicts(t *testing.T) {
	d := startDNSDaemon(t, func(c *config.Config) { c.Approvals.ExpireAfter = config.Duration(time.Second) })
	org := d.Setup()
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, d, withConfigDir(dir))
	r.wait("Recent activity")
	s := d.supervised(t, org)

	late := s.hold(t, note("Too late"))
	r.runes("a")
	r.wait("1 waiting for a decision")
	time.Sleep(1100 * time.Millisecond) // past its expiry; the expiry job is not running
	r.runes("a")
	r.wait("Approve “Too late”?")
	r.runes("y")
	r.wait("✗ The approval has expired; the message was not sent.", "Nothing waits for a decision")
	if a := s.approval(t, late.ApprovalID); a.Status != models.ApprovalExpired {
		t.Fatalf("expired send: %s", a.Status)
	}

	// Rejected by someone else while this reviewer types a reason.
	other := s.hold(t, note("Contested"))
	r.wait("1 waiting for a decision")
	r.press(tea.KeyEnter)
	r.wait("Contested", "Digest")
	r.runes("r")
	r.wait("Reject “Contested”?")
	r.typ("Wrong tone")
	d.MustStatus(200, "POST", "/v1/approvals/"+other.ApprovalID+"/reject", org.Owner, models.RejectRequest{Reason: "Someone was faster"})
	r.press(tea.KeyEnter)
	v := r.wait("✗ The approval was already decided: rejected.", "✗ rejected")
	if !strings.Contains(v, "Someone was faster") {
		t.Fatalf("the detail does not show the decision:\n%s", v)
	}
	if a := s.approval(t, other.ApprovalID); a.Reason != "Someone was faster" {
		t.Fatalf("reason %q", a.Reason)
	}
	r.runes("q")
	r.quit()
}

// New held sends appear in the queue and on the dashboard by themselves,
// through the event stream; decided ones leave.
func TestFlowApprovalsLive(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	r.wait("Approvals      0")
	held := s.hold(t, note("Live one"))
	r.wait("[a]  Approvals   !  1   waiting for a decision")

	r.runes("a")
	r.wait("1 waiting for a decision", "Live one")
	s.hold(t, note("Live two"))
	r.wait("2 waiting for a decision", "Live two")
	d.MustStatus(200, "POST", "/v1/approvals/"+held.ApprovalID+"/approve", org.Owner, nil)
	v := r.wait("1 waiting for a decision")
	if strings.Contains(v, "Live one") {
		t.Fatalf("a send approved elsewhere is still listed:\n%s", v)
	}
	r.press(tea.KeyEsc)
	r.wait("[a]  Approvals   !  1   waiting for a decision")
}

func TestFlowCapEdit(t *testing.T) {
	d, org, r := signedIn(t)
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	d.setUsage(t, in.ID, 1_800_000_000, 10)
	r.runes("c")
	r.wait("1 inbox · 0 capped", "no limit, no alerts")

	// Set a cap: 2.5 GB, allow and bill, alerts at 50 and 90: the 50%
	// alert fires at once.
	r.runes("e")
	r.wait("Storage cap of support@mail.example.com")
	r.typ("2.5")
	r.press(tea.KeyTab, tea.KeyRight, tea.KeyTab, tea.KeyCtrlU)
	r.typ("50, 90")
	r.press(tea.KeyEnter)
	v := r.wait("Cap saved: 2.3 GiB (2.5 GB), allow and bill, alerts at 50%, 90%.", "1 capped")
	if !strings.Contains(v, "! 50% fired") || !strings.Contains(v, "90% armed") || !strings.Contains(v, "1.7 GiB of 2.3 GiB (2.5 GB) · 72%") {
		t.Fatalf("caps list after set:\n%s", v)
	}
	var mc models.MailboxCap
	d.MustStatus(200, "GET", "/v1/billing/caps/mailbox/"+in.ID, org.Owner, nil).JSON(t, &mc)
	if mc.Cap == nil || mc.Cap.LimitBytes != 2_500_000_000 || mc.Cap.Mode != models.CapAllowAndBill ||
		len(mc.Cap.AlertThresholds) != 2 || mc.Alerts[0].State != models.AlertFired {
		t.Fatalf("cap %+v %+v", mc.Cap, mc.Alerts)
	}
	r.press(tea.KeyEsc)
	r.wait("[c]  Caps        !  1   1 alert fired · 1 of 1 capped") // the dashboard counted again
	r.runes("c")
	r.wait("1 inbox · 1 capped")

	// The daemon's 422 shows under the field it names; nothing changes.
	r.runes("e")
	r.wait("Current cap: 2.3 GiB (2.5 GB)")
	r.press(tea.KeyCtrlU)
	r.typ("-1")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	v = r.wait("✗ Limit (GB) must be a positive number")
	if i, j := strings.Index(v, "Limit (GB)"), strings.Index(v, "✗ Limit (GB)"); j < i || j > strings.Index(v, "Mode ") {
		t.Fatalf("the error is not under the limit:\n%s", v)
	}
	r.press(tea.KeyCtrlU)
	r.typ("ten")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.wait(`✗ "ten" is not a number of GB`)
	r.press(tea.KeyCtrlU)
	r.typ("2")
	r.press(tea.KeyTab, tea.KeyTab, tea.KeyCtrlU)
	r.typ("80, 80")
	r.press(tea.KeyEnter)
	v = r.wait("✗ Alert threshold 80 is listed twice.")
	if strings.Index(v, "✗ Alert threshold") < strings.Index(v, "Alerts at") {
		t.Fatalf("the error is not under the thresholds:\n%s", v)
	}
	d.MustStatus(200, "GET", "/v1/billing/caps/mailbox/"+in.ID, org.Owner, nil).JSON(t, &mc)
	if mc.Cap.LimitBytes != 2_500_000_000 {
		t.Fatalf("a refused edit changed the cap: %+v", mc.Cap)
	}
	r.press(tea.KeyEsc)
	r.wait("1 inbox · 1 capped")

	// Remove it, after a confirmation.
	r.runes("d")
	r.wait("Remove the cap of support@mail.example.com?")
	r.runes("y")
	r.wait("Removed the cap of support@mail.example.com: it may grow without limit.", "0 capped")
	d.MustStatus(200, "GET", "/v1/billing/caps/mailbox/"+in.ID, org.Owner, nil).JSON(t, &mc)
	if mc.Cap != nil {
		t.Fatalf("cap still set: %+v", mc.Cap)
	}
	r.press(tea.KeyEsc)
	r.wait("Caps           0   no caps: inboxes may grow without limit") // counted again
}

// The event stream runs while someone is signed in, and stops on sign-out
// and on quit.
func TestFlowStreamStops(t *testing.T) {
	d, org, r := signedIn(t)
	streams := func() int { return d.Events.Streams() }
	waitStreams := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for streams() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d event streams open, want %d", streams(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitStreams(1)
	r.runes("X")
	r.wait("Sign in to Gent", "Signed out.")
	waitStreams(0)

	r.wait("Email           " + org.OwnerEmail) // kept; the password has the focus
	r.typ(password)
	r.press(tea.KeyEnter)
	r.wait("Recent activity")
	waitStreams(1)
	r.runes("q")
	r.quit()
	waitStreams(0)
}
