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
	"gent/tui/components/confirm"
	"gent/tui/components/table"
	"gent/tui/styles"
)

// kindQuarantine is the ChangedMsg kind of a message released or deleted.
const kindQuarantine = "quarantine"

// quarantinePage is the messages of one page of the queue; n and p page
// through the rest with the API's cursors.
const quarantinePage = 50

// quarantineCountLimit is the most quarantined messages the dashboard
// counts.
const quarantineCountLimit = 200

// quarantineEvents change the queue: a message quarantined, or one
// released (it then arrives as message.received).
var quarantineEvents = []string{models.EventMessageQuarantined, models.EventMessageReceived}

// Quarantine is the reviewers' queue of inbound mail the screening held
// back from the agents (docs/screening.md), newest first. It updates
// itself; under the list, the selected message's findings. enter shows
// one whole, R releases it to its inbox, d deletes it (both ask first).
// The messages come a page at a time (n older, p newer).
type Quarantine struct {
	list[quarantined]
	table *table.Model
	q     *quarantined
	pg    pager
	// back is set when the page shown came back empty: the page before
	// it is loaded.
	back bool
}

// quarantined is a page of the queue with the inboxes' addresses (owners
// and admins; reviewers see the inbox ids).
type quarantined struct {
	Messages []models.QuarantinedMessage
	Next     string // the API's next_cursor
	Inboxes  map[string]string
}

// NewQuarantine builds the quarantine queue.
func NewQuarantine(c *common.Common) *Quarantine {
	s := &Quarantine{pg: newPager(quarantinePage), table: table.New(c,
		table.Column{Title: "Received", Width: 11},
		table.Column{Title: "Inbox", Width: 20, Min: 14, Grow: true, Max: 40, Priority: 2},
		table.Column{Title: "From", Width: 18, Min: 12, Grow: true, Max: 40, Priority: 1},
		table.Column{Title: "Subject", Width: 0, Min: 16},
		table.Column{Title: "Score", Width: 5},
	)}
	s.list = newList[quarantined](c, s, kindQuarantine)
	s.follow("Updating…", quarantineEvents...)
	return s
}

func (s *Quarantine) Title() string { return "Quarantine" }

// findingLines is the height of the selected message's findings.
const findingLines = 4

func (s *Quarantine) SetSize(w, h int) {
	s.table.SetSize(w, max(1, s.resize(w, h)-3-findingLines))
}

func (s *Quarantine) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.pg.paged() {
		return s.shortHelp(k.Open, pageHelp(k.NextPage, k.PrevPage), k.Release, k.Delete, k.Refresh)
	}
	return s.shortHelp(k.Open, k.Release, k.Delete, k.Refresh)
}

func (s *Quarantine) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.Open, k.Release, k.Delete}, {k.NextPage, k.PrevPage, k.Refresh}, s.table.Bindings()})
}

func (s *Quarantine) load() tea.Cmd {
	admin, cursor := s.c.IsAdmin(), s.pg.cursor()
	return common.Start(s.c, &s.req, "list", "Loading the quarantine…", func(ctx context.Context, cl *client.Client) (quarantined, error) {
		return loadQuarantine(ctx, cl, cursor, admin)
	})
}

// loadQuarantine loads the page of the queue that cursor starts.
func loadQuarantine(ctx context.Context, cl *client.Client, cursor string, admin bool) (quarantined, error) {
	l, err := cl.Quarantine(ctx, client.QuarantineQuery{Page: client.Page{Cursor: cursor, Limit: quarantinePage}})
	if err != nil {
		return quarantined{}, err
	}
	q := quarantined{Messages: l.Data, Next: l.NextCursor, Inboxes: map[string]string{}}
	if admin {
		ins, err := cl.AllInboxes(ctx)
		if err != nil {
			return quarantined{}, err
		}
		for _, in := range ins {
			q.Inboxes[in.ID] = in.Address
		}
	}
	return q, nil
}

func (s *Quarantine) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if r, ok := msg.(common.ResultMsg[quarantineDone]); ok {
		if _, ok := s.req.Done(r.ID); ok {
			return s, tea.Batch(changed(kindQuarantine, ""), common.Flash(r.Value.note()))
		}
		return s, nil
	}
	_, cmd := s.updateList(msg)
	if s.back {
		s.back = false
		return s, tea.Batch(cmd, s.load())
	}
	return s, cmd
}

func (s *Quarantine) show(q quarantined) {
	if s.pg.shown(len(q.Messages), q.Next) {
		s.back = true // the page emptied: show the one before
		return
	}
	s.q = &q
	s.setRows(s.table, len(q.Messages), func(i int) (string, []string) {
		m := q.Messages[i]
		score := ""
		if m.Screening != nil {
			score = fmt.Sprintf("%5d", m.Screening.Score)
		}
		return m.ID, []string{localTime(m.CreatedAt, minuteShort), inboxName(q.Inboxes, m.InboxID), addrString(m.From), subjectOr(m.Subject), score}
	})
	if s.pg.takeTop() {
		s.table.SetCursor(0)
	}
}

func inboxName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

func (s *Quarantine) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, k.NextPage), key.Matches(msg, k.PrevPage):
		if !s.pg.turn(key.Matches(msg, k.NextPage), s.q != nil, s.req.Pending("list")) {
			return nil
		}
		return s.load()
	}
	if s.q == nil || len(s.q.Messages) == 0 {
		return nil
	}
	m := s.q.Messages[s.table.Cursor()]
	switch {
	case key.Matches(msg, k.Open):
		return common.Push(NewQuarantined(s.c, m, inboxName(s.q.Inboxes, m.InboxID)))
	case key.Matches(msg, k.Release):
		s.ask(releaseQuestion(s.c, m), func() tea.Cmd { return releaseCall(s.c, &s.req, m) })
		s.SetSize(s.w, s.h)
		return nil
	case key.Matches(msg, k.Delete):
		s.ask(deleteQuestion(s.c, m), func() tea.Cmd { return deleteCall(s.c, &s.req, m) })
		s.SetSize(s.w, s.h)
		return nil
	}
	s.table.Update(msg)
	return nil
}

// quarantineDone is a message released or deleted.
type quarantineDone struct {
	ID, Subject string
	Released    bool
}

func (d quarantineDone) note() string {
	if d.Released {
		return "Released “" + subjectOr(d.Subject) + "” to its inbox: the agent sees it now."
	}
	return "Deleted “" + subjectOr(d.Subject) + "”."
}

func releaseQuestion(c *common.Common, m models.QuarantinedMessage) *confirm.Model {
	return confirm.New(c, "Release “"+subjectOr(m.Subject)+"”?",
		"The inbox's agent will read it, with whatever it was found to carry: "+findingCodes(m.Screening)+
			". It arrives as new mail (message.received).")
}

func deleteQuestion(c *common.Common, m models.QuarantinedMessage) *confirm.Model {
	return confirm.New(c, "Delete “"+subjectOr(m.Subject)+"”?",
		fmt.Sprintf("From %s. It is removed for good and its %s are freed. The agent never sees it.", addrString(m.From), humanBytes(m.Size)))
}

func releaseCall(c *common.Common, req *common.Requests, m models.QuarantinedMessage) tea.Cmd {
	return common.Start(c, req, "release", "Releasing…", func(ctx context.Context, cl *client.Client) (quarantineDone, error) {
		_, err := cl.Release(ctx, m.ID)
		return quarantineDone{ID: m.ID, Subject: m.Subject, Released: true}, err
	})
}

func deleteCall(c *common.Common, req *common.Requests, m models.QuarantinedMessage) tea.Cmd {
	return common.Start(c, req, "delete", "Deleting…", func(ctx context.Context, cl *client.Client) (quarantineDone, error) {
		return quarantineDone{ID: m.ID, Subject: m.Subject}, cl.DeleteQuarantined(ctx, m.ID)
	})
}

// findingCodes lists the codes of the findings, "nothing" without any.
func findingCodes(sc *models.Screening) string {
	if sc == nil || len(sc.Findings) == 0 {
		return "nothing"
	}
	var codes []string
	for _, f := range sc.Findings {
		codes = append(codes, f.Code)
	}
	return strings.Join(codes, ", ")
}

func (s *Quarantine) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.q == nil:
		return st.Muted.Render("Loading the quarantine…")
	case len(s.q.Messages) == 0:
		return st.Title.Render("Nothing in quarantine") + "\n\n" + st.Muted.Render(
			"Inbound mail that screening scores at or above its inbox's threshold waits\nhere, unseen by the agents, for a reviewer to release or delete it.")
	}
	var b strings.Builder
	head := plural(len(s.q.Messages), "message") + " held back from the agents"
	tail := " · newest first · enter shows one"
	if s.pg.paged() {
		head = fmt.Sprintf("Page %d: %s held back", s.pg.page+1, plural(len(s.q.Messages), "message"))
		tail = " · newest first" + s.pg.where("n", "p")
	}
	b.WriteString(st.Title.Render(head) + st.Muted.Render(tail) + "\n\n")
	b.WriteString(s.question() + s.table.View() + "\n\n")
	if s.confirm == nil {
		b.WriteString(s.findingsView(s.q.Messages[s.table.Cursor()]))
	}
	return b.String()
}

// findingsView is the selected message's verdict and first findings.
func (s *Quarantine) findingsView(m models.QuarantinedMessage) string {
	st := s.c.Styles
	sc := m.Screening
	if sc == nil {
		return ""
	}
	lines := []string{st.Error.Render(fmt.Sprintf("%s score %d", styles.Fail, sc.Score)) + st.Muted.Render(" · from "+addrString(m.From))}
	for i, f := range sc.Findings {
		if i == findingLines-2 && len(sc.Findings) > findingLines-1 {
			lines = append(lines, st.Muted.Render(fmt.Sprintf("… and %d more (enter)", len(sc.Findings)-i)))
			break
		}
		lines = append(lines, clip(f.Code+": "+f.Detail, max(10, s.w)))
	}
	return strings.Join(lines, "\n")
}

// Quarantined shows one quarantined message whole: its findings, then
// side by side the text a reader sees and everything its HTML carries,
// what was hidden included. R releases it, d deletes it.
type Quarantined struct {
	c     *common.Common
	req   common.Requests
	sum   models.QuarantinedMessage
	inbox string
	m     *models.Message
	err   string
	asker

	offset int
	w, h   int
	// gone is set once the screen asked to close: a late event must not
	// close the screen under it.
	gone bool
}

// NewQuarantined builds the view of quarantined message m of inbox.
func NewQuarantined(c *common.Common, m models.QuarantinedMessage, inbox string) *Quarantined {
	return &Quarantined{c: c, sum: m, inbox: inbox, w: 80, h: 20}
}

func (s *Quarantined) Title() string        { return clip(subjectOr(s.sum.Subject), 24) }
func (s *Quarantined) Typing() bool         { return s.confirm != nil }
func (s *Quarantined) Busy() (bool, string) { return s.req.Busy() }

func (s *Quarantined) Init() tea.Cmd {
	id := s.sum.ID
	return common.Start(s.c, &s.req, "load", "Loading the message…", func(ctx context.Context, cl *client.Client) (*models.Message, error) {
		return cl.Quarantined(ctx, id)
	})
}

func (s *Quarantined) SetSize(w, h int) {
	s.w, s.h = w, h
	if s.confirm != nil {
		s.confirm.SetWidth(w)
	}
	s.clamp()
}

func (s *Quarantined) ShortHelp() []key.Binding {
	k := s.c.Keys
	return s.shortHelp(k.Release, k.Delete, k.PageDown)
}

func (s *Quarantined) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return s.fullHelp([][]key.Binding{{k.Release, k.Delete}, {k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}})
}

func (s *Quarantined) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.Message]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.m, s.err = msg.Value, ""
			s.clamp()
		}
	case common.ResultMsg[quarantineDone]:
		if _, ok := s.req.Done(msg.ID); ok && !s.gone {
			s.gone = true
			return s, tea.Batch(common.Pop, changed(kindQuarantine, ""), common.Flash(msg.Value.note()))
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "load" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, common.FlashError(common.Describe(msg.Err))
		}
	case common.EventMsg:
		// Released (it arrives as new mail) or deleted elsewhere.
		if id, _ := msg.Event.Payload["message_id"].(string); id == s.sum.ID && msg.Event.Type == models.EventMessageReceived &&
			!s.gone && !s.req.Pending("release") {
			s.gone = true
			return s, tea.Batch(common.Pop, common.Flash("“"+subjectOr(s.sum.Subject)+"” was released elsewhere."))
		}
	case common.StreamMsg:
		// Back after an outage: load it again (it failed meanwhile, or
		// was released or deleted elsewhere).
		if msg.Stale() && !s.gone && !s.req.Pending("load") {
			return s, s.Init()
		}
	case tea.KeyMsg:
		if s.confirm != nil {
			cmd, _ := s.answer(msg)
			return s, cmd
		}
		return s, s.handleKey(msg)
	case tea.MouseMsg:
		if o, ok := wheel(msg, s.offset); ok && s.confirm == nil {
			s.offset = o
			s.clamp()
		}
	}
	return s, nil
}

func (s *Quarantined) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Release):
		s.ask(releaseQuestion(s.c, s.sum), func() tea.Cmd { return releaseCall(s.c, &s.req, s.sum) })
		s.confirm.SetWidth(s.w)
	case key.Matches(msg, k.Delete):
		s.ask(deleteQuestion(s.c, s.sum), func() tea.Cmd { return deleteCall(s.c, &s.req, s.sum) })
		s.confirm.SetWidth(s.w)
	default:
		s.offset, _ = scroll(k, msg, s.offset, s.pageHeight(), len(s.content()))
	}
	s.clamp()
	return nil
}

func (s *Quarantined) pageHeight() int { return max(1, s.h-4) }

func (s *Quarantined) clamp() {
	s.offset = max(0, min(s.offset, len(s.content())-s.pageHeight()))
}

func (s *Quarantined) View() string { return fitWidth(s.view(), s.w) }

func (s *Quarantined) view() string {
	st := s.c.Styles
	state := st.Error.Render(styles.Fail+" quarantined") + st.Muted.Render(" · "+s.inbox+" · received "+localTime(s.sum.CreatedAt, dateShort))
	head := st.Title.Render(subjectOr(s.sum.Subject)) + "\n" + state
	switch {
	case s.err != "":
		return head + "\n\n" + errorView(st, s.err)
	case s.m == nil:
		return head + "\n\n" + st.Muted.Render("Loading the message…")
	case s.confirm != nil:
		return head + "\n\n" + s.question()
	}
	return head + "\n\n" + scrolled(st, s.content(), s.offset, s.pageHeight())
}

func (s *Quarantined) content() []string {
	if s.m == nil {
		return nil
	}
	st := s.c.Styles
	m := s.m
	var out []string
	field := fieldWriter(st, &out, s.w)
	field("From", addrString(m.From))
	field("To", addrList(m.To))
	if sc := m.Screening; sc != nil {
		field("Score", fmt.Sprintf("%d (quarantined at the inbox's threshold)", sc.Score))
		for i, f := range sc.Findings {
			label := ""
			if i == 0 {
				label = "Findings"
			}
			field(label, f.Code+": "+f.Detail)
		}
	}
	if a := m.Auth; a != nil {
		field("Auth", fmt.Sprintf("SPF %s · DKIM %s · DMARC %s", orNone(a.SPF), orNone(a.DKIM), orNone(a.DMARC)))
	}
	for i, at := range m.Attachments {
		label := ""
		if i == 0 {
			label = "Files"
		}
		field(label, fmt.Sprintf("%s · %s · %s", at.Filename, at.ContentType, humanBytes(at.Size)))
	}
	field("Size", humanBytes(m.Size))
	visible := m.Text
	if visible == "" {
		visible = "(no text)"
	}
	all := "(no HTML part: what screening found hidden is listed above)"
	if m.HTML != "" {
		all = htmlText(m.HTML)
	}
	out = append(out, "")
	out = append(out, sideBySide(st, s.w, "What a reader sees", visible, "The HTML, hidden text included", all)...)
	return out
}

// sideBySide lays two texts out in two columns under their titles.
func sideBySide(st styles.Styles, width int, leftTitle, left, rightTitle, right string) []string {
	col := max(10, (width-3)/2)
	head := func(t string) string {
		t = "── " + t + " "
		return clip(t, col) + strings.Repeat("─", max(0, col-ansi.StringWidth(clip(t, col))))
	}
	out := []string{st.Muted.Render(head(leftTitle) + "─┬─" + head(rightTitle))}
	l, r := wrapText(left, col), wrapText(right, col)
	for i := 0; i < max(len(l), len(r)); i++ {
		a, b := "", ""
		if i < len(l) {
			a = l[i]
		}
		if i < len(r) {
			b = r[i]
		}
		out = append(out, a+strings.Repeat(" ", max(0, col-ansi.StringWidth(a)))+st.Muted.Render(" │ ")+b)
	}
	return out
}

// countQuarantine counts the quarantined messages (the newest page:
// "200+" beyond); any draws attention.
func countQuarantine(ctx context.Context, cl *client.Client) (count, error) {
	l, err := cl.Quarantine(ctx, client.QuarantineQuery{Page: client.Page{Limit: quarantineCountLimit}})
	if err != nil {
		return count{}, err
	}
	if len(l.Data) == 0 {
		return count{Detail: "suspicious inbound mail waits here for a reviewer"}, nil
	}
	detail := "held back from the agents"
	if l.NextCursor != "" {
		detail = "or more " + detail
	}
	return count{N: len(l.Data), Detail: detail, Alert: true}, nil
}
