package screens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gent/models"
	"gent/tui/client"
	"gent/tui/common"
	"gent/tui/styles"
)

// activity is a page of the audit trail with the names of the users in it.
type activity struct {
	Page  models.List[models.AuditEntry]
	Names map[string]string // user id -> email
}

// loadActivity fetches a page of the audit trail; admins also get the
// names of users, domains, inboxes and tokens so actors and targets show
// by name (reviewers may not list them, so they see ids, except their own).
func loadActivity(c *common.Common, q client.AuditQuery, names map[string]string) func(context.Context, *client.Client) (activity, error) {
	admin := c.IsAdmin()
	return func(ctx context.Context, cl *client.Client) (activity, error) {
		page, err := cl.Audit(ctx, q)
		if err != nil {
			return activity{}, err
		}
		a := activity{Page: page, Names: names}
		if admin && (names == nil || unnamed(c, names, page.Data)) {
			if a.Names, err = orgNames(ctx, cl); err != nil {
				return activity{}, err
			}
		}
		// Held sends are named by their subject, for reviewers too.
		if unnamedApprovals(a.Names, page.Data) {
			if a.Names, err = approvalNames(ctx, cl, a.Names); err != nil {
				return activity{}, err
			}
			for _, e := range page.Data { // gone from the lists: not asked again
				if _, ok := a.Names[e.TargetID]; strings.HasPrefix(e.TargetID, models.PrefixApproval) && !ok {
					a.Names[e.TargetID] = e.TargetID
				}
			}
		}
		return a, nil
	}
}

// orgNames names the organization's users (email), domains, inboxes
// (address) and tokens (label) by id, for actors and targets.
func orgNames(ctx context.Context, cl *client.Client) (map[string]string, error) {
	users, err := cl.AllUsers(ctx)
	if err != nil {
		return nil, err
	}
	names := userNames(users)
	domains, err := cl.AllDomains(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range domains {
		names[d.ID] = d.Name
	}
	inboxes, err := cl.AllInboxes(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range inboxes {
		names[in.ID] = in.Address
	}
	tokens, err := cl.AllTokens(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		names[t.ID] = t.Label
	}
	return names, nil
}

// approvalNames adds the organization's recent held sends of every
// status to names (copied), by their subject.
func approvalNames(ctx context.Context, cl *client.Client, names map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for k, v := range names {
		out[k] = v
	}
	for _, st := range approvalStatuses {
		l, err := cl.Approvals(ctx, client.ApprovalQuery{Status: st, Page: client.Page{Limit: 100}})
		if err != nil {
			return nil, err
		}
		for _, a := range l.Data {
			out[a.ID] = "held send " + quoteSubject(a.Subject)
		}
	}
	return out, nil
}

func unnamedApprovals(names map[string]string, entries []models.AuditEntry) bool {
	for _, e := range entries {
		if _, ok := names[e.TargetID]; strings.HasPrefix(e.TargetID, models.PrefixApproval) && !ok {
			return true
		}
	}
	return false
}

// unnamed reports whether the page names an actor or target that names
// does not know yet (an inbox or token made since the names were fetched),
// so a reload kept for events fetches the names again instead of showing ids.
func unnamed(c *common.Common, names map[string]string, entries []models.AuditEntry) bool {
	known := func(id string) bool {
		if c.Me != nil && id == c.Me.User.ID {
			return true
		}
		switch {
		case strings.HasPrefix(id, "usr_"), strings.HasPrefix(id, "dom_"),
			strings.HasPrefix(id, "inb_"), strings.HasPrefix(id, "tok_"):
			_, ok := names[id]
			return ok
		}
		return true // not a kind of object orgNames names
	}
	for _, e := range entries {
		if !known(e.ActorID) || !known(e.TargetID) {
			return true
		}
	}
	return false
}

func userNames(users []models.User) map[string]string {
	m := make(map[string]string, len(users))
	for _, u := range users {
		m[u.ID] = u.Email
	}
	return m
}

// actorName shows who acted: a user's email when known, else the id or
// the kind of actor.
func actorName(c *common.Common, names map[string]string, e models.AuditEntry) string {
	if c.Me != nil && e.ActorID == c.Me.User.ID {
		return c.Me.User.Email
	}
	if n, ok := names[e.ActorID]; ok {
		return n
	}
	if e.ActorID != "" {
		return e.ActorID
	}
	return e.ActorType
}

// targetName shows what was acted on: a user's email, the organization's
// name, or the id.
func targetName(c *common.Common, names map[string]string, e models.AuditEntry) string {
	if n, ok := names[e.TargetID]; ok {
		return n
	}
	if c.Me != nil && e.TargetID == c.Me.Org.ID {
		return c.Me.Org.Name
	}
	return e.TargetID
}

// outcome is the result with a symbol, readable without colour.
// Entries made outside a request (jobs, status changes) have no status.
func outcome(st styles.Styles, e models.AuditEntry) string {
	status := ""
	if e.Status != 0 {
		status = fmt.Sprintf(" %d", e.Status)
	}
	switch e.Outcome {
	case "success":
		return st.Success.Render(styles.OK + status)
	case "denied":
		return st.Warning.Render(styles.Warn + status)
	}
	return st.Error.Render(styles.Fail + status)
}

// Time layouts, in the local time zone.
const (
	stampLong   = "2006-01-02 15:04:05"
	stampShort  = "01-02 15:04:05"
	dateShort   = "2006-01-02 15:04"
	minuteShort = "01-02 15:04"
)

func localTime(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(layout)
}

// whenOr is a time to the minute, or never when t is nil.
func whenOr(t *time.Time, never string) string {
	if t == nil {
		return never
	}
	return localTime(*t, dateShort)
}
