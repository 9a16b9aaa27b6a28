package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/table"
)

// Inboxes lists the organization's inboxes with their usage.
type Inboxes struct {
	c       *common.Common
	req     common.Requests
	table   *table.Model
	inboxes []models.Inbox
	err     string
	w, h    int

	selectID string
	confirm  *confirm.Model
	deleting models.Inbox
}

// NewInboxes builds the inboxes screen.
func NewInboxes(c *common.Common) *Inboxes {
	return &Inboxes{c: c, table: table.New(c,
		table.Column{Title: "Address", Width: 0},
		table.Column{Title: "Display name", Width: 18},
		table.Column{Title: "Messages", Width: 8},
		table.Column{Title: fmt.Sprintf("%10s", "Used"), Width: 10},
	)}
}

func (s *Inboxes) Title() string        { return "Inboxes" }
func (s *Inboxes) Init() tea.Cmd        { return s.load() }
func (s *Inboxes) Busy() (bool, string) { return s.req.Busy() }
func (s *Inboxes) Typing() bool         { return s.confirm != nil }

func (s *Inboxes) SetSize(w, h int) {
	s.w, s.h = w, h
	rows := h - 2
	if s.confirm != nil {
		s.confirm.SetWidth(w)
		rows -= lines(s.confirm.View()) + 1
	}
	s.table.SetSize(w, rows)
}

func (s *Inboxes) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.confirm != nil {
		return s.confirm.Bindings()
	}
	return []key.Binding{k.AddInbox, k.InboxTokens, k.Delete}
}

func (s *Inboxes) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if s.confirm != nil {
		return [][]key.Binding{s.confirm.Bindings()}
	}
	return [][]key.Binding{{k.AddInbox, k.InboxTokens}, {k.Delete, k.Refresh}, s.table.Bindings()}
}

func (s *Inboxes) load() tea.Cmd {
	id, cmd := common.Call(s.c, func(ctx context.Context, cl *client.Client) ([]models.Inbox, error) {
		return cl.AllInboxes(ctx)
	})
	s.req.Start("list", id, "Loading inboxes…")
	return cmd
}

func (s *Inboxes) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[[]models.Inbox]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.setInboxes(msg.Value)
		}
	case common.ResultMsg[deleted]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindInboxes, ""), changed(kindTokens, ""),
				common.Flash("Deleted "+msg.Value.Name+"; its tokens are revoked."))
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "delete" {
				return s, common.FlashError(common.Describe(msg.Err))
			}
			s.err = common.Describe(msg.Err)
		}
	case ChangedMsg:
		if msg.Kind == kindInboxes {
			s.selectID = msg.ID
			return s, s.load()
		}
	case tea.KeyMsg:
		if s.confirm != nil {
			return s, s.answer(msg)
		}
		return s, s.handleKey(msg)
	}
	return s, nil
}

func (s *Inboxes) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddInbox):
		return common.Push(NewInboxAdd(s.c))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	if len(s.inboxes) == 0 {
		return nil
	}
	in := s.inboxes[s.table.Cursor()]
	switch {
	case key.Matches(msg, k.InboxTokens):
		return common.Push(NewTokens(s.c, &in))
	case key.Matches(msg, k.Delete):
		s.deleting = in
		s.confirm = confirm.New(s.c, "Delete "+in.Address+"?",
			fmt.Sprintf("Every token of this inbox is revoked at once, and its %s (%s) are removed. "+
				"The address becomes free. This cannot be undone.", plural(int(in.MessageCount), "message"), humanBytes(in.UsedBytes)))
		s.SetSize(s.w, s.h)
		return nil
	}
	s.table.Update(msg)
	return nil
}

func (s *Inboxes) answer(msg tea.KeyMsg) tea.Cmd {
	a := s.confirm.Update(msg)
	if a == confirm.Undecided {
		return nil
	}
	s.confirm = nil
	s.SetSize(s.w, s.h)
	if a == confirm.No {
		return nil
	}
	in := s.deleting
	id, cmd := common.Call(s.c, func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: in.ID, Name: in.Address}, cl.DeleteInbox(ctx, in.ID)
	})
	s.req.Start("delete", id, "Deleting "+in.Address+"…")
	return cmd
}

func (s *Inboxes) setInboxes(ins []models.Inbox) {
	s.inboxes, s.err = ins, ""
	rows := make([][]string, len(ins))
	for i, in := range ins {
		rows[i] = []string{in.Address, in.DisplayName, fmt.Sprintf("%8d", in.MessageCount), fmt.Sprintf("%10s", humanBytes(in.UsedBytes))}
		if in.ID == s.selectID {
			defer s.table.SetCursor(i)
		}
	}
	s.selectID = ""
	s.table.SetRows(rows)
}

func (s *Inboxes) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.inboxes == nil:
		return st.Muted.Render("Loading inboxes…")
	case len(s.inboxes) == 0:
		return st.Title.Render("No inboxes yet") + "\n\n" + st.Muted.Render(
			"Create one with a: an address on a verified domain, for one agent.")
	}
	var msgs, used int64
	for _, in := range s.inboxes {
		msgs += in.MessageCount
		used += in.UsedBytes
	}
	var b strings.Builder
	b.WriteString(st.Title.Render(plural(len(s.inboxes), "inbox")) +
		st.Muted.Render(fmt.Sprintf(" · %s · %s used", plural(int(msgs), "message"), humanBytes(used))) + "\n\n")
	if s.confirm != nil {
		b.WriteString(s.confirm.View() + "\n\n")
	}
	b.WriteString(s.table.View())
	return b.String()
}
