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

// TokenShown shows a token's raw value, once: right after it was created
// or rotated. It is the only screen that holds the value; once it is left
// (enter or esc) the value is gone, and nothing can open it again.
type TokenShown struct {
	c       *common.Common
	tok     models.Token
	secret  client.Secret
	inbox   string
	rotated bool
	w       int
}

// newTokenShown takes the daemon's answer; the value leaves it and lives
// only in this screen.
func newTokenShown(c *common.Common, t *models.TokenSecret, inbox string, rotated bool) *TokenShown {
	s := &TokenShown{c: c, tok: t.Token, secret: client.Secret(t.Secret), inbox: inbox, rotated: rotated, w: 80}
	t.Secret = ""
	return s
}

func (s *TokenShown) Title() string {
	if s.rotated {
		return "Rotated token"
	}
	return "New token"
}

func (s *TokenShown) Init() tea.Cmd    { return nil }
func (s *TokenShown) SetSize(w, _ int) { s.w = w }

func (s *TokenShown) ShortHelp() []key.Binding {
	return []key.Binding{s.c.Keys.CopyToken, s.c.Keys.Done}
}

func (s *TokenShown) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *TokenShown) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.CopiedMsg:
		if msg.What == "token "+s.tok.ID {
			if msg.Err != nil {
				return s, common.FlashError("Could not copy the token: " + msg.Err.Error() + ". Select it with the mouse instead.")
			}
			return s, common.Flash("Copied the token to the clipboard (OSC 52).")
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, s.c.Keys.CopyToken):
			return s, s.c.Copy("token "+s.tok.ID, s.secret.Reveal())
		case key.Matches(msg, s.c.Keys.Done):
			s.secret = ""
			return s, common.Pop
		}
	}
	return s, nil
}

func (s *TokenShown) View() string {
	st := s.c.Styles
	what := "Created"
	if s.rotated {
		what = "Rotated"
	}
	head := st.Title.Render(what+" "+s.tok.Label) + st.Muted.Render(" for "+s.inbox) + "\n\n"
	inner := max(20, s.w-4)
	box := []string{
		st.Warning.Render(styles.Warn + " Store it now: it will not be shown again."),
		"",
		st.Secret.Render(s.secret.Reveal()),
		"",
		st.Label.Render("Scopes") + "  " + st.Value.Render(scopeSummary(s.tok.Scopes, s.tok.RequiresApproval)),
	}
	for i, l := range box {
		box[i] = strings.Join(wrap(l, inner, 3), "\n")
	}
	var note string
	if s.rotated {
		note = "The previous value stopped working just now: give agents this one.\n"
	}
	return head + st.AlertBox.Width(inner+2).Render(strings.Join(box, "\n")) + "\n\n" +
		st.Muted.Render(note+"Agents send it as: Authorization: Bearer <token>\n"+
			"After you leave this screen Gent cannot show it again; rotate the token\nfor a new value.")
}
