package screens

import (
	"context"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
	"gent/tui/components/table"
)

// UserCreatedMsg is sent when the add-user form has created a user.
type UserCreatedMsg struct{ User models.User }

// Users lists the organization's users (owners and admins).
type Users struct {
	list[[]models.User]
	table *table.Model
	users []models.User
}

// NewUsers builds the users screen.
func NewUsers(c *common.Common) *Users {
	s := &Users{table: table.New(c,
		table.Column{Title: "Email", Width: 0},
		table.Column{Title: "Role", Width: 9},
		table.Column{Title: "Added", Width: 16},
	)}
	s.list = newList[[]models.User](c, s)
	return s
}

func (s *Users) Title() string    { return "Users" }
func (s *Users) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-2) }
func (s *Users) ShortHelp() []key.Binding {
	k := s.c.Keys
	return []key.Binding{k.AddUser, k.Up, k.Down, k.Refresh}
}

func (s *Users) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return [][]key.Binding{{k.AddUser, k.Refresh}, s.table.Bindings()}
}

func (s *Users) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading users…", func(ctx context.Context, cl *client.Client) ([]models.User, error) {
		return cl.AllUsers(ctx)
	})
}

func (s *Users) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(UserCreatedMsg); ok {
		s.selectID = msg.User.ID
		return s, s.load()
	}
	_, cmd := s.updateList(msg)
	return s, cmd
}

func (s *Users) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddUser):
		return common.Push(NewUserAdd(s.c))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	s.table.Update(msg)
	return nil
}

func (s *Users) show(users []models.User) {
	s.users = users
	s.setRows(s.table, len(users), func(i int) (string, []string) {
		u := users[i]
		return u.ID, []string{u.Email, u.Role, localTime(u.CreatedAt, dateShort)}
	})
}

func (s *Users) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.users == nil:
		return st.Muted.Render("Loading users…")
	}
	head := st.Title.Render(plural(len(s.users), "user")) + st.Muted.Render(" in "+orgName(s.c))
	return head + "\n\n" + s.table.View()
}

func orgName(c *common.Common) string {
	if c.Me == nil {
		return "this organization"
	}
	return c.Me.Org.Name
}

// roleChoices are the roles the signed-in user may give: only an owner
// makes another owner.
func roleChoices(c *common.Common) []form.Choice {
	ch := []form.Choice{
		{Value: models.RoleAdmin, Label: "admin", Help: "Manages domains, inboxes, tokens, caps, approvals, webhooks."},
		{Value: models.RoleReviewer, Label: "reviewer", Help: "Approves or rejects held sends; reads the audit log."},
	}
	if c.Role() == models.RoleOwner {
		ch = append(ch, form.Choice{Value: models.RoleOwner, Label: "owner", Help: "Everything an admin does, and manages users."})
	}
	return ch
}
