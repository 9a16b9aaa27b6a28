package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// TestGoldenSandbox walks the first-run checklist against a real daemon
// with the sandbox on: each step one key away (1 the inbox form with the
// sandbox chosen, 3 copies the agent's send, 4 the approvals), the
// checklist gone once the held send is approved, the Captured screen and
// a captured message with its raw bytes, and the sandbox marked on the
// domains and inboxes screens.
func TestGoldenSandbox(t *testing.T) {
	d := startDNSDaemon(t, withSandbox)
	d.StartJobs()
	org := d.Setup()
	dir := t.TempDir()
	d.saveSession(t, dir, org.Owner, org.OwnerEmail)
	r := startTUI(t, d, withConfigDir(dir))
	r.goldenAs("checklist", r.wait("Get started", "· [1] Create a sandbox inbox", "Recent activity"))

	r.runes("1")
	r.goldenAs("inbox_form", r.wait("New inbox", "acme.sandbox.gent.localhost (sandbox: nothing leaves)"))
	r.typ("agent")
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.wait("Created agent@acme.sandbox.gent.localhost.", "✓ [1]")

	var inboxes models.List[models.Inbox]
	d.MustStatus(200, "GET", "/v1/inboxes", org.Owner, nil).JSON(t, &inboxes)
	inbox := inboxes.Data[0]
	agent := d.Token(org, inbox.ID, []string{models.ScopeEmailRead, models.ScopeEmailSend}, models.ScopeEmailSend)
	r.runes("r")
	r.wait("✓ [2]", "· [3]")

	r.runes("3")
	r.wait("Copied the agent's send")
	if !strings.Contains(r.Term.String(), "\x1b]52;c;") {
		t.Fatalf("3 wrote no OSC 52 copy: %q", r.Term.String())
	}
	d.MustStatus(202, "POST", "/v1/inboxes/"+inbox.ID+"/messages/send", agent.Secret, models.SendRequest{
		To: models.AddressList{"ada@example.com"}, Subject: "Hello from my agent", Text: "A test message."})
	r.goldenAs("checklist_sent", r.wait("✓ [3]", "· [4]"))

	r.runes("4")
	r.wait("1 waiting for a decision", "Hello from my agent")
	r.runes("a")
	r.wait("Approve “Hello from my agent”?")
	r.runes("y")
	r.wait("Approved “Hello from my agent”")
	r.press(tea.KeyEsc)
	v := r.wait("[C]  Captured       1")
	if strings.Contains(v, "Get started") {
		t.Fatalf("the checklist stayed once done:\n%s", v)
	}
	r.goldenAs("dashboard_done", v)

	r.runes("C")
	r.goldenAs("captured", r.wait("1 message · sandbox: kept here, never sent", "ada@example.com"))
	r.press(tea.KeyEnter)
	r.goldenAs("captured_detail", r.wait("this message was not sent", "DKIM-Signature:"))
	r.runes("G")
	r.wait("A test message.")

	r.press(tea.KeyEsc, tea.KeyEsc)
	r.runes("d")
	r.goldenAs("domains", r.wait("acme.sandbox.gent.localh", "sandbox", "no DNS needed"))
	r.press(tea.KeyEnter)
	r.wait("Your sandbox: verified without DNS")
	r.press(tea.KeyEsc, tea.KeyEsc)
	r.runes("i")
	r.wait("agent@acme.sandbox.gent.localhost", "(sandbox)")
}
