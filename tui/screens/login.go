package screens

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// Login signs a user in with email and password. ctrl+r opens the form
// that sets a new password with a reset code (PasswordReset).
type Login struct{ formScreen }

// NewLogin builds the sign-in screen, with email pre-filled if known.
func NewLogin(c *common.Common, email string) *Login {
	return &Login{formScreen{c: c, call: "login", form: form.New(c,
		form.Text("email", "Email").WithValue(email),
		form.Password("password", "Password"),
	)}}
}

func (s *Login) Title() string { return "Sign in" }

// Init starts on the password when the email is known.
func (s *Login) Init() tea.Cmd { return s.initPast("email", "password") }

func (s *Login) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.SessionResponse]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, func() tea.Msg { return common.SignedInMsg{Session: msg.Value} }
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			cmd := s.form.SetError(msg.Err)
			switch common.Code(msg.Err) {
			case models.CodeUserDisabled:
				// The daemon's sentence is too long for one line.
				cmd = s.form.SetError(errors.New("this account is disabled: ask an owner or admin to enable it"))
			case models.CodeUnauthorized:
				// Wrong email or password: retype the password.
				s.form.Field("password").WithValue("")
				cmd = s.form.Focus("password")
			}
			return s, cmd
		}
	case passwordResetDone:
		// Back from the reset form: sign in with the new password.
		s.form.ClearErrors()
		s.form.Field("password").WithValue("")
		note := "Your new password is set. Sign in with it."
		focus := s.form.Focus("password")
		if strings.TrimSpace(s.form.Value("email")) == "" {
			note = "Your new password is set. Sign in with your email and the new password."
			focus = s.form.Focus("email")
		}
		return s, tea.Batch(focus, common.Flash(note))
	case tea.KeyMsg:
		if key.Matches(msg, s.c.Keys.UseResetCode) {
			if s.req.Pending(s.call) {
				return s, nil
			}
			return s, common.Push(NewPasswordReset(s.c))
		}
		return s, s.updateForm(msg, s.submit)
	default:
		return s, s.updateForm(msg, s.submit)
	}
	return s, nil
}

func (s *Login) ShortHelp() []key.Binding {
	return append(s.formScreen.ShortHelp(), s.c.Keys.UseResetCode)
}

func (s *Login) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *Login) submit() tea.Cmd {
	req := models.LoginRequest{Email: strings.TrimSpace(s.form.Value("email")), Password: s.form.Value("password")}
	return common.Start(s.c, &s.req, s.call, "Signing in…", func(ctx context.Context, cl *client.Client) (*models.SessionResponse, error) {
		return cl.Login(ctx, req)
	})
}

func (s *Login) View() string {
	st := s.c.Styles
	return st.Title.Render("Sign in to Gent") + "\n\n" +
		st.Muted.Render("Server "+s.c.Client.Server()) + "\n\n" +
		s.form.View() + "\n\n" +
		st.Muted.Render("Have a password reset code from an admin? ctrl+r sets a new password.")
}
