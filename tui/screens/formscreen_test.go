package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

func typeText(s common.Component, text string) {
	for _, r := range text {
		s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// The form base: enter on the last field submits once, keys wait while
// the call runs, a refusal shows under its field, esc cancels; on the
// sign-in screen esc is the form's and q is typed.
func TestFormScreenSubmitRefusalAndCancel(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	s := NewUserAdd(c)
	s.SetSize(80, 20)
	s.Init()
	typeText(s, "ann@acme.test")
	s.Update(tea.KeyMsg{Type: tea.KeyTab})
	typeText(s, "a long password")
	s.Update(tea.KeyMsg{Type: tea.KeyTab})
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd == nil || !s.req.Pending("create") { // request 1
		t.Fatal("enter on the last field did not submit")
	}
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd != nil {
		t.Fatal("a key was taken while the call runs")
	}
	refused := &client.APIError{Status: 422, Err: models.Invalid("email", "email is taken")}
	s.Update(common.ErrorMsg{ID: 1, Err: refused})
	if v := s.View(); !strings.Contains(v, "Email is taken.") || s.form.Focused() != "email" {
		t.Fatalf("the refusal is not under its field (focus %s):\n%s", s.form.Focused(), v)
	}
	if !s.Typing() {
		t.Fatal("a cancellable form does not take every key")
	}
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd == nil {
		t.Fatal("esc did not cancel")
	} else if _, ok := cmd().(common.PopMsg); !ok {
		t.Fatalf("esc: %#v", cmd())
	}

	l := NewLogin(c, "")
	l.SetSize(80, 20)
	l.Init()
	if _, cmd := l.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil {
		if _, ok := cmd().(common.PopMsg); ok {
			t.Fatal("esc closed the sign-in screen")
		}
	}
	typeText(l, "q@acme.test")
	if l.form.Value("email") != "q@acme.test" {
		t.Fatalf("email %q", l.form.Value("email"))
	}
}
