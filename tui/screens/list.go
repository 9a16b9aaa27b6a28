package screens

import (
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/table"
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

// lister is a list screen as its list sees it: what loads the items, and
// the layout, done again when a question opens or closes.
type lister interface {
	load() tea.Cmd
	SetSize(w, h int)
}

// list is what the list screens share: the calls in flight, why the list
// could not be loaded, the size, the row to select once the list is
// reloaded, the question asked before a change, and the live reload.
// The screen embeds it and handles its own replies and keys; updateList
// does the rest.
type list struct {
	c    *common.Common
	req  common.Requests
	err  string // why the list could not be loaded
	w, h int
	asker

	screen lister
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
}

// newList builds the list of screen s, reloaded by changes of kinds.
func newList(c *common.Common, s lister, kinds ...string) list {
	return list{c: c, screen: s, kinds: kinds}
}

// follow reloads the list after events of types, debounced; label is
// shown meanwhile.
func (l *list) follow(label string, types ...string) { l.liveLabel, l.events = label, types }

func (l *list) Init() tea.Cmd { return l.screen.load() }

// Typing is true while a question is open: it takes every key.
func (l *list) Typing() bool { return l.confirm != nil }

func (l *list) Busy() (bool, string) {
	if l.live.Pending() {
		return true, l.liveLabel
	}
	return l.req.Busy()
}

// resize records the size and fits the open question into the width; it
// returns the height left under the question.
func (l *list) resize(w, h int) int {
	l.w, l.h = w, h
	if l.confirm != nil {
		l.confirm.SetWidth(w)
	}
	return l.room()
}

// room is the height left under the open question.
func (l *list) room() int {
	if l.confirm == nil {
		return l.h
	}
	return l.h - lines(l.confirm.View()) - 1
}

// updateList handles what every list screen does alike; handled is false
// for what the screen handles itself. A failed load shows in place of the
// list, any other failed call (delete, revoke…) in the status line. A
// change of a kind the list shows, an event it follows and a stream that
// missed events reload it. While a question is open it takes the keys.
func (l *list) updateList(msg tea.Msg) (handled bool, cmd tea.Cmd) {
	if _, ok := l.live.Fire(msg); ok {
		return true, l.screen.load()
	}
	switch msg := msg.(type) {
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
		if msg.Missed && l.events != nil {
			return true, l.screen.load()
		}
	case tea.KeyMsg:
		if l.confirm != nil {
			cmd, closed := l.answer(msg)
			if closed {
				l.screen.SetSize(l.w, l.h)
			}
			return true, cmd
		}
	}
	return false, nil
}

// setRows shows a freshly loaded list in t: n rows, row(i) giving the
// i-th's id and cells. The row selectID names is selected.
func (l *list) setRows(t *table.Model, n int, row func(i int) (id string, cells []string)) {
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
