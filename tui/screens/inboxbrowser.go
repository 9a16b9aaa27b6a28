package screens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
	"gent/tui/components/table"
	"gent/tui/styles"
)

// browsePageSize is the rows of one page of the inbox browser.
const browsePageSize = 50

// InboxBrowser shows an inbox's mail a page at a time, following the
// API's cursors: its conversations (latest first), the messages of one
// conversation, or the messages a full-text search finds. enter opens a
// conversation or a message.
type InboxBrowser struct {
	list[browsePage]
	table *table.Model

	inbox  models.Inbox
	thread *models.Thread // the conversation shown, nil for the inbox
	query  string         // the search shown ("" for none)

	searching bool
	form      *form.Form

	rows    *browsePage // nil until loaded
	cursors []string    // the cursor of each page seen; cursors[i] loads page i
	page    int
}

// browsePage is one page of threads or of messages.
type browsePage struct {
	Threads  []models.Thread
	Messages []models.MessageSummary
	Next     string
}

// browseEvents change what the browser lists.
var browseEvents = []string{models.EventMessageReceived, models.EventMessageSent, models.EventMessageDelivered,
	models.EventMessageBounced, models.EventMessageApproved, models.EventMessageRejected}

// NewInboxBrowser builds the browser of an inbox's conversations.
func NewInboxBrowser(c *common.Common, in models.Inbox) *InboxBrowser {
	return newBrowser(c, in, nil, "")
}

func newBrowser(c *common.Common, in models.Inbox, th *models.Thread, query string) *InboxBrowser {
	s := &InboxBrowser{inbox: in, thread: th, query: query, cursors: []string{""}}
	s.list = newList[browsePage](c, s)
	s.follow("Updating…", browseEvents...)
	s.setColumns()
	return s
}

// listsThreads is true when the browser lists conversations.
func (s *InboxBrowser) listsThreads() bool { return s.thread == nil && s.query == "" }

func (s *InboxBrowser) setColumns() {
	if s.listsThreads() {
		s.table = table.New(s.c,
			table.Column{Title: "Last", Width: 11},
			table.Column{Title: "With", Width: 24, Min: 16, Grow: true, Max: 48, Priority: 1},
			table.Column{Title: "Subject", Width: 0, Min: 20},
			table.Column{Title: "Msgs", Width: 4},
		)
	} else {
		s.table = table.New(s.c,
			table.Column{Title: "Date", Width: 11},
			table.Column{Title: "From / to", Width: 24, Min: 16, Grow: true, Max: 48, Priority: 1},
			table.Column{Title: "Subject", Width: 0, Min: 20},
			table.Column{Title: "State", Width: 12},
		)
	}
	s.table.SetSize(s.w, max(1, s.h-3))
}

func (s *InboxBrowser) Title() string {
	if s.thread != nil {
		return clip(subjectOr(s.thread.Subject), 24)
	}
	return s.inbox.Address
}

func (s *InboxBrowser) Typing() bool { return s.searching || s.list.Typing() }

func (s *InboxBrowser) SetSize(w, h int) {
	h = s.resize(w, h)
	if s.searching {
		s.form.SetWidth(w)
		h -= lines(s.form.View()) - 1
	}
	s.table.SetSize(w, max(1, h-3))
}

func (s *InboxBrowser) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.searching {
		return []key.Binding{k.Submit, k.Cancel}
	}
	if s.thread != nil {
		return []key.Binding{k.Open, k.NextPage, k.PrevPage}
	}
	return []key.Binding{k.Open, k.Search, k.Policy}
}

func (s *InboxBrowser) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if s.searching {
		return [][]key.Binding{s.ShortHelp()}
	}
	return [][]key.Binding{{k.Open, k.Search, k.ClearFilter, k.Policy}, {k.NextPage, k.PrevPage, k.Refresh}, s.table.Bindings()}
}

func (s *InboxBrowser) load() tea.Cmd {
	in, cursor, th, q := s.inbox.ID, s.cursors[s.page], s.thread, s.query
	label := "Loading " + s.inbox.Address + "…"
	if q != "" {
		label = "Searching " + s.inbox.Address + "…"
	}
	return common.Start(s.c, &s.req, "list", label, func(ctx context.Context, cl *client.Client) (browsePage, error) {
		p := client.Page{Cursor: cursor, Limit: browsePageSize}
		if th == nil && q == "" {
			l, err := cl.Threads(ctx, in, p)
			return browsePage{Threads: l.Data, Next: l.NextCursor}, err
		}
		mq := client.MessageQuery{Page: p, Query: q}
		if th != nil {
			mq.ThreadID = th.ID
		}
		l, err := cl.Messages(ctx, in, mq)
		return browsePage{Messages: l.Data, Next: l.NextCursor}, err
	})
}

func (s *InboxBrowser) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if handled, cmd := s.updateList(msg); handled || !s.searching {
		return s, cmd
	}
	_, cmd := s.form.Update(msg) // the cursor's blink
	return s, cmd
}

func (s *InboxBrowser) show(p browsePage) {
	s.rows = &p
	if s.listsThreads() {
		s.setRows(s.table, len(p.Threads), func(i int) (string, []string) {
			t := p.Threads[i]
			n := fmt.Sprintf("%4d", t.MessageCount)
			subject := subjectOr(t.Subject)
			if t.UnreadCount > 0 {
				subject = "● " + subject
			}
			return t.ID, []string{localTime(t.LastMessageAt, minuteShort), strings.Join(t.Participants, ", "), subject, n}
		})
		return
	}
	st := s.c.Styles
	s.setRows(s.table, len(p.Messages), func(i int) (string, []string) {
		m := p.Messages[i]
		return m.ID, []string{localTime(messageTime(m), minuteShort), correspondent(m), subjectOr(m.Subject), messageState(st, m)}
	})
}

// messageTime is when a message was sent (its Date) or else stored.
func messageTime(m models.MessageSummary) time.Time {
	if m.Date != nil && !m.Date.IsZero() {
		return *m.Date
	}
	return m.CreatedAt
}

// correspondent is who a message is from, or for mail the inbox sent,
// whom it went to.
func correspondent(m models.MessageSummary) string {
	if m.Direction == models.DirectionOutbound {
		return "→ " + addrList(m.To)
	}
	return addrString(m.From)
}

// messageState is an inbound message's screening verdict or an outbound
// message's status, with a symbol.
func messageState(st styles.Styles, m models.MessageSummary) string {
	if m.Direction == models.DirectionOutbound {
		switch m.Status {
		case "delivered":
			return st.Success.Render(styles.OK + " delivered")
		case "bounced", "rejected", "expired":
			return st.Error.Render(styles.Fail + " " + m.Status)
		case "partially_delivered":
			return st.Warning.Render(styles.Warn + " partly")
		case "pending_approval":
			return st.Warning.Render(styles.Pending + " held")
		}
		return st.Warning.Render(styles.Pending + " " + m.Status)
	}
	if m.Screening == nil {
		return st.Muted.Render("received")
	}
	return verdict(st, m.Screening)
}

// verdictLong is a screening verdict in a word, with a symbol.
func verdictLong(st styles.Styles, sc *models.Screening) string {
	switch sc.Verdict {
	case models.VerdictClean:
		return st.Success.Render(styles.OK + " clean")
	case models.VerdictQuarantined:
		return st.Error.Render(styles.Fail + " quarantined")
	}
	return st.Warning.Render(styles.Warn + " " + sc.Verdict)
}

// verdict is a screening verdict with its score, for a table cell.
func verdict(st styles.Styles, sc *models.Screening) string {
	switch sc.Verdict {
	case models.VerdictClean:
		return st.Success.Render(styles.OK + " clean")
	case models.VerdictQuarantined:
		return st.Error.Render(fmt.Sprintf("%s quar. %d", styles.Fail, sc.Score))
	}
	return st.Warning.Render(fmt.Sprintf("%s susp. %d", styles.Warn, sc.Score))
}

func (s *InboxBrowser) handleKey(msg tea.KeyMsg) tea.Cmd {
	if s.searching {
		return s.updateSearch(msg)
	}
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Search) && s.thread == nil:
		return s.openSearch()
	case key.Matches(msg, k.ClearFilter) && s.query != "":
		s.query = ""
		s.setColumns()
		return s.firstPage()
	case key.Matches(msg, k.Policy) && s.thread == nil:
		return common.Push(NewInboxPolicy(s.c, s.inbox))
	case key.Matches(msg, k.NextPage):
		if s.rows == nil || s.rows.Next == "" || s.req.Pending("list") {
			return nil
		}
		s.cursors = append(s.cursors[:s.page+1], s.rows.Next)
		s.page++
		return s.load()
	case key.Matches(msg, k.PrevPage):
		if s.page == 0 || s.req.Pending("list") {
			return nil
		}
		s.page--
		return s.load()
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, k.Open):
		return s.open()
	}
	s.table.Update(msg)
	return nil
}

func (s *InboxBrowser) open() tea.Cmd {
	if s.rows == nil || s.table.Len() == 0 {
		return nil
	}
	i := s.table.Cursor()
	if s.listsThreads() {
		t := s.rows.Threads[i]
		return common.Push(newBrowser(s.c, s.inbox, &t, ""))
	}
	return common.Push(NewMessageView(s.c, s.inbox, s.rows.Messages[i]))
}

func (s *InboxBrowser) firstPage() tea.Cmd {
	s.cursors, s.page, s.rows = []string{""}, 0, nil
	return s.load()
}

func (s *InboxBrowser) openSearch() tea.Cmd {
	s.searching = true
	s.form = form.New(s.c, form.Text("q", "Search").WithValue(s.query).
		WithHint("words of the subject, the text or an address; enter searches"))
	s.SetSize(s.w, s.h)
	return s.form.Init()
}

func (s *InboxBrowser) closeSearch() {
	s.searching = false
	s.SetSize(s.w, s.h)
}

func (s *InboxBrowser) updateSearch(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, s.c.Keys.Cancel) {
		s.closeSearch()
		return nil
	}
	submit, cmd := s.form.Update(msg)
	if !submit {
		return cmd
	}
	s.query = strings.TrimSpace(s.form.Value("q"))
	s.closeSearch()
	s.setColumns()
	return s.firstPage()
}

func (s *InboxBrowser) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(s.summary() + "\n")
	switch {
	case s.searching:
		b.WriteString(s.form.View() + "\n")
	case s.thread != nil:
		b.WriteString(st.Muted.Render("The messages of this conversation, newest first. enter opens one.") + "\n")
	case s.query != "":
		b.WriteString(st.Label.Render("Search: “"+s.query+"”") + st.Muted.Render("  (x clears)") + "\n")
	default:
		b.WriteString(st.Muted.Render("/ searches this inbox's mail. enter opens a conversation.") + "\n")
	}
	b.WriteString("\n")
	switch {
	case s.err != "":
		b.WriteString(errorView(st, s.err))
	case s.rows == nil:
		b.WriteString(st.Muted.Render("Loading…"))
	case s.table.Len() == 0 && s.query != "":
		b.WriteString(st.Muted.Render("Nothing matches “" + s.query + "”."))
	case s.table.Len() == 0:
		b.WriteString(st.Muted.Render("No mail yet. Mail to " + s.inbox.Address + " shows here as it arrives."))
	default:
		b.WriteString(s.question() + s.table.View())
	}
	return b.String()
}

func (s *InboxBrowser) summary() string {
	st := s.c.Styles
	what := "Conversations, latest first"
	switch {
	case s.thread != nil:
		what = subjectOr(s.thread.Subject)
	case s.query != "":
		what = "Messages found, newest first"
	}
	parts := []string{fmt.Sprintf("page %d", s.page+1)}
	if s.rows != nil && s.table.Len() > 0 {
		i, n := s.table.Position()
		parts = append(parts, fmt.Sprintf("%d of %d", i, n))
	}
	if s.rows != nil && s.rows.Next != "" {
		parts = append(parts, "older: n")
	}
	if s.page > 0 {
		parts = append(parts, "newer: p")
	}
	return st.Title.Render(what) + st.Muted.Render(" · "+strings.Join(parts, " · "))
}
