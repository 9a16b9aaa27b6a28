package screens

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/styles"
)

// ResetShown shows a password reset code, once: right after it was
// issued. It is the only screen that holds the code; once it is left
// (enter or esc) the code is gone, and nothing can open it again.
type ResetShown struct {
	c       *common.Common
	userID  string
	email   string
	code    client.Secret
	expires string
	w       int
}

// newResetShown takes the daemon's answer; the code leaves it and lives
// only in this screen.
func newResetShown(c *common.Common, r *models.PasswordResetCode, email string) *ResetShown {
	s := &ResetShown{c: c, userID: r.UserID, email: email, code: client.Secret(r.Code),
		expires: localTime(r.ExpiresAt, minuteShort), w: 80}
	r.Code = ""
	return s
}

func (s *ResetShown) Title() string    { return "Reset code" }
func (s *ResetShown) Init() tea.Cmd    { return nil }
func (s *ResetShown) SetSize(w, _ int) { s.w = w }

func (s *ResetShown) ShortHelp() []key.Binding {
	return []key.Binding{s.c.Keys.CopyCode, s.c.Keys.Done}
}

func (s *ResetShown) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *ResetShown) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.CopiedMsg:
		if msg.What == "reset code "+s.userID {
			if msg.Err != nil {
				return s, common.FlashError("Could not copy the code: " + msg.Err.Error() + ". Select it with the mouse instead.")
			}
			return s, common.Flash("Copied the reset code to the clipboard (OSC 52).")
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, s.c.Keys.CopyCode):
			return s, s.c.Copy("reset code "+s.userID, s.code.Reveal())
		case key.Matches(msg, s.c.Keys.Done), key.Matches(msg, s.c.Keys.Back):
			s.code = ""
			return s, common.Pop
		}
	}
	return s, nil
}

func (s *ResetShown) View() string {
	st := s.c.Styles
	head := st.Title.Render("Password reset code") + st.Muted.Render(" for "+s.email) + "\n\n"
	inner := max(20, s.w-4)
	box := []string{
		st.Warning.Render(styles.Warn + " Shown once: give it to them now. It will not be shown again."),
		"",
		st.Secret.Render(s.code.Reveal()),
		"",
		st.Label.Render("Expires") + "  " + st.Value.Render(s.expires) + st.Muted.Render(" · works once"),
	}
	for i, l := range box {
		box[i] = strings.Join(wrap(l, inner, 3), "\n")
	}
	return head + st.AlertBox.Width(inner+2).Render(strings.Join(box, "\n")) + "\n\n" +
		st.Muted.Render("Their old password stopped working and their sessions ended.\n"+
			"They set a new password with the code on genttui's sign-in screen (ctrl+r)\n"+
			"or POST /v1/auth/password-reset, then sign in. Issue a new code if this\n"+
			"one is lost.")
}
