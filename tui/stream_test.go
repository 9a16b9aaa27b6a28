package tui

import (
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/screens"
)

// The root model's handling of the event stream, with plain Update calls
// on a stream whose channel the test fills.

func withStream(t *testing.T, role string) (*Model, chan client.StreamUpdate) {
	t.Helper()
	m := signedInModel(t, role)
	ch := make(chan client.StreamUpdate, 4)
	m.streamGen++
	m.streamCh = ch
	return m, ch
}

func TestStreamStatusLine(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	m.stack = []common.Component{screens.NewDashboard(m.c)} // not started: no spinner
	_, cmd := m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Err: client.ErrStreamClosed, Retry: 1}})
	if cmd == nil {
		t.Fatal("no wait for the next update")
	}
	if !strings.Contains(m.View(), "! Live updates paused (the daemon closed the stream); reconnecting.") {
		t.Fatalf("status line:\n%s", m.View())
	}
	// A note of the user's own action shows instead, until the next key.
	m.Update(common.FlashMsg{Text: "Saved."})
	if !strings.Contains(m.View(), "✓ Saved.") {
		t.Fatalf("flash hidden:\n%s", m.View())
	}
	m.Update(keyMsg("j"))
	if !strings.Contains(m.View(), "Live updates paused") {
		t.Fatal("the stream's state came not back after the note")
	}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Connected: true}})
	if strings.Contains(m.View(), "Live updates") {
		t.Fatalf("still paused after reconnecting:\n%s", m.View())
	}
}

func TestStreamStaleGenerationDropped(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	old := m.streamGen - 1
	if _, cmd := m.Update(streamMsg{gen: old, u: client.StreamUpdate{Err: errors.New("x")}}); cmd != nil || m.streamDown != "" {
		t.Fatal("an update of a stopped stream was used")
	}
	// The closing of a stream's channel ends its wait without a new one.
	if _, cmd := m.Update(streamMsg{gen: m.streamGen, closed: true}); cmd != nil {
		t.Fatal("waited on a closed stream")
	}
}

func TestStreamEventsReachTheScreens(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	ev := models.Event{ID: "evt_1", Type: models.EventApprovalRequested}
	_, cmd := m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Event: &ev}})
	if cmd == nil {
		t.Fatal("nothing scheduled")
	}
	// The dashboard schedules a reload: it counts as busy.
	if busy, label := m.busy(); !busy || label != "Updating…" {
		t.Fatalf("busy %v %q", busy, label)
	}
}

func TestStreamRefusedSessionSignsOut(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	refused := &client.APIError{Status: 401, Err: &models.Error{Code: models.CodeUnauthorized, Message: "session ended"}}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Err: refused, Final: true}})
	if m.top().Title() != "Sign in" || m.c.Me != nil || m.streamCh != nil {
		t.Fatalf("after a refused stream: %q, me %v", m.top().Title(), m.c.Me)
	}
}

func TestQuitStopsTheStream(t *testing.T) {
	m, ch := withStream(t, models.RoleOwner)
	stopped := false
	m.streamStop = func() { stopped = true; close(ch) }
	if !quits(send(m, "q")) || !stopped || m.streamCh != nil {
		t.Fatalf("q: stopped %v", stopped)
	}
}

func TestApprovalsAndCapsKeys(t *testing.T) {
	for _, c := range []struct {
		path   []string
		titles []string
	}{
		{[]string{"a", "s", "esc"}, []string{"Approvals", "Approvals", "Dashboard"}},
		{[]string{"c", "u", "esc", "esc"}, []string{"Caps", "Usage, 24 h", "Caps", "Dashboard"}},
	} {
		m := signedInModel(t, models.RoleOwner)
		for i, k := range c.path {
			if quits(send(m, k)) {
				t.Fatalf("%v: %q quit", c.path, k)
			}
			if got := m.top().Title(); got != c.titles[i] {
				t.Fatalf("%v: after %q on %q, want %q", c.path, k, got, c.titles[i])
			}
		}
	}
	// Reviewers decide held sends; caps are for owners and admins.
	m := signedInModel(t, models.RoleReviewer)
	send(m, "c")
	if got := m.top().Title(); got != "Dashboard" {
		t.Fatalf("c opened %q for a reviewer", got)
	}
	send(m, "a")
	if got := m.top().Title(); got != "Approvals" {
		t.Fatalf("a opened %q for a reviewer", got)
	}
}

func TestApprovalsAndCapsFitTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		for _, path := range [][]string{{"a", "?", "s"}, {"c", "?", "u"}} {
			m := signedInModel(t, models.RoleOwner)
			m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			for _, k := range path {
				send(m, k)
				lines := strings.Split(m.View(), "\n")
				if len(lines) != size[1] {
					t.Fatalf("%v after %q: %d lines", size, k, len(lines))
				}
				for _, l := range lines {
					if w := displayWidth(l); w > size[0] {
						t.Fatalf("%v after %q: line %q is %d wide", size, k, l, w)
					}
				}
			}
		}
	}
}

// Back after an outage, every open screen reloads: the dashboard counts
// again what failed while the daemon was away.
func TestStreamReconnectReloads(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	m.stack = []common.Component{screens.NewDashboard(m.c)} // not started: no spinner
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Err: client.ErrStreamClosed, Retry: 1}})
	if busy, _ := m.busy(); busy {
		t.Fatal("the dashboard reloads while the daemon is away")
	}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Connected: true}})
	if busy, label := m.busy(); !busy || !strings.HasPrefix(label, "Counting") && !strings.HasPrefix(label, "Loading") && !strings.HasPrefix(label, "Checking") {
		t.Fatalf("no reload after reconnecting: busy %v %q", busy, label)
	}
}

// The stream's first connection reloads nothing: the screens have just
// loaded.
func TestStreamFirstConnectDoesNotReload(t *testing.T) {
	m, _ := withStream(t, models.RoleOwner)
	m.stack = []common.Component{screens.NewDashboard(m.c)}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Connected: true}})
	if busy, label := m.busy(); busy {
		t.Fatalf("reload on the first connection: %q", label)
	}
}

// esc back to a screen reloads it: it shows fresh data, not what it
// loaded before the screen above it opened.
func TestBackReloadsTheScreenUnder(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	send(m, "u")
	if m.top().Title() != "Users" {
		t.Fatalf("u opened %q", m.top().Title())
	}
	// Let the users list's call be answered, as if it had.
	m.stack[0] = screens.NewDashboard(m.c) // an idle dashboard under it
	send(m, "esc")
	if busy, label := m.busy(); m.top().Title() != "Dashboard" || !busy {
		t.Fatalf("back on %q without a reload (busy %v %q)", m.top().Title(), busy, label)
	}
}

// A send held while the reviewer is elsewhere rings the bell and says so
// in the status line; on the approvals screen it only shows up there.
func TestHeldSendRingsElsewhere(t *testing.T) {
	m, _ := withStream(t, models.RoleReviewer)
	term := &strings.Builder{}
	m.c.Output = term
	ev := models.Event{ID: "evt_1", Type: models.EventApprovalRequested,
		Payload: map[string]any{"subject": "Your refund", "token_label": "reply-agent"}}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Event: &ev}})
	if !strings.Contains(term.String(), "\a") {
		t.Fatal("no bell")
	}
	if v := m.View(); !strings.Contains(v, "! New held send “Your refund” from reply-agent") {
		t.Fatalf("no notice:\n%s", v)
	}
	// Unrelated events say nothing.
	term.Reset()
	m.Update(keyMsg("j"))
	other := models.Event{ID: "evt_2", Type: models.EventDomainVerified}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Event: &other}})
	if term.Len() != 0 || strings.Contains(m.View(), "New held send") {
		t.Fatal("an unrelated event rang")
	}
	// On the approvals screen the send appears in the queue: no bell.
	send(m, "a")
	if m.top().Title() != "Approvals" {
		t.Fatalf("a opened %q", m.top().Title())
	}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Event: &ev}})
	if term.Len() != 0 {
		t.Fatal("rang on the approvals screen")
	}
	q := models.Event{ID: "evt_3", Type: models.EventMessageQuarantined, Payload: map[string]any{"subject": "Invoice", "from": "x@evil.test"}}
	m.Update(streamMsg{gen: m.streamGen, u: client.StreamUpdate{Event: &q}})
	if !strings.Contains(term.String(), "\a") || !strings.Contains(m.View(), "Message quarantined “Invoice” from x@evil.test") {
		t.Fatalf("quarantine: no bell or notice:\n%s", m.View())
	}
}
