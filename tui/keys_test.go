package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
	"gent/tui/screens"
)

// Key handling of the root model, with plain Update calls. No command is
// run, so no daemon is needed.

func newModel(t *testing.T) *Model {
	t.Helper()
	m, err := New(Options{Server: "http://127.0.0.1:9", ConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: termW, Height: termH})
	return m
}

func signedInModel(t *testing.T, role string) *Model {
	t.Helper()
	m := newModel(t)
	m.c.Me = &models.Me{User: models.User{ID: "usr_1", Email: "owner@acme.test", Role: role}, Org: models.Org{ID: "org_1", Name: "Acme"}}
	m.replace(screens.NewDashboard(m.c))
	return m
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// send delivers a key, then the navigation message of the command it
// returns, so screens open and close without a running program.
func send(m *Model, k string) tea.Cmd {
	_, cmd := m.Update(keyMsg(k))
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case common.PushMsg, common.PopMsg, common.ReplaceMsg:
		m.Update(msg)
	}
	return cmd
}

func quits(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestQuitKeys(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	if !quits(send(m, "q")) {
		t.Fatal("q does not quit on the dashboard")
	}
	m = signedInModel(t, models.RoleOwner)
	if !quits(send(m, "ctrl+c")) {
		t.Fatal("ctrl+c does not quit")
	}
}

func TestQIsTypedInTextFields(t *testing.T) {
	m := newModel(t)
	m.replace(screens.NewLogin(m.c, ""))
	if quits(send(m, "q")) {
		t.Fatal("q quit while typing an email")
	}
	send(m, "?")
	if !strings.Contains(m.View(), "› Email           q?") {
		t.Fatalf("q and ? were not typed into the field:\n%s", m.View())
	}
	if m.help.ShowAll {
		t.Fatal("? opened the full help while typing")
	}
	if !quits(send(m, "ctrl+c")) {
		t.Fatal("ctrl+c does not quit while typing")
	}
}

func TestHelpToggle(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	short := m.View()
	send(m, "?")
	full := m.View()
	if !m.help.ShowAll || !strings.Contains(full, "? fewer keys") || full == short {
		t.Fatalf("? did not open the full help:\n%s", full)
	}
	if n := strings.Count(full, "\n") + 1; n != termH {
		t.Fatalf("full help made the screen %d lines", n)
	}
	send(m, "?")
	if m.help.ShowAll {
		t.Fatal("? did not close the full help")
	}
}

func TestEscBack(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	send(m, "esc")
	if len(m.stack) != 1 {
		t.Fatalf("esc closed the dashboard: %d screens", len(m.stack))
	}
	send(m, "u")
	if got := m.top().Title(); got != "Users" {
		t.Fatalf("u opened %q", got)
	}
	send(m, "a")
	if got := m.top().Title(); got != "Add user" {
		t.Fatalf("a opened %q", got)
	}
	send(m, "q") // typed into the email field
	if got := m.top().Title(); got != "Add user" {
		t.Fatalf("q left the form: %q", got)
	}
	send(m, "esc") // cancels the form
	if got := m.top().Title(); got != "Users" {
		t.Fatalf("esc on the form went to %q", got)
	}
	send(m, "esc")
	if got := m.top().Title(); got != "Dashboard" {
		t.Fatalf("esc on users went to %q", got)
	}
	if !strings.Contains(m.View(), "Gent Dashboard ") {
		t.Fatalf("breadcrumb not back to the dashboard:\n%s", m.View())
	}
}

func TestReviewerHasNoUsersKey(t *testing.T) {
	m := signedInModel(t, models.RoleReviewer)
	send(m, "u")
	if got := m.top().Title(); got != "Dashboard" {
		t.Fatalf("u opened %q for a reviewer", got)
	}
	if strings.Contains(m.View(), "u users") {
		t.Fatalf("reviewer's help lists u users:\n%s", m.View())
	}
	send(m, "l")
	if got := m.top().Title(); got != "Audit log" {
		t.Fatalf("l opened %q", got)
	}
}

func TestAuditFilterTakesKeys(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	send(m, "l")
	send(m, "/")
	send(m, "q")
	send(m, "esc") // closes the filter, not the screen
	if got := m.top().Title(); got != "Audit log" {
		t.Fatalf("esc in the filter went to %q", got)
	}
	send(m, "esc")
	if got := m.top().Title(); got != "Dashboard" {
		t.Fatalf("esc went to %q", got)
	}
}

func TestViewFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		m := signedInModel(t, models.RoleOwner)
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, k := range []string{"", "?", "l", "/"} {
			if k != "" {
				send(m, k)
			}
			v := m.View()
			lines := strings.Split(v, "\n")
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

func TestStartingAndFailedKeys(t *testing.T) {
	m := newModel(t)
	if m.state != stateStarting {
		t.Fatalf("state %v", m.state)
	}
	if quits(send(m, "r")) {
		t.Fatal("r quit")
	}
	m.state, m.failure = stateFailed, "Cannot reach the daemon: connection refused."
	if !strings.Contains(m.View(), "r retry • q quit") {
		t.Fatalf("failed state help:\n%s", m.View())
	}
	if cmd := send(m, "r"); cmd == nil || m.state != stateStarting {
		t.Fatalf("r did not retry: state %v", m.state)
	}
	if !quits(send(m, "q")) {
		t.Fatal("q does not quit while starting")
	}
}

func TestLocalSetupCode(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/setup-code", "ABC123-DEF456\n"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		server string
		want   string
	}{
		{"http://127.0.0.1:8080", "ABC123-DEF456"},
		{"http://localhost:8080", "ABC123-DEF456"},
		{"http://[::1]:8080", "ABC123-DEF456"},
		{"https://gent.example.com", ""},
		{"http://10.0.0.5:8080", ""},
	}
	for _, c := range cases {
		if got, _ := localSetupCode(c.server, dir); got != c.want {
			t.Errorf("%s: code %q, want %q", c.server, got, c.want)
		}
	}
	if got, _ := localSetupCode("http://127.0.0.1:8080", t.TempDir()); got != "" {
		t.Errorf("code from an empty data dir: %q", got)
	}
}

func TestDomainsInboxesTokensKeys(t *testing.T) {
	for _, c := range []struct {
		path   []string
		titles []string
	}{
		{[]string{"d", "a", "q", "esc", "esc"}, []string{"Domains", "Add domain", "Add domain", "Domains", "Dashboard"}},
		{[]string{"i", "a", "q", "esc", "esc"}, []string{"Inboxes", "New inbox", "New inbox", "Inboxes", "Dashboard"}},
		{[]string{"t", "a", "esc", "esc"}, []string{"Tokens", "New token", "Tokens", "Dashboard"}},
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
	// Reviewers see none of them.
	m := signedInModel(t, models.RoleReviewer)
	for _, k := range []string{"d", "i", "t"} {
		send(m, k)
		if got := m.top().Title(); got != "Dashboard" {
			t.Fatalf("%q opened %q for a reviewer", k, got)
		}
	}
}

func TestNewScreensFitTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		for _, path := range [][]string{{"d", "?", "a"}, {"i", "?", "a"}, {"t", "?", "a"}} {
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

// A screen that takes every key still lets ? show the keys where it says
// it takes no text (the token wizard's inbox and scopes steps).
type choosingScreen struct {
	*screens.Users
	takes bool
}

func (*choosingScreen) Typing() bool      { return true }
func (s *choosingScreen) TakesHelp() bool { return s.takes }
func (s *choosingScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := s.Users.Update(msg)
	return s, cmd
}

func TestHelpKeyWhileChoosing(t *testing.T) {
	m := signedInModel(t, models.RoleOwner)
	s := &choosingScreen{Users: screens.NewUsers(m.c)}
	m.push(s)
	send(m, "?")
	if m.help.ShowAll {
		t.Fatal("? shown the keys while the screen takes text")
	}
	s.takes = true
	if v := m.View(); !strings.Contains(v[strings.LastIndex(v, "\n")+1:], "? more keys") {
		t.Fatalf("help line lacks ?:\n%s", v)
	}
	send(m, "?")
	if !m.help.ShowAll {
		t.Fatal("? did not show every key")
	}
	send(m, "?")
	if m.help.ShowAll {
		t.Fatal("? did not go back to fewer keys")
	}
}

// ctrl+r on the sign-in screen opens the reset form over it, which takes
// every key (q is typed), fits the terminal, and esc closes it.
func TestSignInResetCodeKeys(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}} {
		m := newModel(t)
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m.replace(screens.NewLogin(m.c, "rex@acme.test"))
		if !strings.Contains(m.View(), "ctrl+r") {
			t.Fatalf("%v: the sign-in screen does not offer ctrl+r:\n%s", size, m.View())
		}
		_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlR})
		if cmd == nil {
			t.Fatal("ctrl+r did nothing")
		}
		push, ok := cmd().(common.PushMsg)
		if !ok {
			t.Fatalf("ctrl+r: %#v", cmd())
		}
		m.Update(push)
		if got := m.top().Title(); got != "Reset password" {
			t.Fatalf("ctrl+r opened %q", got)
		}
		if quits(send(m, "q")) {
			t.Fatal("q quit the reset form")
		}
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size[1] {
			t.Fatalf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if w := displayWidth(l); w > size[0] {
				t.Fatalf("%v: line %q is %d wide", size, l, w)
			}
		}
		send(m, "esc")
		if got := m.top().Title(); got != "Sign in" {
			t.Fatalf("esc left %q open", got)
		}
	}
}

// A click selects the row under the pointer: the screen's lines start
// under the header and, while sending is paused, under the red banner.
func TestClickSelectsTheRowUnderThePointer(t *testing.T) {
	list := []models.User{{ID: "usr_a", Email: "ann@acme.test", Role: models.RoleAdmin},
		{ID: "usr_b", Email: "bob@acme.test", Role: models.RoleReviewer}, {ID: "usr_c", Email: "rex@acme.test", Role: models.RoleReviewer}}
	for _, paused := range []bool{false, true} {
		m := signedInModel(t, models.RoleOwner)
		if paused {
			m.pause.state = &pauseState{OrgID: "org_1", Org: true}
		}
		send(m, "u")
		if m.top().Title() != "Users" {
			t.Fatalf("u opened %q", m.top().Title())
		}
		for id := 1; id < 20; id++ { // whichever call was the list's
			m.top().Update(common.ResultMsg[[]models.User]{ID: id, Value: list})
		}
		for _, who := range []string{"rex@acme.test", "bob@acme.test"} {
			for y, l := range strings.Split(m.View(), "\n") {
				if strings.Contains(l, who) && !strings.Contains(l, "·") {
					m.Update(tea.MouseMsg{X: 4, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
					break
				}
			}
			if v := m.View(); !strings.Contains(v, "› "+who) {
				t.Fatalf("paused %v: a click on %s's line did not select it:\n%s", paused, who, v)
			}
		}
	}
}
