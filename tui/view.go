package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"

	"gent/tui/common"
	"gent/tui/styles"
)

// headerHeight is the title line and the rule under it.
const headerHeight = 2

// View draws the header, the open screen fitted to the body area, the
// status line and the help.
func (m *Model) View() string {
	w, h := m.bodySize()
	return m.header() + "\n" + m.pause.view(m.c, m.width) + fit(m.body(), w, h) + "\n" + m.status() + "\n" + m.helpView()
}

func (m *Model) header() string {
	st := m.c.Styles
	var crumbs []string
	for _, s := range m.stack {
		crumbs = append(crumbs, s.Title())
	}
	left := st.AppTitle.Render("Gent")
	if len(crumbs) > 0 {
		left += " " + st.Breadcrumb.Render(strings.Join(crumbs, " › "))
	}
	right := m.c.Client.Server()
	if me := m.c.Me; me != nil {
		right = me.User.Email + " · " + me.Org.Name
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	line := left
	if gap >= 2 {
		line += strings.Repeat(" ", gap) + st.HeaderInfo.Render(right)
	}
	return ansi.Truncate(line, m.width, "…") + "\n" + st.Rule.Render(strings.Repeat("─", m.width))
}

func (m *Model) body() string {
	st := m.c.Styles
	switch m.state {
	case stateStarting:
		return "\n  " + st.Muted.Render("Connecting to "+m.c.Client.Server()+"…")
	case stateFailed:
		return "\n  " + st.Error.Render(styles.Fail+" Cannot start: "+m.failure) + "\n\n  " +
			st.Muted.Render("Is gentd running at "+m.c.Client.Server()+"? Start it, then press r.")
	}
	return m.top().View()
}

// status is the line above the help: the spinner while calls run, else
// the last note.
func (m *Model) status() string {
	st := m.c.Styles
	if busy, label := m.busy(); busy && !m.flash.Notice {
		return m.spinner.View() + " " + st.Muted.Render(label)
	}
	switch {
	case m.flash.Text == "" && m.streamDown != "":
		return ansi.Truncate(st.Warning.Render(styles.Warn+" "+m.streamDown), m.width, "…")
	case m.flash.Text == "":
		return ""
	case m.flash.Error:
		return ansi.Truncate(st.Error.Render(styles.Fail+" "+m.flash.Text), m.width, "…")
	case m.flash.Notice:
		return ansi.Truncate(st.Warning.Render(styles.Warn+" "+m.flash.Text), m.width, "…")
	}
	return ansi.Truncate(st.Success.Render(styles.OK+" "+m.flash.Text), m.width, "…")
}

func (m *Model) busy() (bool, string) {
	if b, label := m.req.Busy(); b {
		return b, label
	}
	if s, ok := m.top().(common.Busy); ok {
		return s.Busy()
	}
	return false, ""
}

// helpView is the help line, or the full help when ? was pressed. Lines
// are cut to the width: the help model does not always cut them itself.
func (m *Model) helpView() string {
	m.help.Width = m.width
	lines := strings.Split(m.help.View(m.keyMap()), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(ansi.Truncate(l, m.width, "…"), " ")
	}
	return strings.Join(lines, "\n")
}

// frameKeys adds the global keys to the open screen's.
type frameKeys struct {
	screen help.KeyMap
	global []key.Binding
	more   []key.Binding // global keys only the full help lists
}

func (f frameKeys) ShortHelp() []key.Binding {
	var b []key.Binding
	if f.screen != nil {
		b = f.screen.ShortHelp()
	}
	return append(b, f.global...)
}

func (f frameKeys) FullHelp() [][]key.Binding {
	var b [][]key.Binding
	if f.screen != nil {
		b = f.screen.FullHelp()
	}
	return append(b, append(append([]key.Binding(nil), f.global...), f.more...))
}

func (m *Model) keyMap() frameKeys {
	k := m.c.Keys
	switch {
	case m.state == stateFailed:
		return frameKeys{global: []key.Binding{k.Retry, k.Quit}}
	case m.state == stateStarting:
		return frameKeys{global: []key.Binding{k.Quit}}
	case m.typing() && m.helpKeyFree():
		return frameKeys{screen: m.top(), global: []key.Binding{m.helpBinding()}, more: []key.Binding{k.ForceQuit}}
	case m.typing():
		return frameKeys{screen: m.top(), global: []key.Binding{k.ForceQuit}}
	}
	var g []key.Binding
	if len(m.stack) > 1 {
		g = append(g, k.Back)
	}
	return frameKeys{screen: m.top(), global: append(g, m.helpBinding(), k.Quit)}
}

func (m *Model) helpBinding() key.Binding {
	if m.help.ShowAll {
		return key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "fewer keys"))
	}
	return m.c.Keys.Help
}

// fit cuts or pads s to exactly h lines of at most w columns.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(ansi.Truncate(l, w, "…"), " ")
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func lineCount(s string) int { return strings.Count(s, "\n") + 1 }
