// Package table is a scrolling table with a row cursor. The selected row
// is marked with a symbol as well as a style, so it shows without colour.
package table

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
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

// Model is the table. / filters its rows: typing narrows them to those
// with a cell containing the text (any case), enter keeps the filter, esc
// drops it. The cursor and the indexes it reports are the rows' own, so
// the screen's items still line up.
type Model struct {
	c      *common.Common
	cols   []Column
	all    [][]string // every row
	rows   [][]string // the rows shown: those the filter keeps
	index  []int      // index[i] is rows[i]'s place in all
	cursor int        // into rows
	offset int
	width  int
	height int // rows shown, header excluded

	filter    textinput.Model
	filtering bool // the filter's input has the keys
	// Filterable: / opens the filter. Screens where / does something
	// else (the audit log's own filter) leave it off.
	Filterable bool
}

// New builds an empty table.
func New(c *common.Common, cols ...Column) *Model {
	in := textinput.New()
	in.Prompt = "/"
	in.CharLimit = 100
	return &Model{c: c, cols: cols, width: 80, height: 10, filter: in, Filterable: true}
}

// Filtering reports whether the filter's input takes the keys; the screen
// then counts as typing.
func (m *Model) Filtering() bool { return m.filtering }

// Filter is the text rows are filtered by ("" when none).
func (m *Model) Filter() string { return m.filter.Value() }

// filterShown reports whether the filter line is drawn.
func (m *Model) filterShown() bool { return m.filtering || m.filter.Value() != "" }

// refilter keeps the rows matching the filter, the selected one when it
// still matches.
func (m *Model) refilter() {
	sel := -1
	if m.cursor < len(m.index) {
		sel = m.index[m.cursor]
	}
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	m.rows, m.index, m.cursor = m.rows[:0:0], m.index[:0:0], 0
	for i, r := range m.all {
		if q == "" || matches(r, q) {
			if i == sel {
				m.cursor = len(m.rows)
			}
			m.rows, m.index = append(m.rows, r), append(m.index, i)
		}
	}
	m.clamp()
}

func matches(row []string, q string) bool {
	for _, c := range row {
		if strings.Contains(strings.ToLower(ansi.Strip(c)), q) {
			return true
		}
	}
	return false
}

// SetSize fits the table into width columns and height lines (header
// included).
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, max(1, height-1)
	m.filter.Width = max(8, width-30)
	m.clamp()
}

// SetRows replaces the rows, keeping the cursor where it can.
func (m *Model) SetRows(rows [][]string) {
	cur := m.cursor
	if cur < len(m.index) {
		cur = m.index[cur]
	}
	m.all = rows
	m.rows, m.index = nil, nil
	m.cursor = 0
	m.refilter()
	m.SetCursor(cur)
}

// Len is the number of rows.
func (m *Model) Len() int { return len(m.all) }

// Cursor is the index (among every row) of the selected row; with a
// filter that keeps no row, 0.
func (m *Model) Cursor() int {
	if m.cursor < len(m.index) {
		return m.index[m.cursor]
	}
	return 0
}

// Empty reports whether no row is shown (none, or none matches).
func (m *Model) Empty() bool { return len(m.rows) == 0 }

// SetCursor selects row i (an index among every row); a row the filter
// hides selects the nearest shown one.
func (m *Model) SetCursor(i int) {
	m.cursor = 0
	for j, k := range m.index {
		if k <= i {
			m.cursor = j
		}
	}
	m.clamp()
}

func (m *Model) clamp() {
	m.cursor = min(max(m.cursor, 0), max(len(m.rows)-1, 0))
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+m.rowsShown() {
		m.offset = m.cursor - m.rowsShown() + 1
	}
	m.offset = max(0, min(m.offset, len(m.rows)-m.rowsShown()))
}

// rowsShown is the height left for rows under the filter line.
func (m *Model) rowsShown() int {
	if m.filterShown() {
		return max(1, m.height-1)
	}
	return m.height
}

// Update moves the cursor and runs the filter; handled is false for keys
// the table ignores.
func (m *Model) Update(msg tea.Msg) (handled bool) {
	if mm, ok := msg.(tea.MouseMsg); ok {
		return m.mouse(mm)
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return false
	}
	k := m.c.Keys
	if m.filtering {
		switch {
		case key.Matches(km, k.Cancel):
			m.filtering = false
			m.filter.Reset()
			m.filter.Blur()
			m.refilter()
		case km.Type == tea.KeyEnter || km.Type == tea.KeyUp || km.Type == tea.KeyDown:
			// The filter stays; the keys go back to the list.
			m.filtering = false
			m.filter.Blur()
		default:
			m.filter, _ = m.filter.Update(msg)
			m.refilter()
		}
		return true
	}
	switch {
	case m.Filterable && key.Matches(km, k.Filter):
		m.filtering = true
		m.filter.Focus()
		m.clamp()
		return true
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
	if m.filtering {
		return []key.Binding{k.Submit, k.Cancel}
	}
	b := []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
	if m.Filterable {
		b = append(b, k.Filter)
	}
	return b
}

// mouse selects the row clicked and scrolls with the wheel. The row is
// the line under the header (and filter line) the event's Y names: the
// screen sets Y relative to the table's first line (MouseAt).
func (m *Model) mouse(msg tea.MouseMsg) bool {
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		m.cursor--
	case msg.Button == tea.MouseButtonWheelDown:
		m.cursor++
	case msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress:
		first := 1
		if m.filterShown() {
			first = 2
		}
		row := m.offset + msg.Y - first
		if msg.Y < first || row >= len(m.rows) || row >= m.offset+m.rowsShown() {
			return false
		}
		m.cursor = row
	default:
		return false
	}
	m.clamp()
	return true
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
		for _, r := range m.all {
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
		case len(m.all) > 0:
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

// Header is the table's header line as View draws it first; a screen
// finds the table in its view by it (mouse clicks).
func (m *Model) Header() string {
	titles := make([]string, len(m.cols))
	for i, c := range m.cols {
		titles[i] = c.Title
	}
	return "  " + m.c.Styles.TableHeader.Render(m.line(titles, m.widths()))
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
	if m.filterShown() {
		lines = append(lines, "  "+m.filter.View()+st.Muted.Render(fmt.Sprintf("  %d of %d", len(m.rows), len(m.all))))
	}
	end := min(len(m.rows), m.offset+m.rowsShown())
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

// Position is "row i of n" for a status line ("" when empty), among the
// rows shown.
func (m *Model) Position() (int, int) { return m.cursor + 1, len(m.rows) }
