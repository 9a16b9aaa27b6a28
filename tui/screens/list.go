package screens

import (
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"

	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/common"
	"gent/tui/components/table"
)

// lister is a screen listing a T as its list sees it: what loads the T,
// shows a freshly loaded one and handles a key, and the layout, done
// again when a question opens or closes.
type lister[T any] interface {
	View() string
	load() tea.Cmd
	show(T)
	handleKey(tea.KeyMsg) tea.Cmd
	SetSize(w, h int)
}

// list is what the screens listing a T share: the calls in flight, why
// the list could not be loaded, the size, the row to select once the list
// is reloaded, the question asked before a change, and the live reload.
// The screen embeds it, handles the replies of its other calls (delete…)
// and passes every other message to updateList.
type list[T any] struct {
	c    *common.Common
	req  common.Requests
	err  string // why the list could not be loaded
	w, h int
	asker

	screen lister[T]
	// selectID is selected when the next list arrives: what a change
	// (ChangedMsg) named.
	selectID string
	// kinds are the ChangedMsg kinds that reload the list.
	kinds []string
	// events are the event types that reload the list, a burst at a
	// time; liveLabel is the spinner's label while a reload waits.
	events    []string
	liveLabel string
	live      common.Debouncer
	// tbl is the list's table, which filters with / (setRows records it).
	tbl *table.Model
}

// newList builds the list of screen s, reloaded by changes of kinds.
func newList[T any](c *common.Common, s lister[T], kinds ...string) list[T] {
	return list[T]{c: c, screen: s, kinds: kinds}
}

// follow reloads the list after events of types, debounced; label is
// shown meanwhile.
func (l *list[T]) follow(label string, types ...string) { l.liveLabel, l.events = label, types }

func (l *list[T]) Init() tea.Cmd { return l.screen.load() }

// Typing is true while a question is open or the table's filter is being
// typed: they take every key.
func (l *list[T]) Typing() bool { return l.confirm != nil || l.tbl != nil && l.tbl.Filtering() }

// shortHelp is the filter's keys while it is open (every other key is
// typed into it), the question's while one is open, else keys.
func (l *list[T]) shortHelp(keys ...key.Binding) []key.Binding {
	if l.confirm == nil && l.tbl != nil && l.tbl.Filtering() {
		return l.tbl.Bindings()
	}
	return l.asker.shortHelp(keys...)
}

// fullHelp is as shortHelp, with groups.
func (l *list[T]) fullHelp(groups [][]key.Binding) [][]key.Binding {
	if l.confirm == nil && l.tbl != nil && l.tbl.Filtering() {
		return [][]key.Binding{l.tbl.Bindings()}
	}
	return l.asker.fullHelp(groups)
}

func (l *list[T]) Busy() (bool, string) {
	if l.live.Pending() {
		return true, l.liveLabel
	}
	return l.req.Busy()
}

// resize records the size and fits the open question into the width; it
// returns the height left under the question.
func (l *list[T]) resize(w, h int) int {
	l.w, l.h = w, h
	if l.confirm != nil {
		l.confirm.SetWidth(w)
	}
	return l.room()
}

// room is the height left under the open question.
func (l *list[T]) room() int {
	if l.confirm == nil {
		return l.h
	}
	return l.h - lines(l.confirm.View()) - 1
}

// updateList handles what every list screen does alike; handled is false
// for what the screen handles itself. The loaded T is shown. A failed load
// shows in place of the list, any other failed call (delete, revoke…) in
// the status line. A change of a kind the list shows, an event it follows
// and a stream that missed events reload it. Keys go to the open question,
// else to the screen.
func (l *list[T]) updateList(msg tea.Msg) (handled bool, cmd tea.Cmd) {
	if _, ok := l.live.Fire(msg); ok {
		return true, l.screen.load()
	}
	switch msg := msg.(type) {
	case common.ResultMsg[T]:
		if _, ok := l.req.Done(msg.ID); ok {
			l.screen.show(msg.Value)
		}
		return true, nil
	case common.ErrorMsg:
		if name, ok := l.req.Done(msg.ID); ok {
			if name != "list" {
				return true, common.FlashError(common.Describe(msg.Err))
			}
			l.err = common.Describe(msg.Err)
		}
		return true, nil
	case ChangedMsg:
		if slices.Contains(l.kinds, msg.Kind) {
			l.selectID = msg.ID
			return true, l.screen.load()
		}
	case common.EventMsg:
		if slices.Contains(l.events, msg.Event.Type) {
			return true, l.live.Add(l.c, msg.Event.Type)
		}
	case common.StreamMsg:
		if msg.Stale() {
			return true, l.screen.load()
		}
	case common.ShownMsg:
		// Back on this list: what changed meanwhile without an event it
		// follows (or while the daemon was away) shows.
		return true, l.screen.load()
	case tea.MouseMsg:
		if l.tbl != nil && l.confirm == nil {
			// Y is the screen's line: make it the table's.
			head := ansi.Strip(l.tbl.Header())
			for i, line := range strings.Split(l.screen.View(), "\n") {
				if ansi.Strip(line) == head {
					msg.Y -= i
					l.tbl.Update(msg)
					break
				}
			}
		}
		return true, nil
	case tea.KeyMsg:
		if l.confirm == nil && l.tbl != nil && l.tbl.Filtering() {
			l.tbl.Update(msg)
			return true, nil
		}
		if l.confirm == nil {
			return true, l.screen.handleKey(msg)
		}
		cmd, closed := l.answer(msg)
		if closed {
			l.screen.SetSize(l.w, l.h)
		}
		return true, cmd
	}
	return false, nil
}

// setRows shows a freshly loaded list in t: n rows, row(i) giving the
// i-th's id and cells. The row selectID names is selected.
func (l *list[T]) setRows(t *table.Model, n int, row func(i int) (id string, cells []string)) {
	l.tbl = t
	l.err = ""
	rows := make([][]string, n)
	sel := -1
	for i := range rows {
		var id string
		id, rows[i] = row(i)
		if id == l.selectID && sel < 0 {
			sel = i
		}
	}
	l.selectID = ""
	t.SetRows(rows)
	if sel >= 0 {
		t.SetCursor(sel)
	}
}
