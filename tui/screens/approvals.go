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
	"gent/tui/styles"
)

// approvalStatuses are the queue's views, in the order s steps through.
var approvalStatuses = []string{models.ApprovalPending, models.ApprovalApproved, models.ApprovalRejected, models.ApprovalExpired}

// approvalPage is how many held sends a page of the queue shows (newest
// first); n and p page through the rest with the API's cursors.
const approvalPage = 50

// approvalEvents change what the queue shows.
var approvalEvents = []string{models.EventApprovalRequested, models.EventMessageApproved,
	models.EventMessageRejected, models.EventMessageExpired}

// Approvals is the queue of held sends: pending ones by default, newest
// first, updating live as sends are held and decided. Sends are approved,
// edited then approved, or rejected here or from their detail screen.
type Approvals struct {
	list[approvalList]
	table  *table.Model
	status string
	items  []models.Approval
	pg     pager
	// back is set when the page shown came back empty: the page before
	// it is loaded.
	back  bool
	names map[string]string
	dec   decider
}

// approvalList is one page of the queue.
type approvalList struct {
	Status string
	Items  []models.Approval
	Next   string // the API's next_cursor
	// Names are the users' emails by id, to say who decided (owners and
	// admins; reviewers see their own decisions named).
	Names map[string]string
}

// NewApprovals builds the queue, showing pending sends.
func NewApprovals(c *common.Common) *Approvals {
	s := &Approvals{status: models.ApprovalPending, pg: newPager(approvalPage), dec: newDecider(c), table: table.New(c,
		table.Column{Title: "Held", Width: 11},
		table.Column{Title: "Agent", Width: 18, Min: 12, Grow: true, Max: 30, Priority: 1},
		table.Column{Title: "To", Width: 20, Min: 14, Grow: true, Max: 48, Priority: 2},
		table.Column{Title: "Subject", Width: 0, Min: 16},
	)}
	s.list = newList[approvalList](c, s)
	s.follow("Updating the queue…", approvalEvents...)
	s.tbl = s.table
	return s
}

func (s *Approvals) Title() string { return "Approvals" }

// Typing: a decision being asked, or the filter open, takes the keys.
func (s *Approvals) Typing() bool { return s.dec.open() || s.list.Typing() }

func (s *Approvals) Busy() (bool, string) {
	if b, label := s.dec.busy(); b {
		return b, label
	}
	return s.list.Busy()
}

// previewLines is the height of the selected send's lines under the table.
const previewLines = 3

func (s *Approvals) SetSize(w, h int) {
	rows := s.resize(w, h) - 5 - previewLines
	s.dec.setWidth(w)
	if box := s.dec.view(); box != "" {
		rows -= lines(box) + 1
	}
	s.table.SetSize(w, rows)
}

func (s *Approvals) ShortHelp() []key.Binding {
	k := s.c.Keys
	if b := s.dec.bindings(); b != nil {
		return b
	}
	if s.table.Filtering() {
		return s.table.Bindings() // every other key is typed into it
	}
	var keys []key.Binding
	if s.status != models.ApprovalPending {
		keys = []key.Binding{k.Open, k.StatusFilter, k.RefreshQueue}
	} else {
		// enter is named in the summary line, s in the filter line.
		keys = []key.Binding{k.Approve, k.EditApprove, k.Reject}
	}
	if s.pg.paged() {
		keys = append(keys, pageHelp(k.NextPage, k.PrevPage))
	}
	return keys
}

func (s *Approvals) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if b := s.dec.bindings(); b != nil {
		return [][]key.Binding{b}
	}
	if s.table.Filtering() {
		return [][]key.Binding{s.table.Bindings()}
	}
	if s.status != models.ApprovalPending {
		return [][]key.Binding{{k.Open, k.StatusFilter, k.RefreshQueue}, {k.NextPage, k.PrevPage}, s.table.Bindings()}
	}
	return [][]key.Binding{{k.Open, k.Approve, k.EditApprove}, {k.Reject, k.StatusFilter, k.RefreshQueue}, {k.NextPage, k.PrevPage},
		s.table.Bindings()}
}

func (s *Approvals) load() tea.Cmd {
	status, cursor := s.status, s.pg.cursor()
	admin := s.c.IsAdmin()
	return common.Start(s.c, &s.req, "list", "Loading "+status+" sends…", func(ctx context.Context, cl *client.Client) (approvalList, error) {
		l, err := cl.Approvals(ctx, client.ApprovalQuery{Status: status, Page: client.Page{Cursor: cursor, Limit: approvalPage}})
		if err != nil {
			return approvalList{}, err
		}
		out := approvalList{Status: status, Items: l.Data, Next: l.NextCursor}
		if admin && status != models.ApprovalPending && status != models.ApprovalExpired {
			users, err := cl.AllUsers(ctx)
			if err != nil {
				return approvalList{}, err
			}
			out.Names = map[string]string{}
			for _, u := range users {
				out.Names[u.ID] = u.Email
			}
		}
		return out, nil
	})
}

func (s *Approvals) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	handled, decCmd := s.dec.update(msg)
	if handled {
		s.SetSize(s.w, s.h) // a question opened or closed
		return s, decCmd
	}
	m, cmd := s.update(msg)
	if s.back {
		s.back = false
		cmd = tea.Batch(cmd, s.load())
	}
	return m, tea.Batch(decCmd, cmd) // decCmd: the reason field's cursor
}

func (s *Approvals) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(ChangedMsg); ok && msg.Kind == kindApprovals {
		s.drop(msg.ID)
		return s, s.load()
	}
	_, cmd := s.updateList(msg)
	return s, cmd
}

func (s *Approvals) handleKey(msg tea.KeyMsg) tea.Cmd {
	defer func() { s.SetSize(s.w, s.h) }() // a question may have opened
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.StatusFilter):
		s.status = nextStatus(s.status)
		s.items, s.err = nil, ""
		s.pg.reset()
		s.table.SetRows(nil)
		s.table.SetCursor(0)
		return s.load()
	case key.Matches(msg, k.RefreshQueue):
		return s.load()
	case key.Matches(msg, k.NextPage), key.Matches(msg, k.PrevPage):
		if !s.pg.turn(key.Matches(msg, k.NextPage), s.items != nil, s.req.Pending("list")) {
			return nil
		}
		return s.load()
	}
	if len(s.items) == 0 || s.table.Empty() {
		return nil
	}
	a := s.items[s.table.Cursor()]
	switch {
	case key.Matches(msg, k.Open):
		return common.Push(NewApproval(s.c, a))
	case key.Matches(msg, k.Approve):
		return s.dec.askApprove(a)
	case key.Matches(msg, k.Reject):
		return s.dec.askReject(a)
	case key.Matches(msg, k.EditApprove):
		if cmd := pendingOnly(a); cmd != nil {
			return cmd
		}
		return common.Push(NewApprovalEdit(s.c, a, nil))
	}
	s.table.Update(msg)
	return nil
}

func nextStatus(cur string) string {
	for i, st := range approvalStatuses {
		if st == cur {
			return approvalStatuses[(i+1)%len(approvalStatuses)]
		}
	}
	return models.ApprovalPending
}

// drop takes a decided send out of the pending queue at once; the reload
// that follows confirms it.
func (s *Approvals) drop(id string) {
	if s.status != models.ApprovalPending {
		return
	}
	for i, a := range s.items {
		if a.ID == id {
			s.showItems(approvalList{Status: s.status, Items: append(append([]models.Approval{}, s.items[:i]...), s.items[i+1:]...), Next: s.pg.next})
			return
		}
	}
}

func (s *Approvals) show(l approvalList) {
	if l.Status != s.status {
		return // the filter changed since
	}
	if s.pg.shown(len(l.Items), l.Next) {
		s.back = true // the page emptied: show the one before
		return
	}
	s.showItems(l)
	if s.pg.takeTop() {
		s.table.SetCursor(0)
	}
}

// showItems shows the sends of the page.
func (s *Approvals) showItems(l approvalList) {
	keep := s.selectID
	if len(s.items) > 0 && keep == "" {
		keep = s.items[s.table.Cursor()].ID
	}
	s.items, s.names, s.err = l.Items, l.Names, ""
	rows := make([][]string, len(l.Items))
	sel := -1
	for i, a := range l.Items {
		rows[i] = []string{localTime(a.CreatedAt, minuteShort), a.TokenLabel, strings.Join(a.To, ", "), subjectOr(a.Subject)}
		if a.ID == keep {
			sel = i
		}
	}
	s.selectID = ""
	s.table.SetRows(rows)
	if sel >= 0 {
		s.table.SetCursor(sel)
	}
}

func subjectOr(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(no subject)"
	}
	return s
}

func (s *Approvals) View() string { return fitWidth(cutLines(s.view(), s.h), s.w) }

func (s *Approvals) view() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(s.filterLine() + "\n")
	// An open question shows whatever the list does meanwhile: the send
	// may leave the list while its confirmation is open.
	if box := s.dec.view(); box != "" {
		b.WriteString("\n" + box + "\n")
	}
	switch {
	case s.err != "":
		return b.String() + "\n" + errorView(st, s.err)
	case s.items == nil:
		return b.String() + "\n" + st.Muted.Render("Loading…")
	case len(s.items) == 0 && s.status == models.ApprovalPending:
		return b.String() + "\n" + st.Title.Render("Nothing waits for a decision") + "\n\n" + st.Muted.Render(
			"Sends by agent tokens that need approval are held here. This list\nupdates by itself as they arrive.")
	case len(s.items) == 0:
		return b.String() + "\n" + st.Muted.Render("No "+s.status+" sends.")
	}
	if box := s.dec.view(); box != "" && lines(box)+10 > s.h {
		// No room for the list under the question: the send it is about.
		return b.String() + "\n" + s.preview()
	}
	b.WriteString("\n" + s.summary() + "\n\n")
	b.WriteString(s.table.View() + "\n\n" + s.preview())
	return b.String()
}

// filterLine shows which status is shown, as choices: readable without
// colour.
func (s *Approvals) filterLine() string {
	st := s.c.Styles
	parts := make([]string, len(approvalStatuses))
	for i, status := range approvalStatuses {
		if status == s.status {
			parts[i] = st.Selected.Render("(•) " + status)
		} else {
			parts[i] = st.Muted.Render("( ) " + status)
		}
	}
	line := strings.Join(parts, "  ")
	switch w := ansi.StringWidth(line); {
	case w+14 <= s.w:
		return line + st.Muted.Render("   s switches")
	case w <= s.w:
		return line
	}
	return st.Selected.Render("(•) "+s.status) + st.Muted.Render(" · s switches")
}

func (s *Approvals) summary() string {
	st := s.c.Styles
	n, rest := fmt.Sprintf("%d", len(s.items)), " · newest first · enter shows one in full"
	if s.pg.paged() {
		// More than a page: which one, and which way there is more.
		n, rest = fmt.Sprintf("Page %d: %d", s.pg.page+1, len(s.items)), " · newest first"+s.pg.where("n", "p")
	}
	if s.status == models.ApprovalPending {
		return st.Title.Render(n+" waiting for a decision") + st.Muted.Render(rest)
	}
	return st.Title.Render(n+" "+s.status) + st.Muted.Render(rest)
}

// preview is the selected send in a few lines.
func (s *Approvals) preview() string {
	st := s.c.Styles
	if s.table.Empty() {
		return st.Muted.Render("No held send matches the filter.")
	}
	a := s.items[s.table.Cursor()]
	head := st.Title.Render(clip(subjectOr(a.Subject), 50)) + st.Muted.Render(" · from "+a.TokenLabel)
	to := st.Label.Render("To") + "  " + st.Value.Render(strings.Join(a.To, ", "))
	return head + "\n" + to + "\n" + approvalState(st, a, deciderName(s.c, s.names, a.DecidedBy))
}

// deciderName names who decided a held send: you, a user's email when known,
// else the id.
func deciderName(c *common.Common, names map[string]string, id string) string {
	switch {
	case id == "":
		return ""
	case c.Me != nil && id == c.Me.User.ID:
		return "you"
	case names[id] != "":
		return names[id]
	}
	return id
}

func by(who string) string {
	if who == "" {
		return ""
	}
	return " by " + who
}

// approvalState says where a held send stands, with a symbol.
func approvalState(st styles.Styles, a models.Approval, who string) string {
	switch a.Status {
	case models.ApprovalPending:
		return st.Warning.Render(styles.Pending+" pending") + st.Muted.Render(" · held "+localTime(a.CreatedAt, dateShort)+
			" · expires "+localTime(a.ExpiresAt, dateShort))
	case models.ApprovalApproved:
		s := st.Success.Render(styles.OK+" approved") + st.Muted.Render(" "+whenOr(a.DecidedAt, "")+by(who))
		if a.Edited {
			s += st.Muted.Render(" · edited by the reviewer")
		}
		return s
	case models.ApprovalRejected:
		return st.Error.Render(styles.Fail+" rejected") + st.Muted.Render(" "+whenOr(a.DecidedAt, "")+by(who)+": ") + st.Value.Render(a.Reason)
	}
	return st.Warning.Render(styles.Warn+" expired") + st.Muted.Render(" "+localTime(a.ExpiresAt, dateShort)+": not sent")
}
