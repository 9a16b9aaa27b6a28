package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) listQuarantine(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixMessage))
	if err != nil {
		return err
	}
	rows, next, err := a.Mail.ListQuarantine(c.UserContext(), principal(c).OrgID, c.Query("inbox_id"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getQuarantined(c *fiber.Ctx) error {
	m, err := a.Mail.GetQuarantined(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (a *API) releaseQuarantined(c *fiber.Ctx) error {
	m, err := a.Mail.ReleaseQuarantined(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (a *API) deleteQuarantined(c *fiber.Ctx) error {
	if err := a.Mail.DeleteQuarantined(c.UserContext(), principal(c).OrgID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
