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

// UserAdd is the form that adds a user: email, first password and role.
type UserAdd struct {
	c    *common.Common
	form *form.Form
	req  common.Requests
}

// NewUserAdd builds the add-user form.
func NewUserAdd(c *common.Common) *UserAdd {
	return &UserAdd{c: c, form: form.New(c,
		form.Text("email", "Email"),
		form.Password("password", "Password").WithHint("at least 10 characters; tell it to them yourself"),
		form.Select("role", "Role", roleChoices(c), 0),
	)}
}

func (s *UserAdd) Title() string        { return "Add user" }
func (s *UserAdd) Init() tea.Cmd        { return s.form.Init() }
func (s *UserAdd) SetSize(w, _ int)     { s.form.SetWidth(w) }
func (s *UserAdd) Busy() (bool, string) { return s.req.Busy() }

// Typing is always true: esc cancels the form rather than going back, and
// q is typed into the text fields.
func (s *UserAdd) Typing() bool { return true }

func (s *UserAdd) ShortHelp() []key.Binding {
	return append(s.form.Bindings(), s.c.Keys.Cancel)
}

func (s *UserAdd) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *UserAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.User]:
		if _, ok := s.req.Done(msg.ID); ok {
			u := *msg.Value
			return s, tea.Batch(common.Pop,
				func() tea.Msg { return UserCreatedMsg{User: u} },
				common.Flash("Added "+u.Email+" as "+u.Role+"."))
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, s.form.SetError(msg.Err)
		}
	case tea.KeyMsg:
		if key.Matches(msg, s.c.Keys.Cancel) {
			return s, common.Pop
		}
		if s.req.Pending("create") {
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

func (s *UserAdd) submit() tea.Cmd {
	s.form.ClearErrors()
	req := models.CreateUserRequest{
		Email:    strings.TrimSpace(s.form.Value("email")),
		Password: s.form.Value("password"),
		Role:     s.form.Value("role"),
	}
	id, cmd := common.Call(s.c, func(ctx context.Context, cl *client.Client) (*models.User, error) {
		return cl.CreateUser(ctx, req)
	})
	s.req.Start("create", id, "Adding "+req.Email+"…")
	return cmd
}

func (s *UserAdd) View() string {
	st := s.c.Styles
	return st.Title.Render("Add a user to "+orgName(s.c)) + "\n\n" +
		st.Muted.Render("They sign in with this email and password.") + "\n\n" +
		s.form.View()
}
