// Package table is a scrolling table with a row cursor. The selected row
// is marked with a symbol as well as a style, so it shows without colour.
package table

import (
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/tui/common"
	"gent/tui/styles"
)

// Column is one column; Width 0 makes it take the width left over (at
// least Min, 10 when not set).
type Column struct {
	Title string
	Width int
	// Min is the narrowest the column gets when a column of a higher
	// Priority needs room (0: it keeps its width).
	Min int
	// Grow lets the column be wider than Width when its content is and
	// there is room; Max bounds it (0: no bound).
	Grow bool
	Max  int
	// Priority orders who gets room first and loses it last.
	Priority int
}

func (c Column) minWidth() int {
	if c.Min > 0 {
		return c.Min
	}
	return 10
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

// widths lays the columns out in the width. A column is first as wide as
// its content (never wider than Width, unless it may grow), at least Min;
// then the columns whose content is cut grow, highest Priority first,
// into the room left, and take it from columns of a lower Priority down
// to their Min; the flexible column (Width 0) gets what is left, at least
// its Min. So extra width goes where values are cut, in the order that
// matters, rather than all to one column.
func (m *Model) widths() []int {
	n := len(m.cols)
	w := make([]int, n)
	natural := make([]int, n)
	flex := -1
	avail := m.width - 2 - 2*max(0, n-1)
	for i, c := range m.cols {
		natural[i] = ansi.StringWidth(c.Title)
		for _, r := range m.rows {
			if i < len(r) {
				natural[i] = max(natural[i], ansi.StringWidth(r[i]))
			}
		}
		if c.Max > 0 {
			natural[i] = min(natural[i], c.Max)
		}
		switch {
		case c.Width == 0:
			flex = i
			w[i] = c.minWidth()
		case len(m.rows) > 0:
			w[i] = max(min(c.Width, natural[i]), c.Min, ansi.StringWidth(c.Title))
		default:
			w[i] = c.Width
		}
	}
	used := func() int {
		t := 0
		for _, x := range w {
			t += x
		}
		return t
	}
	// Columns whose content is cut grow, by priority.
	order := make([]int, 0, n)
	for i := range m.cols {
		if i != flex {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return m.cols[b].Priority - m.cols[a].Priority })
	for _, i := range order {
		c := m.cols[i]
		if !c.Grow || natural[i] <= w[i] {
			continue
		}
		need := natural[i] - w[i]
		if room := avail - used(); room > 0 {
			take := min(need, room)
			w[i], need = w[i]+take, need-take
		}
		// Take from columns of a lower priority, the lowest first.
		for j := len(order) - 1; need > 0 && j >= 0; j-- {
			k := order[j]
			if m.cols[k].Priority >= c.Priority {
				break
			}
			if give := min(need, w[k]-m.cols[k].Min); m.cols[k].Min > 0 && give > 0 {
				w[k], w[i], need = w[k]-give, w[i]+give, need-give
			}
		}
	}
	if flex >= 0 {
		w[flex] = max(w[flex], avail-used()+w[flex])
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
