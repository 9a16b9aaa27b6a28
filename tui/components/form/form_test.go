package form

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

func newForm(t *testing.T) *Form {
	t.Helper()
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	f := New(common.NewCommon(cl),
		Text("email", "Email"),
		Password("password", "Password"),
		Select("role", "Role", []Choice{{Value: "admin", Label: "admin", Help: "runs things"}, {Value: "reviewer", Label: "reviewer"}}, 0),
	)
	f.Init()
	return f
}

func press(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

func typeIn(f *Form, s string) {
	for _, r := range s {
		f.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func TestFocusMoves(t *testing.T) {
	f := newForm(t)
	steps := []struct {
		key  tea.KeyType
		want string
	}{
		{tea.KeyTab, "password"}, {tea.KeyDown, "role"}, {tea.KeyTab, "email"}, // wraps
		{tea.KeyShiftTab, "role"}, {tea.KeyUp, "password"}, {tea.KeyEnter, "role"},
	}
	for i, s := range steps {
		if submit, _ := f.Update(press(s.key)); submit {
			t.Fatalf("step %d submitted", i)
		}
		if got := f.Focused(); got != s.want {
			t.Fatalf("step %d (%v): focus %q, want %q", i, s.key, got, s.want)
		}
	}
	if submit, _ := f.Update(press(tea.KeyEnter)); !submit {
		t.Fatal("enter on the last field did not submit")
	}
}

func TestTypingAndChoices(t *testing.T) {
	f := newForm(t)
	typeIn(f, "a@b.test")
	f.Update(press(tea.KeyTab))
	typeIn(f, "secret pass")
	if !f.Typing() {
		t.Fatal("not typing in a text field")
	}
	f.Update(press(tea.KeyTab))
	if f.Typing() {
		t.Fatal("typing on a choice field")
	}
	f.Update(press(tea.KeyLeft)) // wraps to the last choice
	if got := f.Value("role"); got != "reviewer" {
		t.Fatalf("role %q", got)
	}
	f.Update(press(tea.KeyRight))
	if got := f.Value("role"); got != "admin" {
		t.Fatalf("role %q", got)
	}
	if f.Value("email") != "a@b.test" || f.Value("password") != "secret pass" {
		t.Fatalf("values %q %q", f.Value("email"), f.Value("password"))
	}
	v := f.View()
	if strings.Contains(v, "secret pass") || !strings.Contains(v, "•••••••••••") {
		t.Fatalf("password not masked:\n%s", v)
	}
	if !strings.Contains(v, "› Role            (•) admin  ( ) reviewer") || !strings.Contains(v, "runs things") {
		t.Fatalf("choice view:\n%s", v)
	}
}

func TestErrorsGoToTheirField(t *testing.T) {
	f := newForm(t)
	f.SetError(&client.APIError{Status: 422, Err: models.Invalid("password", "password must be at least 10 characters")})
	if f.Focused() != "password" {
		t.Fatalf("focus %q, want the field in error", f.Focused())
	}
	v := f.View()
	if !strings.Contains(v, "✗ Password must be at least 10 characters.") {
		t.Fatalf("field error not shown:\n%s", v)
	}
	f.SetError(&client.APIError{Status: 401, Err: &models.Error{Code: "unauthorized", Message: "email or password is not correct"}})
	v = f.View()
	if strings.Contains(v, "at least 10") || !strings.HasPrefix(v, "✗ Email or password is not correct.") {
		t.Fatalf("form error not shown above the form, or old error kept:\n%s", v)
	}
	f.ClearErrors()
	if strings.Contains(f.View(), "✗") {
		t.Fatal("errors survive ClearErrors")
	}
}

func TestChoicesTooWideForOneLine(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	var choices []Choice
	for _, n := range []string{"alpha.example.com", "bravo.example.com", "charlie.example.com", "delta.example.com"} {
		choices = append(choices, Choice{Value: n, Label: n})
	}
	f := New(common.NewCommon(cl), Select("domain", "Domain", choices, 0))
	f.Init()
	f.SetWidth(80)
	if v := f.View(); !strings.Contains(v, "‹ (•) alpha.example.com ›  1 of 4") || strings.Contains(v, "bravo") {
		t.Fatalf("wide choices not shown one at a time:\n%s", v)
	}
	f.Update(press(tea.KeyRight))
	f.Update(press(tea.KeyRight))
	if v := f.View(); !strings.Contains(v, "charlie.example.com ›  3 of 4") || f.Value("domain") != "charlie.example.com" {
		t.Fatalf("→ did not step through the choices:\n%s", v)
	}
	f.SetWidth(140) // room for all: back to one line
	if v := f.View(); !strings.Contains(v, "( ) alpha.example.com  ( ) bravo.example.com  (•) charlie.example.com") {
		t.Fatalf("choices not on one line at 140 columns:\n%s", v)
	}
}

func TestAreaKeepsLinesAndSubmitKey(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	c := common.NewCommon(cl)
	f := New(c, Text("subject", "Subject"), Area("text", "Text", 3).WithValue("one\ntwo"), Text("to", "To")).SubmitOn(c.Keys.ApproveEdited)
	f.SetWidth(60)
	f.Init()
	f.Update(press(tea.KeyTab))
	if f.Focused() != "text" || !f.Typing() {
		t.Fatalf("focus %q", f.Focused())
	}
	// In the area ↓ and enter edit the text; the cursor starts at the top.
	f.Update(press(tea.KeyDown))
	f.Update(press(tea.KeyEnd))
	f.Update(press(tea.KeyEnter))
	typeIn(f, "three")
	if f.Focused() != "text" || f.Value("text") != "one\ntwo\nthree" {
		t.Fatalf("focus %q, text %q", f.Focused(), f.Value("text"))
	}
	v := f.View()
	if !strings.Contains(v, "› Text            one\n                  two\n                  three") {
		t.Fatalf("area not drawn under its label:\n%s", v)
	}
	// tab leaves it; ctrl+s submits from any field; enter on the last
	// field too.
	f.Update(press(tea.KeyShiftTab))
	if f.Focused() != "subject" {
		t.Fatalf("shift+tab went to %q", f.Focused())
	}
	if submit, _ := f.Update(press(tea.KeyCtrlS)); !submit {
		t.Fatal("ctrl+s did not submit")
	}
	keys := ""
	for _, b := range f.Bindings() {
		keys += b.Help().Key + " "
	}
	if !strings.Contains(keys, "ctrl+s") {
		t.Fatalf("help lacks the submit key: %s", keys)
	}
}

func TestErrorUnderThePartsField(t *testing.T) {
	f := New(newForm(t).c, Text("alert_thresholds", "Alerts"), Text("edits.to", "To"), Text("limit_gb", "Limit"))
	f.Init()
	for field, want := range map[string]string{"alert_thresholds[1]": "alert_thresholds", "edits.to[0]": "edits.to", "limit_gb": "limit_gb"} {
		f.SetError(&client.APIError{Status: 422, Err: models.Invalid(field, "bad")})
		if f.Focused() != want || f.Field(want).err == "" || f.err != "" {
			t.Fatalf("%s: focus %q, field error %q, form error %q", field, f.Focused(), f.Field(want).err, f.err)
		}
	}
	// A field the form does not have, even a prefix of one, goes above.
	f.SetError(&client.APIError{Status: 422, Err: models.Invalid("alert", "bad")})
	if f.err == "" {
		t.Fatal("an error for an unknown field was placed under a field")
	}
}

// A field's error goes once the field is changed; the other fields'
// errors stay until theirs are (issue 22: errors stayed after the fix).
func TestErrorClearsOnChange(t *testing.T) {
	f := newForm(t)
	f.SetError(&client.APIError{Status: 422, Err: models.Invalid("email", "not an email address: %q", "ann@")})
	if !strings.Contains(f.View(), "Not an email address") {
		t.Fatalf("error not shown:\n%s", f.View())
	}
	typeIn(f, "x")
	if strings.Contains(f.View(), "✗") {
		t.Fatalf("error stays after the field changed:\n%s", f.View())
	}
	// Moving through a field changes nothing: its error stays.
	f.SetError(models.Invalid("role", "pick a role")) // focuses role
	f.Update(press(tea.KeyTab))
	f.Update(press(tea.KeyShiftTab))
	if !strings.Contains(f.View(), "Pick a role") {
		t.Fatalf("error gone without a change:\n%s", f.View())
	}
	f.Update(press(tea.KeyRight))
	if strings.Contains(f.View(), "Pick a role") {
		t.Fatalf("a choice's error stays after a new choice:\n%s", f.View())
	}
}

// The API's name of a field reads as the form's label; plain words that
// happen to be a field name are left alone.
func TestErrorNamesTheLabel(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cl, _ := client.New("http://127.0.0.1:9")
	f := New(common.NewCommon(cl), Text("limit_gb", "Limit (GB)"), Text("email", "Email"))
	f.Init()
	for _, c := range []struct {
		err  *models.Error
		want string
	}{
		{models.Invalid("limit_gb", "limit_gb must be a positive number of GB"), "Limit (GB) must be a positive number of GB."},
		{models.Invalid("email", "email is required"), "Email is required."},
		{models.Invalid("email", "not an email address: %q", "x"), `Not an email address: "x".`},
		{models.Invalid("org_name", "org_name is required"), "Org name is required."}, // not in the form: above it
	} {
		f.SetError(c.err)
		if v := f.View(); !strings.Contains(v, c.want) || strings.Contains(v, "_") {
			t.Errorf("%q: want %q in\n%s", c.err.Message, c.want, v)
		}
	}
}
