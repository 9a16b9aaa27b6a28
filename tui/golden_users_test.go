package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
)

// TestGoldenUserManagement: the users screen with a disabled user and each
// of its steps at 80×24: the disable question, the role form, the last
// owner refused, the reset code shown once, and the own-password form
// with a wrong current password.
func TestGoldenUserManagement(t *testing.T) {
	d, org, r := signedIn(t)
	rex := d.userByEmail(t, org.Owner, "rex@acme.test")
	d.MustStatus(200, "PATCH", "/v1/users/"+rex.ID, org.Owner, map[string]any{"disabled": true})
	r.runes("u")
	r.goldenAs("List", r.wait("3 users in Acme · 1 disabled"))

	r.press(tea.KeyDown)
	r.runes("D")
	r.goldenAs("Disable", r.wait("Disable ada@acme.test?"))
	r.runes("n")
	r.wait("3 users in Acme")

	r.runes("e")
	r.goldenAs("Role", r.wait("Change the role of ada@acme.test"))
	r.press(tea.KeyEsc)
	r.wait("Status    Added")

	// The owner demoting itself: the last enabled owner stays.
	r.press(tea.KeyUp)
	r.runes("e")
	r.wait("Change the role of owner@acme.test")
	r.press(tea.KeyLeft, tea.KeyLeft, tea.KeyEnter)
	r.goldenAs("LastOwner", r.wait("last enabled owner"))
	r.press(tea.KeyEsc)
	r.wait("Status    Added")

	r.press(tea.KeyDown, tea.KeyDown)
	r.runes("P")
	r.wait("Reset the password of rex@acme.test?")
	r.runes("y")
	v := r.wait("Password reset code")
	r.goldenAs("ResetCode", resetCode.ReplaceAllString(v, "gpr_4mQ8zR2kT6vX0bN3cF5hJ7lW9yA1d3Fq"))
	r.press(tea.KeyEnter)
	r.wait("Status    Added")

	r.runes("p")
	r.wait("Change the password of owner@acme.test")
	r.typ("not my password")
	r.press(tea.KeyTab)
	r.typ("a brand new passphrase")
	r.press(tea.KeyTab)
	r.typ("another passphrase")
	r.press(tea.KeyEnter)
	r.goldenAs("PasswordRepeat", r.wait("two new passwords differ"))
	r.press(tea.KeyShiftTab)
	r.press(tea.KeyEnter, tea.KeyCtrlU)
	r.typ("a brand new passphrase")
	r.press(tea.KeyEnter)
	r.goldenAs("PasswordWrong", r.wait("Old password is not correct."))
}

// TestGoldenLoginDisabled: a disabled user's right password is refused in
// words.
func TestGoldenLoginDisabled(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	u := d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	d.MustStatus(200, "PATCH", "/v1/users/"+u.ID, org.Owner, map[string]any{"disabled": true})
	r := startTUI(t, d)
	r.wait("Sign in to Gent")
	r.typ("rex@acme.test")
	r.press(tea.KeyTab)
	r.typ(password)
	r.press(tea.KeyEnter)
	r.golden(r.wait("disabled"))
}

// TestGoldenPasswordReset: the reset form opened from the sign-in screen
// (ctrl+r), a mismatched repeat caught before any call, a code the
// daemon refuses, and the sign-in screen after a reset that worked.
func TestGoldenPasswordReset(t *testing.T) {
	d := startDaemon(t)
	org := d.Setup()
	d.addUser(t, org.Owner, "rex@acme.test", models.RoleReviewer)
	code := d.issueReset(t, org.Owner, org.Owner, "rex@acme.test")
	r := startTUI(t, d)
	r.wait("Sign in to Gent")
	r.typ("rex@acme.test")
	r.press(tea.KeyCtrlR)
	r.goldenAs("form", r.wait("Set a new password with a reset code"))

	r.typ("gpr_notacodeatall")
	r.press(tea.KeyTab)
	r.typ("rex's brand new passphrase")
	r.press(tea.KeyTab)
	r.typ("rex's brand new passphrase!")
	r.press(tea.KeyEnter)
	r.goldenAs("mismatch", r.wait("two new passwords differ"))
	r.press(tea.KeyBackspace, tea.KeyEnter)
	r.goldenAs("bad_code", r.wait("reset code is not valid"))

	r.press(tea.KeyCtrlU)
	r.typ(code)
	r.press(tea.KeyEnter, tea.KeyEnter, tea.KeyEnter)
	r.goldenAs("signin", r.wait("Your new password is set."))
}
