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

// UserAdd is the form that adds a user: email, first password and role.
type UserAdd struct{ formScreen }

// NewUserAdd builds the add-user form.
func NewUserAdd(c *common.Common) *UserAdd {
	return &UserAdd{formScreen{c: c, call: "create", cancel: true, form: form.New(c,
		form.Text("email", "Email"),
		form.Password("password", "Password").WithHint("at least 10 characters; tell it to them yourself"),
		form.Select("role", "Role", roleChoices(c), 0),
	)}}
}

func (s *UserAdd) Title() string { return "Add user" }

func (s *UserAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[*models.User]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			u := *msg.Value
			return s, tea.Batch(common.Pop,
				func() tea.Msg { return UserCreatedMsg{User: u} },
				common.Flash("Added "+u.Email+" as "+u.Role+"."))
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

func (s *UserAdd) submit() tea.Cmd {
	req := models.CreateUserRequest{
		Email:    strings.TrimSpace(s.form.Value("email")),
		Password: s.form.Value("password"),
		Role:     s.form.Value("role"),
	}
	return common.Start(s.c, &s.req, s.call, "Adding "+req.Email+"…", func(ctx context.Context, cl *client.Client) (*models.User, error) {
		return cl.CreateUser(ctx, req)
	})
}

func (s *UserAdd) View() string {
	st := s.c.Styles
	return st.Title.Render("Add a user to "+orgName(s.c)) + "\n\n" +
		st.Muted.Render("They sign in with this email and password.") + "\n\n" +
		s.form.View()
}
