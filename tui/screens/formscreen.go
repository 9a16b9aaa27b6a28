package screens

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/tui/common"
	"gent/tui/components/form"
)

// formScreen is what the form screens share: the form, the calls in
// flight and the width. The screen embeds it, handles the replies it
// expects and passes every other message to updateForm.
type formScreen struct {
	c    *common.Common
	req  common.Requests
	form *form.Form // nil while what the form offers is loading
	w, h int
	// call names the submit call: keys wait while it is in flight.
	call string
	// cancel lets esc close the screen. The setup and sign-in screens
	// have nothing under them to go back to.
	cancel bool
}

func (f *formScreen) Init() tea.Cmd        { return f.form.Init() }
func (f *formScreen) Busy() (bool, string) { return f.req.Busy() }

// initPast focuses the form's first field, or next when the field filled
// already has a value: what the TUI could fill in is not typed again.
func (f *formScreen) initPast(filled, next string) tea.Cmd {
	cmd := f.form.Init()
	if f.form.Value(filled) != "" {
		cmd = f.form.Focus(next)
	}
	return cmd
}

// Typing is always true where esc cancels: it cancels the form rather
// than going back, and q is typed into the text fields. Elsewhere it is
// true while a text field has the focus.
func (f *formScreen) Typing() bool { return f.cancel || f.form.Typing() }

func (f *formScreen) SetSize(w, h int) {
	f.w, f.h = w, h
	if f.form != nil {
		f.form.SetWidth(w)
	}
}

func (f *formScreen) ShortHelp() []key.Binding {
	switch {
	case !f.cancel:
		return f.form.Bindings()
	case f.form == nil:
		return []key.Binding{f.c.Keys.Cancel}
	}
	return append(f.form.Bindings(), f.c.Keys.Cancel)
}

func (f *formScreen) FullHelp() [][]key.Binding { return [][]key.Binding{f.ShortHelp()} }

// updateForm handles the messages a form screen does not handle itself.
// A failed call shows under the field it names (or above the form). esc
// cancels where it may; other keys edit the form, unless the submit call
// is in flight, and submit clears the form's errors and calls submit.
func (f *formScreen) updateForm(msg tea.Msg, submit func() tea.Cmd) tea.Cmd {
	switch msg := msg.(type) {
	case common.ErrorMsg:
		if _, ok := f.req.Done(msg.ID); ok {
			return f.form.SetError(msg.Err)
		}
		return nil
	case tea.KeyMsg:
		if f.cancel && key.Matches(msg, f.c.Keys.Cancel) {
			return common.Pop
		}
		if f.form == nil || f.req.Pending(f.call) {
			return nil
		}
		if submitted, cmd := f.form.Update(msg); !submitted {
			return cmd
		}
		f.form.ClearErrors()
		return submit()
	}
	if f.form == nil {
		return nil
	}
	_, cmd := f.form.Update(msg)
	return cmd
}

// reloadForm reports whether a form whose first load did not arrive (it
// failed while the daemon was away) loads again: the event stream is back
// after an outage and no call is in flight. A form already shown is left
// alone, with whatever was typed into it.
func reloadForm(msg common.StreamMsg, unloaded bool, req *common.Requests) bool {
	busy, _ := req.Busy()
	return msg.Stale() && unloaded && !busy
}
