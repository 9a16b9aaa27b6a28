// Package screens holds the TUI's screens, one per file. Each implements
// common.Component and talks to the daemon only through common.Call.
package screens

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// Setup is the first-run screen: the one-time setup code, the
// organization's name and its owner's email and password.
type Setup struct {
	c    *common.Common
	form *form.Form
	req  common.Requests
}

// NewSetup builds the setup screen. code is pre-filled when the TUI could
// read it from the local daemon's data directory (codePath).
func NewSetup(c *common.Common, code, codePath string) *Setup {
	codeField := form.Text("setup_code", "Setup code").WithValue(code)
	if code != "" {
		codeField.WithHint("read from " + codePath)
	} else {
		codeField.WithHint("printed in gentd's log and in <data_dir>/setup-code")
	}
	s := &Setup{c: c, form: form.New(c,
		codeField,
		form.Text("org_name", "Organization"),
		form.Text("email", "Email"),
		form.Password("password", "Password").WithHint("at least 10 characters"),
	)}
	return s
}

func (s *Setup) Title() string { return "Setup" }

func (s *Setup) Init() tea.Cmd {
	cmd := s.form.Init()
	if s.form.Value("setup_code") != "" {
		// The code is already there: start on the organization.
		cmd = s.form.Focus("org_name")
	}
	return cmd
}

func (s *Setup) SetSize(w, _ int) { s.form.SetWidth(w) }

func (s *Setup) Typing() bool { return s.form.Typing() }

func (s *Setup) Busy() (bool, string) { return s.req.Busy() }

func (s *Setup) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.SessionResponse]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, func() tea.Msg { return common.SignedInMsg{Session: msg.Value} }
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			if common.Code(msg.Err) == models.CodeConflict {
				// Someone finished setup meanwhile: sign in instead.
				return s, tea.Batch(common.Replace(NewLogin(s.c, s.form.Value("email"))), common.FlashError(common.Describe(msg.Err)))
			}
			return s, s.form.SetError(msg.Err)
		}
	case tea.KeyMsg:
		if s.req.Pending("setup") {
			return s, nil
		}
		submit, cmd := s.form.Update(msg)
		if submit {
			return s, s.submit()
		}
		return s, cmd
	default:
		_, cmd := s.form.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s *Setup) submit() tea.Cmd {
	s.form.ClearErrors()
	req := models.SetupRequest{
		SetupCode: strings.TrimSpace(s.form.Value("setup_code")),
		OrgName:   strings.TrimSpace(s.form.Value("org_name")),
		Email:     strings.TrimSpace(s.form.Value("email")),
		Password:  s.form.Value("password"),
	}
	id, cmd := common.Call(s.c, func(ctx context.Context, cl *client.Client) (*models.SessionResponse, error) {
		return cl.Setup(ctx, req)
	})
	s.req.Start("setup", id, "Creating the organization…")
	return cmd
}

func (s *Setup) View() string {
	st := s.c.Styles
	return st.Title.Render("Welcome to Gent") + "\n\n" +
		st.Muted.Render("Create your organization and its owner. This is done once; after it,") + "\n" +
		st.Muted.Render("everyone signs in with an email and a password.") + "\n\n" +
		s.form.View()
}

func (s *Setup) ShortHelp() []key.Binding { return s.form.Bindings() }

func (s *Setup) FullHelp() [][]key.Binding { return [][]key.Binding{s.form.Bindings()} }
