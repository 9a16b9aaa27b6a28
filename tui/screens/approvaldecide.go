package screens

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/components/confirm"
	"gent/tui/components/form"
	"gent/tui/styles"
)

// decider asks for and makes a decision on one held send, for the queue
// and the detail screen alike: approve after a confirmation, reject with
// a reason (required: the agent is told why). Editing before approving
// has its own screen (ApprovalEdit). The owning screen passes it every
// message first and counts it in its Busy.
type decider struct {
	c   *common.Common
	req common.Requests
	asker
	reason *form.Form
	target models.Approval
	w      int
}

func newDecider(c *common.Common) decider { return decider{c: c, w: 80} }

func (d *decider) busy() (bool, string) { return d.req.Busy() }

// open reports whether a question is being asked; the screen then gives
// it every key.
func (d *decider) open() bool { return d.confirm != nil || d.reason != nil }

func (d *decider) setWidth(w int) {
	d.w = w
	if d.confirm != nil {
		d.confirm.SetWidth(w)
	}
	if d.reason != nil {
		d.reason.SetWidth(w - 4)
	}
}

// decided is the daemon's answer to a decision.
type decided struct {
	Approval models.Approval
	Action   string // approve, reject, edit
}

// decidedMsg tells the screens that a held send was decided from this TUI:
// the detail screen showing it closes.
type decidedMsg struct{ ID string }

// pendingOnly refuses to decide a send that is no longer pending.
func pendingOnly(a models.Approval) tea.Cmd {
	if a.Status == models.ApprovalPending {
		return nil
	}
	return common.FlashError(fmt.Sprintf("%s is %s: only pending sends can be decided.", quoteSubject(a.Subject), a.Status))
}

func (d *decider) askApprove(a models.Approval) tea.Cmd {
	if cmd := pendingOnly(a); cmd != nil {
		return cmd
	}
	d.target = a
	d.ask(confirm.New(d.c, "Approve "+quoteSubject(a.Subject)+"?",
		"It is sent as held, to "+strings.Join(a.To, ", ")+". The agent "+a.TokenLabel+" sees it approved."),
		func() tea.Cmd {
			return common.Start(d.c, &d.req, "approve", "Approving "+quoteSubject(a.Subject)+"…", approveCall(a.ID, nil))
		})
	d.confirm.SetWidth(d.w)
	return nil
}

// approveCall approves the held send id: as held, or as corrected by
// edits.
func approveCall(id string, edits *models.ApprovalEdits) func(context.Context, *client.Client) (decided, error) {
	return func(ctx context.Context, cl *client.Client) (decided, error) {
		ap, err := cl.Approve(ctx, id, edits)
		if err != nil {
			return decided{}, err
		}
		action := "edit"
		if edits == nil {
			action = "approve"
		}
		return decided{Approval: *ap, Action: action}, nil
	}
}

func (d *decider) askReject(a models.Approval) tea.Cmd {
	if cmd := pendingOnly(a); cmd != nil {
		return cmd
	}
	d.target = a
	d.reason = form.New(d.c, form.Text("reason", "Reason").WithLimit(2000).
		WithHint("required: the agent "+a.TokenLabel+" is told why"))
	d.reason.SetWidth(d.w - 4)
	return d.reason.Init()
}

func (d *decider) close() { d.asker, d.reason = asker{}, nil }

// update handles a key while a question is open, and the replies of the
// decisions. handled is false for messages it has nothing to do with.
func (d *decider) update(msg tea.Msg) (handled bool, cmd tea.Cmd) {
	switch msg := msg.(type) {
	case common.ResultMsg[decided]:
		if _, ok := d.req.Done(msg.ID); ok {
			return true, d.done(msg.Value)
		}
	case common.ErrorMsg:
		if name, ok := d.req.Done(msg.ID); ok {
			return true, d.failed(name, msg.Err)
		}
	case tea.KeyMsg:
		switch {
		case d.asking():
			cmd, _ := d.answer(msg)
			return true, cmd
		case d.reason != nil:
			return true, d.typeReason(msg)
		}
	default:
		if d.reason != nil {
			_, cmd := d.reason.Update(msg) // the cursor's blink
			return false, cmd
		}
	}
	return false, nil
}

func (d *decider) typeReason(msg tea.KeyMsg) tea.Cmd {
	if key.Matches(msg, d.c.Keys.Cancel) {
		d.reason = nil
		return nil
	}
	if d.req.Pending("reject") {
		return nil
	}
	submit, cmd := d.reason.Update(msg)
	if !submit {
		return cmd
	}
	d.reason.ClearErrors()
	t, reason := d.target, d.reason.Value("reason")
	return common.Start(d.c, &d.req, "reject", "Rejecting "+quoteSubject(t.Subject)+"…", func(ctx context.Context, cl *client.Client) (decided, error) {
		ap, err := cl.Reject(ctx, t.ID, reason)
		if err != nil {
			return decided{}, err
		}
		return decided{Approval: *ap, Action: "reject"}, nil
	})
}

// done closes the question and tells every screen.
func (d *decider) done(v decided) tea.Cmd {
	d.close()
	return decidedCmds(v)
}

// decidedCmds are what a decision from this TUI sets off: a note, the
// queue and dashboard reload, the detail screen closes.
func decidedCmds(v decided) tea.Cmd {
	a := v.Approval
	note := ""
	switch v.Action {
	case "approve":
		note = "Approved " + quoteSubject(a.Subject) + ": it is queued for delivery."
	case "edit":
		note = "Approved " + quoteSubject(a.Subject) + " as edited: it is queued for delivery."
	default:
		note = "Rejected " + quoteSubject(a.Subject) + "; the agent is told why."
	}
	return tea.Batch(common.Flash(note), changed(kindApprovals, a.ID),
		func() tea.Msg { return decidedMsg{ID: a.ID} })
}

// failed shows why a decision was refused: a reason the daemon refused
// under the reason field; anything else in the status line. A conflict
// (decided meanwhile, expired) also reloads the lists: the send has moved
// on without us.
func (d *decider) failed(name string, err error) tea.Cmd {
	if name == "reject" && d.reason != nil && common.Field(err) == "reason" {
		return d.reason.SetError(err)
	}
	d.close()
	return decisionFailed(d.target.ID, err)
}

func decisionFailed(id string, err error) tea.Cmd {
	flash := common.FlashError(common.Describe(err))
	if client.StatusOf(err) == 409 || client.StatusOf(err) == 404 {
		return tea.Batch(flash, changed(kindApprovals, id))
	}
	return flash
}

func (d *decider) bindings() []key.Binding {
	switch {
	case d.confirm != nil:
		return d.confirm.Bindings()
	case d.reason != nil:
		return []key.Binding{d.c.Keys.Submit, d.c.Keys.Cancel}
	}
	return nil
}

// view is the open question in a box ("" when none).
func (d *decider) view() string {
	st := d.c.Styles
	switch {
	case d.confirm != nil:
		return d.confirm.View()
	case d.reason != nil:
		inner := max(20, d.w-4)
		body := st.Warning.Render(styles.Warn+" ") + st.Title.Render("Reject "+quoteSubject(d.target.Subject)+"?") + "\n" +
			lipgloss.NewStyle().Width(inner).Render("It is never sent. Say why: the agent reads the reason.") + "\n\n" +
			d.reason.View()
		return st.AlertBox.Width(inner + 2).Render(body)
	}
	return ""
}

// quoteSubject is a subject in quotes, cut to fit a sentence.
func quoteSubject(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(no subject)"
	}
	return "“" + clip(s, 40) + "”"
}

// addrString shows an address as Name <address>, quoting a name that
// would not read back as one.
func addrString(a models.Address) string {
	if a.Name == "" {
		return a.Address
	}
	name := a.Name
	if strings.ContainsAny(name, `,;<>@"()[]:\`) {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + a.Address + ">"
}

func addrList(as []models.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = addrString(a)
	}
	return strings.Join(parts, ", ")
}

// splitAddresses turns what a reviewer typed into a list of addresses. It
// does not judge them: the daemon does, and names the bad one. Input that
// does not parse as a list is split at commas.
func splitAddresses(s string) models.AddressList {
	s = strings.TrimSpace(s)
	if s == "" {
		return models.AddressList{}
	}
	if as, err := mail.ParseAddressList(s); err == nil {
		out := make(models.AddressList, len(as))
		for i, a := range as {
			out[i] = addrString(models.Address{Name: a.Name, Address: a.Address})
		}
		return out
	}
	var out models.AddressList
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
