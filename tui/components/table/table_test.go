package table

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"gent/tui/client"
	"gent/tui/common"
)

func TestCursorAndScrolling(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	m := New(common.NewCommon(cl), Column{Title: "N", Width: 4}, Column{Title: "Name"})
	m.SetSize(30, 4) // header + 3 rows
	var rows [][]string
	for i := 0; i < 10; i++ {
		rows = append(rows, []string{fmt.Sprint(i), fmt.Sprintf("row number %d with a long name", i)})
	}
	m.SetRows(rows)
	press := func(k tea.KeyType) { m.Update(tea.KeyMsg{Type: k}) }

	press(tea.KeyUp) // stays at the top
	if m.Cursor() != 0 {
		t.Fatalf("cursor %d", m.Cursor())
	}
	press(tea.KeyDown)
	press(tea.KeyDown)
	press(tea.KeyDown)
	v := m.View()
	if !strings.Contains(v, "› 3") || strings.Contains(v, "  0 ") {
		t.Fatalf("did not scroll to row 3:\n%s", v)
	}
	if n := strings.Count(v, "\n") + 1; n != 4 {
		t.Fatalf("%d lines, want 4", n)
	}
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 30 {
			t.Fatalf("line %q is %d wide", l, w)
		}
	}
	press(tea.KeyEnd)
	if m.Cursor() != 9 {
		t.Fatalf("end: cursor %d", m.Cursor())
	}
	press(tea.KeyPgDown)
	if m.Cursor() != 9 {
		t.Fatalf("page down past the end: cursor %d", m.Cursor())
	}
	press(tea.KeyPgUp)
	if m.Cursor() != 6 {
		t.Fatalf("page up: cursor %d", m.Cursor())
	}
	press(tea.KeyHome)
	if m.Cursor() != 0 || !strings.Contains(m.View(), "› 0") {
		t.Fatalf("home: cursor %d", m.Cursor())
	}
	if handled := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("z")}); handled {
		t.Fatal("an unknown key was handled")
	}
	m.SetRows(rows[:2]) // fewer rows: the cursor stays inside
	m.SetCursor(5)
	if m.Cursor() != 1 {
		t.Fatalf("cursor %d past the end", m.Cursor())
	}
}

// Width goes where values are cut, by priority: at 120 columns a cut
// Inbox grows before the flexible Label takes the rest; at 80 an action is
// never cut, the lower-priority actor gives way; columns narrower than
// their content leave the room to others.
func TestColumnPriorities(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	c := common.NewCommon(cl)

	tokens := New(c, Column{Title: "Label", Min: 12}, Column{Title: "Inbox", Width: 20, Grow: true, Max: 40, Priority: 2},
		Column{Title: "Status", Width: 9})
	tokens.SetRows([][]string{{"reply-agent", "support-escalations@mail.example.com", "active"}})
	tokens.SetSize(120, 5)
	if v := tokens.View(); !strings.Contains(v, "support-escalations@mail.example.com") {
		t.Fatalf("inbox cut at 120 columns:\n%s", v)
	}

	audit := New(c, Column{Title: "Time", Width: 14}, Column{Title: "Actor", Width: 20, Min: 12, Grow: true, Max: 32, Priority: 1},
		Column{Title: "Action", Width: 15, Grow: true, Max: 40, Priority: 3}, Column{Title: "Result", Width: 6},
		Column{Title: "Target", Min: 10})
	audit.SetRows([][]string{
		{"01-02 15:04:05", "test-email:read-email-agent", "approvals.reject", "✓ 200", "apr_1"},
		{"01-02 15:04:05", "system", "approval.rejected", "✓", "apr_1"},
		{"01-02 15:04:05", "system", "cap.threshold_crossed", "✓", "support@mail.example.com"},
	})
	audit.SetSize(80, 5)
	v := audit.View()
	for _, want := range []string{"approvals.reject ", "approval.rejected", "cap.threshold_crossed"} {
		if !strings.Contains(v, want) {
			t.Fatalf("action %q cut at 80 columns:\n%s", want, v)
		}
	}
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 80 {
			t.Fatalf("line %q is %d wide", l, w)
		}
	}

	status := New(c, Column{Title: "Name"}, Column{Title: "Status", Width: 20})
	status.SetRows([][]string{{"a name long enough to be cut at thirty columns", "ok"}})
	status.SetSize(40, 3)
	if v := status.View(); !strings.Contains(v, "a name long enough to be cut") {
		t.Fatalf("a short status column kept its width:\n%s", v)
	}
}

// / filters the rows by any cell; the cursor still names the row's own
// index; enter keeps the filter, esc drops it.
func TestFilter(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	m := New(common.NewCommon(cl), Column{Title: "Email"}, Column{Title: "Role", Width: 9})
	m.SetSize(60, 8)
	m.SetRows([][]string{{"ann@acme.test", "admin"}, {"bob@acme.test", "reviewer"}, {"rex@acme.test", "reviewer"}})
	key := func(s string) bool { return m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}) }
	if !key("/") || !m.Filtering() {
		t.Fatal("/ did not open the filter")
	}
	for _, r := range "review" {
		key(string(r))
	}
	v := m.View()
	if strings.Contains(v, "ann@") || !strings.Contains(v, "bob@") || !strings.Contains(v, "2 of 3") {
		t.Fatalf("filtered:\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if m.Filtering() || m.Filter() != "review" {
		t.Fatal("enter did not keep the filter")
	}
	m.Update(tea.KeyMsg{Type: tea.KeyDown})
	if m.Cursor() != 2 {
		t.Fatalf("cursor %d, want rex's own index 2", m.Cursor())
	}
	// The rows reloaded keep the filter and the selection.
	m.SetRows([][]string{{"ann@acme.test", "admin"}, {"bob@acme.test", "reviewer"}, {"rex@acme.test", "reviewer"}, {"zoe@acme.test", "admin"}})
	if m.Cursor() != 2 || strings.Contains(m.View(), "zoe@") {
		t.Fatalf("after a reload: cursor %d\n%s", m.Cursor(), m.View())
	}
	key("/")
	key("x") // nothing matches
	if !m.Empty() {
		t.Fatalf("rows shown for no match:\n%s", m.View())
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if m.Filtering() || m.Filter() != "" || !strings.Contains(m.View(), "zoe@") {
		t.Fatalf("esc did not drop the filter:\n%s", m.View())
	}
}

// A click selects the row under it (Y counted from the header line); the
// wheel moves the cursor.
func TestMouse(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	m := New(common.NewCommon(cl), Column{Title: "N"})
	m.SetSize(30, 5)
	m.SetRows([][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}})
	m.Update(tea.MouseMsg{Y: 3, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if m.Cursor() != 2 {
		t.Fatalf("click on line 3: cursor %d", m.Cursor())
	}
	m.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	m.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if m.Cursor() != 4 {
		t.Fatalf("wheel: cursor %d", m.Cursor())
	}
	if m.Update(tea.MouseMsg{Y: 0, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress}) || m.Cursor() != 4 {
		t.Fatal("a click on the header moved the cursor")
	}
}
