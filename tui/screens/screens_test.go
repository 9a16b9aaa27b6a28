package screens

import (
	"strings"
	"testing"

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
