package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/daemon/domains"
	"gent/models"
)

func (a *API) createDomain(c *fiber.Ctx) error {
	var req models.CreateDomainRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, created, err := a.Domains.Create(c.UserContext(), principal(c).OrgID, req)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(d)
}

func (a *API) listDomains(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixDomain))
	if err != nil {
		return err
	}
	ds, next, err := a.Domains.List(c.UserContext(), principal(c).OrgID, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, ds, next)
}

func (a *API) getDomain(c *fiber.Ctx) error {
	d, err := a.Domains.Get(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) verifyDomain(c *fiber.Ctx) error {
	p := principal(c)
	d, err := a.Domains.Verify(c.UserContext(), p.OrgID, c.Params("id"), domains.Actor{Type: p.Kind, ID: p.ID()})
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) domainZone(c *fiber.Ctx) error {
	z, err := a.Domains.Zone(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	return c.SendString(z)
}

func (a *API) deleteDomain(c *fiber.Ctx) error {
	if err := a.Domains.Delete(c.UserContext(), principal(c).OrgID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
