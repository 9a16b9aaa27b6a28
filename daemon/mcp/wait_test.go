package mcp_test

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/mcp"
)

// sendSMTP delivers one message over SMTP to rcpt.
func sendSMTP(t *testing.T, addr, rcpt, msg string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("ada@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	_ = c.Quit()
}

// waitCall starts wait_for_message and returns once the call follows the
// event log (so mail sent after it is "next"), with the channel of its
// answer.
func waitCall(t *testing.T, h *harness, cs *sdk.ClientSession, timeout int) <-chan *sdk.CallToolResult {
	t.Helper()
	before := h.env.Events.Streams()
	done := make(chan *sdk.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "wait_for_message", Arguments: map[string]any{"timeout_seconds": timeout}})
		if err != nil {
			t.Errorf("wait_for_message: %v", err)
		}
		done <- res
	}()
	deadline := time.Now().Add(20 * time.Second)
	for h.env.Events.Streams() == before {
		if time.Now().After(deadline) {
			t.Fatal("wait_for_message never started following the event log")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return done
}

func answer(t *testing.T, done <-chan *sdk.CallToolResult) mcp.WaitResult {
	t.Helper()
	select {
	case res := <-done:
		if res == nil || res.IsError {
			t.Fatalf("wait_for_message failed: %v", res)
		}
		var w mcp.WaitResult
		structured(t, res, &w)
		return w
	case <-time.After(90 * time.Second):
		t.Fatal("wait_for_message did not answer")
	}
	return mcp.WaitResult{}
}

// wait_for_message returns the mail that arrives over SMTP during the
// wait, ignores older mail and other inboxes' mail, and times out cleanly.
func TestWaitForMessage(t *testing.T) {
	h := newHarness(t)
	smtpAddr := h.env.ListenSMTP()
	cs := h.connect(h.token(observer).Secret)
	sendSMTP(t, smtpAddr, "agent@mail.example.com", "From: ada@example.org\r\nTo: agent@mail.example.com\r\nSubject: before the wait\r\n\r\nold\r\n")

	done := waitCall(t, h, cs, 60)
	sendSMTP(t, smtpAddr, "other@mail.example.com", "From: ada@example.org\r\nTo: other@mail.example.com\r\nSubject: not for this inbox\r\n\r\nx\r\n")
	sendSMTP(t, smtpAddr, "agent@mail.example.com", "From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: arrived during the wait\r\n\r\nnew\r\n")
	w := answer(t, done)
	if w.TimedOut || w.Message == nil || w.Message.Subject != "arrived during the wait" || w.Message.InboxID != h.inbox.ID {
		t.Fatalf("wait_for_message: %+v", w)
	}

	// Only another inbox's mail during a wait: it times out.
	done = waitCall(t, h, cs, 1)
	sendSMTP(t, smtpAddr, "other@mail.example.com", "From: ada@example.org\r\nTo: other@mail.example.com\r\nSubject: still not yours\r\n\r\nx\r\n")
	if w := answer(t, done); !w.TimedOut || w.Message != nil {
		t.Fatalf("want timed_out, got %+v", w)
	}
}
