package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/daemon/server/servertest"
	"gent/models"
)

// supervised is an inbox on a verified domain with the product page's
// supervised token: its sends are held for approval.
type supervised struct {
	d     *daemon
	org   servertest.Org
	inbox models.Inbox
	token models.TokenSecret
}

func (d *daemon) supervised(t *testing.T, org servertest.Org) *supervised {
	t.Helper()
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	var tok models.TokenSecret
	d.MustStatus(201, "POST", "/v1/tokens", org.Owner, strings.Replace(`{
  "inbox_id": "inb_123",
  "label": "supervised-reply-agent",
  "scopes": ["email:read", "email:send"],
  "requires_approval": ["email:send"]
}`, "inb_123", in.ID, 1)).JSON(t, &tok)
	return &supervised{d: d, org: org, inbox: in, token: tok}
}

// hold sends req with the supervised token: 202, pending_approval.
func (s *supervised) hold(t *testing.T, req models.SendRequest) models.SendResponse {
	t.Helper()
	var r models.SendResponse
	s.d.MustStatus(202, "POST", "/v1/inboxes/"+s.inbox.ID+"/messages/send", s.token.Secret, req).JSON(t, &r)
	if r.Status != "pending_approval" || r.ApprovalID == "" {
		t.Fatalf("not held: %+v", r)
	}
	return r
}

// refund is a held send with every part the detail shows.
func refund() models.SendRequest {
	return models.SendRequest{
		To: models.AddressList{"Ann <ann@example.net>"}, Cc: models.AddressList{"billing@example.net"},
		Bcc: models.AddressList{"audit@example.net"}, Subject: "Your refund",
		Text:        "Hi Ann,\n\nWe have refunded your order in full.\n\nSupport",
		HTML:        `<p>Hi Ann,</p><p>We have <b>refunded</b> your order &amp; shipping.</p><p>See <a href="https://example.com/refunds">our policy</a>.</p>`,
		Attachments: []models.SendAttachment{{Filename: "receipt.txt", ContentType: "text/plain", ContentBase64: "cmVmdW5kZWQ="}},
		Headers:     map[string]string{"X-Ticket": "T-1042"},
	}
}

func note(subject string) models.SendRequest {
	return models.SendRequest{To: models.AddressList{"bob@example.net"}, Subject: subject, Text: "Noted."}
}

func TestGoldenApprovals(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	r.runes("a")
	r.goldenAs("empty", r.wait("Nothing waits for a decision"))

	s.hold(t, refund())
	s.hold(t, note("Meeting notes"))
	r.goldenAs("queue", r.wait("2 waiting for a decision", "Meeting notes", "Your refund"))

	r.runes("j")
	r.press(tea.KeyEnter)
	r.goldenAs("detail", r.wait("Digest", "lines 1–"))
	r.runes("G")
	r.goldenAs("detail_end", r.wait("our policy <https://example.com/refunds>"))

	r.runes("r")
	r.goldenAs("reject_prompt", r.wait("Reject “Your refund”?"))
	r.press(tea.KeyEnter)
	r.goldenAs("reject_required", r.wait("A reason is required"))
	r.press(tea.KeyEsc)

	r.runes("e")
	r.goldenAs("edit_form", r.wait("then approve it", "HTML part"))
	r.press(tea.KeyCtrlU)
	r.typ("ann@")
	r.press(tea.KeyCtrlS)
	r.goldenAs("edit_review", r.wait("as shown?", "Cc:      billing@example.net"))
	r.runes("y")
	r.goldenAs("edit_error", r.wait("✗ "))
	r.press(tea.KeyEsc, tea.KeyEsc)

	// Decided elsewhere while the confirmation is open: the daemon
	// answers 409, shown in the status line.
	r.wait("2 waiting for a decision")
	r.runes("ga")
	r.wait("Approve “Meeting notes”?")
	var q models.List[models.Approval]
	d.MustStatus(200, "GET", "/v1/approvals?status=pending", org.Owner, nil).JSON(t, &q)
	d.MustStatus(200, "POST", "/v1/approvals/"+q.Data[0].ID+"/approve", org.Owner, nil)
	r.wait("1 waiting for a decision")
	r.runes("y")
	r.goldenAs("conflict", r.wait("✗ The approval was already decided: approved."))

	r.runes("s")
	r.goldenAs("approved", r.wait("1 approved"))
}
