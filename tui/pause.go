package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/screens"
	"gent/tui/styles"
)

// pauseWatch follows the kill switch (docs/policy.md) so that every screen
// shows a red banner while sending is paused, for the organization or for
// an inbox. It loads the organization's policy and the inboxes' when the
// event stream connects (on sign-in and after every reconnect), when a
// policy.sending_paused or policy.sending_resumed event arrives, and when
// a screen of this TUI changed a policy.
type pauseWatch struct {
	req   common.Requests
	live  common.Debouncer
	state *pauseState
}

// pauseState is what the banner says.
type pauseState struct {
	OrgID   string
	Org     bool     // the organization is paused
	Inboxes []string // addresses of the paused inboxes
}

var pauseEvents = map[string]bool{models.EventPolicySendingPaused: true, models.EventPolicySendingResumed: true}

// update looks at every message the screens get; it returns the call to
// make, if any.
func (p *pauseWatch) update(c *common.Common, msg tea.Msg) tea.Cmd {
	if _, ok := p.live.Fire(msg); ok {
		return p.load(c)
	}
	switch msg := msg.(type) {
	case common.StreamMsg:
		if msg.Live {
			return p.load(c)
		}
	case common.EventMsg:
		if pauseEvents[msg.Event.Type] {
			return p.live.Add(c, msg.Event.Type)
		}
	case screens.ChangedMsg:
		if msg.Kind == screens.KindPolicy {
			return p.load(c)
		}
	case common.ResultMsg[*pauseState]:
		if _, ok := p.req.Done(msg.ID); ok {
			p.state = msg.Value
		}
	case common.ErrorMsg:
		// The banner keeps what it knew; the screens say the daemon
		// cannot be reached.
		p.req.Done(msg.ID)
	}
	return nil
}

func (p *pauseWatch) load(c *common.Common) tea.Cmd {
	if c.Me == nil {
		return nil
	}
	orgID, admin := c.Me.Org.ID, c.IsAdmin()
	id, cmd := common.Call(c, func(ctx context.Context, cl *client.Client) (*pauseState, error) {
		return loadPause(ctx, cl, orgID, admin)
	})
	p.req.Start("pause", id, "")
	return cmd
}

// loadPause reads the organization's policy and, for owners and admins,
// each inbox's.
func loadPause(ctx context.Context, cl *client.Client, orgID string, admin bool) (*pauseState, error) {
	op, err := cl.OrgPolicy(ctx)
	if err != nil {
		return nil, err
	}
	st := &pauseState{OrgID: orgID, Org: op.SendingPaused}
	if !admin {
		return st, nil
	}
	ins, err := cl.AllInboxes(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		ip, err := cl.InboxPolicy(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if ip.SendingPaused {
			st.Inboxes = append(st.Inboxes, in.Address)
		}
	}
	return st, nil
}

// text is the banner's sentence, "" while nothing is paused.
func (p *pauseWatch) text(c *common.Common) string {
	s := p.state
	if s == nil || c.Me == nil || s.OrgID != c.Me.Org.ID {
		return ""
	}
	switch {
	case s.Org:
		return "SENDING PAUSED for the whole organization: no mail leaves (P resumes)"
	case len(s.Inboxes) == 1:
		return "SENDING PAUSED for " + s.Inboxes[0] + ": its mail waits (P on the inbox)"
	case len(s.Inboxes) > 1:
		return fmt.Sprintf("SENDING PAUSED for %d inboxes (%s, …): their mail waits", len(s.Inboxes), s.Inboxes[0])
	}
	return ""
}

// lines is the height of the banner: 1 while it shows, else 0.
func (p *pauseWatch) lines(c *common.Common) int {
	if p.text(c) == "" {
		return 0
	}
	return 1
}

// view is the banner across the width, with a newline, or "".
func (p *pauseWatch) view(c *common.Common, width int) string {
	t := p.text(c)
	if t == "" {
		return ""
	}
	t = ansi.Truncate(styles.Fail+" "+t, width, "…")
	t += strings.Repeat(" ", max(0, width-ansi.StringWidth(t)))
	return c.Styles.Banner.Render(t) + "\n"
}
