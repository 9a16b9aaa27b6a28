package tui

import (
	"regexp"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// userByEmail reads a user through the API.
func (d *daemon) userByEmail(t *testing.T, owner, email string) models.User {
	t.Helper()
	var l models.List[models.User]
	d.MustStatus(200, "GET", "/v1/users", owner, nil).JSON(t, &l)
	for _, u := range l.Data {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no user %s", email)
	return models.User{}
}

var resetCode = regexp.MustCompile(`gpr_[0-9A-Za-z]+`)

// TestFlowUsers manages users against a real daemon: a role change, a
// user disabled (who then cannot sign in), a reset code shown once that
// really sets the user's password, and the owner's own password changed,
// then used to sign in again.
func TestFlowUsers(t *testing.T) {
	d, org, r := signedIn(t)
	r.runes("u")
	r.wait("3 users in Acme", "owner@acme.test (you)")

	// e on ada (admin): make her a reviewer.
	r.press(tea.KeyDown)
	r.runes("e")
	r.wait("Change the role of ada@acme.test", "(•) admin")
	r.press(tea.KeyRight, tea.KeyEnter)
	r.wait("ada@acme.test is now reviewer.")
	if u := d.userByEmail(t, org.Owner, "ada@acme.test"); u.Role != models.RoleReviewer {
		t.Fatalf("ada's role = %s, want reviewer", u.Role)
	}

	// D disables her, after y; she can no longer sign in.
	r.runes("D")
	r.wait("Disable ada@acme.test?")
	r.runes("y")
	r.wait("Disabled ada@acme.test", "3 users in Acme · 1 disabled")
	login := d.Do("POST", "/v1/auth/login", "", models.LoginRequest{Email: "ada@acme.test", Password: password})
	if login.Status != 403 || login.ErrorCode() != models.CodeUserDisabled {
		t.Fatalf("disabled ada signs in: %d %s", login.Status, login.ErrorCode())
	}

	// P on rex: the code is shown once, and it works.
	r.press(tea.KeyDown)
	r.runes("P")
	r.wait("Reset the password of rex@acme.test?")
	r.runes("y")
	v := r.wait("Password reset code", "Shown once")
	code := resetCode.FindString(v)
	if code == "" {
		t.Fatalf("no reset code shown:\n%s", v)
	}
	d.MustStatus(204, "POST", "/v1/auth/password-reset", "",
		models.ResetPasswordRequest{Code: code, NewPassword: "rex's brand new passphrase"})
	d.MustStatus(200, "POST", "/v1/auth/login", "",
		models.LoginRequest{Email: "rex@acme.test", Password: "rex's brand new passphrase"})
	r.press(tea.KeyEnter)
	r.wait("3 users in Acme")

	// p: the owner changes its own password; a wrong current one is
	// refused under its field first.
	r.runes("p")
	r.wait("Change the password of owner@acme.test")
	r.typ("not my password")
	r.press(tea.KeyTab)
	r.typ("a brand new passphrase")
	r.press(tea.KeyTab)
	r.typ("a brand new passphrase")
	r.press(tea.KeyEnter)
	r.wait("Old password is not correct.")
	r.press(tea.KeyCtrlU)
	r.typ(password)
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.wait("Password changed.")

	// Sign out and in again with the new password.
	r.press(tea.KeyEsc)
	r.wait("Recent activity", "1 owner · 2 reviewers · 1 disabled")
	r.runes("X")
	r.wait("Sign in to Gent", "Signed out.")
	r.typ("a brand new passphrase")
	r.press(tea.KeyEnter)
	r.wait("Signed in as owner@acme.test", "Recent activity")
}
