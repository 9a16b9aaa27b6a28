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
	return count{N: len(users), Detail: strings.Join(parts, " · ")}, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
