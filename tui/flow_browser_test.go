package tui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/daemon/server/servertest"
	"gent/models"
)

// inboundMail is a message from outside to the inbox.
func inboundMail(to, from, subject, text string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: Fri, 02 Jan 2026 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(strings.ToLower(subject), " ", "-") +
		"@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
}

// phish is inbound HTML mail whose link names another site than it goes
// to: suspicious, not quarantined.
func phish(to string) string {
	return "From: Billing <billing@example.net>\r\nTo: " + to + "\r\nSubject: Invoice overdue\r\n" +
		"Date: Fri, 02 Jan 2026 15:04:05 +0000\r\nMessage-ID: <invoice@example.net>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n" +
		`<p>Your invoice is overdue.</p><p>Pay at <a href="https://pay.example.org/x">https://billing.example.net</a>.</p>` + "\r\n"
}

// browserInbox is an inbox with mail in and out: two received messages
// (one suspicious), and one sent by an agent (queued: no delivery worker
// runs in the test daemon).
func browserInbox(t *testing.T, d *daemon, org servertest.Org) models.Inbox {
	t.Helper()
	d.addDomain(t, org.Owner, "mail.example.com", true)
	in := d.Inbox(org, "support@mail.example.com")
	d.Deliver(in, inboundMail(in.Address, "Ann <ann@example.net>", "Refund request", "Hello, I would like a refund for order 1042."))
	d.Deliver(in, phish(in.Address))
	tok := d.Token(org, in.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend})
	d.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", tok.Secret,
		models.SendRequest{To: models.AddressList{"bob@example.net"}, Subject: "Meeting notes", Text: "Notes attached."})
	return in
}

func TestGoldenInboxBrowser(t *testing.T) {
	d, org, r := signedIn(t)
	browserInbox(t, d, org)
	r.runes("i")
	r.wait("support@mail.example.com")
	r.press(tea.KeyEnter)
	r.goldenAs("threads", r.wait("Conversations, latest first", "Refund request", "Invoice overdue", "Meeting notes"))

	r.runes("/")
	r.wait("Search")
	r.typ("refund")
	r.goldenAs("search_form", r.wait("refund"))
	r.press(tea.KeyEnter)
	r.goldenAs("search", r.wait("Search: “refund”", "1 of 1"))

	r.press(tea.KeyEnter)
	r.goldenAs("message", r.wait("── Lifecycle", "received", "SPF none"))
	r.press(tea.KeyEsc)
	r.runes("x")
	r.wait("Conversations, latest first", "Meeting notes")

	// The sent message: its delivery per recipient and lifecycle.
	r.runes("g")
	r.press(tea.KeyEnter)
	r.wait("The messages of this conversation")
	r.press(tea.KeyEnter)
	// The Message-ID the daemon made is random.
	v := r.wait("── Delivery", "bob@example.net", "queued")
	r.goldenAs("sent", regexp.MustCompile(`\b[0-9a-z]{26}@mail`).ReplaceAllString(v, fixedID+"@mail"))
}

func TestFlowInboxBrowser(t *testing.T) {
	d, org, r := signedIn(t)
	in := browserInbox(t, d, org)
	// 50 more conversations: the first page is full and the oldest
	// three move to the second.
	for i := range 50 {
		d.Deliver(in, inboundMail(in.Address, "bulk@example.net", fmt.Sprintf("Bulk %02d", i), "Bulk mail."))
	}
	r.runes("i")
	r.wait("support@mail.example.com")
	r.press(tea.KeyEnter)
	v := r.wait("page 1", "older: n", "Bulk 49")
	if strings.Contains(v, "newer: p") {
		t.Fatalf("page 1 offers a newer page:\n%s", v)
	}
	r.runes("G")
	r.wait("50 of 50")
	r.runes("n")
	v = r.wait("page 2", "newer: p", "Refund request", "Invoice overdue")
	if strings.Contains(v, "older: n") || strings.Contains(v, "Bulk") {
		t.Fatalf("page 2 is not the last three conversations:\n%s", v)
	}
	r.runes("p")
	r.wait("page 1", "Bulk 49")

	// Search goes to the API's full-text search.
	r.runes("/")
	r.typ("overdue")
	r.press(tea.KeyEnter)
	v = r.wait("Search: “overdue”", "1 of 1", "Invoice overdue")
	if strings.Contains(v, "Refund") || strings.Contains(v, "Bulk") {
		t.Fatalf("search shows more than the match:\n%s", v)
	}
	r.press(tea.KeyEnter)
	v = r.wait("link_mismatch", "suspicious", "── Lifecycle", "received")
	if !strings.Contains(v, "Billing <billing@example.net>") {
		t.Fatalf("message view without its sender:\n%s", v)
	}
	r.press(tea.KeyEsc)
	r.runes("/")
	r.wait("› Search          overdue") // the last search, to edit
	r.press(tea.KeyCtrlU)
	r.typ("nothing-like-this")
	r.press(tea.KeyEnter)
	r.wait("Nothing matches “nothing-like-this”.")

	// A new message arrives while the browser is open: it shows without
	// a key.
	r.runes("x")
	r.wait("Conversations, latest first")
	d.Deliver(in, inboundMail(in.Address, "carol@example.net", "Live arrival", "Hi."))
	r.wait("Live arrival")
}
