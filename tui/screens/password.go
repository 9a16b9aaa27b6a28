package screens

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// PasswordChange changes the signed-in user's own password: the current
// one, and the new one twice. Its other sessions end; this one stays.
type PasswordChange struct{ formScreen }

// passwordChanged answers POST /v1/auth/password (204, no body).
type passwordChanged struct{}

// NewPasswordChange builds the form.
func NewPasswordChange(c *common.Common) *PasswordChange {
	return &PasswordChange{formScreen{c: c, call: "password", cancel: true, w: 80, form: form.New(c,
		form.Password("current_password", "Old password"),
		form.Password("new_password", "New password").WithHint("10 to 1024 characters"),
		form.Password("repeat", "Repeat it"),
	)}}
}

func (s *PasswordChange) Title() string { return "My password" }

func (s *PasswordChange) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[passwordChanged]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(common.Pop,
				common.Flash("Password changed. Your other sessions were signed out; this one stays."))
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

// submit sends the change. The repeat is checked here; the daemon judges
// the rest (a wrong current password is a 403 naming current_password).
func (s *PasswordChange) submit() tea.Cmd {
	req := models.ChangePasswordRequest{
		CurrentPassword: s.form.Value("current_password"),
		NewPassword:     s.form.Value("new_password"),
	}
	if s.form.Value("repeat") != req.NewPassword {
		return s.form.SetError(models.Invalid("repeat", "the two new passwords differ: type the same one twice"))
	}
	return common.Start(s.c, &s.req, s.call, "Changing your password…", func(ctx context.Context, cl *client.Client) (passwordChanged, error) {
		return passwordChanged{}, cl.ChangePassword(ctx, req)
	})
}

func (s *PasswordChange) View() string {
	st := s.c.Styles
	who := "your account"
	if s.c.Me != nil {
		who = s.c.Me.User.Email
	}
	return st.Title.Render("Change the password of "+who) + "\n\n" +
		st.Muted.Render("Your other sessions are signed out; this one stays.") + "\n\n" +
		s.form.View()
}
