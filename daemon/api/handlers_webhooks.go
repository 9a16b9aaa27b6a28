package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) createWebhook(c *fiber.Ctx) error {
	shownOnce(c, "secret")
	var req models.CreateWebhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	w, err := a.Webhooks.Create(c.UserContext(), p.OrgID, p.ID(), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(w)
}

func (a *API) listWebhooks(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixWebhook))
	if err != nil {
		return err
	}
	rows, next, err := a.Webhooks.List(c.UserContext(), principal(c).OrgID, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getWebhook(c *fiber.Ctx) error {
	w, err := a.Webhooks.Get(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(w)
}

func (a *API) deleteWebhook(c *fiber.Ctx) error {
	if err := a.Webhooks.Delete(c.UserContext(), principal(c).OrgID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) listDeliveries(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixDelivery))
	if err != nil {
		return err
	}
	rows, next, err := a.Webhooks.Deliveries(c.UserContext(), principal(c).OrgID, c.Params("id"), c.Query("status"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}
