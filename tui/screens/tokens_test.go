package screens

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

var (
	space = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	enter = tea.KeyMsg{Type: tea.KeyEnter}
	down  = tea.KeyMsg{Type: tea.KeyDown}
)

func TestPresetsSelectTheirScopes(t *testing.T) {
	l := newScopeList(newCommon(t, models.RoleOwner), models.Scopes)
	cases := []struct {
		key          string
		name         string
		scopes, held []string
	}{
		{"1", "default agent", []string{"email:read", "email:send", "email:write", "files:read"}, []string{}},
		{"2", "supervised send", []string{"email:read", "email:send"}, []string{"email:send"}},
		{"3", "read-only observer", []string{"email:read", "files:read", "contacts:read"}, []string{}},
	}
	for _, c := range cases {
		l.Update(runes(c.key))
		scopes, held := l.Selected()
		if !slices.Equal(scopes, c.scopes) || !slices.Equal(held, c.held) || l.Preset() != c.name {
			t.Errorf("preset %s: scopes %v held %v preset %q", c.key, scopes, held, l.Preset())
		}
		if !strings.Contains(l.View(), "Preset: "+c.name) {
			t.Errorf("preset %s not named in the view:\n%s", c.key, l.View())
		}
	}
	// A preset replaces the selection: after 2, 3 holds nothing.
	l.Update(runes("2"))
	l.Update(runes("3"))
	if _, held := l.Selected(); len(held) != 0 {
		t.Fatalf("3 kept the hold of 2: %v", held)
	}
	// Changing a preset's selection makes it custom.
	l.Update(space) // email:read off
	if l.Preset() != "" || !strings.Contains(l.View(), "Preset: custom") {
		t.Fatalf("preset after a change: %q", l.Preset())
	}
}

func TestEveryScopeLineSaysWhatItAllows(t *testing.T) {
	l := newScopeList(newCommon(t, models.RoleOwner), models.Scopes)
	v := l.View()
	for _, s := range models.Scopes {
		if !strings.Contains(v, s.Scope) || !strings.Contains(v, s.Allows) {
			t.Errorf("no line for %s (%s):\n%s", s.Scope, s.Allows, v)
		}
	}
}

func TestApprovalToggleOnlyForCheckedHoldableScopes(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	l := newScopeList(c, models.Scopes)
	hasHold := func() bool {
		return slices.ContainsFunc(l.Bindings(), func(b key.Binding) bool { return b.Help().Key == "h" })
	}
	holdLine := func() bool { return strings.Contains(l.View(), "hold each use") }

	// email:read (first line) cannot be held, checked or not.
	l.Update(space)
	l.Update(runes("h"))
	if _, held := l.Selected(); len(held) != 0 || hasHold() || holdLine() {
		t.Fatalf("email:read was offered a hold: held %v", held)
	}
	// email:send can be held, but only once checked.
	l.Update(down)
	l.Update(runes("h"))
	if _, held := l.Selected(); len(held) != 0 || hasHold() || holdLine() {
		t.Fatalf("unchecked email:send was offered a hold: held %v", held)
	}
	l.Update(space)
	if !hasHold() || !holdLine() {
		t.Fatalf("checked email:send has no hold toggle:\n%s", l.View())
	}
	l.Update(runes("h"))
	if _, held := l.Selected(); !slices.Equal(held, []string{"email:send"}) {
		t.Fatalf("h did not hold email:send: %v", held)
	}
	l.Update(runes("h"))
	if _, held := l.Selected(); len(held) != 0 {
		t.Fatalf("h did not release the hold: %v", held)
	}
	// Unchecking a held scope drops its hold.
	l.Update(runes("h"))
	l.Update(space)
	if _, held := l.Selected(); len(held) != 0 || holdLine() {
		t.Fatalf("unchecked email:send still held: %v", held)
	}
	l.Update(space)
	if _, held := l.Selected(); len(held) != 0 {
		t.Fatalf("checking again restored the hold: %v", held)
	}

	// Whether a scope can be held comes from the daemon's list.
	noHold := slices.Clone(models.Scopes)
	for i := range noHold {
		noHold[i].Holdable = false
	}
	l = newScopeList(c, noHold)
	l.Update(runes("2"))
	if _, held := l.Selected(); len(held) != 0 || holdLine() {
		t.Fatalf("a scope the daemon says cannot be held was held: %v", held)
	}
}

func TestScopesNeedOne(t *testing.T) {
	l := newScopeList(newCommon(t, models.RoleOwner), models.Scopes)
	if l.Update(enter) {
		t.Fatal("continued with no scope")
	}
	if !strings.Contains(l.View(), "Check at least one scope.") {
		t.Fatalf("no reason given:\n%s", l.View())
	}
	l.Update(space)
	if !l.Update(enter) {
		t.Fatal("did not continue with a scope checked")
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 30, 0, 0, time.Local)
	cases := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"", time.Time{}, ""},
		{"  ", time.Time{}, ""},
		{"30d", now.AddDate(0, 0, 30), ""},
		{"12h", now.Add(12 * time.Hour), ""},
		{"90m", now.Add(90 * time.Minute), ""},
		{"2026-12-31", time.Date(2027, 1, 1, 0, 0, 0, 0, time.Local), ""},
		{"2026-04-01T10:00:00Z", time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC), ""},
		{"0d", time.Time{}, "whole number of days"},
		{"xd", time.Time{}, "whole number of days"},
		{"-1h", time.Time{}, "in the future"},
		{"2026-01-01", time.Time{}, "in the future"},
		{"tomorrow", time.Time{}, "not an expiry"},
	}
	for _, c := range cases {
		got, err := parseExpiry(c.in, now)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || common.Field(err) != "expires_at" {
				t.Errorf("%q: error %v, want %q on expires_at", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want.IsZero() && got != nil:
			t.Errorf("%q: %v, want never", c.in, got)
		case !c.want.IsZero() && (got == nil || !got.Equal(c.want)):
			t.Errorf("%q: %v, want %v", c.in, got, c.want)
		}
	}
}

// run executes a command and the commands it batches or sequences, and
// returns their messages; commands that wait (a cursor's blink) are not
// run.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(100 * time.Millisecond):
		return nil
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		var out []tea.Msg // tea.Sequence
		for i := 0; i < v.Len(); i++ {
			out = append(out, run(v.Index(i).Interface().(tea.Cmd))...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func TestTokenValueIsShownOnceAndNeverAgain(t *testing.T) {
	c := newCommon(t, models.RoleOwner)
	in := models.Inbox{ID: "inb_1", Address: "support@mail.example.com"}
	w := NewTokenAdd(c, &in)
	w.SetSize(80, 20)
	w.Init() // request 1: inboxes and scopes
	w.Update(common.ResultMsg[wizardData]{ID: 1, Value: wizardData{Inboxes: []models.Inbox{in}, Scopes: models.Scopes}})
	for _, r := range "ops-agent" {
		w.Update(runes(string(r)))
	}
	w.Update(enter)      // label
	w.Update(runes("1")) // default agent
	w.Update(enter)      // scopes
	w.Update(enter)      // no expiry: create, request 2
	if !w.req.Pending("create") {
		t.Fatal("the wizard did not create the token")
	}
	const raw = "gent_0123456789ABCDEFGHIJabcdefghij012345"
	reply := &models.TokenSecret{Token: models.Token{ID: "tok_1", InboxID: in.ID, Label: "ops-agent", Scopes: presets[0].Scopes, Status: "active"}, Secret: raw}
	_, cmd := w.Update(common.ResultMsg[*models.TokenSecret]{ID: 2, Value: reply})

	// The wizard closes and the box opens in its place; the reply, which
	// every screen receives, no longer holds the value.
	msgs := run(cmd)
	if len(msgs) < 2 {
		t.Fatalf("messages %#v", msgs)
	}
	if _, ok := msgs[0].(common.PopMsg); !ok {
		t.Fatalf("first %T, want the wizard closed", msgs[0])
	}
	push, ok := msgs[1].(common.PushMsg)
	if !ok {
		t.Fatalf("second %T, want the box opened", msgs[1])
	}
	box, ok := push.Screen.(*TokenShown)
	if !ok || !strings.Contains(box.View(), raw) || !strings.Contains(box.View(), "Store it now: it will not be shown again.") {
		t.Fatalf("box %T:\n%s", push.Screen, push.Screen.View())
	}
	if reply.Secret != "" || strings.Contains(w.View(), raw) {
		t.Fatal("the value stayed outside the box")
	}
	for _, m := range msgs[2:] {
		if ch, ok := m.(ChangedMsg); ok && strings.Contains(ch.ID+ch.Kind, raw) {
			t.Fatal("the change notice carries the value")
		}
	}

	// c copies it; enter leaves, and the box forgets it.
	if msgs := run(func() tea.Cmd { _, c := box.Update(runes("c")); return c }()); len(msgs) != 1 {
		t.Fatalf("copy: %#v", msgs)
	} else if cm, ok := msgs[0].(common.CopiedMsg); !ok || cm.Err == nil {
		t.Fatalf("copy without a terminal: %#v", msgs[0]) // newCommon has no Output
	}
	_, cmd = box.Update(enter)
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (common.PopMsg{}) {
		t.Fatalf("enter: %#v", msgs)
	}
	if strings.Contains(box.View(), raw) {
		t.Fatal("the box still shows the value after leaving")
	}

	// The token list has no key that shows a value.
	list := NewTokens(c, nil)
	list.SetSize(80, 20)
	list.Init() // request 3
	list.Update(common.ResultMsg[tokenList]{ID: 3, Value: tokenList{Tokens: []models.Token{reply.Token}, Names: map[string]string{in.ID: in.Address}}})
	for _, k := range []tea.KeyMsg{enter, space, runes("c"), runes("o"), runes("v"), runes("s")} {
		_, cmd := list.Update(k)
		for _, m := range run(cmd) {
			if p, ok := m.(common.PushMsg); ok {
				if _, ok := p.Screen.(*TokenShown); ok {
					t.Fatalf("%q opened a token box from the list", k.String())
				}
			}
		}
	}
}

func TestTokenWizardShowsRefusalsAtTheirStep(t *testing.T) {
	in := models.Inbox{ID: "inb_1", Address: "support@mail.example.com"}
	cases := []struct {
		err  *models.Error
		step tokenStep
	}{
		{models.Invalid("label", "label must be at most 100 characters"), stepLabel},
		{models.Invalid("scopes[1]", "unknown scope \"email:fly\""), stepScopes},
		{models.Invalid("requires_approval[0]", "only email:send can be held"), stepScopes},
		{models.Invalid("expires_at", "expires_at must be in the future"), stepExpiry},
		{&models.Error{Code: models.CodeNotFound, Message: "inbox not found", Field: "inbox_id"}, stepInbox},
	}
	for _, c := range cases {
		w := NewTokenAdd(newCommon(t, models.RoleOwner), &in)
		w.SetSize(80, 20)
		w.Init()
		w.Update(common.ResultMsg[wizardData]{ID: 1, Value: wizardData{Inboxes: []models.Inbox{in}, Scopes: models.Scopes}})
		w.Update(runes("x"))
		w.Update(enter)
		w.Update(runes("1"))
		w.Update(enter)
		w.Update(enter) // create: request 2
		w.Update(common.ErrorMsg{ID: 2, Err: c.err})
		// The form names the field by its label (Expires must be…).
		want := strings.TrimSuffix(common.Describe(c.err), ".")
		want = strings.Replace(want, "Expires_at", "Expires", 1)
		if w.step != c.step || !strings.Contains(w.View(), want) {
			t.Errorf("%s: step %s, want %s:\n%s", c.err.Field, stepNames[w.step], stepNames[c.step], w.View())
		}
		if c.step == stepInbox && w.fixed != nil {
			t.Errorf("the gone inbox stayed chosen")
		}
	}
}

// The scopes step takes ? for the keys (the label step types it), and its
// help line names the presets and h.
func TestTokenWizardScopesHelp(t *testing.T) {
	in := models.Inbox{ID: "inb_1", Address: "support@mail.example.com"}
	w := NewTokenAdd(newCommon(t, models.RoleOwner), &in)
	w.SetSize(80, 20)
	w.Init()
	w.Update(common.ResultMsg[wizardData]{ID: 1, Value: wizardData{Inboxes: []models.Inbox{in}, Scopes: models.Scopes}})
	if w.TakesHelp() {
		t.Fatal("? taken on the label step")
	}
	w.Update(runes("x"))
	w.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if !w.TakesHelp() {
		t.Fatal("? not taken on the scopes step")
	}
	var keys []string
	for _, b := range w.ShortHelp() {
		keys = append(keys, b.Help().Key)
	}
	if got := strings.Join(keys, " "); !strings.Contains(got, "1/2/3") {
		t.Fatalf("help keys %q", got)
	}
	var all []string
	for _, g := range w.FullHelp() {
		for _, b := range g {
			all = append(all, b.Help().Key)
		}
	}
	if got := strings.Join(all, " "); !strings.Contains(got, " h") || !strings.Contains(got, "3") {
		t.Fatalf("full help keys %q", got)
	}
}
