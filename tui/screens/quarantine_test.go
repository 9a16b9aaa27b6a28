package screens

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/common"
)

func quarantinedMsg() models.QuarantinedMessage {
	return models.QuarantinedMessage{ID: "msg_q", InboxID: "inb_1", From: models.Address{Address: "mallory@evil.test"},
		Subject: "Schedule", Size: 383, Screening: &models.Screening{Verdict: models.VerdictQuarantined, Score: 100,
			Findings: []models.Finding{{Code: models.FindingHiddenText, Detail: "hidden"}}}}
}

// cmdMsgs runs cmd and returns the messages it answers, batches opened.
func cmdMsgs(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, cmdMsgs(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func pops(cmd tea.Cmd) int {
	n := 0
	for _, m := range cmdMsgs(cmd) {
		if _, ok := m.(common.PopMsg); ok {
			n++
		}
	}
	return n
}

// Releasing from the message view closes it once: the message.received
// event the release causes, arriving before the close is handled, does
// not close the queue under it too.
func TestQuarantinedClosesOnce(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	s := NewQuarantined(c, quarantinedMsg(), "support@mail.example.com")
	s.SetSize(80, 20)
	s.Init() // request 1
	s.Update(common.ResultMsg[*models.Message]{ID: 1, Value: &models.Message{MessageSummary: models.MessageSummary{ID: "msg_q"}}})
	s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("R")})
	if !strings.Contains(s.View(), "Release “Schedule”?") {
		t.Fatalf("release without a question:\n%s", s.View())
	}
	_, cmd := s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")}) // request 2
	if cmd == nil {
		t.Fatal("yes made no call")
	}
	released := common.EventMsg{Event: models.Event{Type: models.EventMessageReceived, Payload: map[string]any{"message_id": "msg_q"}}}
	// The event may come before the reply, or after it.
	if _, cmd := s.Update(released); pops(cmd) != 0 {
		t.Fatal("the event of its own release closed the screen")
	}
	_, cmd = s.Update(common.ResultMsg[quarantineDone]{ID: 2, Value: quarantineDone{ID: "msg_q", Subject: "Schedule", Released: true}})
	if pops(cmd) != 1 {
		t.Fatal("the release did not close the screen")
	}
	if _, cmd := s.Update(released); pops(cmd) != 0 {
		t.Fatal("a late event closed a second screen")
	}

	// Released elsewhere: it closes, once.
	s = NewQuarantined(c, quarantinedMsg(), "support@mail.example.com")
	if _, cmd := s.Update(released); pops(cmd) != 1 {
		t.Fatal("released elsewhere: the screen stays")
	}
	if _, cmd := s.Update(released); pops(cmd) != 0 {
		t.Fatal("released elsewhere: closed twice")
	}
}

// Only y answers the question; n and esc keep the message.
func TestQuarantineAsksFirst(t *testing.T) {
	c := newCommon(t, models.RoleReviewer)
	s := NewQuarantine(c)
	s.SetSize(80, 20)
	s.Init() // request 1
	s.Update(common.ResultMsg[quarantined]{ID: 1, Value: quarantined{Messages: []models.QuarantinedMessage{quarantinedMsg()}}})
	for _, k := range []string{"d", "R"} {
		s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		if !s.Typing() {
			t.Fatalf("%s: no question", k)
		}
		for _, other := range []string{"q", "a", "R"} {
			if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(other)}); cmd != nil || !s.Typing() {
				t.Fatalf("%s: %q answered the question", k, other)
			}
		}
		if _, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil || s.Typing() {
			t.Fatalf("%s: esc did not close the question without a call", k)
		}
	}
	if !strings.Contains(s.View(), "hidden_text: hidden") {
		t.Fatalf("findings of the selected message not shown:\n%s", s.View())
	}
}

// The quarantine's Inbox column is cut last at 80 columns (the sender
// before it), and both grow whole at 120 rather than the subject taking
// the room (issue 22 item 5).
func TestQuarantineColumnsAt80And120(t *testing.T) {
	q := quarantined{Messages: []models.QuarantinedMessage{{ID: "msg_1", InboxID: "inb_1", Subject: "Schedule",
		From: models.Address{Name: "Mallory", Address: "mallory@evil.test"}, CreatedAt: time.Now()}},
		Inboxes: map[string]string{"inb_1": "support-escalations@mail.example.com"}}
	for _, w := range []int{80, 120} {
		s := NewQuarantine(newCommon(t, models.RoleOwner))
		s.SetSize(w, 20)
		s.Init()
		s.Update(common.ResultMsg[quarantined]{ID: 1, Value: q})
		v := s.View()
		for _, l := range strings.Split(v, "\n") {
			if n := ansi.StringWidth(l); n > w {
				t.Fatalf("%d columns: a line is %d wide:\n%s", w, n, v)
			}
		}
		if w == 80 && !strings.Contains(v, "support-escalations@mail.…") {
			t.Fatalf("80 columns: the inbox is cut before the sender:\n%s", v)
		}
		if w == 120 && (!strings.Contains(v, "support-escalations@mail.example.com") || !strings.Contains(v, "Mallory <mallory@evil.test>")) {
			t.Fatalf("120 columns: the inbox or the sender is cut:\n%s", v)
		}
	}
}
