package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) createDraft(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	var req models.DraftRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := a.Delivery.CreateDraft(c.UserContext(), org, inbox, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(d)
}

func (a *API) listDrafts(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	cursor, limit, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := a.Delivery.ListDrafts(c.UserContext(), org, inbox, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getDraft(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	d, err := a.Delivery.GetDraft(c.UserContext(), org, inbox, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) updateDraft(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	var req models.DraftRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := a.Delivery.UpdateDraft(c.UserContext(), org, inbox, c.Params("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) deleteDraft(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	if err := a.Delivery.DeleteDraft(c.UserContext(), org, inbox, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
