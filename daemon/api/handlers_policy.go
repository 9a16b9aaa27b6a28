package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/daemon/policy"
	"gent/models"
)

// isDryRun reports ?dry_run=true (send routes: evaluate, change nothing).
func isDryRun(c *fiber.Ctx) bool {
	switch c.Query("dry_run") {
	case "true", "1":
		return true
	}
	return false
}

func policyActor(c *fiber.Ctx) policy.Actor {
	p := principal(c)
	return policy.Actor{Type: p.Kind, ID: p.ID(), RemoteAddr: clientIP(c), RequestID: requestID(c)}
}

func (a *API) getInboxPolicy(c *fiber.Ctx) error {
	p, err := a.Policy.Get(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) putInboxPolicy(c *fiber.Ctx) error {
	req := models.DefaultInboxPolicy()
	req.Recipients.Allow, req.Recipients.Block = nil, nil
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := a.Policy.Put(c.UserContext(), principal(c).OrgID, c.Params("id"), policyActor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) getOrgPolicy(c *fiber.Ctx) error {
	p, err := a.Policy.GetOrg(c.UserContext(), principal(c).OrgID)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) putOrgPolicy(c *fiber.Ctx) error {
	var req models.OrgPolicy
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := a.Policy.PutOrg(c.UserContext(), principal(c).OrgID, policyActor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) messageLifecycle(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	cursor, limit, err := page(c, seqCursor)
	if err != nil {
		return err
	}
	rows, next, err := a.Policy.Lifecycle(c.UserContext(), org, inbox, c.Params("id"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}
