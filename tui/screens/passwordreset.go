package screens

import (
	"context"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// PasswordReset sets a new password with the one-time code an owner or
// admin issued (POST /v1/auth/password-reset): the code, and the new
// password twice. It opens over the sign-in screen (ctrl+r) and returns
// to it once the password is set; esc goes back without a call.
type PasswordReset struct{ formScreen }

// passwordResetDone answers POST /v1/auth/password-reset (204, no body).
// The sign-in screen under the form takes it too: it empties its
// password and says what to do next.
type passwordResetDone struct{}

// NewPasswordReset builds the form.
func NewPasswordReset(c *common.Common) *PasswordReset {
	return &PasswordReset{formScreen{c: c, call: "reset", cancel: true, form: form.New(c,
		form.Text("code", "Reset code").WithHint("gpr_…, as the owner or admin gave it to you"),
		form.Password("new_password", "New password").WithHint("10 to 1024 characters"),
		form.Password("repeat", "Repeat it"),
	)}}
}

func (s *PasswordReset) Title() string { return "Reset password" }

func (s *PasswordReset) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[passwordResetDone]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			// Every open screen hears passwordResetDone, so the sign-in
			// screen takes it whether or not this one has closed yet.
			return s, tea.Batch(common.Pop, func() tea.Msg { return passwordResetDone{} })
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

// submit sends the code and the new password. The repeat is checked here;
// the daemon judges the rest: an unknown, used or expired code is a 401
// naming code, a short password a 422 naming new_password, and both go
// under their fields in the form's words.
func (s *PasswordReset) submit() tea.Cmd {
	req := models.ResetPasswordRequest{
		Code:        strings.TrimSpace(s.form.Value("code")),
		NewPassword: s.form.Value("new_password"),
	}
	if s.form.Value("repeat") != req.NewPassword {
		return s.form.SetError(models.Invalid("repeat", "the two new passwords differ: type the same one twice"))
	}
	return common.Start(s.c, &s.req, s.call, "Setting your new password…", func(ctx context.Context, cl *client.Client) (passwordResetDone, error) {
		return passwordResetDone{}, cl.ResetPassword(ctx, req)
	})
}

func (s *PasswordReset) View() string {
	st := s.c.Styles
	return st.Title.Render("Set a new password with a reset code") + "\n\n" +
		st.Muted.Render("An owner or admin issues the code for you (users screen, P). It works") + "\n" +
		st.Muted.Render("once, until it expires; then you sign in with the new password.") + "\n\n" +
		s.form.View()
}
