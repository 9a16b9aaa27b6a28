package screens

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

func newCommon(t *testing.T, role string) *common.Common {
	t.Helper()
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, err := client.New("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	c := common.NewCommon(cl)
	c.Me = &models.Me{User: models.User{ID: "usr_me", Email: "me@acme.test", Role: role}, Org: models.Org{ID: "org_1", Name: "Acme"}}
	return c
}

func users(emails ...string) []models.User {
	var u []models.User
	for i, e := range emails {
		u = append(u, models.User{ID: "usr_" + string(rune('a'+i)), Email: e, Role: models.RoleAdmin})
	}
	return u
}

// Each Call takes the next id from Common, starting at 1.
func TestUsersDropsStaleReply(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	s := NewUsers(c)
	s.SetSize(80, 20)
	s.Init()                                                     // request 1
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")}) // request 2 supersedes it
	s.Update(common.ResultMsg[[]models.User]{ID: 1, Value: users("old@acme.test")})
	if strings.Contains(s.View(), "old@acme.test") {
		t.Fatalf("stale reply shown:\n%s", s.View())
	}
	if busy, _ := s.Busy(); !busy {
		t.Fatal("not busy while the newer call runs")
	}
	s.Update(common.ResultMsg[[]models.User]{ID: 2, Value: users("new@acme.test", "two@acme.test")})
	v := s.View()
	if !strings.Contains(v, "2 users in Acme") || !strings.Contains(v, "› new@acme.test") {
		t.Fatalf("fresh reply not shown:\n%s", v)
	}
	// An error for a call this screen did not make changes nothing.
	s.Update(common.ErrorMsg{ID: 77, Err: &client.APIError{Status: 500, Err: &models.Error{Code: "internal_error", Message: "internal error"}}})
	if strings.Contains(s.View(), "internal error") {
		t.Fatal("another call's error shown")
	}
	if busy, _ := s.Busy(); busy {
		t.Fatal("busy with nothing in flight")
	}
}

func TestUserAddRoles(t *testing.T) {
	for _, c := range []struct {
		role  string
		owner bool
	}{{models.RoleOwner, true}, {models.RoleAdmin, false}} {
		s := NewUserAdd(newCommon(t, c.role))
		s.Init()
		if got := strings.Contains(s.View(), "owner"); got != c.owner {
			t.Errorf("%s may create owners: %v, want %v\n%s", c.role, got, c.owner, s.View())
		}
	}
}

func TestAuditQueryFromFilter(t *testing.T) {
	s := NewAudit(newCommon(t, models.RoleAdmin))
	s.names = map[string]string{"usr_ada": "ada@acme.test", "inb_sup": "support@acme.test"}
	cases := []struct {
		actor           string
		id, kind, error string
	}{
		{"", "", "", ""},
		{"token", "", "token", ""},
		{"system", "", "system", ""},
		{"ADA@acme.test", "usr_ada", "", ""},
		{"me@acme.test", "usr_me", "", ""},
		{"tok_01abc", "tok_01abc", "", ""},
		{"nobody@acme.test", "", "", "no user with the email nobody@acme.test"},
		{"support@acme.test", "", "", "no user with the email support@acme.test"}, // an inbox, not a user
	}
	for _, c := range cases {
		s.filter = auditFilter{Action: "users.create", Actor: c.actor}
		q, err := s.query()
		switch {
		case c.error != "":
			if err == nil || !strings.Contains(err.Error(), c.error) {
				t.Errorf("%q: error %v, want %q", c.actor, err, c.error)
			}
		case err != nil || q.ActorID != c.id || q.ActorType != c.kind || q.Action != "users.create" || q.Limit != auditPageSize:
			t.Errorf("%q: query %+v %v", c.actor, q, err)
		}
	}
}

func TestAuditPagesByCursor(t *testing.T) {
	s := NewAudit(newCommon(t, models.RoleAdmin))
	s.SetSize(80, 20)
	s.Init() // request 1
	page := func(id int, next string, actions ...string) {
		var l models.List[models.AuditEntry]
		for _, a := range actions {
			l.Data = append(l.Data, models.AuditEntry{ID: "aud_" + a, Action: a, Outcome: "success", Status: 200, ActorType: "system"})
		}
		l.NextCursor = next
		s.Update(common.ResultMsg[activity]{ID: id, Value: activity{Page: l, Names: map[string]string{}}})
	}
	key := func(k string) { s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}) }
	page(1, "aud_b", "a", "b")
	if v := s.View(); !strings.Contains(v, "page 1 · entry 1 of 2 · older: n") {
		t.Fatalf("page 1:\n%s", v)
	}
	key("p") // no newer page: no call
	if busy, _ := s.Busy(); busy {
		t.Fatal("p on page 1 made a call")
	}
	key("n") // request 2, cursor aud_b
	if q, _ := s.query(); q.Cursor != "aud_b" {
		t.Fatalf("page 2 cursor %q", q.Cursor)
	}
	key("n") // ignored while page 2 loads
	page(2, "", "c")
	if v := s.View(); !strings.Contains(v, "page 2 · entry 1 of 1 · newer: p") || strings.Contains(v, "older: n") {
		t.Fatalf("page 2:\n%s", v)
	}
	key("n") // last page: no call
	if busy, _ := s.Busy(); busy {
		t.Fatal("n on the last page made a call")
	}
	key("p") // request 3, back to the first cursor
	if q, _ := s.query(); q.Cursor != "" {
		t.Fatalf("page 1 cursor %q", q.Cursor)
	}
}

// An empty local part is refused here, under its field, in the form's
// words; the daemon would name the whole address ("@mail.example.com").
func TestInboxAddEmptyLocalPart(t *testing.T) {
	s := NewInboxAdd(newCommon(t, models.RoleOwner))
	s.Init()
	s.Update(common.ResultMsg[[]models.Domain]{ID: 1, Value: []models.Domain{{Name: "mail.example.com", Status: models.DomainVerified}}})
	s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	s.Update(tea.KeyMsg{Type: tea.KeyEnter}) // submit from the last field
	v := s.View()
	if s.req.Pending("create") || !strings.Contains(v, "✗ Give the part before the @") || strings.Contains(v, `"@mail.example.com"`) {
		t.Fatalf("empty local part:\n%s", v)
	}
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	if strings.Contains(s.View(), "✗") {
		t.Fatalf("error stays after typing:\n%s", s.View())
	}
}

// The dashboard's recent activity never cuts an action name: two
// actions that differ at their end stay apart at 80 columns.
func TestDashboardActionsNotCut(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	d := NewDashboard(c)
	d.SetSize(80, 20)
	d.Init()
	var entries []models.AuditEntry
	for _, a := range []string{"approvals.reject", "approval.rejected", "cap.threshold_crossed"} {
		entries = append(entries, models.AuditEntry{ID: "aud_" + a, Action: a, ActorType: "system", Outcome: "success"})
	}
	for id := 1; id < 10; id++ { // whichever call was the recent activity's
		d.Update(common.ResultMsg[activity]{ID: id, Value: activity{Page: models.List[models.AuditEntry]{Data: entries}}})
	}
	v := d.View()
	for _, a := range []string{"approvals.reject ", "approval.rejected", "cap.threshold_crossed"} {
		if !strings.Contains(v, a) {
			t.Fatalf("%q cut:\n%s", a, v)
		}
	}
}

// The audit filter takes a whole action (the daemon filters), a prefix or
// any text (matched on the page, by the names shown); held sends show by
// subject instead of their apr_ id.
func TestAuditFilterPrefixAndText(t *testing.T) {
	s := NewAudit(newCommon(t, models.RoleReviewer))
	s.SetSize(80, 20)
	s.Init()
	entries := []models.AuditEntry{
		{ID: "aud_1", Action: "approvals.reject", ActorType: "user", ActorID: "usr_me", TargetID: "apr_1", Outcome: "success"},
		{ID: "aud_2", Action: "approval.rejected", ActorType: "user", ActorID: "usr_me", TargetID: "apr_1", Outcome: "success"},
		{ID: "aud_3", Action: "users.create", ActorType: "user", ActorID: "usr_ada", TargetID: "usr_rex", Outcome: "success"},
	}
	names := map[string]string{"apr_1": "held send “Refund”", "usr_ada": "ada@acme.test", "usr_rex": "rex@acme.test"}
	for _, c := range []struct {
		action, exact string
		shown         []string
	}{
		{"users.create", "users.create", []string{"aud_1", "aud_2", "aud_3"}}, // the daemon filtered
		{"approval", "", []string{"aud_1", "aud_2"}},
		{"approval.*", "", []string{"aud_2"}},
		{"approvals.", "", []string{"aud_1"}},
		{"refund", "", []string{"aud_1", "aud_2"}},
		{"rex@", "", []string{"aud_3"}},
	} {
		s.filter = auditFilter{Action: c.action}
		if q, _ := s.query(); q.Action != c.exact {
			t.Errorf("%q: the daemon filters on %q, want %q", c.action, q.Action, c.exact)
		}
		s.show(activity{Page: models.List[models.AuditEntry]{Data: entries}, Names: names})
		var got []string
		for _, e := range s.entries {
			got = append(got, e.ID)
		}
		if strings.Join(got, ",") != strings.Join(c.shown, ",") {
			t.Errorf("%q shows %v, want %v", c.action, got, c.shown)
		}
	}
	s.filter = auditFilter{}
	s.show(activity{Page: models.List[models.AuditEntry]{Data: entries}, Names: names})
	if v := s.View(); !strings.Contains(v, "held send “Refund”") || strings.Contains(v, "apr_1") {
		t.Fatalf("held send not named:\n%s", v)
	}
}

// Decided sends say who decided; the token list follows what agents do.
func TestApprovalsSayWhoDecidedAndTokensFollowUse(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewApprovals(c)
	s.SetSize(80, 20)
	s.Init()
	s.Update(runes("s")) // approved: request 2
	now := time.Now()
	a := heldSend("apr_1", "Refund")
	a.Status, a.DecidedBy, a.DecidedAt = models.ApprovalApproved, "usr_ada", &now
	s.Update(common.ResultMsg[approvalList]{ID: 2, Value: approvalList{Status: models.ApprovalApproved, Items: []models.Approval{a},
		Names: map[string]string{"usr_ada": "ada@acme.test"}}})
	if v := s.View(); !strings.Contains(v, "approved") || !strings.Contains(v, "by ada@acme.test") {
		t.Fatalf("who decided is not said:\n%s", v)
	}
	a.DecidedBy = "usr_me"
	if st := approvalState(c.Styles, a, deciderName(c, nil, a.DecidedBy)); !strings.Contains(st, "by you") {
		t.Fatalf("own decision: %q", st)
	}

	tk := NewTokens(c, nil)
	tk.SetSize(80, 20)
	tk.Init()
	if _, cmd := tk.Update(common.EventMsg{Event: models.Event{Type: models.EventMessageSent}}); cmd == nil {
		t.Fatal("an agent's send does not refresh the tokens' Last used")
	}
}

// Every list filters with /: the typed text goes to the filter (a is not
// "add"), and a click in the screen selects the row under it.
func TestListFilterAndClick(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	s := NewUsers(c)
	s.SetSize(80, 20)
	s.Init()
	s.Update(common.ResultMsg[[]models.User]{ID: 1, Value: users("ann@acme.test", "bob@acme.test", "rex@acme.test")})
	s.Update(runes("/"))
	if !s.Typing() {
		t.Fatal("the filter does not take the keys")
	}
	if _, cmd := s.Update(runes("a")); cmd != nil {
		t.Fatal("a typed into the filter did something")
	}
	s.Update(runes("n"))
	s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if v := s.View(); strings.Contains(v, "bob@") || !strings.Contains(v, "ann@") || s.Typing() {
		t.Fatalf("filter an:\n%s", v)
	}
	s.Update(runes("/"))
	s.Update(tea.KeyMsg{Type: tea.KeyEsc})
	// A click on rex's line selects rex.
	lines := strings.Split(s.View(), "\n")
	for y, l := range lines {
		if strings.Contains(l, "rex@acme.test") {
			s.Update(tea.MouseMsg{Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
		}
	}
	if !strings.Contains(s.View(), "› rex@acme.test") {
		t.Fatalf("click did not select rex:\n%s", s.View())
	}
}

// Back after an outage (the event stream reconnected), the screens that
// are not lists load again what failed while the daemon was away: a
// domain, a quarantined or captured message, and the forms whose first
// load failed. A form already shown keeps what was typed into it.
func TestDetailsReloadAfterAnOutage(t *testing.T) {
	away := &client.APIError{Status: 0, Err: &models.Error{Code: "unreachable", Message: "cannot reach the daemon"}}
	back := common.StreamMsg{Live: true, Reconnected: true}
	for name, build := range map[string]func(c *common.Common) tea.Model{
		"domain": func(c *common.Common) tea.Model {
			return NewDomain(c, models.Domain{ID: "dom_1", Name: "mail.example.com"}, false)
		},
		"quarantined": func(c *common.Common) tea.Model {
			return NewQuarantined(c, models.QuarantinedMessage{ID: "msg_1", Subject: "Schedule"}, "support@mail.example.com")
		},
		"captured": func(c *common.Common) tea.Model { return NewCapturedDetail(c, models.CapturedMessage{ID: "cap_1"}) },
		"message": func(c *common.Common) tea.Model {
			return NewMessageView(c, models.Inbox{ID: "inb_1", Address: "a@b.test"}, models.MessageSummary{ID: "msg_1"})
		},
		"inbox policy": func(c *common.Common) tea.Model {
			return NewInboxPolicy(c, models.Inbox{ID: "inb_1", Address: "a@b.test"})
		},
		"org policy":    func(c *common.Common) tea.Model { return NewOrgPolicy(c) },
		"inbox add":     func(c *common.Common) tea.Model { return NewInboxAdd(c) },
		"token wizard":  func(c *common.Common) tea.Model { return NewTokenAdd(c, nil) },
		"edit, approve": func(c *common.Common) tea.Model { return NewApprovalEdit(c, heldSend("apr_1", "Refund"), nil) },
	} {
		c := newCommon(t, models.RoleOwner)
		s := build(c)
		s.(interface{ SetSize(int, int) }).SetSize(80, 20)
		s.Init()
		s.Update(common.ErrorMsg{ID: 1, Err: away}) // the first load failed
		if _, cmd := s.Update(common.StreamMsg{Err: away}); cmd != nil {
			t.Errorf("%s: reloads while the daemon is away", name)
		}
		if _, cmd := s.Update(back); cmd == nil {
			t.Errorf("%s: nothing loaded again after the outage:\n%s", name, s.View())
		}
		if _, cmd := s.Update(back); cmd != nil {
			t.Errorf("%s: a second load while the first is in flight", name)
		}
	}

	// A policy form shown is not replaced: the edits stay.
	c := newCommon(t, models.RoleOwner)
	p := NewOrgPolicy(c)
	p.SetSize(80, 20)
	p.Init()
	p.Update(common.ResultMsg[*models.OrgPolicy]{ID: 1, Value: &models.OrgPolicy{}})
	if _, cmd := p.Update(back); cmd != nil {
		t.Fatal("a loaded form was loaded again over its edits")
	}
}

// The audit log keeps its page on esc back and says when it was loaded.
func TestAuditSaysHowOldAKeptPageIs(t *testing.T) {
	s := NewAudit(newCommon(t, models.RoleOwner))
	s.SetSize(80, 20)
	s.Init()
	s.Update(common.ResultMsg[activity]{ID: 1, Value: activity{Page: models.List[models.AuditEntry]{Data: []models.AuditEntry{
		{ID: "aud_1", Action: "users.create", ActorType: "system", Outcome: "success"}}}}})
	if strings.Contains(s.View(), "as of") {
		t.Fatalf("a fresh page says its age:\n%s", s.View())
	}
	at := time.Now().Format("15:04")
	if _, cmd := s.Update(common.ShownMsg{}); cmd != nil {
		t.Fatal("esc back reloaded the page")
	}
	if v := s.View(); !strings.Contains(v, "as of "+at) {
		t.Fatalf("a kept page does not say when it was loaded:\n%s", v)
	}
}

// An inbox, token, domain, user or cap created elsewhere has no event of
// its own: when the recent activity shows it, the dashboard counts that
// section again, so its count never contradicts the lines under it.
func TestDashboardCountsWhatTheActivityShows(t *testing.T) {
	d := NewDashboard(newCommon(t, models.RoleOwner))
	d.SetSize(80, 24)
	old := models.AuditEntry{ID: "aud_1", Action: "tokens.create", Outcome: "success"}
	next := func(entries ...models.AuditEntry) {
		prev := d.recent
		d.recent = entries
		d.countChanged(prev)
	}
	d.recent = []models.AuditEntry{old}
	next(old)
	if b, label := d.req.Busy(); b {
		t.Fatalf("an entry already shown counted again: %q", label)
	}
	next(models.AuditEntry{ID: "aud_3", Action: "inboxes.list", Outcome: "success"},
		models.AuditEntry{ID: "aud_2", Action: "inboxes.create", Outcome: "denied"}, old)
	if b, label := d.req.Busy(); b {
		t.Fatalf("a read or a refused create counted again: %q", label)
	}
	next(models.AuditEntry{ID: "aud_4", Action: "inboxes.create", Outcome: "success"}, old)
	if !d.req.Pending("count:Inboxes") || d.req.Pending("count:Tokens") || d.req.Pending("count:Domains") {
		t.Fatal("a new inboxes.create did not count the inboxes again (and only them)")
	}
}
