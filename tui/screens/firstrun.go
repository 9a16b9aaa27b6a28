package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/styles"
)

// firstRun is the dashboard's first-run checklist: on the sandbox domain,
// an inbox, a supervised token, a test send by the agent, its approval.
// It shows while the organization has an enabled sandbox and a step is
// left, each step one key away, and disappears once all are done.
type firstRun struct {
	Sandbox  *models.Domain // nil: no enabled sandbox, no checklist
	Inbox    *models.Inbox  // the first sandbox inbox
	Token    bool           // an active token on a sandbox inbox
	Sent     bool           // a sandbox inbox sent (held or captured)
	Approved bool           // a held send approved, or mail captured
}

// firstRunEvents change the checklist.
var firstRunEvents = []string{models.EventApprovalRequested, models.EventMessageApproved,
	models.EventMessageCaptured, models.EventMessageSent, models.EventTokenRevoked}

func (f firstRun) done() bool { return f.Inbox != nil && f.Token && f.Sent && f.Approved }

// shown reports whether the checklist is on the dashboard.
func (f *firstRun) shown() bool { return f != nil && f.Sandbox != nil && !f.done() }

// loadFirstRun reads what the checklist needs from the API.
func loadFirstRun(ctx context.Context, cl *client.Client) (firstRun, error) {
	var f firstRun
	ds, err := cl.AllDomains(ctx)
	if err != nil {
		return f, err
	}
	for i := range ds {
		if ds[i].Sandbox && !ds[i].Disabled {
			f.Sandbox = &ds[i]
			break
		}
	}
	if f.Sandbox == nil {
		return f, nil
	}
	ins, err := cl.AllInboxes(ctx)
	if err != nil {
		return f, err
	}
	sandbox := map[string]bool{}
	for i := range ins {
		if ins[i].Sandbox {
			sandbox[ins[i].ID] = true
			if f.Inbox == nil {
				f.Inbox = &ins[i]
			}
		}
	}
	if f.Inbox == nil {
		return f, nil
	}
	ts, err := cl.AllTokens(ctx, "")
	if err != nil {
		return f, err
	}
	for _, t := range ts {
		f.Token = f.Token || (sandbox[t.InboxID] && t.Status == "active")
	}
	capd, err := cl.Captured(ctx, client.CapturedQuery{Page: client.Page{Limit: 1}})
	if err != nil {
		return f, err
	}
	if len(capd.Data) > 0 {
		f.Sent, f.Approved = true, true
		return f, nil
	}
	as, err := cl.AllApprovals(ctx, client.ApprovalQuery{})
	if err != nil {
		return f, err
	}
	for _, a := range as {
		if sandbox[a.InboxID] {
			f.Sent = true
			f.Approved = f.Approved || a.Status == models.ApprovalApproved
		}
	}
	return f, nil
}

// firstRunView draws the checklist.
func firstRunView(c *common.Common, f *firstRun) []string {
	st := c.Styles
	k := c.Keys
	inbox := "agent@" + f.Sandbox.Name
	if f.Inbox != nil {
		inbox = f.Inbox.Address
	}
	steps := []struct {
		done bool
		key  key.Binding
		what string
	}{
		{f.Inbox != nil, k.StepInbox, "Create a sandbox inbox (" + inbox + ")"},
		{f.Token, k.StepToken, "Issue it a supervised token (preset 2)"},
		{f.Sent, k.StepSend, "Send a test message as the agent (copies the curl)"},
		{f.Approved, k.StepApprove, "Approve it; the mail lands in Captured"},
	}
	out := []string{st.Title.Render("Get started") + st.Sandbox.Render(" on your sandbox domain "+f.Sandbox.Name)}
	for _, s := range steps {
		mark := st.Muted.Render(styles.Todo)
		if s.done {
			mark = st.Success.Render(styles.OK)
		}
		out = append(out, fmt.Sprintf("  %s [%s] %s", mark, s.key.Help().Key, s.what))
	}
	return out
}

// firstRunKey opens a step's screen, or copies the agent's send command.
func firstRunKey(c *common.Common, f *firstRun, msg tea.KeyMsg) (tea.Cmd, bool) {
	k := c.Keys
	switch {
	case key.Matches(msg, k.StepInbox):
		return common.Push(NewSandboxInboxAdd(c)), true
	case key.Matches(msg, k.StepToken):
		if f.Inbox == nil {
			return common.FlashError("Create the sandbox inbox first (1)."), true
		}
		in := *f.Inbox
		return common.Push(NewTokenAdd(c, &in)), true
	case key.Matches(msg, k.StepSend):
		if f.Inbox == nil {
			return common.FlashError("Create the sandbox inbox first (1)."), true
		}
		return c.Copy("first-run send", agentSendCommand(c.Client.Server(), f.Inbox.ID)), true
	case key.Matches(msg, k.StepApprove):
		return common.Push(NewApprovals(c)), true
	}
	return nil, false
}

// agentSendCommand is the send an agent makes, for the shell, its token
// in $AGENT (the value shown once when it was created).
func agentSendCommand(server, inboxID string) string {
	return fmt.Sprintf(`curl -s %s/v1/inboxes/%s/messages/send -H "Authorization: Bearer $AGENT" `+
		`-d '{"to":["ada@example.com"],"subject":"Hello from my agent","text":"A test message."}'`,
		strings.TrimSuffix(server, "/"), inboxID)
}
