package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) createInbox(c *fiber.Ctx) error {
	var req models.CreateInboxRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	in, err := a.Mail.CreateInbox(c.UserContext(), principal(c).OrgID, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(in)
}

func (a *API) listInboxes(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixInbox))
	if err != nil {
		return err
	}
	rows, next, err := a.Mail.ListInboxes(c.UserContext(), principal(c).OrgID, c.Query("domain_id"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getInbox(c *fiber.Ctx) error {
	in, err := a.Mail.GetInbox(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(in)
}

func (a *API) updateInbox(c *fiber.Ctx) error {
	var req models.UpdateInboxRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	in, err := a.Mail.UpdateInbox(c.UserContext(), principal(c).OrgID, c.Params("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(in)
}

func (a *API) deleteInbox(c *fiber.Ctx) error {
	if err := a.Mail.DeleteInbox(c.UserContext(), principal(c).OrgID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
