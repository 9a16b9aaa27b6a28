package screens

import (
	"context"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/form"
	"gent/tui/styles"
)

// KindPolicy is the ChangedMsg kind of a policy saved here: the root
// model reads the pause again for its banner.
const KindPolicy = "policy"

// InboxPolicy edits an inbox's sending policy (docs/policy.md): first
// contact, allow and block lists, budget, loop guard, Auto-Submitted,
// pause and the screening threshold. The policy is replaced as a whole;
// the daemon's 422 goes under the field it names. Reviewers see it but
// cannot save it.
type InboxPolicy struct {
	formScreen
	inbox  models.Inbox
	policy *models.InboxPolicy
	err    string
}

// NewInboxPolicy builds the policy screen of an inbox; it loads the policy.
func NewInboxPolicy(c *common.Common, in models.Inbox) *InboxPolicy {
	return &InboxPolicy{formScreen: formScreen{c: c, call: "save", cancel: true}, inbox: in}
}

func (s *InboxPolicy) Title() string { return "Policy" }

func (s *InboxPolicy) Init() tea.Cmd { return s.load() }

func (s *InboxPolicy) load() tea.Cmd {
	id := s.inbox.ID
	return common.Start(s.c, &s.req, "load", "Loading the policy…", func(ctx context.Context, cl *client.Client) (*models.InboxPolicy, error) {
		return cl.InboxPolicy(ctx, id)
	})
}

func (s *InboxPolicy) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.form == nil {
		return []key.Binding{k.Cancel}
	}
	return []key.Binding{k.NextField, k.PrevField, k.Choose, k.Save, k.Cancel}
}

func onOff(on bool, onLabel, offLabel string) (choices []form.Choice, sel int) {
	choices = []form.Choice{{Value: "off", Label: offLabel}, {Value: "on", Label: onLabel}}
	if on {
		sel = 1
	}
	return choices, sel
}

func pick(values []string, v string) ([]form.Choice, int) {
	var cs []form.Choice
	sel := 0
	for i, x := range values {
		cs = append(cs, form.Choice{Value: x, Label: x})
		if x == v {
			sel = i
		}
	}
	return cs, sel
}

func intText(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// policyHelp explains the focused field in a line or two.
var policyHelp = map[string]string{
	"sending_paused":                 "Paused: every send is refused (423) and queued mail not yet tried waits.",
	"first_contact":                  "hold: a send to an address the inbox never exchanged mail with waits for a reviewer.",
	"recipients.allow":               "Addresses or domains (a domain covers its subdomains), separated by commas. Empty: anyone.",
	"recipients.outside_allow":       "What a send to a recipient outside a non-empty allow list gets.",
	"recipients.block":               "Addresses or domains always refused (422 recipient_blocked), separated by commas.",
	"budget.per_hour":                "Recipients per rolling hour. Empty: no limit.",
	"budget.per_day":                 "Recipients per rolling 24 hours. Empty: no limit.",
	"budget.on_exceed":               "What a send beyond the budget gets: refused (429) or held for a reviewer.",
	"loop_guard":                     "Holds replies to automatic mail and a 11th send in a thread within an hour.",
	"auto_submitted":                 "Adds Auto-Submitted: auto-generated to outbound mail; autoresponders stay silent.",
	"screening.quarantine_at":        "Inbound mail scoring this much (1–100; 101 never) is quarantined.",
	"screening.hide_unauthenticated": "quarantine: mail failing DMARC (or SPF and DKIM) is quarantined whatever its score.",
}

func (s *InboxPolicy) buildForm(p models.InboxPolicy) {
	paused, pausedSel := onOff(p.SendingPaused, "paused", "on")
	fc, fcSel := pick([]string{"allow", "hold"}, p.FirstContact)
	oa, oaSel := pick([]string{"hold", "refuse"}, p.Recipients.OutsideAllow)
	ex, exSel := pick([]string{"refuse", "hold"}, p.Budget.OnExceed)
	lg, lgSel := onOff(p.LoopGuard, "on", "off")
	as, asSel := onOff(p.AutoSubmitted, "on", "off")
	hu, huSel := onOff(p.Screening.HideUnauthenticated, "quarantine", "score it")
	s.form = form.New(s.c,
		form.Select("sending_paused", "Sending", paused, pausedSel),
		form.Select("first_contact", "First contact", fc, fcSel),
		form.Text("recipients.allow", "Allow list").WithValue(strings.Join(p.Recipients.Allow, ", ")).WithLimit(4000),
		form.Select("recipients.outside_allow", "Outside allow", oa, oaSel),
		form.Text("recipients.block", "Block list").WithValue(strings.Join(p.Recipients.Block, ", ")).WithLimit(4000),
		form.Text("budget.per_hour", "Per hour").WithValue(intText(p.Budget.PerHour)).WithLimit(9),
		form.Text("budget.per_day", "Per day").WithValue(intText(p.Budget.PerDay)).WithLimit(9),
		form.Select("budget.on_exceed", "Over budget", ex, exSel),
		form.Select("loop_guard", "Loop guard", lg, lgSel),
		form.Select("auto_submitted", "Auto-Submitted", as, asSel),
		form.Text("screening.quarantine_at", "Quarantine at").WithValue(strconv.Itoa(p.Screening.QuarantineAt)).WithLimit(3),
		form.Select("screening.hide_unauthenticated", "Unauth. mail", hu, huSel),
	).SubmitOn(s.c.Keys.Save)
	s.form.SetWidth(s.w)
}

func (s *InboxPolicy) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.InboxPolicy]:
		name, ok := s.req.Done(msg.ID)
		if !ok {
			return s, nil
		}
		s.policy, s.err = msg.Value, ""
		if name == "load" {
			s.buildForm(*msg.Value)
			return s, s.form.Init()
		}
		note := "Saved the policy of " + s.inbox.Address + "."
		if msg.Value.SendingPaused {
			note = "Saved: sending from " + s.inbox.Address + " is paused."
		}
		return s, tea.Batch(common.Pop, changed(KindPolicy, s.inbox.ID), common.Flash(note))
	case common.StreamMsg:
		if reloadForm(msg, s.form == nil, &s.req) {
			return s, s.load()
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "load" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, s.form.SetError(msg.Err)
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

// policyOf reads the form; a value that is not a number is an error
// under its field, as the daemon's would be.
func (s *InboxPolicy) policyOf() (models.InboxPolicy, error) {
	v := s.form.Value
	p := models.InboxPolicy{
		FirstContact:  v("first_contact"),
		SendingPaused: v("sending_paused") == "on",
		LoopGuard:     v("loop_guard") == "on",
		AutoSubmitted: v("auto_submitted") == "on",
		Recipients: models.PolicyRecipients{Allow: splitList(v("recipients.allow")), Block: splitList(v("recipients.block")),
			OutsideAllow: v("recipients.outside_allow")},
		Budget:    models.PolicyBudget{OnExceed: v("budget.on_exceed")},
		Screening: models.PolicyScreening{HideUnauthenticated: v("screening.hide_unauthenticated") == "on"},
	}
	var err error
	if p.Budget.PerHour, err = optInt("budget.per_hour", "Per hour", v("budget.per_hour")); err != nil {
		return p, err
	}
	if p.Budget.PerDay, err = optInt("budget.per_day", "Per day", v("budget.per_day")); err != nil {
		return p, err
	}
	q, err := optInt("screening.quarantine_at", "Quarantine at", v("screening.quarantine_at"))
	if err != nil {
		return p, err
	}
	if q == nil {
		return p, models.Invalid("screening.quarantine_at", "Quarantine at is a score from 1 to 101")
	}
	p.Screening.QuarantineAt = *q
	return p, nil
}

// optInt reads a whole number; "" is none.
func optInt(field, label, s string) (*int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, models.Invalid(field, "%s must be a whole number, not %q", label, s)
	}
	return &n, nil
}

// splitList reads entries separated by commas, semicolons or spaces.
func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
		out = append(out, f)
	}
	return out
}

func (s *InboxPolicy) submit() tea.Cmd {
	if !s.c.IsAdmin() {
		return common.FlashError("Only owners and admins change a policy.")
	}
	p, err := s.policyOf()
	if err != nil {
		return s.form.SetError(err)
	}
	id := s.inbox.ID
	return common.Start(s.c, &s.req, s.call, "Saving the policy…", func(ctx context.Context, cl *client.Client) (*models.InboxPolicy, error) {
		return cl.SetInboxPolicy(ctx, id, p)
	})
}

func (s *InboxPolicy) View() string {
	st := s.c.Styles
	head := st.Title.Render("Sending policy of "+s.inbox.Address) + "\n"
	switch {
	case s.err != "":
		return head + "\n" + st.Error.Render(styles.Fail+" "+s.err)
	case s.form == nil:
		return head + "\n" + st.Muted.Render("Loading the policy…")
	}
	var b strings.Builder
	b.WriteString(head)
	if s.form.Value("sending_paused") == "on" {
		b.WriteString(st.Error.Render(styles.Fail+" Sending from this inbox is paused.") + "\n")
	} else {
		b.WriteString(st.Muted.Render("Every send of this inbox's agents passes through it. ctrl+s saves.") + "\n")
	}
	b.WriteString("\n" + s.form.View() + "\n\n")
	for _, l := range wrap(policyHelp[s.form.Focused()], s.w, 2) {
		b.WriteString(st.Hint.Render(strings.TrimRight(l, " ")) + "\n")
	}
	return b.String()
}

// OrgPolicy edits the organization's policy: the pause of every inbox's
// sending and the block list every send is checked against.
type OrgPolicy struct {
	formScreen
	policy *models.OrgPolicy
	err    string
}

// NewOrgPolicy builds the organization's policy screen; it loads it.
func NewOrgPolicy(c *common.Common) *OrgPolicy {
	return &OrgPolicy{formScreen: formScreen{c: c, call: "save", cancel: true}}
}

func (s *OrgPolicy) Title() string { return "Policy" }

func (s *OrgPolicy) Init() tea.Cmd {
	return common.Start(s.c, &s.req, "load", "Loading the policy…", func(ctx context.Context, cl *client.Client) (*models.OrgPolicy, error) {
		return cl.OrgPolicy(ctx)
	})
}

func (s *OrgPolicy) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.form == nil {
		return []key.Binding{k.Cancel}
	}
	return []key.Binding{k.NextField, k.PrevField, k.Choose, k.Save, k.Cancel}
}

func (s *OrgPolicy) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[*models.OrgPolicy]:
		name, ok := s.req.Done(msg.ID)
		if !ok {
			return s, nil
		}
		s.policy, s.err = msg.Value, ""
		if name == "load" {
			paused, sel := onOff(msg.Value.SendingPaused, "paused", "on")
			s.form = form.New(s.c,
				form.Select("sending_paused", "Sending", paused, sel),
				form.Text("block", "Block list").WithValue(strings.Join(msg.Value.Block, ", ")).WithLimit(4000).
					WithHint("addresses or domains no inbox may send to, separated by commas"),
			).SubmitOn(s.c.Keys.Save)
			s.form.SetWidth(s.w)
			return s, s.form.Init()
		}
		note := "Saved the organization's policy."
		if msg.Value.SendingPaused {
			note = "Saved: sending is paused for the whole organization."
		}
		return s, tea.Batch(common.Pop, changed(KindPolicy, ""), common.Flash(note))
	case common.StreamMsg:
		if reloadForm(msg, s.form == nil, &s.req) {
			return s, s.Init()
		}
	case common.ErrorMsg:
		if name, ok := s.req.Done(msg.ID); ok {
			if name == "load" {
				s.err = common.Describe(msg.Err)
				return s, nil
			}
			return s, s.form.SetError(msg.Err)
		}
		return s, nil
	}
	return s, s.updateForm(msg, s.submit)
}

func (s *OrgPolicy) submit() tea.Cmd {
	if !s.c.IsAdmin() {
		return common.FlashError("Only owners and admins change a policy.")
	}
	p := models.OrgPolicy{SendingPaused: s.form.Value("sending_paused") == "on", Block: splitList(s.form.Value("block"))}
	return common.Start(s.c, &s.req, s.call, "Saving the policy…", func(ctx context.Context, cl *client.Client) (*models.OrgPolicy, error) {
		return cl.SetOrgPolicy(ctx, p)
	})
}

func (s *OrgPolicy) View() string {
	st := s.c.Styles
	head := st.Title.Render("Sending policy of "+orgName(s.c)) + "\n"
	switch {
	case s.err != "":
		return head + "\n" + st.Error.Render(styles.Fail+" "+s.err)
	case s.form == nil:
		return head + "\n" + st.Muted.Render("Loading the policy…")
	}
	var b strings.Builder
	b.WriteString(head)
	if s.form.Value("sending_paused") == "on" {
		b.WriteString(st.Error.Render(styles.Fail+" Paused: every inbox's sends are refused and queued mail waits.") + "\n")
	} else {
		b.WriteString(st.Muted.Render("Applies to every inbox, on top of each inbox's own policy. ctrl+s saves.") + "\n")
	}
	b.WriteString("\n" + s.form.View() + "\n\n")
	b.WriteString(st.Muted.Render("Each inbox's policy (first contact, lists, budget, loop guard, screening):\nInboxes (i on the dashboard), then P on an inbox."))
	return b.String()
}
