package screens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
	"gent/tui/components/table"
	"gent/tui/styles"
)

// The token wizard's steps.
type tokenStep int

const (
	stepInbox tokenStep = iota
	stepLabel
	stepScopes
	stepExpiry
)

var stepNames = []string{"inbox", "label", "scopes", "expiry"}

// TokenAdd is the token wizard: inbox, label, scopes (a checklist with
// the three presets and approval toggles), expiry. The created token's
// value is then shown once, by TokenShown, which replaces the wizard.
type TokenAdd struct {
	c     *common.Common
	req   common.Requests
	step  tokenStep
	fixed *models.Inbox // the inbox, when opened from its token list
	err   string        // the inboxes or scopes could not be loaded
	w     int

	inboxes  []models.Inbox
	picker   *table.Model
	inboxErr string
	label    *form.Form
	scopes   *scopeList
	expiry   *form.Form
	now      func() time.Time
}

// NewTokenAdd builds the wizard; with inbox, the token is for that inbox.
func NewTokenAdd(c *common.Common, inbox *models.Inbox) *TokenAdd {
	s := &TokenAdd{c: c, fixed: inbox, w: 80, now: time.Now,
		picker: table.New(c, table.Column{Title: "Address", Width: 0}, table.Column{Title: "Display name", Width: 24}),
		label: form.New(c, form.Text("label", "Label").WithLimit(100).
			WithHint("e.g. ops-agent-production; tells tokens apart")),
		expiry: form.New(c, form.Text("expires_at", "Expires").
			WithHint("empty: never · 30d · 12h · 2026-12-31 (through that day)")),
	}
	if inbox != nil {
		s.step = stepLabel
	}
	return s
}

// wizardData is what the wizard loads first.
type wizardData struct {
	Inboxes []models.Inbox
	Scopes  []models.ScopeInfo
}

func (s *TokenAdd) Title() string        { return "New token" }
func (s *TokenAdd) Busy() (bool, string) { return s.req.Busy() }

// Typing is always true: esc goes back a step, and the label and expiry
// take every key.
func (s *TokenAdd) Typing() bool { return true }

func (s *TokenAdd) SetSize(w, h int) {
	s.w = w
	s.label.SetWidth(w)
	s.expiry.SetWidth(w)
	s.picker.SetSize(w, h-6)
}

func (s *TokenAdd) Init() tea.Cmd {
	cmd := common.Start(s.c, &s.req, "load", "Loading inboxes and scopes…", func(ctx context.Context, cl *client.Client) (wizardData, error) {
		ins, err := cl.AllInboxes(ctx)
		if err != nil {
			return wizardData{}, err
		}
		sc, err := cl.Scopes(ctx)
		return wizardData{Inboxes: ins, Scopes: sc}, err
	})
	return tea.Batch(cmd, s.label.Init())
}

// TakesHelp is true on the steps without a text field: ? shows every key
// there, although the wizard takes every other key.
func (s *TokenAdd) TakesHelp() bool {
	return s.scopes != nil && (s.step == stepInbox && !s.picker.Filtering() || s.step == stepScopes)
}

func (s *TokenAdd) ShortHelp() []key.Binding {
	k := s.c.Keys
	back := k.StepBack
	if s.step == stepInbox || (s.step == stepLabel && s.fixed != nil) {
		back = k.Cancel
	}
	switch {
	case s.scopes == nil:
		return []key.Binding{back}
	case s.step == stepInbox && s.picker.Filtering():
		return s.picker.Bindings()
	case s.step == stepInbox:
		return []key.Binding{k.Up, k.Down, k.Filter, k.Continue, back}
	case s.step == stepScopes:
		return append(s.scopes.Bindings(), back)
	case s.step == stepExpiry:
		return []key.Binding{k.Submit, back}
	}
	return []key.Binding{k.Continue, back}
}

func (s *TokenAdd) FullHelp() [][]key.Binding {
	if s.step == stepScopes && s.scopes != nil {
		k := s.c.Keys
		return [][]key.Binding{s.ShortHelp(), {k.Up, k.Down}, {k.PresetAgent, k.PresetSuperv, k.PresetReader, k.Hold}}
	}
	return [][]key.Binding{s.ShortHelp()}
}

func (s *TokenAdd) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[wizardData]:
		if _, ok := s.req.Done(msg.ID); ok {
			s.loaded(msg.Value)
		}
	case common.ResultMsg[*models.TokenSecret]:
		if _, ok := s.req.Done(msg.ID); ok {
			return s, s.created(msg.Value)
		}
	case common.StreamMsg:
		if reloadForm(msg, s.scopes == nil, &s.req) {
			s.err = ""
			return s, s.Init()
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "load" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, s.failed(msg.Err)
		}
	case tea.KeyMsg:
		if s.req.Pending("create") {
			return s, nil
		}
		if s.step == stepInbox && s.picker.Filtering() {
			// / on the inboxes: the filter takes the keys, esc and
			// enter included (they close it).
			s.picker.Update(msg)
			return s, nil
		}
		if key.Matches(msg, s.c.Keys.StepBack) {
			return s, s.back()
		}
		if s.scopes == nil {
			return s, nil
		}
		return s, s.handleKey(msg)
	default:
		return s, s.forward(msg)
	}
	return s, nil
}

// forward passes other messages (the cursor's blink) to the open form.
func (s *TokenAdd) forward(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch s.step {
	case stepLabel:
		_, cmd = s.label.Update(msg)
	case stepExpiry:
		_, cmd = s.expiry.Update(msg)
	}
	return cmd
}

func (s *TokenAdd) loaded(d wizardData) {
	s.inboxes, s.scopes = d.Inboxes, newScopeList(s.c, d.Scopes)
	rows := make([][]string, len(d.Inboxes))
	for i, in := range d.Inboxes {
		rows[i] = []string{in.Address, in.DisplayName}
	}
	s.picker.SetRows(rows)
}

func (s *TokenAdd) back() tea.Cmd {
	if s.step == stepInbox || (s.step == stepLabel && s.fixed != nil) {
		return common.Pop
	}
	return s.goTo(s.step - 1)
}

func (s *TokenAdd) goTo(step tokenStep) tea.Cmd {
	s.step = step
	switch step {
	case stepLabel:
		return s.label.Focus("label")
	case stepExpiry:
		return s.expiry.Focus("expires_at")
	}
	return nil
}

func (s *TokenAdd) handleKey(msg tea.KeyMsg) tea.Cmd {
	switch s.step {
	case stepInbox:
		if key.Matches(msg, s.c.Keys.Continue) {
			if len(s.inboxes) == 0 || s.picker.Empty() {
				return nil // none, or none the filter keeps
			}
			s.inboxErr = ""
			return s.goTo(stepLabel)
		}
		s.picker.Update(msg)
	case stepLabel:
		submit, cmd := s.label.Update(msg)
		if !submit {
			return cmd
		}
		if strings.TrimSpace(s.label.Value("label")) == "" {
			return s.label.SetError(models.Invalid("label", "give the token a label"))
		}
		s.label.ClearErrors()
		return s.goTo(stepScopes)
	case stepScopes:
		if s.scopes.Update(msg) {
			return s.goTo(stepExpiry)
		}
	case stepExpiry:
		submit, cmd := s.expiry.Update(msg)
		if submit {
			return s.submit()
		}
		return cmd
	}
	return nil
}

// inbox is the inbox the token is for.
func (s *TokenAdd) inbox() models.Inbox {
	if s.fixed != nil {
		return *s.fixed
	}
	if len(s.inboxes) == 0 {
		return models.Inbox{}
	}
	return s.inboxes[s.picker.Cursor()]
}

func (s *TokenAdd) submit() tea.Cmd {
	exp, err := parseExpiry(s.expiry.Value("expires_at"), s.now())
	if err != nil {
		return s.expiry.SetError(err)
	}
	s.expiry.ClearErrors()
	scopes, held := s.scopes.Selected()
	req := models.CreateTokenRequest{InboxID: s.inbox().ID, Label: strings.TrimSpace(s.label.Value("label")),
		Scopes: scopes, RequiresApproval: held, ExpiresAt: exp}
	return common.Start(s.c, &s.req, "create", "Creating "+req.Label+"…", func(ctx context.Context, cl *client.Client) (*models.TokenSecret, error) {
		return cl.CreateToken(ctx, req)
	})
}

// created replaces the wizard with the one screen that shows the value.
func (s *TokenAdd) created(t *models.TokenSecret) tea.Cmd {
	shown := newTokenShown(s.c, t, s.inbox().Address, false)
	return tea.Sequence(common.Pop, common.Push(shown), changed(kindTokens, t.ID))
}

// failed shows a refused create at the step of the field it names.
func (s *TokenAdd) failed(err error) tea.Cmd {
	field := common.Field(err)
	switch {
	case field == "inbox_id":
		// The inbox is gone (deleted meanwhile): pick another from the list.
		s.inboxErr, s.fixed = common.Describe(err), nil
		return s.goTo(stepInbox)
	case field == "label":
		cmd := s.goTo(stepLabel)
		return tea.Batch(cmd, s.label.SetError(err))
	case strings.HasPrefix(field, "scopes") || strings.HasPrefix(field, "requires_approval"):
		s.scopes.err = common.Describe(err)
		return s.goTo(stepScopes)
	}
	return s.expiry.SetError(err)
}

func (s *TokenAdd) View() string {
	st := s.c.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("New agent token") +
		st.Muted.Render(fmt.Sprintf(" · step %d of 4: %s", int(s.step)+1, stepNames[s.step])) + "\n")
	switch {
	case s.err != "":
		return b.String() + "\n" + st.Error.Render(styles.Fail+" "+s.err)
	case s.scopes == nil:
		return b.String() + "\n" + st.Muted.Render("Loading inboxes and scopes…")
	case len(s.inboxes) == 0 && s.fixed == nil:
		return b.String() + "\n" + st.Warning.Render("No inbox yet.") + "\n\n" +
			st.Muted.Render("A token acts on one inbox. Create one under Inboxes (i on the dashboard).")
	}
	b.WriteString(s.chosen() + "\n\n")
	switch s.step {
	case stepInbox:
		b.WriteString(st.Muted.Render("Which inbox may the agent use?") + "\n\n" + s.picker.View())
		if s.inboxErr != "" {
			b.WriteString("\n" + st.Error.Render(styles.Fail+" "+s.inboxErr))
		}
	case stepLabel:
		b.WriteString(s.label.View())
	case stepScopes:
		b.WriteString(s.scopes.View())
	case stepExpiry:
		b.WriteString(s.expiry.View() + "\n\n" + st.Muted.Render("enter creates the token; its value is shown once."))
	}
	return b.String()
}

// chosen sums up the steps done so far.
func (s *TokenAdd) chosen() string {
	st := s.c.Styles
	row := func(k, v string) string { return st.Label.Render(fmt.Sprintf("%-8s", k)) + "  " + st.Value.Render(v) }
	var out []string
	if s.step > stepInbox {
		out = append(out, row("Inbox", s.inbox().Address))
	}
	if s.step > stepLabel {
		out = append(out, row("Label", strings.TrimSpace(s.label.Value("label"))))
	}
	if s.step > stepScopes {
		sc, held := s.scopes.Selected()
		out = append(out, row("Scopes", scopeSummary(sc, held)))
	}
	if len(out) == 0 {
		return st.Muted.Render("A token lets one agent use one inbox, with the scopes you check.")
	}
	return strings.Join(out, "\n")
}
