// Package form is a small vertical form of text, password, multi-line
// text and choice fields, with per-field errors from the API (matched by
// the error's field name) and the TUI's keys: tab/↓ next, shift+tab/↑
// previous, ←/→ change a choice, enter next field or submit on the last
// one. In a multi-line field ↑/↓ and enter edit the text, so only tab and
// shift+tab leave it, and the form's submit key (SubmitOn) submits it.
package form

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/common"
	"gent/tui/styles"
)

const labelWidth = 16

// Choice is one option of a choice field.
type Choice struct {
	Value string
	Label string
	Help  string // one line shown under the field when selected
}

// Field is one row of a form.
type Field struct {
	Name  string // the API request field, to place server errors
	Label string
	Hint  string

	input   textinput.Model
	area    *textarea.Model // a multi-line field
	choices []Choice
	sel     int
	err     string
}

func newInput() textinput.Model {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 254
	return in
}

// Text is a text field. It has no placeholder: without colour a
// placeholder would look like a value; examples go in the hint.
func Text(name, label string) *Field {
	return &Field{Name: name, Label: label, input: newInput()}
}

// Password is a text field whose value is masked.
func Password(name, label string) *Field {
	f := Text(name, label)
	f.input.EchoMode = textinput.EchoPassword
	f.input.EchoCharacter = '•'
	return f
}

// Area is a multi-line text field showing height lines.
func Area(name, label string, height int) *Field {
	ta := textarea.New()
	ta.Prompt = ""
	ta.ShowLineNumbers = false
	ta.CharLimit = 0
	ta.MaxHeight = 0
	plain := textarea.Style{}
	ta.FocusedStyle, ta.BlurredStyle = plain, plain
	ta.SetHeight(height)
	return &Field{Name: name, Label: label, input: newInput(), area: &ta}
}

// Select is a choice field with choices[sel] selected.
func Select(name, label string, choices []Choice, sel int) *Field {
	return &Field{Name: name, Label: label, choices: choices, sel: sel}
}

// WithHint sets a line shown under the field.
func (f *Field) WithHint(h string) *Field { f.Hint = h; return f }

// WithValue sets the value of a text field.
func (f *Field) WithValue(v string) *Field {
	if f.area != nil {
		// SetValue leaves the cursor at the end; the text is read
		// from its start.
		f.area.SetValue(v)
		f.area.Focus()
		*f.area, _ = f.area.Update(tea.KeyMsg{Type: tea.KeyCtrlHome})
		f.area.Blur()
		return f
	}
	f.input.SetValue(v)
	return f
}

// WithLimit sets the most characters a text field takes.
func (f *Field) WithLimit(n int) *Field { f.input.CharLimit = n; return f }

// SetChoice replaces choice i of a choice field (its label or help may
// depend on other fields); the selection stays.
func (f *Field) SetChoice(i int, c Choice) {
	if i >= 0 && i < len(f.choices) {
		f.choices[i] = c
	}
}

func (f *Field) isChoice() bool { return f.choices != nil }

// Value is the text, or the selected choice's value.
func (f *Field) Value() string {
	if f.isChoice() {
		return f.choices[f.sel].Value
	}
	if f.area != nil {
		return f.area.Value()
	}
	return f.input.Value()
}

// Form is a list of fields with one focused.
type Form struct {
	c      *common.Common
	fields []*Field
	focus  int
	err    string // an error that names no field
	width  int
	submit *key.Binding // submits from any field (SubmitOn)
}

// New builds a form; call Init to focus its first field.
func New(c *common.Common, fields ...*Field) *Form {
	return &Form{c: c, fields: fields, width: 80}
}

// SubmitOn makes b submit the form from any field (forms with a
// multi-line field, where enter breaks lines).
func (f *Form) SubmitOn(b key.Binding) *Form { f.submit = &b; return f }

// Init focuses the first field.
func (f *Form) Init() tea.Cmd { return f.focusOn(0) }

// SetWidth fits text inputs into width columns.
func (f *Form) SetWidth(w int) {
	f.width = w
	for _, fl := range f.fields {
		fl.input.Width = max(8, w-labelWidth-4)
		if fl.area != nil {
			fl.area.SetWidth(max(8, w-labelWidth-3))
		}
	}
}

// Field returns the named field (nil if none).
func (f *Form) Field(name string) *Field {
	for _, fl := range f.fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}

// Value is the named field's value.
func (f *Form) Value(name string) string {
	if fl := f.Field(name); fl != nil {
		return fl.Value()
	}
	return ""
}

// Focused is the name of the focused field.
func (f *Form) Focused() string { return f.fields[f.focus].Name }

// Focus moves the focus to the named field.
func (f *Form) Focus(name string) tea.Cmd {
	for i, fl := range f.fields {
		if fl.Name == name {
			return f.focusOn(i)
		}
	}
	return nil
}

// Typing reports whether a text field has the focus.
func (f *Form) Typing() bool { return !f.fields[f.focus].isChoice() }

// SetError shows err under the field it names (and focuses that field), or
// above the form when it names none. It returns the focus command. An
// error naming a part of a field (alert_thresholds[1], edits.to[0]) goes
// under that field. The API's name of the field in the message
// ("limit_gb must be…") reads as the form's label ("Limit (GB) must be…").
// The error goes once the field is changed.
func (f *Form) SetError(err error) tea.Cmd {
	f.ClearErrors()
	name := common.Field(err)
	for i, fl := range f.fields {
		if name != "" && names(fl.Name, name) {
			fl.err = common.Describe(labelled(err, fl.Label, name, fl.Name))
			return f.focusOn(i)
		}
	}
	f.err = common.Describe(labelled(err, "", name))
	return nil
}

// labelled is err with the API field names in its message replaced by
// label, or by words when label is empty (org_name: "org name"). A plain
// word (email) is replaced only where it starts the message, so "Not an
// email address" stays.
func labelled(err error, label string, fields ...string) error {
	var me *models.Error
	if !errors.As(err, &me) {
		return err
	}
	out := *me
	for _, n := range fields {
		if n == "" {
			continue
		}
		with := label
		if with == "" {
			with = strings.NewReplacer("_", " ", ".", " ").Replace(n)
		}
		if strings.ContainsAny(n, "_.[") {
			out.Message = strings.ReplaceAll(out.Message, n, with)
		} else if strings.HasPrefix(out.Message, n+" ") {
			out.Message = with + strings.TrimPrefix(out.Message, n)
		}
	}
	return &out
}

// names reports whether the error field errField is the field name or a
// part of it.
func names(name, errField string) bool {
	return errField == name || strings.HasPrefix(errField, name+"[") || strings.HasPrefix(errField, name+".")
}

// ClearErrors removes every error.
func (f *Form) ClearErrors() {
	f.err = ""
	for _, fl := range f.fields {
		fl.err = ""
	}
}

// Reset empties the text fields and focuses the first.
func (f *Form) Reset() tea.Cmd {
	f.ClearErrors()
	for _, fl := range f.fields {
		fl.input.Reset()
		if fl.area != nil {
			fl.area.Reset()
		}
	}
	return f.focusOn(0)
}

func (f *Form) focusOn(i int) tea.Cmd {
	f.focus = (i + len(f.fields)) % len(f.fields)
	var cmd tea.Cmd
	for j, fl := range f.fields {
		switch {
		case j == f.focus && fl.area != nil:
			cmd = fl.area.Focus()
		case j == f.focus && !fl.isChoice():
			cmd = fl.input.Focus()
		case fl.area != nil:
			fl.area.Blur()
		default:
			fl.input.Blur()
		}
	}
	return cmd
}

// Update handles a message; submit is true when enter was pressed on the
// last field.
func (f *Form) Update(msg tea.Msg) (submit bool, cmd tea.Cmd) {
	k := f.c.Keys
	cur := f.fields[f.focus]
	if km, ok := msg.(tea.KeyMsg); ok && f.submit != nil && key.Matches(km, *f.submit) {
		return true, nil
	}
	if cur.area != nil {
		return false, f.updateArea(cur, msg)
	}
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, k.Submit):
			if f.focus == len(f.fields)-1 {
				return true, nil
			}
			return false, f.focusOn(f.focus + 1)
		case key.Matches(km, k.NextField):
			return false, f.focusOn(f.focus + 1)
		case key.Matches(km, k.PrevField):
			return false, f.focusOn(f.focus - 1)
		case cur.isChoice() && key.Matches(km, k.Left):
			cur.sel = (cur.sel - 1 + len(cur.choices)) % len(cur.choices)
			cur.err = ""
			return false, nil
		case cur.isChoice() && key.Matches(km, k.Right):
			cur.sel = (cur.sel + 1) % len(cur.choices)
			cur.err = ""
			return false, nil
		}
	}
	if cur.isChoice() {
		return false, nil
	}
	before := cur.input.Value()
	cur.input, cmd = cur.input.Update(msg)
	if cur.input.Value() != before {
		cur.err = "" // fixed, or on its way: the daemon judges it again on submit
	}
	return false, cmd
}

// updateArea handles a message in a multi-line field: tab and shift+tab
// leave it, everything else edits it.
func (f *Form) updateArea(cur *Field, msg tea.Msg) tea.Cmd {
	k := f.c.Keys
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, k.NextFieldTab):
			return f.focusOn(f.focus + 1)
		case key.Matches(km, k.PrevFieldTab):
			return f.focusOn(f.focus - 1)
		}
	}
	before := cur.area.Value()
	ta, cmd := cur.area.Update(msg)
	*cur.area = ta
	if cur.area.Value() != before {
		cur.err = ""
	}
	return cmd
}

// Bindings are the form's keys for the help line.
func (f *Form) Bindings() []key.Binding {
	k := f.c.Keys
	cur := f.fields[f.focus]
	if cur.area != nil {
		return []key.Binding{k.NextFieldTab, k.PrevFieldTab, k.NewLine, *f.submitKey()}
	}
	b := []key.Binding{k.NextField, k.PrevField}
	if cur.isChoice() {
		b = append(b, k.Choose)
	}
	if f.submit != nil {
		return append(b, *f.submit)
	}
	return append(b, k.Submit)
}

func (f *Form) submitKey() *key.Binding {
	if f.submit != nil {
		return f.submit
	}
	b := f.c.Keys.Submit
	return &b
}

// View draws the form.
func (f *Form) View() string {
	st := f.c.Styles
	var b strings.Builder
	if f.err != "" {
		b.WriteString(st.Error.Render(styles.Fail+" "+f.err) + "\n\n")
	}
	pad := strings.Repeat(" ", labelWidth+2)
	for i, fl := range f.fields {
		marker, label := "  ", st.Label
		if i == f.focus {
			marker, label = styles.Cursor+" ", st.Focused
		}
		view := fl.view(st, i == f.focus, f.width-labelWidth-2)
		view = strings.ReplaceAll(view, "\n", "\n"+pad)
		b.WriteString(marker + label.Render(padRight(fl.Label, labelWidth)) + view + "\n")
		// A choice's help and errors (the daemon's messages) can be
		// long: they wrap under the field rather than being cut.
		w := max(20, f.width-labelWidth-2)
		under := func(style lipgloss.Style, text string) {
			for _, l := range strings.Split(lipgloss.NewStyle().Width(w).Render(text), "\n") {
				b.WriteString(pad + style.Render(strings.TrimRight(l, " ")) + "\n")
			}
		}
		if fl.isChoice() && fl.choices[fl.sel].Help != "" {
			under(st.Hint, fl.choices[fl.sel].Help)
		}
		if fl.Hint != "" {
			b.WriteString(pad + st.Hint.Render(fl.Hint) + "\n")
		}
		if fl.err != "" {
			under(st.Error, styles.Fail+" "+fl.err)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (fl *Field) view(st styles.Styles, focused bool, width int) string {
	if fl.area != nil {
		lines := strings.Split(fl.area.View(), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " ")
		}
		return strings.Join(lines, "\n")
	}
	if !fl.isChoice() {
		return fl.input.View()
	}
	if !fl.fits(width) {
		// Too many choices for one line: show the selected one and where
		// it is among them; ←/→ still step through them.
		s := fmt.Sprintf("‹ (•) %s ›", fl.choices[fl.sel].Label)
		if focused {
			s = st.Selected.Render(s)
		}
		return s + st.Muted.Render(fmt.Sprintf("  %d of %d", fl.sel+1, len(fl.choices)))
	}
	parts := make([]string, len(fl.choices))
	for i, c := range fl.choices {
		if i == fl.sel {
			s := "(•) " + c.Label
			if focused {
				s = st.Selected.Render(s)
			}
			parts[i] = s
		} else {
			parts[i] = st.Muted.Render("( ) " + c.Label)
		}
	}
	return strings.Join(parts, "  ")
}

func padRight(s string, w int) string {
	if n := len([]rune(s)); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// fits reports whether every choice fits on one line of width columns.
func (fl *Field) fits(width int) bool {
	w := 0
	for i, c := range fl.choices {
		w += ansi.StringWidth(c.Label) + 4
		if i > 0 {
			w += 2
		}
	}
	return w <= width
}
