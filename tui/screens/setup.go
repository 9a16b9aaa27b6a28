// Package screens holds the TUI's screens, one per file. Each implements
// common.Component and talks to the daemon only through common.Call.
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

// Setup is the first-run screen: the one-time setup code, the
// organization's name and its owner's email and password.
type Setup struct{ formScreen }

// NewSetup builds the setup screen. code is pre-filled when the TUI could
// read it from the local daemon's data directory (codePath).
func NewSetup(c *common.Common, code, codePath string) *Setup {
	codeField := form.Text("setup_code", "Setup code").WithValue(code)
	if code != "" {
		codeField.WithHint("read from " + codePath)
	} else {
		codeField.WithHint("printed in gentd's log and in <data_dir>/setup-code")
	}
	return &Setup{formScreen{c: c, call: "setup", form: form.New(c,
		codeField,
		form.Text("org_name", "Organization"),
		form.Text("email", "Email"),
		form.Password("password", "Password").WithHint("at least 10 characters"),
	)}}
}

func (s *Setup) Title() string { return "Setup" }

// Init starts on the organization when the code is already there.
func (s *Setup) Init() tea.Cmd { return s.initPast("setup_code", "org_name") }

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
	default:
		return s, s.updateForm(msg, s.submit)
	}
	return s, nil
}

func (s *Setup) submit() tea.Cmd {
	req := models.SetupRequest{
		SetupCode: strings.TrimSpace(s.form.Value("setup_code")),
		OrgName:   strings.TrimSpace(s.form.Value("org_name")),
		Email:     strings.TrimSpace(s.form.Value("email")),
		Password:  s.form.Value("password"),
	}
	return common.Start(s.c, &s.req, s.call, "Creating the organization…", func(ctx context.Context, cl *client.Client) (*models.SessionResponse, error) {
		return cl.Setup(ctx, req)
	})
}

func (s *Setup) View() string {
	st := s.c.Styles
	return st.Title.Render("Welcome to Gent") + "\n\n" +
		st.Muted.Render("Create your organization and its owner. This is done once; after it,") + "\n" +
		st.Muted.Render("everyone signs in with an email and a password.") + "\n\n" +
		s.form.View()
}
