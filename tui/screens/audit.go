package screens

import (
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

const auditPageSize = 50

// Audit is the audit log: a page of entries at a time, newest first,
// filtered by action and actor.
type Audit struct {
	list[activity]
	table *table.Model

	entries []models.AuditEntry
	names   map[string]string

	filter    auditFilter
	filtering bool
	form      *form.Form

	cursors []string // the cursor of each page seen; cursors[i] loads page i
	page    int
	next    string

	// loadedAt is when the page shown arrived; kept is set when the
	// screen shows again (esc back) without loading it again, so the
	// summary says how old the page is.
	loadedAt time.Time
	kept     bool
}

// auditFilter is what the user typed.
type auditFilter struct{ Action, Actor string }

// exactAction reports whether the action typed is a whole action name
// (users.create), which the daemon filters on. Anything else — a prefix
// (approval, approvals., users.*) or free text — is matched here, against
// each page's actions, actors and targets by name.
func (f auditFilter) exactAction() bool {
	a := f.Action
	return strings.Contains(a, ".") && !strings.ContainsAny(a, " *") && !strings.HasSuffix(a, ".")
}

// matches reports whether e, as shown, matches a filter the daemon did
// not apply.
func (s *Audit) matches(e models.AuditEntry) bool {
	a := strings.ToLower(strings.TrimSuffix(s.filter.Action, "*"))
	if a == "" || s.filter.exactAction() {
		return true
	}
	if strings.HasPrefix(e.Action, a) {
		return true
	}
	for _, v := range []string{e.Action, actorName(s.c, s.names, e), targetName(s.c, s.names, e), e.TargetType} {
		if strings.Contains(strings.ToLower(v), a) {
			return true
		}
	}
	return false
}

// NewAudit builds the audit log screen.
func NewAudit(c *common.Common) *Audit {
	s := &Audit{cursors: []string{""}, table: table.New(c,
		table.Column{Title: "Time", Width: 14},
		// An action is never cut: approvals.reject and approval.rejected
		// would read alike. The actor gives way first.
		table.Column{Title: "Actor", Width: 20, Min: 12, Grow: true, Max: 32, Priority: 1},
		table.Column{Title: "Action", Width: 15, Grow: true, Max: 40, Priority: 3},
		table.Column{Title: "Result", Width: 6},
		table.Column{Title: "Target", Width: 0, Min: 10},
	)}
	s.list = newList[activity](c, s)
	s.tbl = s.table
	s.table.Filterable = false // / is the audit filter (action, actor, text)
	return s
}

func (s *Audit) Title() string { return "Audit log" }
func (s *Audit) Typing() bool  { return s.filtering }

func (s *Audit) SetSize(w, h int) {
	rows := s.resize(w, h) - 3
	if s.filtering {
		s.form.SetWidth(w)
		rows -= lines(s.form.View())
	}
	s.table.SetSize(w, rows)
}

func (s *Audit) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.filtering {
		return append(s.form.Bindings(), k.Cancel)
	}
	return []key.Binding{k.Filter, k.NextPage, k.PrevPage, k.Open}
}

func (s *Audit) FullHelp() [][]key.Binding {
	k := s.c.Keys
	if s.filtering {
		return [][]key.Binding{s.ShortHelp()}
	}
	return [][]key.Binding{{k.Filter, k.ClearFilter, k.Refresh}, {k.NextPage, k.PrevPage, k.Open}, s.table.Bindings()}
}

// query turns the filter into API parameters. The actor may be an email
// (of a user this screen knows), an id, or a kind of actor.
func (s *Audit) query() (client.AuditQuery, error) {
	q := client.AuditQuery{Page: client.Page{Cursor: s.cursors[s.page], Limit: auditPageSize}}
	if s.filter.exactAction() {
		q.Action = s.filter.Action
	}
	a := s.filter.Actor
	switch {
	case a == "":
	case a == "user" || a == "token" || a == "system" || a == "anonymous":
		q.ActorType = a
	case strings.Contains(a, "@"):
		if s.c.Me != nil && strings.EqualFold(a, s.c.Me.User.Email) {
			q.ActorID = s.c.Me.User.ID
			break
		}
		for id, email := range s.names {
			if strings.HasPrefix(id, models.PrefixUser) && strings.EqualFold(email, a) {
				q.ActorID = id
			}
		}
		if q.ActorID == "" {
			return q, fmt.Errorf("no user with the email %s; give a user or token id instead", a)
		}
	default:
		q.ActorID = a
	}
	return q, nil
}

func (s *Audit) load() tea.Cmd {
	q, err := s.query()
	if err != nil {
		s.err = err.Error()
		return nil
	}
	return common.Start(s.c, &s.req, "list", "Loading the audit log…", loadActivity(s.c, q, s.names))
}

func (s *Audit) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(common.ShownMsg); ok {
		// A page of the log does not change; page 1 gains entries, which
		// r loads. Reloading here would hold n and p back meanwhile, so
		// the summary says when the page was loaded instead.
		s.kept = s.entries != nil
		return s, nil
	}
	if handled, cmd := s.updateList(msg); handled || !s.filtering {
		return s, cmd
	}
	_, cmd := s.form.Update(msg) // the cursor's blink
	return s, cmd
}

func (s *Audit) show(a activity) {
	s.names, s.next, s.err = a.Names, a.Page.NextCursor, ""
	s.loadedAt, s.kept = time.Now(), false
	s.entries = []models.AuditEntry{}
	for _, e := range a.Page.Data {
		if s.matches(e) {
			s.entries = append(s.entries, e)
		}
	}
	rows := make([][]string, len(s.entries))
	for i, e := range s.entries {
		rows[i] = []string{localTime(e.CreatedAt, stampShort), actorName(s.c, s.names, e), e.Action,
			outcome(s.c.Styles, e), targetName(s.c, s.names, e)}
	}
	s.table.SetRows(rows)
	s.table.SetCursor(0)
}

func (s *Audit) handleKey(msg tea.KeyMsg) tea.Cmd {
	if s.filtering {
		return s.updateFilter(msg)
	}
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Filter):
		return s.openFilter()
	case key.Matches(msg, k.ClearFilter):
		if s.filter == (auditFilter{}) {
			return nil
		}
		s.filter = auditFilter{}
		return s.firstPage()
	case key.Matches(msg, k.NextPage):
		if s.next == "" || s.req.Pending("list") {
			return nil
		}
		s.cursors = append(s.cursors[:s.page+1], s.next)
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
		if len(s.entries) > 0 && !s.table.Empty() {
			e := s.entries[s.table.Cursor()]
			return common.Push(NewAuditDetail(s.c, e, s.names))
		}
		return nil
	}
	s.table.Update(msg)
	return nil
}

func (s *Audit) firstPage() tea.Cmd {
	s.cursors, s.page, s.next = []string{""}, 0, ""
	return s.load()
}

func (s *Audit) openFilter() tea.Cmd {
	s.filtering = true
	s.form = form.New(s.c,
		form.Text("action", "Action").WithValue(s.filter.Action).WithHint("users.create exactly; approval (a prefix) or any text"),
		form.Text("actor", "Actor").WithValue(s.filter.Actor).WithHint("an email, a usr_/tok_ id, or user, token, system, anonymous"),
	)
	s.SetSize(s.w, s.h)
	return s.form.Init()
}

func (s *Audit) closeFilter() {
	s.filtering = false
	s.SetSize(s.w, s.h)
}

func (s *Audit) updateFilter(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, s.c.Keys.Cancel) {
		s.closeFilter()
		return nil
	}
	submit, cmd := s.form.Update(msg)
	if !submit {
		return cmd
	}
	s.filter = auditFilter{Action: strings.TrimSpace(s.form.Value("action")), Actor: strings.TrimSpace(s.form.Value("actor"))}
	s.closeFilter()
	return s.firstPage()
}

func (s *Audit) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(s.summary() + "\n")
	if s.filtering {
		b.WriteString(s.form.View() + "\n")
	} else {
		b.WriteString(s.filterLine() + "\n")
	}
	b.WriteString("\n")
	switch {
	case s.err != "":
		b.WriteString(st.Error.Render(styles.Fail + " " + s.err))
	case s.entries == nil:
		b.WriteString(st.Muted.Render("Loading the audit log…"))
	case len(s.entries) == 0:
		b.WriteString(st.Muted.Render("No entries match."))
	default:
		b.WriteString(s.table.View())
	}
	return b.String()
}

func (s *Audit) summary() string {
	st := s.c.Styles
	parts := []string{fmt.Sprintf("page %d", s.page+1)}
	if s.entries != nil {
		i, n := s.table.Position()
		if n > 0 {
			parts = append(parts, fmt.Sprintf("entry %d of %d", i, n))
		}
	}
	if s.next != "" {
		parts = append(parts, "older: n")
	}
	if s.page > 0 {
		parts = append(parts, "newer: p")
	}
	if s.kept {
		parts = append(parts, "as of "+s.loadedAt.Local().Format("15:04:05"))
	}
	return st.Title.Render("Newest first") + st.Muted.Render(" · "+strings.Join(parts, " · "))
}

func (s *Audit) filterLine() string {
	st := s.c.Styles
	if s.filter == (auditFilter{}) {
		return st.Muted.Render("All entries. / to filter by action or actor.")
	}
	var parts []string
	switch {
	case s.filter.exactAction():
		parts = append(parts, "action "+s.filter.Action)
	case s.filter.Action != "":
		parts = append(parts, "“"+s.filter.Action+"” on this page")
	}
	if s.filter.Actor != "" {
		parts = append(parts, "actor "+s.filter.Actor)
	}
	return st.Label.Render("Filter: "+strings.Join(parts, " · ")) + st.Muted.Render("  (x clears)")
}

func lines(s string) int { return strings.Count(s, "\n") + 1 }
