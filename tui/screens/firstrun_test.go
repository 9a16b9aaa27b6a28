package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func runeKey(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// The checklist's keys, with plain Update calls: each step's key opens its
// screen while the checklist shows; once done, the keys do nothing and the
// checklist is gone.
func TestFirstRunKeys(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	d := NewDashboard(c)
	d.SetSize(80, 20)
	sandbox := &models.Domain{ID: "dom_1", Name: "acme.sandbox.gent.localhost", Sandbox: true, Status: models.DomainVerified}
	d.Update(common.ResultMsg[firstRun]{Value: firstRun{Sandbox: sandbox}})
	// No reply was awaited: the stale result is dropped.
	if d.first != nil {
		t.Fatal("an unrequested checklist was taken")
	}
	d.first = &firstRun{Sandbox: sandbox}
	if v := d.View(); !strings.Contains(v, "· [1] Create a sandbox inbox (agent@acme.sandbox.gent.localhost)") {
		t.Fatalf("checklist not shown:\n%s", v)
	}
	push := func(k string) common.Component {
		t.Helper()
		_, cmd := d.Update(runeKey(k))
		if cmd == nil {
			t.Fatalf("%s did nothing", k)
		}
		p, ok := cmd().(common.PushMsg)
		if !ok {
			return nil
		}
		return p.Screen
	}
	if s, ok := push("1").(*InboxAdd); !ok || !s.sandbox {
		t.Fatalf("1 opened %T", s)
	}
	if s := push("2"); s != nil {
		t.Fatalf("2 without an inbox opened %T", s)
	}
	if _, ok := push("4").(*Approvals); !ok {
		t.Fatal("4 did not open the approvals")
	}
	d.first.Inbox = &models.Inbox{ID: "inb_1", Address: "agent@acme.sandbox.gent.localhost", Sandbox: true}
	if s, ok := push("2").(*TokenAdd); !ok || s.fixed == nil || s.fixed.ID != "inb_1" {
		t.Fatalf("2 opened %T", s)
	}
	if cmd := agentSendCommand("http://127.0.0.1:8080/", "inb_1"); !strings.HasPrefix(cmd, "curl -s http://127.0.0.1:8080/v1/inboxes/inb_1/messages/send ") {
		t.Fatalf("send command %q", cmd)
	}

	d.first.Token, d.first.Sent, d.first.Approved = true, true, true
	if v := d.View(); strings.Contains(v, "Get started") {
		t.Fatalf("a done checklist shows:\n%s", v)
	}
	if _, cmd := d.Update(runeKey("1")); cmd != nil {
		t.Fatal("1 still opens a screen once the checklist is done")
	}
}
