package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

// Sandbox routes: captured mail (owner, admin) and the domain PATCH that
// disables a sandbox.

func (a *API) listCaptured(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixCaptured))
	if err != nil {
		return err
	}
	rows, next, err := a.Delivery.ListCaptured(c.UserContext(), principal(c).OrgID, c.Query("inbox_id"), c.Query("to"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getCaptured(c *fiber.Ctx) error {
	m, err := a.Delivery.GetCaptured(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (a *API) updateDomain(c *fiber.Ctx) error {
	var req models.UpdateDomainRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := a.Domains.Update(c.UserContext(), principal(c).OrgID, c.Params("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(d)
}
