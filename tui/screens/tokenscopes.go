package screens

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/common"
	"gent/tui/keys"
	"gent/tui/styles"
)

// preset is one of the product page's three kinds of agent token.
type preset struct {
	Name   string
	Key    func(keys.KeyMap) key.Binding
	Scopes []string
	Held   []string // scopes whose use waits for a reviewer's approval
}

var presets = []preset{
	{"default agent", func(k keys.KeyMap) key.Binding { return k.PresetAgent },
		[]string{models.ScopeEmailRead, models.ScopeEmailSend, models.ScopeEmailWrite, models.ScopeFilesRead}, nil},
	{"supervised send", func(k keys.KeyMap) key.Binding { return k.PresetSuperv },
		[]string{models.ScopeEmailRead, models.ScopeEmailSend}, []string{models.ScopeEmailSend}},
	{"read-only observer", func(k keys.KeyMap) key.Binding { return k.PresetReader },
		[]string{models.ScopeEmailRead, models.ScopeContactsRead, models.ScopeFilesRead}, nil},
}

// scopeList is the scope checklist: each line says what the scope allows;
// a checked scope that can be held gets an approval toggle under it.
type scopeList struct {
	c       *common.Common
	scopes  []models.ScopeInfo
	checked map[string]bool
	held    map[string]bool
	cursor  int
	err     string
}

func newScopeList(c *common.Common, scopes []models.ScopeInfo) *scopeList {
	return &scopeList{c: c, scopes: scopes, checked: map[string]bool{}, held: map[string]bool{}}
}

// Selected returns the checked scopes and the held ones, in list order.
func (l *scopeList) Selected() (scopes, held []string) {
	scopes, held = []string{}, []string{}
	for _, s := range l.scopes {
		if l.checked[s.Scope] {
			scopes = append(scopes, s.Scope)
			if l.held[s.Scope] {
				held = append(held, s.Scope)
			}
		}
	}
	return scopes, held
}

// apply checks exactly the preset's scopes and holds.
func (l *scopeList) apply(p preset) {
	l.checked, l.held, l.err = map[string]bool{}, map[string]bool{}, ""
	for _, s := range p.Scopes {
		l.checked[s] = true
	}
	for _, s := range p.Held {
		if l.holdable(s) {
			l.held[s] = true
		}
	}
}

func (l *scopeList) holdable(scope string) bool {
	i := slices.IndexFunc(l.scopes, func(s models.ScopeInfo) bool { return s.Scope == scope })
	return i >= 0 && l.scopes[i].Holdable
}

// canHold reports whether the approval toggle is offered for scope: it
// can be held and is checked.
func (l *scopeList) canHold(scope string) bool { return l.holdable(scope) && l.checked[scope] }

// Preset names the preset the selection matches ("" for none).
func (l *scopeList) Preset() string {
	scopes, held := l.Selected()
	for _, p := range presets {
		if sameSet(scopes, p.Scopes) && sameSet(held, p.Held) {
			return p.Name
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	return true
}

// Update handles the checklist's keys; done is true on enter with at
// least one scope checked.
func (l *scopeList) Update(msg tea.KeyMsg) (done bool) {
	k := l.c.Keys
	for _, p := range presets {
		if key.Matches(msg, p.Key(k)) {
			l.apply(p)
			return false
		}
	}
	if len(l.scopes) == 0 {
		return false
	}
	cur := l.scopes[l.cursor].Scope
	switch {
	case key.Matches(msg, k.Up):
		l.cursor = max(0, l.cursor-1)
	case key.Matches(msg, k.Down):
		l.cursor = min(len(l.scopes)-1, l.cursor+1)
	case key.Matches(msg, k.Toggle):
		l.checked[cur] = !l.checked[cur]
		if !l.checked[cur] {
			delete(l.held, cur)
		}
		l.err = ""
	case key.Matches(msg, k.Hold):
		if l.canHold(cur) {
			l.held[cur] = !l.held[cur]
		}
	case key.Matches(msg, k.Continue):
		if s, _ := l.Selected(); len(s) == 0 {
			l.err = "Check at least one scope."
			return false
		}
		return true
	}
	return false
}

// Bindings are the checklist's keys (the presets are listed above the
// checklist); h only while the selected scope can be held.
func (l *scopeList) Bindings() []key.Binding {
	k := l.c.Keys
	b := []key.Binding{k.Toggle, k.Presets}
	// h is offered where it works: a checked scope that can be held (the
	// full help lists it always).
	if len(l.scopes) > 0 && l.canHold(l.scopes[l.cursor].Scope) {
		b = append(b, k.Hold)
	}
	return append(b, k.Continue)
}

func (l *scopeList) View() string {
	st := l.c.Styles
	var b strings.Builder
	var keysLine []string
	for _, p := range presets {
		keysLine = append(keysLine, st.Label.Render(p.Key(l.c.Keys).Help().Key)+" "+st.Muted.Render(p.Name))
	}
	b.WriteString(st.Muted.Render("Presets: ") + strings.Join(keysLine, st.Muted.Render(" · ")) + "\n\n")
	for i, s := range l.scopes {
		box := styles.Unchecked
		if l.checked[s.Scope] {
			box = styles.Checked
		}
		line := fmt.Sprintf("%s %-15s ", box, s.Scope)
		if i == l.cursor {
			b.WriteString(st.Selected.Render(styles.Cursor+" "+line) + st.Muted.Render(s.Allows) + "\n")
		} else {
			b.WriteString("  " + line + st.Muted.Render(s.Allows) + "\n")
		}
		if l.canHold(s.Scope) {
			hold := styles.Unchecked
			if l.held[s.Scope] {
				hold = styles.Checked
			}
			b.WriteString("      " + hold + " hold each use for a reviewer's approval " + st.Hint.Render("(h)") + "\n")
		}
	}
	name := l.Preset()
	if name == "" {
		name = "custom"
	}
	b.WriteString("\n" + st.Muted.Render("Preset: ") + st.Label.Render(name))
	if l.err != "" {
		b.WriteString("\n" + st.Error.Render(styles.Fail+" "+l.err))
	}
	return b.String()
}

// scopeSummary lists scopes, marking the held ones.
func scopeSummary(scopes, held []string) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = s
		if slices.Contains(held, s) {
			parts[i] += " (held for approval)"
		}
	}
	return strings.Join(parts, ", ")
}
