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
	list[[]models.Inbox]
	table   *table.Model
	inboxes []models.Inbox
}

// NewInboxes builds the inboxes screen.
func NewInboxes(c *common.Common) *Inboxes {
	s := &Inboxes{table: table.New(c,
		table.Column{Title: "Address", Width: 0},
		table.Column{Title: "Display name", Width: 18},
		table.Column{Title: "Messages", Width: 8},
		table.Column{Title: fmt.Sprintf("%10s", "Used"), Width: 10},
	)}
	s.list = newList[[]models.Inbox](c, s, kindInboxes)
	s.follow("Updating inboxes…", models.EventMessageReceived, models.EventMessageSent, models.EventMessageCaptured)
	return s
}

func (s *Inboxes) Title() string    { return "Inboxes" }
func (s *Inboxes) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-2) }

func (s *Inboxes) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.Open, k.AddInbox, k.Policy, k.Delete)
}

func (s *Inboxes) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.Open, k.AddInbox, k.InboxTokens, k.Policy}, {k.Delete, k.Refresh}, s.table.Bindings()})
}

func (s *Inboxes) load() tea.Cmd {
	return common.Start(s.c, &s.req, "list", "Loading inboxes…", func(ctx context.Context, cl *client.Client) ([]models.Inbox, error) {
		return cl.AllInboxes(ctx)
	})
}

func (s *Inboxes) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(common.ResultMsg[deleted]); ok {
		if _, ok := s.req.Done(msg.ID); ok {
			return s, tea.Batch(changed(kindInboxes, ""), changed(kindTokens, ""),
				common.Flash("Deleted "+msg.Value.Name+"; its tokens are revoked."))
		}
		return s, nil
	}
	_, cmd := s.updateList(msg)
	return s, cmd
}

func (s *Inboxes) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.AddInbox):
		return common.Push(NewInboxAdd(s.c))
	case key.Matches(msg, k.Refresh):
		return s.load()
	}
	if len(s.inboxes) == 0 || s.table.Empty() {
		return nil
	}
	in := s.inboxes[s.table.Cursor()]
	switch {
	case key.Matches(msg, k.Open):
		return common.Push(NewInboxBrowser(s.c, in))
	case key.Matches(msg, k.Policy):
		return common.Push(NewInboxPolicy(s.c, in))
	case key.Matches(msg, k.InboxTokens):
		return common.Push(NewTokens(s.c, &in))
	case key.Matches(msg, k.Delete):
		s.ask(confirm.New(s.c, "Delete "+in.Address+"?",
			fmt.Sprintf("Every token of this inbox is revoked at once, and its %s (%s) are removed. "+
				"The address becomes free. This cannot be undone.", plural(int(in.MessageCount), "message"), humanBytes(in.UsedBytes))),
			func() tea.Cmd { return s.delete(in) })
		s.SetSize(s.w, s.h)
		return nil
	}
	s.table.Update(msg)
	return nil
}

func (s *Inboxes) delete(in models.Inbox) tea.Cmd {
	return common.Start(s.c, &s.req, "delete", "Deleting "+in.Address+"…", func(ctx context.Context, cl *client.Client) (deleted, error) {
		return deleted{ID: in.ID, Name: in.Address}, cl.DeleteInbox(ctx, in.ID)
	})
}

func (s *Inboxes) show(ins []models.Inbox) {
	s.inboxes = ins
	s.setRows(s.table, len(ins), func(i int) (string, []string) {
		in := ins[i]
		name := in.DisplayName
		if in.Sandbox {
			// Nothing this inbox sends outside the organization leaves.
			name = strings.TrimSpace("(sandbox) " + name)
		}
		return in.ID, []string{in.Address, name, fmt.Sprintf("%8d", in.MessageCount), fmt.Sprintf("%10s", humanBytes(in.UsedBytes))}
	})
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
	b.WriteString(s.question() + s.table.View())
	return b.String()
}
