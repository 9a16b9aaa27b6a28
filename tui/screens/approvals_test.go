package screens

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func heldSend(id, subject string) models.Approval {
	now := time.Now()
	return models.Approval{ID: id, Subject: subject, TokenLabel: "supervised-reply-agent", Status: models.ApprovalPending,
		To: []string{"ann@example.net"}, CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
}

// queue is an approvals screen showing two pending sends (its list call
// was request 1).
func queue(t *testing.T) *Approvals {
	t.Helper()
	s := NewApprovals(newCommon(t, models.RoleReviewer))
	s.SetSize(80, 20)
	s.Init()
	s.Update(common.ResultMsg[approvalList]{ID: 1, Value: approvalList{Status: models.ApprovalPending,
		Items: []models.Approval{heldSend("apr_2", "Second"), heldSend("apr_1", "First")}}})
	if !strings.Contains(s.View(), "2 waiting for a decision") {
		t.Fatalf("queue not shown:\n%s", s.View())
	}
	return s
}

func TestApprovalsApproveAsksFirst(t *testing.T) {
	s := queue(t)
	s.Update(runes("a"))
	if !s.Typing() || !strings.Contains(s.View(), "Approve “Second”?") {
		t.Fatalf("a did not ask:\n%s", s.View())
	}
	for _, k := range []string{"x", "a", "q", "r"} {
		if _, cmd := s.Update(runes(k)); cmd != nil || !s.dec.open() {
			t.Fatalf("%q answered the confirmation", k)
		}
	}
	if _, cmd := s.Update(runes("n")); cmd != nil || s.dec.open() {
		t.Fatal("n did not close the question quietly")
	}
	if busy, _ := s.Busy(); busy {
		t.Fatal("busy after n")
	}
	s.Update(runes("a"))
	if _, cmd := s.Update(runes("y")); cmd == nil {
		t.Fatal("y made no call")
	}
	if busy, label := s.Busy(); !busy || label != "Approving “Second”…" {
		t.Fatalf("busy %v %q", busy, label)
	}
}

func TestApprovalsRejectPrompt(t *testing.T) {
	s := queue(t)
	s.Update(runes("j"))
	s.Update(runes("r"))
	if !s.Typing() || !strings.Contains(s.View(), "Reject “First”?") {
		t.Fatalf("r did not ask for a reason:\n%s", s.View())
	}
	for _, k := range []string{"q", "?", "a"} {
		s.Update(runes(k))
	}
	if got := s.dec.reason.Value("reason"); got != "q?a" {
		t.Fatalf("typed %q", got)
	}
	s.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if s.dec.open() || strings.Contains(s.View(), "Reject") {
		t.Fatal("esc did not close the prompt")
	}
	// The screen is still there: esc closed only the prompt.
	if !strings.Contains(s.View(), "› ") {
		t.Fatalf("queue gone:\n%s", s.View())
	}
}

func TestApprovalsOnlyPendingCanBeDecided(t *testing.T) {
	s := queue(t)
	s.items[0].Status = models.ApprovalRejected
	for _, k := range []string{"a", "r", "e"} {
		_, cmd := s.Update(runes(k))
		if s.dec.open() || cmd == nil {
			t.Fatalf("%q on a rejected send", k)
		}
		if f, ok := cmd().(common.FlashMsg); !ok || !f.Error || !strings.Contains(f.Text, "only pending sends can be decided") {
			t.Fatalf("%q: %#v", k, cmd())
		}
	}
}

func TestApprovalsStatusFilter(t *testing.T) {
	s := queue(t)
	s.Update(runes("s")) // request 2: approved
	if s.status != models.ApprovalApproved || !strings.Contains(s.View(), "(•) approved") || !strings.Contains(s.View(), "Loading") {
		t.Fatalf("s did not switch:\n%s", s.View())
	}
	// A late answer for the pending list is not shown as approved ones.
	s.Update(common.ResultMsg[approvalList]{ID: 2, Value: approvalList{Status: models.ApprovalPending,
		Items: []models.Approval{heldSend("apr_9", "Stale")}}})
	if strings.Contains(s.View(), "Stale") {
		t.Fatalf("a list of another status shown:\n%s", s.View())
	}
	for range approvalStatuses[1:] {
		s.Update(runes("s"))
	}
	if s.status != models.ApprovalPending {
		t.Fatalf("s does not cycle back: %s", s.status)
	}
}

func TestApprovalsLiveReload(t *testing.T) {
	s := queue(t)
	// Unrelated events change nothing.
	if _, cmd := s.Update(common.EventMsg{Event: models.Event{Type: models.EventDomainVerified}}); cmd != nil {
		t.Fatal("a domain event reloads the queue")
	}
	_, tick := s.Update(common.EventMsg{Event: models.Event{Type: models.EventApprovalRequested}})
	if tick == nil {
		t.Fatal("approval.requested did not schedule a reload")
	}
	if busy, _ := s.Busy(); !busy {
		t.Fatal("not busy while a reload waits")
	}
	// More events in the burst add no timer.
	if _, cmd := s.Update(common.EventMsg{Event: models.Event{Type: models.EventMessageApproved}}); cmd != nil {
		t.Fatal("a second timer in one burst")
	}
	if _, cmd := s.Update(tick()); cmd == nil || !s.req.Pending("list") {
		t.Fatal("the tick did not reload")
	}
	// A decision made here drops the send at once.
	s.Update(ChangedMsg{Kind: kindApprovals, ID: "apr_2"})
	if strings.Contains(s.View(), "Second") || !strings.Contains(s.View(), "1 waiting") {
		t.Fatalf("decided send still listed:\n%s", s.View())
	}
}

func TestDebouncerTicksAreItsOwn(t *testing.T) {
	c := newCommon(t, models.RoleAdmin)
	var a, b common.Debouncer
	ta := a.Add(c, "x")
	tb := b.Add(c, "y")
	msgA, msgB := ta(), tb()
	if _, ok := a.Fire(msgB); ok {
		t.Fatal("a fired on b's tick")
	}
	types, ok := a.Fire(msgA)
	if !ok || !types["x"] || a.Pending() {
		t.Fatalf("fire %v %v", types, ok)
	}
	if _, ok := a.Fire(msgA); ok {
		t.Fatal("a tick fired twice")
	}
	if !b.Pending() {
		t.Fatal("b lost its timer")
	}
}

func TestApprovalEditSendsOnlyChanges(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	d := &models.ApprovalDetail{Approval: heldSend("apr_1", "Refund"), Message: models.HeldMessage{
		To:      []models.Address{{Name: "Doe, Ann", Address: "ann@example.net"}, {Address: "bob@example.net"}},
		Subject: "Refund", Text: "Hi", HTML: "<p>Hi</p>"}}
	s := NewApprovalEdit(c, d.Approval, d)
	s.Init()
	if got := s.form.Value("edits.to"); got != `"Doe, Ann" <ann@example.net>, bob@example.net` {
		t.Fatalf("to %q", got)
	}
	if s.edits() != nil {
		t.Fatal("edits without a change")
	}
	s.form.Field("edits.subject").WithValue("Your refund")
	e := s.edits()
	if e == nil || e.Subject == nil || *e.Subject != "Your refund" || e.To != nil || e.Text != nil || e.HTML != nil {
		t.Fatalf("edits %+v", e)
	}
	s.form.Field("edits.to").WithValue(`"Doe, Ann" <ann@example.net>`)
	s.form.Focus("html")
	s.form.Update(tea.KeyMsg{Type: tea.KeyRight})
	e = s.edits()
	if e.To == nil || len(*e.To) != 1 || (*e.To)[0] != `"Doe, Ann" <ann@example.net>` || e.HTML == nil || *e.HTML != "" {
		t.Fatalf("edits %+v", e)
	}
}

func TestSplitAddresses(t *testing.T) {
	cases := map[string][]string{
		"":                               {},
		"ann@example.net":                {"ann@example.net"},
		"Ann <ann@example.net>, b@x.org": {"Ann <ann@example.net>", "b@x.org"},
		`"Doe, Ann" <a@x.org>`:           {`"Doe, Ann" <a@x.org>`},
		"ann@, b@x.org":                  {"ann@", "b@x.org"}, // not judged here: the daemon names the bad one
	}
	for in, want := range cases {
		got := splitAddresses(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}

// The edit form shows Cc and Bcc, and a removed Cc is sent as an empty
// list; ctrl+s shows the final recipients and what changed, and approves
// only on y.
func TestApprovalEditCcBccAndFinalLook(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	d := &models.ApprovalDetail{Approval: heldSend("apr_1", "Refund"), Message: models.HeldMessage{
		To: []models.Address{{Address: "ann@example.net"}}, Cc: []models.Address{{Address: "billing@example.net"}},
		Bcc: []models.Address{{Address: "audit@acme.test"}}, Subject: "Refund", Text: "Hi"}}
	s := NewApprovalEdit(c, d.Approval, d)
	s.SetSize(80, 20)
	s.Init()
	v := s.View()
	for _, want := range []string{"Cc              billing@example.net", "Bcc             audit@acme.test"} {
		if !strings.Contains(v, want) {
			t.Fatalf("no %q in the form:\n%s", want, v)
		}
	}
	s.form.Field("edits.cc").WithValue("")
	e := s.edits()
	if e == nil || e.Cc == nil || len(*e.Cc) != 0 || e.Bcc != nil || e.To != nil {
		t.Fatalf("edits %+v", e)
	}

	if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyCtrlS}); cmd != nil || s.req.Pending("approve") {
		t.Fatal("ctrl+s approved without a final look")
	}
	v = s.View()
	for _, want := range []string{"Approve “Refund” as shown?", "To:      ann@example.net", "Cc:      (none: removed)",
		"Bcc:     audit@acme.test", "Changed: Cc."} {
		if !strings.Contains(v, want) {
			t.Fatalf("no %q in the summary:\n%s", want, v)
		}
	}
	// n goes back to the form, unchanged.
	if _, cmd := s.Update(runes("n")); cmd != nil || strings.Contains(s.View(), "as shown?") || s.req.Pending("approve") {
		t.Fatal("n did not go back to the form")
	}
	if !strings.Contains(s.View(), "HTML") && !strings.Contains(s.View(), "Subject") {
		t.Fatalf("form gone:\n%s", s.View())
	}
	s.Update(tea.KeyMsg{Type: tea.KeyCtrlS})
	if _, cmd := s.Update(runes("y")); cmd == nil || !s.req.Pending("approve") {
		t.Fatal("y did not approve")
	}
}
