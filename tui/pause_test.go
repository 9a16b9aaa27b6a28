package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
	"gent/tui/screens"
)

// The banner while sending is paused: on every screen, in the height of
// the terminal, gone once resumed; a pause of another organization (a
// sign-in as someone else) is not shown.
func TestPauseBannerOnEveryScreen(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		m := signedInModel(t, models.RoleOwner)
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m.pause.state = &pauseState{OrgID: "org_1", Org: true}
		for _, k := range []string{"", "a", "esc", "Q", "esc", "P", "esc", "i"} {
			if k != "" {
				send(m, k)
			}
			lines := strings.Split(m.View(), "\n")
			if len(lines) != size[1] {
				t.Fatalf("%v after %q: %d lines", size, k, len(lines))
			}
			if !strings.HasPrefix(lines[2], "✗ SENDING PAUSED for the whole organization") {
				t.Fatalf("%v after %q: no banner under the header:\n%s", size, k, strings.Join(lines, "\n"))
			}
			for _, l := range lines {
				if w := displayWidth(l); w > size[0] {
					t.Fatalf("%v after %q: line %q is %d wide", size, k, l, w)
				}
			}
		}
	}

	m := signedInModel(t, models.RoleOwner)
	m.pause.state = &pauseState{OrgID: "org_1", Inboxes: []string{"support@mail.example.com"}}
	if v := m.View(); !strings.Contains(v, "SENDING PAUSED for support@mail.example.com") {
		t.Fatalf("inbox pause not shown:\n%s", v)
	}
	m.pause.state = &pauseState{OrgID: "org_other", Org: true}
	if v := m.View(); strings.Contains(v, "SENDING PAUSED") {
		t.Fatalf("another organization's pause shown:\n%s", v)
	}
	m.pause.state = &pauseState{OrgID: "org_1"}
	if v := m.View(); strings.Contains(v, "SENDING PAUSED") {
		t.Fatalf("banner while nothing is paused:\n%s", v)
	}
}

// The pause is read again when the stream connects, on a pause or resume
// event (debounced), and when a screen saved a policy; not on other
// events.
func TestPauseReloads(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	p := &m.pause
	if cmd := p.update(m.c, common.StreamMsg{Live: true}); cmd == nil || !p.req.Pending("pause") {
		t.Fatal("no reload when the stream connects")
	}
	if cmd := p.update(m.c, screens.ChangedMsg{Kind: screens.KindPolicy}); cmd == nil {
		t.Fatal("no reload after a policy was saved")
	}
	if cmd := p.update(m.c, common.EventMsg{Event: models.Event{Type: models.EventMessageReceived}}); cmd != nil {
		t.Fatal("reload on an unrelated event")
	}
	if cmd := p.update(m.c, common.EventMsg{Event: models.Event{Type: models.EventPolicySendingPaused}}); cmd == nil || !p.live.Pending() {
		t.Fatal("no reload timer on policy.sending_paused")
	}
}

func TestBrowserPolicyQuarantineFitTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		for _, path := range [][]string{{"Q", "?"}, {"P", "tab"}} {
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
