package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) createToken(c *fiber.Ctx) error {
	shownOnce(c, "token")
	var req models.CreateTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := a.Auth.CreateToken(c.UserContext(), principal(c), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (a *API) listTokens(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixToken))
	if err != nil {
		return err
	}
	rows, next, err := a.Auth.ListTokens(c.UserContext(), principal(c).OrgID, c.Query("inbox_id"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getToken(c *fiber.Ctx) error {
	t, err := a.Auth.GetToken(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) rotateToken(c *fiber.Ctx) error {
	shownOnce(c, "token")
	t, err := a.Auth.RotateToken(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) revokeToken(c *fiber.Ctx) error {
	if err := a.Auth.RevokeToken(c.UserContext(), principal(c).OrgID, c.Params("id"), a.Events); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) whoAmI(c *fiber.Ctx) error {
	w, err := a.Auth.WhoAmI(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(w)
}

func (a *API) listScopes(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"data": models.Scopes})
}
