// Package confirm is a yes/no question in a box, asked before a change
// that cannot be undone (delete, revoke, rotate). Nothing happens unless
// the answer is y.
package confirm

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"gent/tui/common"
	"gent/tui/styles"
)

// Answer is what a key did to the question.
type Answer int

const (
	// Undecided: the key was neither yes nor no.
	Undecided Answer = iota
	Yes
	No
)

// Model is one question.
type Model struct {
	c     *common.Common
	title string
	lines []string
	width int
}

// New asks title; lines explain what will happen.
func New(c *common.Common, title string, lines ...string) *Model {
	return &Model{c: c, title: title, lines: lines, width: 80}
}

// SetWidth fits the box into w columns.
func (m *Model) SetWidth(w int) { m.width = w }

// Update reads a key: y is Yes, n or esc No, anything else Undecided.
func (m *Model) Update(msg tea.Msg) Answer {
	km, ok := msg.(tea.KeyMsg)
	switch {
	case !ok:
		return Undecided
	case key.Matches(km, m.c.Keys.Confirm):
		return Yes
	case key.Matches(km, m.c.Keys.Decline):
		return No
	}
	return Undecided
}

// Bindings are the keys of the question.
func (m *Model) Bindings() []key.Binding {
	return []key.Binding{m.c.Keys.Confirm, m.c.Keys.Decline}
}

// View draws the question in a box with its keys.
func (m *Model) View() string {
	st := m.c.Styles
	inner := max(20, m.width-4)
	body := []string{st.Warning.Render(styles.Warn+" ") + st.Title.Render(m.title), ""}
	for _, l := range m.lines {
		body = append(body, lipgloss.NewStyle().Width(inner).Render(l))
	}
	body = append(body, "", st.Label.Render("y")+st.Muted.Render(" yes, go ahead   ")+
		st.Label.Render("n")+st.Muted.Render(" no, keep it"))
	return st.AlertBox.Width(inner + 2).Render(strings.Join(body, "\n"))
}
