package screens

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
)

// section is one line of the dashboard: the key that opens its screen,
// and, for parts of the organization that can be counted, the call that
// counts them. Each count is its own call, so a slow or failing one never
// hides the others. A screen for a new part of the API joins the
// dashboard by adding its section here.
type section struct {
	Name      string
	Key       func(*common.Common) key.Binding
	AdminOnly bool // owners and admins only; reviewers do not see it
	Count     func(context.Context, *client.Client) (count, error)
	Open      func(*common.Common) common.Component
	About     string // shown when the section has no count
	// Events are the event types that change the count: when one
	// arrives on the live stream the count is fetched again.
	Events []string
}

// count is what a section shows: a number and a one-line breakdown.
type count struct {
	N      int
	Detail string
	Alert  bool // draw attention (e.g. items waiting for someone)
}

// sections lists the dashboard in display order.
func sections() []section {
	return []section{
		{
			Name: "Domains", Key: func(c *common.Common) key.Binding { return c.Keys.Domains },
			AdminOnly: true, Count: countDomains,
			Open:   func(c *common.Common) common.Component { return NewDomains(c) },
			Events: []string{models.EventDomainVerified, models.EventDomainChanged},
		},
		{
			Name: "Inboxes", Key: func(c *common.Common) key.Binding { return c.Keys.Inboxes },
			AdminOnly: true, Count: countInboxes,
			Open: func(c *common.Common) common.Component { return NewInboxes(c) },
			Events: []string{models.EventMessageReceived, models.EventMessageSent, models.EventMessageApproved,
				models.EventMessageRejected, models.EventMessageExpired},
		},
		{
			Name: "Tokens", Key: func(c *common.Common) key.Binding { return c.Keys.Tokens },
			AdminOnly: true, Count: countTokens,
			Open:   func(c *common.Common) common.Component { return NewTokens(c, nil) },
			Events: []string{models.EventTokenRevoked},
		},
		{
			Name: "Approvals", Key: func(c *common.Common) key.Binding { return c.Keys.Approvals },
			Count:  countApprovals,
			Open:   func(c *common.Common) common.Component { return NewApprovals(c) },
			Events: approvalEvents,
		},
		{
			Name: "Quarantine", Key: func(c *common.Common) key.Binding { return c.Keys.Quarantine },
			Count:  countQuarantine,
			Open:   func(c *common.Common) common.Component { return NewQuarantine(c) },
			Events: quarantineEvents,
		},
		{
			Name: "Captured", Key: func(c *common.Common) key.Binding { return c.Keys.Captured },
			AdminOnly: true, Count: countCaptured,
			Open:   func(c *common.Common) common.Component { return NewCaptured(c) },
			Events: []string{models.EventMessageCaptured},
		},
		{
			Name: "Queue", Key: func(*common.Common) key.Binding { return queueKeys.Queue },
			Count:  countQueue,
			Open:   func(c *common.Common) common.Component { return NewQueue(c) },
			Events: queueEvents,
		},
		{
			Name: "Caps", Key: func(c *common.Common) key.Binding { return c.Keys.Caps },
			AdminOnly: true, Count: countCaps,
			Open:   func(c *common.Common) common.Component { return NewCaps(c) },
			Events: capEvents,
		},
		{
			Name: "Users", Key: func(c *common.Common) key.Binding { return c.Keys.Users },
			AdminOnly: true, Count: countUsers,
			Open: func(c *common.Common) common.Component { return NewUsers(c) },
		},
		{
			Name: "Audit log", Key: func(c *common.Common) key.Binding { return c.Keys.Audit },
			About: "who did what, newest first",
			Open:  func(c *common.Common) common.Component { return NewAudit(c) },
		},
	}
}

func countUsers(ctx context.Context, cl *client.Client) (count, error) {
	users, err := cl.AllUsers(ctx)
	if err != nil {
		return count{}, err
	}
	byRole := map[string]int{}
	for _, u := range users {
		byRole[u.Role]++
	}
	var parts []string
	for _, r := range []string{models.RoleOwner, models.RoleAdmin, models.RoleReviewer} {
		if n := byRole[r]; n > 0 {
			parts = append(parts, plural(n, r))
		}
	}
	if n := disabledCount(users); n > 0 {
		parts = append(parts, fmt.Sprintf("%d disabled", n))
	}
	return count{N: len(users), Detail: strings.Join(parts, " · ")}, nil
}

// countDomains counts domains by status; a degraded one draws attention.
func countDomains(ctx context.Context, cl *client.Client) (count, error) {
	ds, err := cl.AllDomains(ctx)
	if err != nil {
		return count{}, err
	}
	by := map[string]int{}
	for _, d := range ds {
		by[d.Status]++
	}
	parts := breakdown(by, models.DomainVerified, models.DomainPending, models.DomainDegraded)
	if len(ds) == 0 {
		parts = []string{"add the domain agents send from"}
	}
	return count{N: len(ds), Detail: strings.Join(parts, " · "), Alert: by[models.DomainDegraded] > 0}, nil
}

// countInboxes counts inboxes with their messages and storage.
func countInboxes(ctx context.Context, cl *client.Client) (count, error) {
	ins, err := cl.AllInboxes(ctx)
	if err != nil {
		return count{}, err
	}
	var msgs, used int64
	for _, in := range ins {
		msgs += in.MessageCount
		used += in.UsedBytes
	}
	if len(ins) == 0 {
		return count{Detail: "one address per agent, on a verified domain"}, nil
	}
	return count{N: len(ins), Detail: plural(int(msgs), "message") + " · " + humanBytes(used)}, nil
}

// countTokens counts agent tokens by status.
func countTokens(ctx context.Context, cl *client.Client) (count, error) {
	ts, err := cl.AllTokens(ctx, "")
	if err != nil {
		return count{}, err
	}
	by := map[string]int{}
	for _, t := range ts {
		by[t.Status]++
	}
	if len(ts) == 0 {
		return count{Detail: "let agents use an inbox, with the scopes you pick"}, nil
	}
	return count{N: len(ts), Detail: strings.Join(breakdown(by, "active", "expired", "revoked"), " · ")}, nil
}

// countApprovals counts the held sends waiting for a decision; any draws
// attention.
func countApprovals(ctx context.Context, cl *client.Client) (count, error) {
	as, err := cl.AllApprovals(ctx, client.ApprovalQuery{Status: models.ApprovalPending})
	if err != nil {
		return count{}, err
	}
	if len(as) == 0 {
		return count{Detail: "held sends wait here for a reviewer"}, nil
	}
	return count{N: len(as), Detail: "waiting for a decision", Alert: true}, nil
}

// countCaptured counts the sandbox mail kept instead of sent (the newest
// page: "200+" beyond).
func countCaptured(ctx context.Context, cl *client.Client) (count, error) {
	l, err := cl.Captured(ctx, client.CapturedQuery{Page: client.Page{Limit: capturedPage}})
	if err != nil {
		return count{}, err
	}
	if len(l.Data) == 0 {
		return count{Detail: "sandbox mail to outside addresses, kept here"}, nil
	}
	detail := "sandbox mail kept here, never sent"
	if l.NextCursor != "" {
		detail = "more than " + detail
	}
	return count{N: len(l.Data), Detail: detail}, nil
}

// countCaps counts the fired storage alerts, with the inboxes over their
// limit and how many are capped; a fired alert draws attention.
func countCaps(ctx context.Context, cl *client.Client) (count, error) {
	items, err := cl.AllMailboxCaps(ctx)
	if err != nil {
		return count{}, err
	}
	capped, fired, over := 0, 0, 0
	for _, it := range items {
		if it.Cap == nil {
			continue
		}
		capped++
		fired += firedAlerts(it)
		if it.UsedBytes > it.Cap.LimitBytes {
			over++
		}
	}
	if capped == 0 {
		return count{Detail: "no caps: inboxes may grow without limit"}, nil
	}
	return count{N: fired, Detail: capsDetail(fired, over, capped, len(items)), Alert: fired > 0 || over > 0}, nil
}

// capsDetail is the caps line of the dashboard, short enough for 80
// columns with counts in the hundreds.
func capsDetail(fired, over, capped, inboxes int) string {
	parts := []string{plural(fired, "alert") + " fired"}
	if over > 0 {
		parts = append(parts, fmt.Sprintf("%d over limit", over))
	}
	parts = append(parts, fmt.Sprintf("%d of %d capped", capped, inboxes))
	return strings.Join(parts, " · ")
}

// breakdown is "n key" for each key with a count, in order.
func breakdown(by map[string]int, order ...string) []string {
	var parts []string
	for _, k := range order {
		if n := by[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return parts
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	if strings.HasSuffix(word, "x") || strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
