package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

// usersShown is the users screen for role with owner@, ada@ (admin) and
// the signed-in user (usr_me) listed.
func usersShown(t *testing.T, role string) *Users {
	t.Helper()
	c := newCommon(t, role)
	s := NewUsers(c)
	s.SetSize(80, 20)
	s.Init() // request 1
	s.Update(common.ResultMsg[[]models.User]{ID: 1, Value: []models.User{
		{ID: "usr_owner", Email: "owner@acme.test", Role: models.RoleOwner},
		{ID: "usr_ada", Email: "ada@acme.test", Role: models.RoleAdmin, Disabled: true},
		{ID: "usr_me", Email: "me@acme.test", Role: role},
	}})
	return s
}

func msgOf(t *testing.T, cmd tea.Cmd) tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	return cmd()
}

// An admin is told at once that owners are not theirs to change; no
// question opens and nothing is called.
func TestUsersAdminCannotTouchOwner(t *testing.T) {
	s := usersShown(t, models.RoleAdmin)
	for _, k := range []string{"e", "D", "d", "P"} {
		_, cmd := s.Update(runes(k))
		f, ok := msgOf(t, cmd).(common.FlashMsg)
		if !ok || !f.Error || !strings.Contains(f.Text, "Only an owner") {
			t.Errorf("%s on an owner as admin: %#v", k, f)
		}
		if s.asking() {
			t.Fatalf("%s opened a question", k)
		}
		if busy, _ := s.Busy(); busy {
			t.Fatalf("%s made a call", k)
		}
	}
}

// The questions name the user; a disabled one is enabled, not disabled;
// deleting yourself says you leave.
func TestUsersQuestions(t *testing.T) {
	s := usersShown(t, models.RoleOwner)
	v := s.View()
	if !strings.Contains(v, "3 users in Acme · 1 disabled") || !strings.Contains(v, "me@acme.test (you)") ||
		!strings.Contains(v, "disabled") {
		t.Fatalf("list:\n%s", v)
	}
	cases := []struct {
		moves     int
		key, want string
	}{
		{1, "D", "Enable ada@acme.test?"},
		{0, "d", "Delete ada@acme.test?"},
		{0, "P", "Reset the password of ada@acme.test?"},
		{1, "d", "Delete your own account?"},
		{0, "D", "This is you: you are signed out at once."},
	}
	for _, c := range cases {
		for range c.moves {
			s.Update(down)
		}
		s.Update(runes(c.key))
		if !s.asking() || !strings.Contains(s.View(), c.want) {
			t.Fatalf("%s: want %q:\n%s", c.key, c.want, s.View())
		}
		s.Update(runes("n"))
		if s.asking() {
			t.Fatalf("%s: n left the question open", c.key)
		}
	}
	_, cmd := s.Update(runes("p"))
	if p, ok := msgOf(t, cmd).(common.PushMsg); !ok || p.Screen.Title() != "My password" {
		t.Fatalf("p: %#v", msgOf(t, cmd))
	}
}

// A refusal of the daemon is said in words in the status line.
func TestUsersRefusalsInWords(t *testing.T) {
	s := usersShown(t, models.RoleOwner)
	s.Update(runes("D")) // disable owner@
	s.Update(runes("y")) // request 2
	_, cmd := s.Update(common.ErrorMsg{ID: 2, Err: &client.APIError{Status: 409,
		Err: &models.Error{Code: models.CodeLastOwner, Message: "this is the organization's last enabled owner: make another user owner first"}}})
	f, ok := msgOf(t, cmd).(common.FlashMsg)
	if !ok || !f.Error || f.Text != "Refused: the last enabled owner stays. Make another user owner first." {
		t.Fatalf("last_owner: %#v", f)
	}
	if s.err != "" {
		t.Fatalf("a refused change replaced the list: %s", s.err)
	}
}

// The new password is typed twice; a mismatch is refused under the
// repeat, without a call.
func TestPasswordChangeRepeat(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	s := NewPasswordChange(c)
	s.SetSize(80, 20)
	s.Init()
	for _, in := range []string{"old passphrase", "new passphrase 1", "new passphrase 2"} {
		s.Update(runes(in))
		s.Update(enter)
	}
	if busy, _ := s.Busy(); busy {
		t.Fatal("called with two different new passwords")
	}
	if v := s.View(); !strings.Contains(v, "The two new passwords differ") {
		t.Fatalf("no error:\n%s", v)
	}
}
