// Package table is a scrolling table with a row cursor. The selected row
// is marked with a symbol as well as a style, so it shows without colour.
package table

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/tui/common"
	"gent/tui/styles"
)

// Column is one column; Width 0 makes it take the width left over.
type Column struct {
	Title string
	Width int
}

// Model is the table.
type Model struct {
	c      *common.Common
	cols   []Column
	rows   [][]string
	cursor int
	offset int
	width  int
	height int // rows shown, header excluded
}

// New builds an empty table.
func New(c *common.Common, cols ...Column) *Model {
	return &Model{c: c, cols: cols, width: 80, height: 10}
}

// SetSize fits the table into width columns and height lines (header
// included).
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, max(1, height-1)
	m.clamp()
}

// SetRows replaces the rows, keeping the cursor where it can.
func (m *Model) SetRows(rows [][]string) {
	m.rows = rows
	m.clamp()
}

// Len is the number of rows.
func (m *Model) Len() int { return len(m.rows) }

// Cursor is the index of the selected row.
func (m *Model) Cursor() int { return m.cursor }

// SetCursor selects row i.
func (m *Model) SetCursor(i int) {
	m.cursor = i
	m.clamp()
}

func (m *Model) clamp() {
	m.cursor = min(max(m.cursor, 0), max(len(m.rows)-1, 0))
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+m.height {
		m.offset = m.cursor - m.height + 1
	}
	m.offset = max(0, min(m.offset, len(m.rows)-m.height))
}

// Update moves the cursor; handled is false for keys the table ignores.
func (m *Model) Update(msg tea.Msg) (handled bool) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return false
	}
	k := m.c.Keys
	switch {
	case key.Matches(km, k.Up):
		m.cursor--
	case key.Matches(km, k.Down):
		m.cursor++
	case key.Matches(km, k.PageUp):
		m.cursor -= m.height
	case key.Matches(km, k.PageDown):
		m.cursor += m.height
	case key.Matches(km, k.Top):
		m.cursor = 0
	case key.Matches(km, k.Bottom):
		m.cursor = len(m.rows) - 1
	default:
		return false
	}
	m.clamp()
	return true
}

// Bindings are the table's keys for the help.
func (m *Model) Bindings() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// widths resolves the flexible column.
func (m *Model) widths() []int {
	w := make([]int, len(m.cols))
	used, flex := 2, -1
	for i, c := range m.cols {
		w[i] = c.Width
		used += c.Width
		if i > 0 {
			used += 2
		}
		if c.Width == 0 {
			flex = i
		}
	}
	if flex >= 0 {
		w[flex] = max(4, m.width-used)
	}
	return w
}

func (m *Model) line(cells []string, widths []int) string {
	parts := make([]string, len(widths))
	for i, w := range widths {
		s := ""
		if i < len(cells) {
			s = cells[i]
		}
		s = ansi.Truncate(s, w, "…")
		if i < len(widths)-1 {
			s += strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
		}
		parts[i] = s
	}
	return strings.TrimRight(strings.Join(parts, "  "), " ")
}

// View draws the header and the visible rows.
func (m *Model) View() string {
	st := m.c.Styles
	widths := m.widths()
	titles := make([]string, len(m.cols))
	for i, c := range m.cols {
		titles[i] = c.Title
	}
	lines := []string{"  " + st.TableHeader.Render(m.line(titles, widths))}
	end := min(len(m.rows), m.offset+m.height)
	for i := m.offset; i < end; i++ {
		l := m.line(m.rows[i], widths)
		if i == m.cursor {
			lines = append(lines, st.Selected.Render(styles.Cursor+" "+l))
		} else {
			lines = append(lines, "  "+l)
		}
	}
	return strings.Join(lines, "\n")
}

// Position is "row i of n" for a status line ("" when empty).
func (m *Model) Position() (int, int) { return m.cursor + 1, len(m.rows) }
