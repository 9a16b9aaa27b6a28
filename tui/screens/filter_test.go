package screens

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

// answer starts a screen and gives it the reply to whichever of its
// first calls it waits for.
func answer[T any](s tea.Model, v T) {
	s.(interface{ SetSize(int, int) }).SetSize(80, 20)
	s.Init()
	for id := 1; id < 10; id++ {
		s.Update(common.ResultMsg[T]{ID: id, Value: v})
	}
}

// / filters every list (issue 22 item 13): it opens a filter that takes
// every key — q and ? included, which the root would otherwise take for
// quit and help — narrows the rows, and esc closes it without leaving the
// screen. The inbox's mail uses / for the API's full-text search and the
// audit log for its own filter; both have their own tests.
func TestSlashFiltersEveryList(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name  string
		build func(c *common.Common) tea.Model
		keys  string // to press before / (another view)
		keep  string // the row "ann" keeps
		drop  string // a row it drops
	}{
		{"domains", func(c *common.Common) tea.Model {
			s := NewDomains(c)
			answer(s, []models.Domain{{ID: "dom_1", Name: "ann.example.com"}, {ID: "dom_2", Name: "bob.example.com"}})
			return s
		}, "", "ann.example.com", "bob.example.com"},
		{"inboxes", func(c *common.Common) tea.Model {
			s := NewInboxes(c)
			answer(s, []models.Inbox{{ID: "inb_1", Address: "ann@example.com"}, {ID: "inb_2", Address: "bob@example.com"}})
			return s
		}, "", "ann@example.com", "bob@example.com"},
		{"tokens", func(c *common.Common) tea.Model {
			s := NewTokens(c, nil)
			answer(s, tokenList{Tokens: []models.Token{{ID: "tok_1", Label: "ann-agent", Prefix: "gent_a"}, {ID: "tok_2", Label: "bob-agent", Prefix: "gent_b"}}})
			return s
		}, "", "ann-agent", "bob-agent"},
		{"approvals", func(c *common.Common) tea.Model {
			s := NewApprovals(c)
			bob := heldSend("apr_2", "For bob")
			bob.To = []string{"bob@example.net"}
			answer(s, approvalList{Status: models.ApprovalPending, Items: []models.Approval{heldSend("apr_1", "For ann"), bob}})
			return s
		}, "", "For ann", "For bob"},
		{"quarantine", func(c *common.Common) tea.Model {
			s := NewQuarantine(c)
			answer(s, quarantined{Messages: []models.QuarantinedMessage{{ID: "msg_1", Subject: "From ann", CreatedAt: now},
				{ID: "msg_2", Subject: "From bob", CreatedAt: now}}})
			return s
		}, "", "From ann", "From bob"},
		{"captured", func(c *common.Common) tea.Model {
			s := NewCaptured(c)
			answer(s, capturedList{Items: []models.CapturedMessage{{ID: "cap_1", Subject: "To ann"}, {ID: "cap_2", Subject: "To bob"}}})
			return s
		}, "", "To ann", "To bob"},
		{"queue", func(c *common.Common) tea.Model {
			s := NewQueue(c)
			answer(s, queueData{Deliveries: []models.QueuedDelivery{{ID: "dlv_1", Recipient: "ann@example.net", Status: "queued"},
				{ID: "dlv_2", Recipient: "bob@example.net", Status: "queued"}}})
			return s
		}, "", "ann@example.net", "bob@example.net"},
		{"delivery pauses", func(c *common.Common) tea.Model {
			s := NewQueue(c)
			answer(s, queueData{Pauses: []models.DeliveryPause{{Domain: "ann.example", CreatedAt: now}, {Domain: "bob.example", CreatedAt: now}}})
			return s
		}, "p", "ann.example", "bob.example"},
		{"caps", func(c *common.Common) tea.Model {
			s := NewCaps(c)
			answer(s, []models.MailboxCap{{InboxID: "inb_1", Address: "ann@example.com"}, {InboxID: "inb_2", Address: "bob@example.com"}})
			return s
		}, "", "ann@example.com", "bob@example.com"},
		{"usage", func(c *common.Common) tea.Model {
			s := NewCapUsage(c)
			answer(s, &models.UsageReport{From: now, To: now, Data: []models.InboxUsage{{InboxID: "inb_1", Address: "ann@example.com"},
				{InboxID: "inb_2", Address: "bob@example.com"}}})
			return s
		}, "", "ann@example.com", "bob@example.com"},
		{"users", func(c *common.Common) tea.Model {
			s := NewUsers(c)
			answer(s, users("ann@acme.test", "bob@acme.test"))
			return s
		}, "", "ann@acme.test", "bob@acme.test"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cm := newCommon(t, models.RoleOwner)
			var s tea.Model
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("building: %v", r)
					}
				}()
				s = c.build(cm)
			}()
			s.(interface{ SetSize(int, int) }).SetSize(80, 20)
			for _, k := range c.keys {
				s.Update(runes(string(k)))
			}
			if v := s.View(); !strings.Contains(v, c.keep) || !strings.Contains(v, c.drop) {
				t.Fatalf("not loaded:\n%s", v)
			}
			typist := s.(common.Typist)
			s.Update(runes("/"))
			if !typist.Typing() {
				t.Fatalf("/ opened no filter that takes the keys:\n%s", s.View())
			}
			for _, b := range s.(interface{ ShortHelp() []key.Binding }).ShortHelp() {
				if k := b.Help().Key; k != "enter" && k != "esc" {
					t.Fatalf("the help offers %q while the filter takes the keys", k)
				}
			}
			s.Update(runes("q"))
			s.Update(runes("?"))
			if v := s.View(); !strings.Contains(v, "/q?") {
				t.Fatalf("q and ? were not typed into the filter:\n%s", v)
			}
			s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
			s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
			s.Update(runes("a"))
			s.Update(runes("n"))
			v := s.View()
			if !strings.Contains(v, "/an") || !strings.Contains(v, c.keep) || strings.Contains(v, c.drop) {
				t.Fatalf("filter “an”:\n%s", v)
			}
			s.Update(tea.KeyMsg{Type: tea.KeyEsc})
			if typist.Typing() || !strings.Contains(s.View(), c.drop) {
				t.Fatalf("esc did not drop the filter:\n%s", s.View())
			}
		})
	}
}

// The caps screen is not a table: a click on any line of an inbox selects
// it, and the wheel moves through them, with the filter line open too.
func TestCapsClickAndWheel(t *testing.T) {
	s := NewCaps(newCommon(t, models.RoleOwner))
	answer(s, []models.MailboxCap{{InboxID: "inb_1", Address: "ann@example.com"}, {InboxID: "inb_2", Address: "bob@example.com"},
		capped(1<<20, 1, models.CapEnforce)})
	click := func(line string, below int) {
		t.Helper()
		for y, l := range strings.Split(s.View(), "\n") {
			if strings.Contains(l, line) {
				s.Update(tea.MouseMsg{Y: y + below, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
				return
			}
		}
		t.Fatalf("no %q:\n%s", line, s.View())
	}
	for _, filtered := range []bool{false, true} {
		if filtered {
			for _, k := range "/example" {
				s.Update(runes(string(k)))
			}
			s.Update(tea.KeyMsg{Type: tea.KeyEnter})
		}
		click("bob@example.com", 1) // its second line
		if !strings.Contains(s.View(), "› bob@example.com") {
			t.Fatalf("filtered %v: the click did not select bob:\n%s", filtered, s.View())
		}
		s.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown})
		if !strings.Contains(s.View(), "› support@example.com") {
			t.Fatalf("filtered %v: the wheel did not move on:\n%s", filtered, s.View())
		}
		click("ann@example.com", 0)
		if !strings.Contains(s.View(), "› ann@example.com") {
			t.Fatalf("filtered %v: the click did not select ann:\n%s", filtered, s.View())
		}
	}
}

// The token wizard's inbox step filters its inboxes with / too: esc and
// enter close the filter, not the wizard; enter then picks the inbox the
// filter kept, and nothing when it kept none.
func TestTokenWizardFiltersInboxes(t *testing.T) {
	w := NewTokenAdd(newCommon(t, models.RoleOwner), nil)
	w.SetSize(80, 20)
	w.Init()
	ins := []models.Inbox{{ID: "inb_1", Address: "ann@example.com"}, {ID: "inb_2", Address: "bob@example.com"}}
	w.Update(common.ResultMsg[wizardData]{ID: 1, Value: wizardData{Inboxes: ins, Scopes: models.Scopes}})
	w.Update(runes("/"))
	if w.TakesHelp() {
		t.Fatal("? shows the help while the filter is open, instead of being typed")
	}
	for _, k := range "zzz" {
		w.Update(runes(string(k)))
	}
	w.Update(tea.KeyMsg{Type: tea.KeyEnter}) // closes the filter
	if _, cmd := w.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd != nil || w.step != stepInbox {
		t.Fatalf("enter picked an inbox the filter hid: step %d", w.step)
	}
	w.Update(runes("/"))
	if _, cmd := w.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil || w.step != stepInbox {
		t.Fatal("esc in the filter left the step")
	}
	w.Update(runes("/"))
	for _, k := range "bob" {
		w.Update(runes(string(k)))
	}
	if v := w.View(); strings.Contains(v, "ann@example.com") || !strings.Contains(v, "bob@example.com") {
		t.Fatalf("filter bob:\n%s", v)
	}
	w.Update(tea.KeyMsg{Type: tea.KeyEnter})
	w.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if w.step != stepLabel || w.inbox().ID != "inb_2" {
		t.Fatalf("step %d, inbox %+v", w.step, w.inbox())
	}
}

// A domain's records filter with / and a click selects one (its value
// and check show under the table).
func TestDomainRecordsFilterAndClick(t *testing.T) {
	d := models.Domain{ID: "dom_1", Name: "mail.example.com", Status: models.DomainPending, Records: []models.DNSRecord{
		{Purpose: "mx", Type: "MX", Name: "mail.example.com", Value: "mx.gent.test", Status: models.RecordPending},
		{Purpose: "spf", Type: "TXT", Name: "mail.example.com", Value: "v=spf1 mx -all", Status: models.RecordPending},
		{Purpose: "dkim", Type: "TXT", Name: "gent._domainkey.mail.example.com", Value: "v=DKIM1; p=abc", Status: models.RecordPending},
	}}
	s := NewDomain(newCommon(t, models.RoleAdmin), d, false)
	s.SetSize(80, 20)
	for y, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "gent._domainkey") {
			s.Update(tea.MouseMsg{Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
			break
		}
	}
	if v := s.View(); !strings.Contains(v, "› dkim") || !strings.Contains(v, "v=DKIM1; p=abc") {
		t.Fatalf("the click did not select the DKIM record:\n%s", v)
	}
	s.Update(runes("/"))
	if !s.Typing() {
		t.Fatal("/ opened no filter")
	}
	for _, k := range "spf" {
		s.Update(runes(string(k)))
	}
	v := s.View()
	if !strings.Contains(v, "› spf") || strings.Contains(v, "  dkim ") || !strings.Contains(v, "v=spf1 mx -all") {
		t.Fatalf("filter spf:\n%s", v)
	}
	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil || s.Typing() || !strings.Contains(s.View(), "dkim") {
		t.Fatalf("esc did not drop the filter:\n%s", s.View())
	}
}

// The mouse wheel scrolls the long views (a held send, a message, a
// quarantined or captured message, an audit entry), as the keys do.
func TestWheelScrollsTheViews(t *testing.T) {
	long := strings.Repeat("A line of the body.\n", 80)
	wheelDown := tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress}
	wheelUp := tea.MouseMsg{Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress}
	c := newCommon(t, models.RoleOwner)
	held := NewApproval(c, heldSend("apr_1", "Refund"))
	held.SetSize(80, 20)
	held.Init()
	held.Update(common.ResultMsg[*models.ApprovalDetail]{ID: 1, Value: &models.ApprovalDetail{Approval: heldSend("apr_1", "Refund"),
		Message: models.HeldMessage{Subject: "Refund", Text: long}}})
	msg := NewMessageView(c, models.Inbox{ID: "inb_1", Address: "a@b.test"}, models.MessageSummary{ID: "msg_1", Subject: "Hi"})
	msg.SetSize(80, 20)
	msg.Init()
	msg.Update(common.ResultMsg[*models.Message]{ID: 2, Value: &models.Message{MessageSummary: models.MessageSummary{ID: "msg_1"}, Text: long}})
	quar := NewQuarantined(c, models.QuarantinedMessage{ID: "msg_2", Subject: "Schedule"}, "a@b.test")
	quar.SetSize(80, 20)
	quar.Init()
	quar.Update(common.ResultMsg[*models.Message]{ID: 4, Value: &models.Message{MessageSummary: models.MessageSummary{ID: "msg_2"}, Text: long}})
	capd := NewCapturedDetail(c, models.CapturedMessage{ID: "cap_1"})
	capd.SetSize(80, 20)
	capd.Init()
	capd.Update(common.ResultMsg[*models.CapturedMessage]{ID: 5, Value: &models.CapturedMessage{ID: "cap_1", Raw: long}})
	detail := map[string]any{}
	for i := range 40 {
		detail[fmt.Sprintf("key_%02d", i)] = i
	}
	audit := NewAuditDetail(c, models.AuditEntry{ID: "aud_1", Action: "users.create", Detail: detail}, nil)
	audit.SetSize(80, 10)
	for name, v := range map[string]struct {
		m      tea.Model
		offset func() int
	}{
		"held send":   {held, func() int { return held.offset }},
		"message":     {msg, func() int { return msg.offset }},
		"quarantined": {quar, func() int { return quar.offset }},
		"captured":    {capd, func() int { return capd.offset }},
		"audit entry": {audit, func() int { return audit.offset }},
	} {
		v.m.Update(wheelDown)
		if v.offset() != wheelLines {
			t.Errorf("%s: the wheel scrolled to %d:\n%s", name, v.offset(), v.m.View())
		}
		v.m.Update(wheelUp)
		v.m.Update(wheelUp)
		if v.offset() != 0 {
			t.Errorf("%s: the wheel back up stopped at %d", name, v.offset())
		}
	}
}
