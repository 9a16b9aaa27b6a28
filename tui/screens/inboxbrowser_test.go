package screens

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func TestLifecycleDetail(t *testing.T) {
	for _, c := range []struct {
		detail map[string]any
		want   string
	}{
		{map[string]any{}, ""},
		{map[string]any{"decision": "hold", "hold_reasons": []any{map[string]any{"code": "first_contact", "detail": "x"}, map[string]any{"code": "budget"}}},
			"decision hold · held: first_contact, budget"},
		{map[string]any{"recipient": "ann@example.net", "outcome": "delivered", "response": "250 2.0.0 OK"},
			"ann@example.net · delivered · 250 2.0.0 OK"},
		{map[string]any{"approval_id": "apr_1", "by": "usr_1", "edited": false}, "approval_id apr_1 · by usr_1 · edited false"},
		{map[string]any{"nested": map[string]any{"a": 1}, "reason": "spam"}, "spam"},
	} {
		before := len(c.detail)
		if got := lifecycleDetail(c.detail); got != c.want {
			t.Errorf("lifecycleDetail(%v) = %q, want %q", c.detail, got, c.want)
		}
		if len(c.detail) != before {
			t.Errorf("lifecycleDetail changed its argument: %v", c.detail)
		}
	}
}

// n and p follow the API's cursors: n sends the next_cursor of the page
// shown, p the cursor that loaded the page before; neither runs past an
// end or while a page loads.
func TestBrowserPaging(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewInboxBrowser(c, models.Inbox{ID: "inb_1", Address: "support@mail.example.com"})
	s.SetSize(80, 20)
	s.Init() // request 1
	key := func(k string) tea.Cmd {
		_, cmd := s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		return cmd
	}
	if key("n") != nil {
		t.Fatal("n while the first page loads")
	}
	s.Update(common.ResultMsg[browsePage]{ID: 1, Value: browsePage{Threads: []models.Thread{{ID: "thr_1", Subject: "One"}}, Next: "thr_1"}})
	if key("p") != nil {
		t.Fatal("p on the first page")
	}
	if key("n") == nil || s.cursors[s.page] != "thr_1" {
		t.Fatalf("n did not load the next page: page %d cursors %q", s.page, s.cursors)
	}
	s.Update(common.ResultMsg[browsePage]{ID: 2, Value: browsePage{Threads: []models.Thread{{ID: "thr_0", Subject: "Zero"}}}})
	if v := s.View(); !strings.Contains(v, "page 2") || !strings.Contains(v, "newer: p") || strings.Contains(v, "older: n") {
		t.Fatalf("page 2:\n%s", v)
	}
	if key("n") != nil {
		t.Fatal("n on the last page")
	}
	if key("p") == nil || s.page != 0 || s.cursors[0] != "" {
		t.Fatalf("p did not go back: page %d cursors %q", s.page, s.cursors)
	}
}

// / opens the search, which takes every key; enter searches from the
// first page and lists messages; x goes back to the conversations.
func TestBrowserSearch(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	s := NewInboxBrowser(c, models.Inbox{ID: "inb_1", Address: "support@mail.example.com"})
	s.SetSize(80, 20)
	s.Init()
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/")})
	if !s.Typing() {
		t.Fatal("the search does not take the keys")
	}
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q refund")})
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd == nil {
		t.Fatal("enter did not search")
	}
	if s.Typing() || s.query != "q refund" || s.listsThreads() || s.page != 0 {
		t.Fatalf("after enter: typing %v query %q", s.Typing(), s.query)
	}
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	if s.query != "" || !s.listsThreads() {
		t.Fatal("x did not clear the search")
	}
}

func TestSplitList(t *testing.T) {
	got := strings.Join(splitList(" a@b.example, spam.example;@x.example  *.y.example,,"), "|")
	if want := "a@b.example|spam.example|@x.example|*.y.example"; got != want {
		t.Fatalf("splitList = %q, want %q", got, want)
	}
	if l := splitList("  "); l == nil || len(l) != 0 {
		t.Fatalf("an empty list is %#v, want []", l)
	}
}
