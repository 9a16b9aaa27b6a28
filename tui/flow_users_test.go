package tui

import (
	"regexp"
	"strings"
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

	// d deletes ada, after y (n keeps her).
	r.press(tea.KeyUp)
	r.runes("d")
	r.goldenAs("delete_confirm", r.wait("Delete ada@acme.test?"))
	r.runes("n")
	r.wait("3 users in Acme")
	r.runes("d")
	r.wait("Delete ada@acme.test?")
	r.runes("y")
	v = r.wait("Deleted ada@acme.test.", "2 users in Acme")
	if strings.Contains(v, "ada@acme.test ") {
		t.Fatalf("ada is still listed:\n%s", v)
	}
	var us models.List[models.User]
	d.MustStatus(200, "GET", "/v1/users", org.Owner, nil).JSON(t, &us)
	for _, u := range us.Data {
		if u.Email == "ada@acme.test" {
			t.Fatalf("ada was not deleted: %+v", u)
		}
	}

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
	r.wait("Recent activity", "1 owner · 1 reviewer")
	r.runes("X")
	r.wait("Sign in to Gent", "Signed out.")
	r.typ("a brand new passphrase")
	r.press(tea.KeyEnter)
	r.wait("Signed in as owner@acme.test", "Recent activity")
}

// issueReset has an admin issue a reset code for the user with email,
// through the API, and returns the code.
func (d *daemon) issueReset(t *testing.T, admin, owner, email string) string {
	t.Helper()
	u := d.userByEmail(t, owner, email)
	var rc models.PasswordResetCode
	d.MustStatus(201, "POST", "/v1/users/"+u.ID+"/password-reset", admin, nil).JSON(t, &rc)
	if !resetCode.MatchString(rc.Code) {
		t.Fatalf("reset code %q", rc.Code)
	}
	return rc.Code
}

// resetAtSignIn fills the reset form, opened from the sign-in screen.
func (r *tui) resetAtSignIn(code, newPassword string) {
	r.t.Helper()
	r.press(tea.KeyCtrlR)
	r.wait("Set a new password with a reset code", "› Reset code")
	r.typ(code)
	r.press(tea.KeyTab)
	r.typ(newPassword)
	r.press(tea.KeyTab)
	r.typ(newPassword)
	r.press(tea.KeyEnter)
}

// TestFlowPasswordResetAtSignIn: an admin issues a reset code for rex;
// rex, at the sign-in screen, sets a new password with it (ctrl+r), and
// then signs in with it, the old password refused. A wrong, a used and an
// expired code are refused under the code's field; a short password under
// its own, in the form's words.
func TestFlowPasswordResetAtSignIn(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "ada@acme.test", models.RoleAdmin)
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	ada := d.Login("ada@acme.test")
	code := d.issueReset(t, ada, org.Owner, "rex@acme.test")

	r := startTUI(t, d)
	r.wait("Sign in to Gent", "ctrl+r use a reset code")
	r.typ("rex@acme.test")

	// A wrong code: the daemon's 401 goes under the code.
	r.resetAtSignIn("gpr_notacodeatall", "rex's brand new passphrase")
	r.wait("› Reset code", "✗ The reset code is not valid, has expired or was already")
	// A short password: under its field; the code is not used up.
	r.press(tea.KeyCtrlU)
	r.typ(code)
	r.press(tea.KeyTab, tea.KeyCtrlU)
	r.typ("short")
	r.press(tea.KeyTab, tea.KeyCtrlU)
	r.typ("short")
	r.press(tea.KeyEnter)
	r.wait("› New password", "New password must be at least 10 characters.")
	r.press(tea.KeyCtrlU)
	r.typ("rex's brand new passphrase")
	r.press(tea.KeyTab, tea.KeyCtrlU)
	r.typ("rex's brand new passphrase")
	r.press(tea.KeyEnter)

	// Back on the sign-in screen, the email kept and the password to type.
	v := r.wait("Sign in to Gent", "Your new password is set. Sign in with it.")
	if !strings.Contains(v, "  Email           rex@acme.test") || !strings.Contains(v, "› Password") {
		t.Fatalf("the sign-in screen after the reset:\n%s", v)
	}
	r.typ(password) // the old password no longer works
	r.press(tea.KeyEnter)
	r.wait("Email or password is not correct.")
	r.typ("rex's brand new passphrase")
	r.press(tea.KeyEnter)
	r.wait("Signed in as rex@acme.test (reviewer)", "Recent activity")
	d.MustStatus(401, "POST", "/v1/auth/login", "", models.LoginRequest{Email: "rex@acme.test", Password: password})

	// The code worked once.
	r.runes("X")
	r.wait("Sign in to Gent", "Signed out.")
	r.resetAtSignIn(code, "yet another passphrase")
	r.wait("The reset code is not valid, has expired or was already")

	// An expired code.
	expired := d.issueReset(t, ada, org.Owner, "rex@acme.test")
	if err := d.Store.DB.Exec(`UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`).Error; err != nil {
		t.Fatal(err)
	}
	r.press(tea.KeyEsc)
	r.wait("Sign in to Gent", "› Password")
	r.resetAtSignIn(expired, "yet another passphrase")
	r.wait("The reset code is not valid, has expired or was already")
	d.MustStatus(401, "POST", "/v1/auth/login", "", models.LoginRequest{Email: "rex@acme.test", Password: "yet another passphrase"})
}
