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
