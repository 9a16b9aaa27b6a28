package screens

import (
	"context"
	"errors"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
)

// UserRole changes a user's role: a choice among the roles the signed-in
// user may give, the current one selected.
type UserRole struct {
	formScreen
	u models.User
}

// NewUserRole builds the role form for u.
func NewUserRole(c *common.Common, u models.User) *UserRole {
	choices := roleChoices(c)
	sel := 0
	for i, ch := range choices {
		if ch.Value == u.Role {
			sel = i
		}
	}
	f := form.New(c, form.Select("role", "Role", choices, sel).
		WithHint("a demotion signs them out at once"))
	return &UserRole{formScreen: formScreen{c: c, call: "role", cancel: true, form: f, w: 80}, u: u}
}

func (s *UserRole) Title() string { return "Change role" }

func (s *UserRole) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[userChanged]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(common.Pop, changed(kindUsers, msg.Value.User.ID), common.Flash(msg.Value.Note))
		}
		return s, nil
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, s.form.SetError(errors.New(describeUserError(msg.Err)))
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

func (s *UserRole) submit() tea.Cmd {
	role, u := s.form.Value("role"), s.u
	if role == u.Role {
		return tea.Batch(common.Pop, common.Flash(u.Email+" stays "+role+"."))
	}
	note := u.Email + " is now " + role + "."
	if roleRank(role) < roleRank(u.Role) {
		note += " Their sessions ended: they sign in again with the new role."
	}
	return common.Start(s.c, &s.req, s.call, "Changing the role of "+u.Email+"…", func(ctx context.Context, cl *client.Client) (userChanged, error) {
		v, err := cl.UpdateUser(ctx, u.ID, models.UpdateUserRequest{Role: &role})
		if err != nil {
			return userChanged{}, err
		}
		return userChanged{User: *v, Note: note}, nil
	})
}

// roleRank orders roles: a lower rank is a demotion.
func roleRank(r string) int {
	switch r {
	case models.RoleOwner:
		return 3
	case models.RoleAdmin:
		return 2
	}
	return 1
}

func (s *UserRole) View() string {
	st := s.c.Styles
	return st.Title.Render("Change the role of "+s.u.Email) + "\n\n" +
		st.Muted.Render("Now "+s.u.Role+". Only an owner makes another owner.") + "\n\n" +
		s.form.View()
}
