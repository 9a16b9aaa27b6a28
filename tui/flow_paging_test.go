package tui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// Against a real daemon, the approvals queue pages with the API's
// cursors, 50 to a page: n older, p newer; deciding the sends of the last
// page empties it and the page before shows.
func TestFlowApprovalsPaging(t *testing.T) {
	d, org, r := signedIn(t)
	s := d.supervised(t, org)
	for i := range 52 {
		s.hold(t, note(fmt.Sprintf("Bulk %02d", i)))
	}
	r.runes("a")
	v := r.wait("Page 1: 50 waiting for a decision · newest first · older: n", "n/p older/newer", "Bulk 51")
	if strings.Contains(v, "newer: p") {
		t.Fatalf("page 1 offers a newer page:\n%s", v)
	}
	r.runes("n")
	v = r.wait("Page 2: 2 waiting for a decision · newest first · newer: p", "Bulk 01", "Bulk 00")
	if strings.Contains(v, "older: n") || strings.Contains(v, "Bulk 02") {
		t.Fatalf("page 2 is not the oldest two:\n%s", v)
	}
	if !regexp.MustCompile(`(?m)^› .*Bulk 01`).MatchString(v) {
		t.Fatalf("page 2 does not start at its first row:\n%s", v)
	}
	r.runes("p")
	r.wait("Page 1: 50 waiting for a decision", "Bulk 51")
	r.runes("n")
	r.wait("Page 2: 2 waiting")

	// The other statuses start on their first page.
	r.runes("s")
	v = r.wait("(•) approved", "No approved sends.")
	if strings.Contains(v, "Page ") {
		t.Fatalf("another status kept the page:\n%s", v)
	}
	r.runes("sss") // rejected, expired, pending
	r.wait("(•) pending", "Page 1: 50 waiting")
	r.runes("n")
	r.wait("Page 2: 2 waiting", "Bulk 01")

	// Approve both sends of page 2: it empties, and page 1 is the whole
	// queue.
	for _, subject := range []string{"Bulk 01", "Bulk 00"} {
		r.runes("a")
		r.wait("Approve “" + subject + "”?")
		r.runes("y")
		r.wait("Approved “" + subject + "”")
	}
	v = r.wait("50 waiting for a decision · newest first · enter shows one in full", "Bulk 51")
	if strings.Contains(v, "Page ") || strings.Contains(v, "older/newer") {
		t.Fatalf("one page left, still paged:\n%s", v)
	}
}

// Against a real daemon with the sandbox on, captured mail pages with
// the API's cursors, 50 to a page.
func TestFlowCapturedPaging(t *testing.T) {
	d := startDNSDaemon(t, withSandbox)
	d.StartJobs()
	org := d.Setup()
	var inboxes models.List[models.Inbox]
	d.MustStatus(201, "POST", "/v1/inboxes", org.Owner, models.CreateInboxRequest{Address: "agent@acme.sandbox.gent.localhost"})
	d.MustStatus(200, "GET", "/v1/inboxes", org.Owner, nil).JSON(t, &inboxes)
	in := inboxes.Data[0]
	agent := d.Token(org, in.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend})
	for i := range 52 {
		d.MustStatus(202, "POST", "/v1/inboxes/"+in.ID+"/messages/send", agent.Secret, models.SendRequest{
			To: models.AddressList{fmt.Sprintf("r%02d@example.com", i)}, Subject: fmt.Sprintf("Bulk %02d", i), Text: "A test message."})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var l models.List[models.CapturedMessage]
		d.MustStatus(200, "GET", "/v1/captured?limit=100", org.Owner, nil).JSON(t, &l)
		if len(l.Data) == 52 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 52 sends captured", len(l.Data))
		}
		time.Sleep(100 * time.Millisecond)
	}
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, d, withConfigDir(dir))
	r.wait("Recent activity")
	r.runes("C")
	v := r.wait("Page 1: 50 messages · newest first · older: n", "n/p older/newer")
	if strings.Contains(v, "newer: p") {
		t.Fatalf("page 1 offers a newer page:\n%s", v)
	}
	r.runes("n")
	v = r.wait("Page 2: 2 messages · newest first · newer: p")
	if strings.Contains(v, "older: n") || strings.Count(v, "@example.com") != 2 {
		t.Fatalf("page 2 is not the oldest two:\n%s", v)
	}
	r.press(tea.KeyEnter)
	r.wait("this message was not sent", "DKIM-Signature:")
	r.press(tea.KeyEsc)
	r.wait("Page 2: 2 messages") // back on its page
	r.runes("p")
	r.wait("Page 1: 50 messages")
}
