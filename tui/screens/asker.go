package screens

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/components/confirm"
)

// asker asks a yes/no question before a change that cannot be undone
// (delete, revoke, rotate, remove); the change is made only on yes. While
// the question is open the screen gives it every key.
type asker struct {
	confirm *confirm.Model // the open question (nil: none)
	onYes   func() tea.Cmd
}

// ask opens q; yes makes the change once it is answered yes. The screen
// then fits q into its width.
func (a *asker) ask(q *confirm.Model, yes func() tea.Cmd) { a.confirm, a.onYes = q, yes }

// asking reports whether a question is open.
func (a *asker) asking() bool { return a.confirm != nil }

// answer reads a key for the open question. closed is true once the key
// answered it; cmd is then the change, on yes.
func (a *asker) answer(msg tea.KeyMsg) (cmd tea.Cmd, closed bool) {
	answer := a.confirm.Update(msg)
	if answer == confirm.Undecided {
		return nil, false
	}
	yes := a.onYes
	a.confirm, a.onYes = nil, nil
	if answer == confirm.No {
		return nil, true
	}
	return yes(), true
}

// shortHelp is the question's keys while it is open, else keys.
func (a *asker) shortHelp(keys ...key.Binding) []key.Binding {
	if a.confirm != nil {
		return a.confirm.Bindings()
	}
	return keys
}

// fullHelp is the question's keys while it is open, else groups.
func (a *asker) fullHelp(groups [][]key.Binding) [][]key.Binding {
	if a.confirm != nil {
		return [][]key.Binding{a.confirm.Bindings()}
	}
	return groups
}

// question is the open question's box followed by a blank line, "" when
// none is open.
func (a *asker) question() string {
	if a.confirm == nil {
		return ""
	}
	return a.confirm.View() + "\n\n"
}
