package confirm

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"gent/tui/client"
	"gent/tui/common"
)

func TestAnswers(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	m := New(common.NewCommon(cl), "Delete mail.example.com?", "Its DKIM keys go with it.")
	m.SetWidth(60)
	cases := []struct {
		key  tea.KeyMsg
		want Answer
	}{
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")}, Yes},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")}, No},
		{tea.KeyMsg{Type: tea.KeyEsc}, No},
		{tea.KeyMsg{Type: tea.KeyEnter}, Undecided}, // enter is not yes
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("Y")}, Undecided},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}, Undecided},
	}
	for _, c := range cases {
		if got := m.Update(c.key); got != c.want {
			t.Errorf("%q: %v, want %v", c.key.String(), got, c.want)
		}
	}
	v := m.View()
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w != 60 {
			t.Fatalf("line %q is %d wide, want 60", l, w)
		}
	}
	if !strings.Contains(v, "Delete mail.example.com?") || !strings.Contains(v, "Its DKIM keys go with it.") || !strings.Contains(v, "y yes") {
		t.Fatalf("view:\n%s", v)
	}
}
