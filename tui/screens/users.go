package screens

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/form"
	"gent/tui/components/table"
)

// UserCreatedMsg is sent when the add-user form has created a user.
type UserCreatedMsg struct{ User models.User }

// kindUsers names changes of users (ChangedMsg): a role changed, a user
// disabled, enabled or deleted.
const kindUsers = "users"

// Users lists the organization's users (owners and admins), disabled ones
// included. Users are added, their roles changed, disabled or enabled,
// deleted and given password reset codes here; p changes one's own
// password.
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
		table.Column{Title: "Status", Width: 9},
		table.Column{Title: "Added", Width: 16},
	)}
	s.list = newList[[]models.User](c, s, kindUsers)
	return s
}

func (s *Users) Title() string    { return "Users" }
func (s *Users) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-2) }
func (s *Users) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.AddUser, k.ChangeRole, k.DisableUser, k.ResetPassword)
}

func (s *Users) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.AddUser, k.ChangeRole, k.DisableUser}, {k.Delete, k.ResetPassword, k.MyPassword, k.Refresh}, s.table.Bindings()})
}

func (s *Users) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading users…", func(ctx context.Context, cl *client.Client) ([]models.User, error) {
		return cl.AllUsers(ctx)
	})
}

// resetIssued answers a password reset: the code, for one screen only.
type resetIssued struct {
	Code  *models.PasswordResetCode
	Email string
}

// userChanged answers a PATCH: the user as it is now, and what was asked.
type userChanged struct {
	User models.User
	Note string
}

func (s *Users) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case UserCreatedMsg:
		s.selectID = msg.User.ID
		return s, s.load()
	case common.ResultMsg[userChanged]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindUsers, msg.Value.User.ID), common.Flash(msg.Value.Note))
		}
	case common.ResultMsg[deleted]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindUsers, ""), common.Flash("Deleted "+msg.Value.Name+"."))
		}
	case common.ResultMsg[resetIssued]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(common.Push(newResetShown(s.c, msg.Value.Code, msg.Value.Email)), changed(kindUsers, msg.Value.Code.UserID))
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "list" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, common.FlashError(describeUserError(msg.Err))
		}
	default:
		_, cmd := s.updateList(msg)
		return s, cmd
	}
	return s, nil
}

// describeUserError says in words why a change of a user was refused.
func describeUserError(err error) string {
	switch common.Code(err) {
	case models.CodeLastOwner:
		return "Refused: the last enabled owner stays. Make another user owner first."
	case models.CodeUserDisabled:
		return "This account is disabled: an owner or admin can enable it again (D)."
	case models.CodeForbidden:
		return "Refused: " + common.Describe(err) + " Admins cannot change, disable, delete or reset owners."
	}
	return common.Describe(err)
}

func (s *Users) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddUser):
		return common.Push(NewUserAdd(s.c))
	case key.Matches(msg, k.MyPassword):
		return common.Push(NewPasswordChange(s.c))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	if len(s.users) == 0 || s.table.Empty() {
		s.table.Update(msg)
		return nil
	}
	u := s.users[s.table.Cursor()]
	act := func(f func(models.User) tea.Cmd) tea.Cmd {
		if u.Role == models.RoleOwner && s.c.Role() != models.RoleOwner {
			return common.FlashError("Only an owner can change, disable, delete or reset an owner.")
		}
		return f(u)
	}
	switch {
	case key.Matches(msg, k.ChangeRole):
		return act(func(u models.User) tea.Cmd { return common.Push(NewUserRole(s.c, u)) })
	case key.Matches(msg, k.DisableUser):
		return act(s.askDisable)
	case key.Matches(msg, k.Delete):
		if u.ID == s.me() {
			return s.askDelete(u)
		}
		return act(s.askDelete)
	case key.Matches(msg, k.ResetPassword):
		return act(s.askReset)
	}
	s.table.Update(msg)
	return nil
}

// me is the signed-in user's id.
func (s *Users) me() string {
	if s.c.Me == nil {
		return ""
	}
	return s.c.Me.User.ID
}

func (s *Users) askDisable(u models.User) tea.Cmd {
	if u.Disabled {
		s.ask(confirm.New(s.c, "Enable "+u.Email+"?",
			"They can sign in again with their old password, as "+u.Role+"."),
			func() tea.Cmd { return s.setDisabled(u, false) })
	} else {
		lines := []string{"They are signed out at once and cannot sign in until enabled. " +
			"Their row and audit trail stay; agent tokens they made keep working."}
		if u.ID == s.me() {
			lines = append(lines, "This is you: you are signed out at once.")
		}
		s.ask(confirm.New(s.c, "Disable "+u.Email+"?", lines...),
			func() tea.Cmd { return s.setDisabled(u, true) })
	}
	s.SetSize(s.w, s.h)
	return nil
}

func (s *Users) setDisabled(u models.User, disabled bool) tea.Cmd {
	verb, note := "Disabling", "Disabled "+u.Email+": they are signed out and cannot sign in."
	if !disabled {
		verb, note = "Enabling", "Enabled "+u.Email+": they can sign in again."
	}
	return common.Start(s.c, &s.req, "update", verb+" "+u.Email+"…", func(ctx context.Context, cl *client.Client) (userChanged, error) {
		v, err := cl.UpdateUser(ctx, u.ID, models.UpdateUserRequest{Disabled: &disabled})
		if err != nil {
			return userChanged{}, err
		}
		return userChanged{User: *v, Note: note}, nil
	})
}

func (s *Users) askDelete(u models.User) tea.Cmd {
	if u.ID == s.me() {
		s.ask(confirm.New(s.c, "Delete your own account?",
			"You leave "+orgName(s.c)+": you are signed out at once and cannot sign in again."),
			func() tea.Cmd { return s.remove(u) })
	} else {
		s.ask(confirm.New(s.c, "Delete "+u.Email+"?",
			"They are signed out at once and cannot sign in again; this cannot be undone. "+
				"Disable them instead (D) to keep the account."),
			func() tea.Cmd { return s.remove(u) })
	}
	s.SetSize(s.w, s.h)
	return nil
}

func (s *Users) remove(u models.User) tea.Cmd {
	return common.Start(s.c, &s.req, "delete", "Deleting "+u.Email+"…", func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: u.ID, Name: u.Email}, cl.DeleteUser(ctx, u.ID)
	})
}

func (s *Users) askReset(u models.User) tea.Cmd {
	s.ask(confirm.New(s.c, "Reset the password of "+u.Email+"?",
		"Their password stops working and their sessions end at once. "+
			"You get a one-time code to give them, shown once."),
		func() tea.Cmd { return s.reset(u) })
	s.SetSize(s.w, s.h)
	return nil
}

func (s *Users) reset(u models.User) tea.Cmd {
	return common.Start(s.c, &s.req, "reset", "Issuing a reset code for "+u.Email+"…", func(ctx context.Context, cl *client.Client) (resetIssued, error) {
		r, err := cl.ResetUserPassword(ctx, u.ID)
		return resetIssued{Code: r, Email: u.Email}, err
	})
}

func (s *Users) show(users []models.User) {
	s.users = users
	me := s.me()
	s.setRows(s.table, len(users), func(i int) (string, []string) {
		u := users[i]
		email := u.Email
		if u.ID == me {
			email += " (you)"
		}
		return u.ID, []string{email, u.Role, userStatus(u), localTime(u.CreatedAt, dateShort)}
	})
}

func userStatus(u models.User) string {
	if u.Disabled {
		return "disabled"
	}
	return "active"
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
	if n := disabledCount(s.users); n > 0 {
		head += st.Muted.Render(fmt.Sprintf(" · %d disabled", n))
	}
	return head + "\n\n" + s.question() + s.table.View()
}

func disabledCount(users []models.User) int {
	n := 0
	for _, u := range users {
		if u.Disabled {
			n++
		}
	}
	return n
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
