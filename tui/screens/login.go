package screens

import (
	"context"
	"errors"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// Login signs a user in with email and password.
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
	default:
		return s, s.updateForm(msg, s.submit)
	}
	return s, nil
}

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
		s.form.View()
}
