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
	"gent/tui/components/confirm"
	"gent/tui/components/form"
	"gent/tui/components/table"
)

// kindQueue is the ChangedMsg kind of a delivery retried or cancelled, or
// a pause added or deleted.
const kindQueue = "queue"

// queuePage is the deliveries of one page of the queue; n and N page
// through the rest with the API's cursors.
const queuePage = 50

// queueCountLimit is the most waiting deliveries of one status the
// dashboard counts.
const queueCountLimit = 200

// queueEvents change the outbound queue: a send queued, a delivery
// attempted, failed or cancelled (bounced).
var queueEvents = []string{models.EventMessageSent, models.EventMessageApproved, models.EventMessageDelivered,
	models.EventMessageDeferred, models.EventMessageBounced}

// queueStatuses are the tabs of the queue: every delivery, then one
// status at a time (s moves to the next).
var queueStatuses = []string{"", models.QueuedStatusQueued, models.QueuedStatusDeferred, models.QueuedStatusFailed,
	models.QueuedStatusDelivered, models.QueuedStatusCancelled}

// queueKeys are the queue's own keys.
var queueKeys = struct {
	Queue, Retry, Cancel, Pauses, Deliveries, AddPause, DeletePause, Newer key.Binding
}{
	Queue:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "queue")),
	Retry:       key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "retry now")),
	Cancel:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel delivery")),
	Pauses:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "domain pauses")),
	Deliveries:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "deliveries")),
	AddPause:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "pause a domain")),
	DeletePause: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "end pause")),
	// p is the pauses here, so the newer page is N (n is the older, as
	// on the other paged lists).
	Newer: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "newer")),
}

// Queue is the outbound queue (docs/queue.md): every recipient of a send
// on its way out, by status, and, with p, the domains whose deliveries
// are paused. Owners and admins retry (R) or cancel (x) a delivery and
// add (a) or end (d) a pause, each after a y/n question; reviewers read.
// It updates itself on delivery events. The deliveries come a page at a
// time (n older, N newer); the pauses all at once.
type Queue struct {
	list[queueData]
	deliveries *table.Model
	pauses     *table.Model
	status     string // the status shown ("": all)
	showPauses bool
	q          *queueData
	pg         pager
	// back is set when the page shown came back empty: the page before
	// it is loaded.
	back bool
}

// queueData is one page of a status's deliveries and the pauses in
// force.
type queueData struct {
	Status     string
	Deliveries []models.QueuedDelivery
	Next       string // the API's next_cursor
	Pauses     []models.DeliveryPause
}

// NewQueue builds the outbound queue.
func NewQueue(c *common.Common) *Queue {
	s := &Queue{
		pg: newPager(queuePage),
		deliveries: table.New(c,
			table.Column{Title: "Recipient", Width: 22, Min: 16, Grow: true, Max: 40, Priority: 2},
			table.Column{Title: "Status", Width: 9},
			table.Column{Title: "Tries", Width: 5},
			table.Column{Title: "Next attempt", Width: 12},
			table.Column{Title: "Last reply", Width: 0, Min: 16},
		),
		pauses: table.New(c,
			table.Column{Title: "Domain", Width: 22, Min: 14, Grow: true, Max: 40, Priority: 2},
			table.Column{Title: "Until", Width: 12},
			table.Column{Title: "Since", Width: 12},
			table.Column{Title: "Reason", Width: 0, Min: 16},
		),
	}
	s.list = newList[queueData](c, s, kindQueue)
	s.follow("Updating the queue…", queueEvents...)
	return s
}

func (s *Queue) Title() string { return "Queue" }

// queueDetailLines is the height of the selected delivery's detail.
const queueDetailLines = 2

func (s *Queue) SetSize(w, h int) {
	room := s.resize(w, h)
	s.deliveries.SetSize(w, max(1, room-4-queueDetailLines))
	s.pauses.SetSize(w, max(1, room-4))
}

func (s *Queue) table() *table.Model {
	if s.showPauses {
		return s.pauses
	}
	return s.deliveries
}

func (s *Queue) keys() []key.Binding {
	k := s.c.Keys
	admin := s.c.IsAdmin()
	if s.showPauses {
		if admin {
			return []key.Binding{queueKeys.AddPause, queueKeys.DeletePause, queueKeys.Deliveries, k.Refresh}
		}
		return []key.Binding{queueKeys.Deliveries, k.Refresh}
	}
	b := []key.Binding{k.StatusFilter}
	if s.pg.paged() {
		// Only while there is another page, and early: the line is
		// cut at the width.
		b = append(b, pageHelp(k.NextPage, queueKeys.Newer))
	}
	if admin {
		b = append(b, queueKeys.Retry, queueKeys.Cancel)
	}
	return append(b, queueKeys.Pauses, k.Refresh)
}

func (s *Queue) ShortHelp() []key.Binding { return s.shortHelp(s.keys()...) }

func (s *Queue) FullHelp() [][]key.Binding {
	if s.showPauses {
		return s.fullHelp([][]key.Binding{s.keys(), s.table().Bindings()})
	}
	k := s.c.Keys
	keys := []key.Binding{k.StatusFilter, k.NextPage, queueKeys.Newer}
	if s.c.IsAdmin() {
		keys = append(keys, queueKeys.Retry, queueKeys.Cancel)
	}
	return s.fullHelp([][]key.Binding{keys, {queueKeys.Pauses, k.Refresh}, s.table().Bindings()})
}

func (s *Queue) load() tea.Cmd {
	status, cursor := s.status, s.pg.cursor()
	return common.Start(s.c, &s.req, "list", "Loading the queue…", func(ctx context.Context, cl *client.Client) (queueData, error) {
		l, err := cl.Deliveries(ctx, client.DeliveryQuery{Page: client.Page{Cursor: cursor, Limit: queuePage}, Status: status})
		if err != nil {
			return queueData{}, err
		}
		ps, err := cl.AllDeliveryPauses(ctx)
		if err != nil {
			return queueData{}, err
		}
		return queueData{Status: status, Deliveries: l.Data, Next: l.NextCursor, Pauses: ps}, nil
	})
}

// queueDone is a delivery retried or cancelled, or a pause added or
// ended: what the status line says.
type queueDone struct {
	ID, Note string
}

func (s *Queue) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if r, ok := msg.(common.ResultMsg[queueDone]); ok {
		if _, ok := s.req.Done(r.ID); ok {
			return s, tea.Batch(changed(kindQueue, r.Value.ID), common.Flash(r.Value.Note))
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

func (s *Queue) show(q queueData) {
	if q.Status != s.status {
		return // a load for the status shown before
	}
	if s.pg.shown(len(q.Deliveries), q.Next) {
		s.back = true // the page emptied: show the one before
		return
	}
	s.q = &q
	s.showTable()
	if s.pg.takeTop() {
		s.deliveries.SetCursor(0)
	}
}

// showTable fills the table of the view shown (the list's filter follows
// it).
func (s *Queue) showTable() {
	q := s.q
	if s.showPauses {
		s.setRows(s.pauses, len(q.Pauses), func(i int) (string, []string) {
			p := q.Pauses[i]
			return p.ID, []string{p.Domain, pauseUntil(p), localTime(p.CreatedAt, minuteShort), p.Reason}
		})
		return
	}
	s.setRows(s.deliveries, len(q.Deliveries), func(i int) (string, []string) {
		d := q.Deliveries[i]
		return d.ID, []string{d.Recipient, deliveryStatus(d), fmt.Sprintf("%5d", d.Attempts), nextAttempt(d), lastReply(d)}
	})
}

// deliveryStatus is the status, "paused" while a pause holds a waiting
// delivery.
func deliveryStatus(d models.QueuedDelivery) string {
	if d.Paused && waiting(d) {
		return "paused"
	}
	return d.Status
}

func waiting(d models.QueuedDelivery) bool {
	return d.Status == models.QueuedStatusQueued || d.Status == models.QueuedStatusDeferred
}

func nextAttempt(d models.QueuedDelivery) string {
	switch {
	case !waiting(d):
		return "—"
	case d.NextAttemptAt == nil:
		return "now"
	}
	return localTime(*d.NextAttemptAt, minuteShort)
}

func lastReply(d models.QueuedDelivery) string {
	if d.LastReply == nil {
		return "—"
	}
	t := strings.TrimSpace(d.LastReply.Text)
	if d.LastReply.Code != 0 && !strings.HasPrefix(t, fmt.Sprint(d.LastReply.Code)) {
		t = fmt.Sprintf("%d %s", d.LastReply.Code, t)
	}
	return t
}

func pauseUntil(p models.DeliveryPause) string {
	if p.Until == nil {
		return "no end"
	}
	return localTime(*p.Until, minuteShort)
}

func (s *Queue) handleKey(msg tea.KeyMsg) tea.Cmd {
	defer func() { s.SetSize(s.w, s.h) }() // a question may have opened
	k := s.c.Keys
	admin := s.c.IsAdmin()
	switch {
	case key.Matches(msg, k.Refresh):
		return s.load()
	case key.Matches(msg, queueKeys.Pauses):
		s.showPauses = !s.showPauses
		if s.q != nil {
			s.showTable()
		}
		return nil
	case s.showPauses && admin && key.Matches(msg, queueKeys.AddPause):
		return common.Push(NewPauseAdd(s.c))
	case !s.showPauses && key.Matches(msg, k.StatusFilter):
		s.status = nextQueueStatus(s.status)
		s.q, s.err = nil, ""
		s.pg.reset()
		s.deliveries.SetRows(nil)
		s.deliveries.SetCursor(0)
		return s.load()
	case !s.showPauses && (key.Matches(msg, k.NextPage) || key.Matches(msg, queueKeys.Newer)):
		if !s.pg.turn(key.Matches(msg, k.NextPage), s.q != nil, s.req.Pending("list")) {
			return nil
		}
		return s.load()
	}
	t := s.table()
	if s.q == nil || t.Empty() {
		return nil
	}
	if s.showPauses {
		p := s.q.Pauses[t.Cursor()]
		if admin && key.Matches(msg, queueKeys.DeletePause) {
			s.ask(confirm.New(s.c, "End the pause on "+p.Domain+"?",
				"Its waiting deliveries go within seconds; normal retries follow."),
				func() tea.Cmd { return endPauseCall(s.c, &s.req, p) })
			return nil
		}
		t.Update(msg)
		return nil
	}
	d := s.q.Deliveries[t.Cursor()]
	switch {
	case admin && key.Matches(msg, queueKeys.Retry):
		s.ask(confirm.New(s.c, "Retry "+d.Recipient+" now?",
			"One attempt now instead of at "+nextAttempt(d)+"; a pause on "+d.Domain+" still holds it."),
			func() tea.Cmd { return retryCall(s.c, &s.req, d) })
		return nil
	case admin && key.Matches(msg, queueKeys.Cancel):
		s.ask(confirm.New(s.c, "Cancel the delivery to "+d.Recipient+"?",
			"It fails for good: a delivery status notification goes to the sending inbox. The address is not suppressed."),
			func() tea.Cmd { return cancelCall(s.c, &s.req, d) })
		return nil
	}
	t.Update(msg)
	return nil
}

func nextQueueStatus(cur string) string {
	for i, st := range queueStatuses {
		if st == cur {
			return queueStatuses[(i+1)%len(queueStatuses)]
		}
	}
	return ""
}

func retryCall(c *common.Common, req *common.Requests, d models.QueuedDelivery) tea.Cmd {
	return common.Start(c, req, "retry", "Retrying…", func(ctx context.Context, cl *client.Client) (queueDone, error) {
		_, err := cl.RetryDelivery(ctx, d.ID)
		return queueDone{ID: d.ID, Note: "Asked for an attempt to " + d.Recipient + " now."}, err
	})
}

func cancelCall(c *common.Common, req *common.Requests, d models.QueuedDelivery) tea.Cmd {
	return common.Start(c, req, "cancel", "Cancelling…", func(ctx context.Context, cl *client.Client) (queueDone, error) {
		_, err := cl.CancelDelivery(ctx, d.ID)
		return queueDone{ID: d.ID, Note: "Cancelled the delivery to " + d.Recipient + "."}, err
	})
}

func endPauseCall(c *common.Common, req *common.Requests, p models.DeliveryPause) tea.Cmd {
	return common.Start(c, req, "endpause", "Ending the pause…", func(ctx context.Context, cl *client.Client) (queueDone, error) {
		return queueDone{Note: "Deliveries to " + p.Domain + " resume."}, cl.DeleteDeliveryPause(ctx, p.ID)
	})
}

func (s *Queue) View() string {
	st := s.c.Styles
	switch {
	case s.err != "":
		return errorView(st, s.err)
	case s.q == nil:
		return s.tabs() + "\n\n" + st.Muted.Render("Loading the queue…")
	}
	if s.showPauses {
		return s.pausesView()
	}
	var b strings.Builder
	b.WriteString(s.tabs() + "\n")
	n := plural(len(s.q.Deliveries), "delivery")
	if len(s.q.Deliveries) != 1 {
		n = fmt.Sprintf("%d deliveries", len(s.q.Deliveries))
	}
	line := n + " · newest first"
	if s.pg.paged() {
		line = fmt.Sprintf("page %d · %s, newest first%s", s.pg.page+1, n, s.pg.where("n", "N"))
	}
	b.WriteString(st.Muted.Render(line+" · "+plural(len(s.q.Pauses), "domain")+" paused (p)") + "\n\n")
	if len(s.q.Deliveries) == 0 {
		b.WriteString(s.question() + st.Muted.Render("Nothing here. Every recipient of a send is a delivery with its own status."))
		return b.String()
	}
	b.WriteString(s.question() + s.deliveries.View())
	if s.confirm == nil && !s.deliveries.Empty() {
		b.WriteString("\n\n" + s.detail(s.q.Deliveries[s.deliveries.Cursor()]))
	}
	return b.String()
}

// tabs shows the statuses, the one shown in brackets.
func (s *Queue) tabs() string {
	st := s.c.Styles
	var parts []string
	for _, status := range queueStatuses {
		name := status
		if name == "" {
			name = "all"
		}
		if status == s.status {
			parts = append(parts, st.Title.Render("["+name+"]"))
		} else {
			parts = append(parts, st.Muted.Render(" "+name+" "))
		}
	}
	if s.showPauses {
		return st.Title.Render("Delivery pauses by domain")
	}
	return strings.Join(parts, "") + st.Muted.Render("  s: next")
}

// detail is the selected delivery's domain, MX and whole last reply.
func (s *Queue) detail(d models.QueuedDelivery) string {
	st := s.c.Styles
	w := max(10, s.w)
	head := d.Status + " · " + plural(d.Attempts, "attempt")
	if d.MX != "" {
		head += " · via " + d.MX
	}
	if d.Paused && waiting(d) {
		head += " · " + d.Domain + " is paused"
	}
	reply := "No attempt yet."
	if d.LastReply != nil {
		reply = "Last reply: " + lastReply(d)
	}
	return st.Label.Render(clip(d.Recipient+": "+head, w)) + "\n" + st.Muted.Render(clip(reply, w))
}

func (s *Queue) pausesView() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(s.tabs() + "\n")
	b.WriteString(st.Muted.Render("No delivery to a paused domain is attempted until the pause ends.") + "\n\n")
	if len(s.q.Pauses) == 0 {
		hint := "No domain is paused."
		if s.c.IsAdmin() {
			hint += " a pauses one, e.g. while its MX refuses connections."
		}
		return b.String() + s.question() + st.Muted.Render(hint)
	}
	return b.String() + s.question() + s.pauses.View()
}

// PauseAdd pauses deliveries to a domain: the domain, why, and until
// when (empty: until the pause is ended).
type PauseAdd struct{ formScreen }

// NewPauseAdd builds the add-pause form.
func NewPauseAdd(c *common.Common) *PauseAdd {
	return &PauseAdd{formScreen{c: c, call: "create", cancel: true, form: form.New(c,
		form.Text("domain", "Domain").WithHint("e.g. example.net (exact: its subdomains are not paused)"),
		form.Text("reason", "Reason").WithHint("optional, at most 500 characters"),
		form.Text("until", "Until").WithHint("empty: until ended; a duration (2h, 30m) or 2026-12-02 18:00"),
	)}}
}

func (s *PauseAdd) Title() string { return "Pause a domain" }

func (s *PauseAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if r, ok := msg.(common.ResultMsg[queueDone]); ok {
		if _, ok := s.req.Done(r.ID); ok {
			return s, tea.Sequence(common.Pop, changed(kindQueue, r.Value.ID), common.Flash(r.Value.Note))
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

// parseUntil reads the until field: empty, a duration from now, or a
// local date and time.
func parseUntil(v string, now time.Time) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		t := now.Add(d)
		return &t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return &t, nil
		}
	}
	return nil, &models.Error{Code: "validation_error", Field: "until",
		Message: "until must be a duration (2h, 30m) or a date and time (2026-12-02 18:00)"}
}

func (s *PauseAdd) submit() tea.Cmd {
	until, err := parseUntil(s.form.Value("until"), time.Now())
	if err != nil {
		return s.form.SetError(err)
	}
	req := models.DeliveryPauseRequest{
		Domain: strings.TrimSpace(s.form.Value("domain")),
		Reason: strings.TrimSpace(s.form.Value("reason")),
		Until:  until,
	}
	return common.Start(s.c, &s.req, s.call, "Pausing "+req.Domain+"…", func(ctx context.Context, cl *client.Client) (queueDone, error) {
		p, err := cl.PauseDomain(ctx, req)
		if err != nil {
			return queueDone{}, err
		}
		return queueDone{ID: p.ID, Note: pausedNote(*p)}, nil
	})
}

func pausedNote(p models.DeliveryPause) string {
	if p.Until == nil {
		return "Deliveries to " + p.Domain + " are paused until you end the pause."
	}
	return "Deliveries to " + p.Domain + " are paused until " + localTime(*p.Until, dateShort) + "."
}

func (s *PauseAdd) View() string {
	st := s.c.Styles
	return st.Title.Render("Pause deliveries to a domain") + "\n\n" +
		st.Muted.Render("Waiting deliveries sleep without using an attempt and go once the\npause ends. Pausing a domain again replaces its pause.") + "\n\n" +
		s.form.View()
}

// countQueue counts the deliveries waiting (queued or deferred, the
// newest page of each) and the paused domains; a deferred one draws
// attention.
func countQueue(ctx context.Context, cl *client.Client) (count, error) {
	by := map[string]int{}
	for _, st := range []string{models.QueuedStatusQueued, models.QueuedStatusDeferred} {
		l, err := cl.Deliveries(ctx, client.DeliveryQuery{Page: client.Page{Limit: queueCountLimit}, Status: st})
		if err != nil {
			return count{}, err
		}
		by[st] = len(l.Data)
	}
	ps, err := cl.AllDeliveryPauses(ctx)
	if err != nil {
		return count{}, err
	}
	parts := breakdown(by, models.QueuedStatusQueued, models.QueuedStatusDeferred)
	if len(ps) > 0 {
		parts = append(parts, plural(len(ps), "domain")+" paused")
	}
	if len(parts) == 0 {
		parts = []string{"nothing waiting to go out"}
	}
	n := by[models.QueuedStatusQueued] + by[models.QueuedStatusDeferred]
	return count{N: n, Detail: strings.Join(parts, " · "), Alert: by[models.QueuedStatusDeferred] > 0}, nil
}
