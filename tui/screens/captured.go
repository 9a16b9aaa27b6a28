package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/table"
)

// capturedPage is how many captured messages a page shows (newest
// first); n and p page through the rest with the API's cursors.
const capturedPage = 50

// Captured lists the mail the organization's sandbox inboxes sent outside
// it: kept here, signed as it would have been sent, never sent. It
// updates live on message.captured.
type Captured struct {
	list[capturedList]
	table *table.Model
	items []models.CapturedMessage
	pg    pager
	// back is set when the page shown came back empty: the page before
	// it is loaded.
	back bool
}

// capturedList is one page of captured mail.
type capturedList struct {
	Items []models.CapturedMessage
	Next  string // the API's next_cursor
}

// NewCaptured builds the captured mail screen.
func NewCaptured(c *common.Common) *Captured {
	s := &Captured{pg: newPager(capturedPage), table: table.New(c,
		table.Column{Title: "Captured", Width: 14},
		table.Column{Title: "From", Width: 18, Min: 12, Grow: true, Max: 40, Priority: 1},
		table.Column{Title: "To", Width: 20, Min: 14, Grow: true, Max: 40, Priority: 2},
		table.Column{Title: "Subject", Width: 0, Min: 20},
	)}
	s.list = newList[capturedList](c, s)
	s.follow("Updating captured mail…", models.EventMessageCaptured)
	return s
}

func (s *Captured) Title() string    { return "Captured" }
func (s *Captured) SetSize(w, h int) { s.table.SetSize(w, s.resize(w, h)-2) }

func (s *Captured) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.pg.paged() {
		return s.shortHelp(k.Open, pageHelp(k.NextPage, k.PrevPage), k.Refresh)
	}
	return s.shortHelp(k.Open, k.Refresh)
}

func (s *Captured) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.Open, k.Refresh}, {k.NextPage, k.PrevPage}, s.table.Bindings()})
}

func (s *Captured) load() tea.Cmd {
	cursor := s.pg.cursor()
	return common.Start(s.c, &s.req, "list", "Loading captured mail…", func(ctx context.Context, cl *client.Client) (capturedList, error) {
		l, err := cl.Captured(ctx, client.CapturedQuery{Page: client.Page{Cursor: cursor, Limit: capturedPage}})
		return capturedList{Items: l.Data, Next: l.NextCursor}, err
	})
}

func (s *Captured) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := s.updateList(msg)
	if s.back {
		s.back = false
		return s, tea.Batch(cmd, s.load())
	}
	return s, cmd
}

func (s *Captured) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, k.NextPage), key.Matches(msg, k.PrevPage):
		if !s.pg.turn(key.Matches(msg, k.NextPage), s.items != nil, s.req.Pending("list")) {
			return nil
		}
		return s.load()
	case key.Matches(msg, k.Open):
		if len(s.items) > 0 && !s.table.Empty() {
			return common.Push(NewCapturedDetail(s.c, s.items[s.table.Cursor()]))
		}
		return nil
	}
	s.table.Update(msg)
	return nil
}

func (s *Captured) show(l capturedList) {
	if s.pg.shown(len(l.Items), l.Next) {
		s.back = true // the page emptied: show the one before
		return
	}
	s.items = l.Items
	s.setRows(s.table, len(l.Items), func(i int) (string, []string) {
		m := l.Items[i]
		return m.ID, []string{localTime(m.CreatedAt, stampShort), m.EnvelopeFrom, strings.Join(m.Recipients, ", "), m.Subject}
	})
	if s.pg.takeTop() {
		s.table.SetCursor(0)
	}
}

func (s *Captured) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.items == nil:
		return st.Muted.Render("Loading captured mail…")
	case len(s.items) == 0:
		return st.Title.Render("Nothing captured yet") + "\n\n" + st.Muted.Render(
			"Mail your sandbox inboxes send to addresses outside the organization\n"+
				"lands here, signed as it would have been sent. Nothing leaves.")
	}
	n := plural(len(s.items), "message")
	if s.pg.paged() {
		// More than a page: which one, and which way there is more.
		n = fmt.Sprintf("Page %d: %s", s.pg.page+1, n)
		return st.Title.Render(n) + st.Muted.Render(" · newest first"+s.pg.where("n", "p")) +
			st.Sandbox.Render(" · sandbox: never sent") + "\n\n" + s.question() + s.table.View()
	}
	return st.Title.Render(n) + st.Sandbox.Render(" · sandbox: kept here, never sent") + "\n\n" + s.question() + s.table.View()
}

// CapturedDetail shows one captured message: its envelope, then the raw
// message as it would have been sent, DKIM-Signature first.
type CapturedDetail struct {
	c      *common.Common
	req    common.Requests
	m      models.CapturedMessage
	raw    []string
	err    string
	offset int
	width  int
	height int
}

// NewCapturedDetail builds the detail of m and loads its raw bytes.
func NewCapturedDetail(c *common.Common, m models.CapturedMessage) *CapturedDetail {
	return &CapturedDetail{c: c, m: m}
}

func (s *CapturedDetail) Title() string        { return s.m.Subject }
func (s *CapturedDetail) SetSize(w, h int)     { s.width, s.height = w, h }
func (s *CapturedDetail) Busy() (bool, string) { return s.req.Busy() }
func (s *CapturedDetail) ShortHelp() []key.Binding {
	k := s.c.Keys
	return []key.Binding{k.Up, k.Down, k.PageDown}
}
func (s *CapturedDetail) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}}
}

func (s *CapturedDetail) Init() tea.Cmd {
	id := s.m.ID
	return common.Start(s.c, &s.req, "raw", "Loading the message…", func(ctx context.Context, cl *client.Client) (*models.CapturedMessage, error) {
		return cl.CapturedMessage(ctx, id)
	})
}

func (s *CapturedDetail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.CapturedMessage]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.m, s.err = *msg.Value, ""
			s.raw = strings.Split(strings.TrimRight(strings.ReplaceAll(msg.Value.Raw, "\r\n", "\n"), "\n"), "\n")
		}
	case common.ErrorMsg:
		if _, ok := s.req.Done(msg.ID); ok {
			s.err = common.Describe(msg.Err)
		}
	case common.StreamMsg:
		// A captured message does not change: it is loaded again only
		// when loading it failed, after an outage.
		if msg.Stale() && s.err != "" && !s.req.Pending("raw") {
			return s, s.Init()
		}
	case tea.MouseMsg:
		if o, ok := wheel(msg, s.offset); ok {
			s.offset = min(max(0, o), max(0, len(s.lines())-s.height))
		}
	case tea.KeyMsg:
		k := s.c.Keys
		last := max(0, len(s.lines())-s.height)
		switch {
		case key.Matches(msg, k.Up):
			s.offset--
		case key.Matches(msg, k.Down):
			s.offset++
		case key.Matches(msg, k.PageUp):
			s.offset -= max(1, s.height-1)
		case key.Matches(msg, k.PageDown):
			s.offset += max(1, s.height-1)
		case key.Matches(msg, k.Top):
			s.offset = 0
		case key.Matches(msg, k.Bottom):
			s.offset = last
		}
		s.offset = min(max(0, s.offset), last)
	}
	return s, nil
}

func (s *CapturedDetail) lines() []string {
	st := s.c.Styles
	m := s.m
	row := func(k, v string) string { return st.Label.Render(fmt.Sprintf("%-10s", k)) + " " + st.Value.Render(v) }
	out := []string{
		st.Sandbox.Render("Captured on the sandbox domain: this message was not sent."),
		"",
		row("Captured", localTime(m.CreatedAt, stampLong)),
		row("From", m.EnvelopeFrom),
		row("To", strings.Join(m.Recipients, ", ")),
		row("Subject", m.Subject),
		row("Size", humanBytes(int64(m.SizeBytes))),
		row("Id", m.ID),
		"",
		st.Title.Render("As it would have been sent"),
	}
	switch {
	case s.err != "":
		return append(out, st.Error.Render(s.err))
	case s.raw == nil:
		return append(out, st.Muted.Render("Loading…"))
	}
	return append(out, s.raw...)
}

func (s *CapturedDetail) View() string {
	ls := s.lines()
	end := min(len(ls), s.offset+max(1, s.height))
	shown := ls[min(s.offset, end):end]
	if s.width > 0 {
		// Long header lines (the signature) are cut, not wrapped.
		for i, l := range shown {
			shown[i] = ansi.Truncate(l, s.width, "…")
		}
	}
	return strings.Join(shown, "\n")
}
