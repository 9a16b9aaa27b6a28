package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

// newSignedOut is a Common with nobody signed in, as on the sign-in
// screen.
func newSignedOut(t *testing.T) *common.Common {
	t.Helper()
	c := newCommon(t, models.RoleOwner)
	c.Me = nil
	return c
}

// ctrl+r on the sign-in screen opens the reset form, and says so in the
// help; back from a successful reset the password is emptied and the
// status line says what to do, with the focus where the typing goes.
func TestLoginOpensResetForm(t *testing.T) {
	c := newSignedOut(t)
	l := NewLogin(c, "ann@acme.test")
	l.SetSize(80, 20)
	l.Init()
	var help []string
	for _, b := range l.ShortHelp() {
		help = append(help, b.Help().Key+" "+b.Help().Desc)
	}
	if !strings.Contains(strings.Join(help, " • "), "ctrl+r use a reset code") {
		t.Fatalf("help without the reset key: %q", help)
	}
	if !strings.Contains(l.View(), "ctrl+r sets a new password") {
		t.Fatalf("the sign-in screen does not mention the reset code:\n%s", l.View())
	}
	_, cmd := l.Update(tea.KeyMsg{Type: tea.KeyCtrlR})
	push, ok := msgOf(t, cmd).(common.PushMsg)
	if !ok {
		t.Fatalf("ctrl+r: %#v", msgOf(t, cmd))
	}
	if _, ok := push.Screen.(*PasswordReset); !ok {
		t.Fatalf("ctrl+r opened %T", push.Screen)
	}

	typeText(l, "old guess")
	_, cmd = l.Update(passwordResetDone{})
	if l.form.Value("password") != "" || l.form.Focused() != "password" || l.form.Value("email") != "ann@acme.test" {
		t.Fatalf("after the reset: email %q password %q focus %s", l.form.Value("email"), l.form.Value("password"), l.form.Focused())
	}
	var flash common.FlashMsg
	for _, m := range cmdMsgs(cmd) {
		if f, ok := m.(common.FlashMsg); ok {
			flash = f
		}
	}
	if flash.Error || flash.Text != "Your new password is set. Sign in with it." {
		t.Fatalf("flash %#v", flash)
	}

	// Without an email, the focus goes there.
	l = NewLogin(c, "")
	l.SetSize(80, 20)
	l.Init()
	l.Update(passwordResetDone{})
	if l.form.Focused() != "email" {
		t.Fatalf("focus %s, want email", l.form.Focused())
	}
}

// The reset form: the passwords are masked, a mismatched repeat is
// refused under it without a call, the daemon's refusals go under their
// fields in the form's words and leave once the field changes, and
// success closes the form and tells the sign-in screen.
func TestPasswordResetForm(t *testing.T) {
	c := newSignedOut(t)
	s := NewPasswordReset(c)
	s.SetSize(80, 20)
	s.Init()
	if !s.Typing() {
		t.Fatal("the form does not take every key (q, esc)")
	}
	typeText(s, " gpr_abc ")
	s.Update(enter)
	typeText(s, "new passphrase 1")
	s.Update(enter)
	typeText(s, "new passphrase 2")
	if _, cmd := s.Update(enter); cmd != nil && s.req.Pending("reset") {
		t.Fatal("called with two different new passwords")
	}
	v := s.View()
	if !strings.Contains(v, "The two new passwords differ") || s.form.Focused() != "repeat" {
		t.Fatalf("no mismatch error under the repeat (focus %s):\n%s", s.form.Focused(), v)
	}
	if strings.Contains(v, "new passphrase") || !strings.Contains(v, "••••") {
		t.Fatalf("a password shows unmasked:\n%s", v)
	}
	s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	if strings.Contains(s.View(), "differ") {
		t.Fatal("the error stayed after the field changed")
	}
	typeText(s, "1")

	// The daemon refuses the code: under Reset code, focused.
	if _, cmd := s.Update(enter); cmd == nil || !s.req.Pending("reset") { // request 1
		t.Fatal("enter did not submit")
	}
	bad := &client.APIError{Status: 401, Err: &models.Error{Code: models.CodeUnauthorized, Field: "code",
		Message: "the reset code is not valid, has expired or was already used"}}
	s.Update(common.ErrorMsg{ID: 1, Err: bad})
	v = s.View()
	if !strings.Contains(v, "✗ The reset code is not valid, has expired or was already") || s.form.Focused() != "code" {
		t.Fatalf("the refusal is not under the code (focus %s):\n%s", s.form.Focused(), v)
	}
	typeText(s, "x")
	if strings.Contains(s.View(), "not valid") {
		t.Fatal("the code's error stayed after the code changed")
	}

	// API field names read as the form's labels.
	id := 1
	for _, e := range []struct {
		err        *models.Error
		want, next string
	}{
		{models.Invalid("new_password", "new_password must be at least 10 characters"), "New password must be at least 10 characters.", "new_password"},
		{models.Invalid("code", "code is required"), "Reset code is required.", "code"},
	} {
		s.form.Focus("repeat")
		_, cmd := s.Update(enter)
		if cmd == nil {
			t.Fatal("enter did not submit")
		}
		id++
		s.Update(common.ErrorMsg{ID: id, Err: &client.APIError{Status: 422, Err: e.err}})
		if v := s.View(); !strings.Contains(v, e.want) || s.form.Focused() != e.next {
			t.Fatalf("want %q under %s (focus %s):\n%s", e.want, e.next, s.form.Focused(), v)
		}
	}

	s.form.Focus("repeat")
	s.Update(enter)
	_, cmd := s.Update(common.ResultMsg[passwordResetDone]{ID: id + 1})
	if pops(cmd) != 1 {
		t.Fatal("success did not close the form")
	}
	done := false
	for _, m := range cmdMsgs(cmd) {
		_, ok := m.(passwordResetDone)
		done = done || ok
	}
	if !done {
		t.Fatal("success did not tell the sign-in screen")
	}

	// esc cancels.
	s = NewPasswordReset(c)
	s.Init()
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEsc}); pops(cmd) != 1 {
		t.Fatal("esc did not close the form")
	}
}
