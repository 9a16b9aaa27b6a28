package screens

import (
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func inboxes(addrs ...string) []models.Inbox {
	var out []models.Inbox
	for i, a := range addrs {
		out = append(out, models.Inbox{ID: "inb_" + string(rune('a'+i)), Address: a})
	}
	return out
}

// The list base: a change of the kind shown reloads and selects what it
// names; a failed delete flashes and keeps the list; a failed load
// replaces it.
func TestListReloadsSelectsAndReportsFailures(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewInboxes(c)
	s.SetSize(80, 20)
	s.Init() // request 1
	s.Update(common.ResultMsg[[]models.Inbox]{ID: 1, Value: inboxes("a@x.test", "b@x.test")})
	if !strings.Contains(s.View(), "› a@x.test") {
		t.Fatalf("first row not selected:\n%s", s.View())
	}

	if _, cmd := s.Update(ChangedMsg{Kind: kindDomains, ID: "dom_1"}); cmd != nil || s.req.Pending("list") {
		t.Fatal("a change of another kind reloaded the list")
	}
	if _, cmd := s.Update(ChangedMsg{Kind: kindInboxes, ID: "inb_c"}); cmd == nil || !s.req.Pending("list") {
		t.Fatal("a change of inboxes did not reload the list") // request 2
	}
	s.Update(common.ResultMsg[[]models.Inbox]{ID: 2, Value: inboxes("a@x.test", "b@x.test", "c@x.test")})
	if v := s.View(); !strings.Contains(v, "› c@x.test") || !strings.Contains(v, "3 inboxes") {
		t.Fatalf("the changed inbox is not selected:\n%s", v)
	}

	s.Update(runes("d"))
	if _, cmd := s.Update(runes("y")); cmd == nil || !s.req.Pending("delete") || s.Typing() { // request 3
		t.Fatal("y did not delete")
	}
	_, cmd := s.Update(common.ErrorMsg{ID: 3, Err: errors.New("refused")})
	if f, ok := cmd().(common.FlashMsg); !ok || !f.Error || f.Text != "Refused." {
		t.Fatalf("a failed delete did not flash: %#v", cmd())
	}
	if !strings.Contains(s.View(), "› c@x.test") {
		t.Fatalf("a failed delete replaced the list:\n%s", s.View())
	}

	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")}) // request 4
	if _, cmd := s.Update(common.ErrorMsg{ID: 4, Err: errors.New("unreachable")}); cmd != nil {
		t.Fatal("a failed load flashed")
	}
	if v := s.View(); !strings.Contains(v, "✗ Unreachable.") || !strings.Contains(v, "r to try again") {
		t.Fatalf("a failed load is not shown in place of the list:\n%s", v)
	}
}
