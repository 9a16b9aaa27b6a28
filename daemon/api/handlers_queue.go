package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/daemon/auth"
	"gent/daemon/delivery"
	"gent/models"
)

// The outbound queue (docs/queue.md). Sessions see the organization's
// deliveries; an agent token with email:read sees only its own inbox's
// (another inbox's delivery is a 404, as everywhere).

func (a *API) listQueue(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixQueued))
	if err != nil {
		return err
	}
	p := principal(c)
	f := delivery.QueueFilter{Status: c.Query("status"), Domain: c.Query("domain"), InboxID: c.Query("inbox_id")}
	if p.Kind == auth.KindToken {
		if f.InboxID != "" && f.InboxID != p.InboxID {
			return models.NotFound("inbox")
		}
		f.InboxID = p.InboxID
	}
	rows, next, err := a.Delivery.ListDeliveries(c.UserContext(), p.OrgID, f, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getQueued(c *fiber.Ctx) error {
	p := principal(c)
	d, err := a.Delivery.GetDelivery(c.UserContext(), p.OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	if p.Kind == auth.KindToken && d.InboxID != p.InboxID {
		return models.NotFound("delivery")
	}
	return c.JSON(d)
}

func (a *API) retryQueued(c *fiber.Ctx) error {
	d, err := a.Delivery.RetryDelivery(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(d)
}

func (a *API) cancelQueued(c *fiber.Ctx) error {
	p := principal(c)
	d, err := a.Delivery.CancelDelivery(c.UserContext(), p.OrgID, c.Params("id"), p.ID())
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) createPause(c *fiber.Ctx) error {
	var req models.DeliveryPauseRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	pause, created, err := a.Delivery.CreatePause(c.UserContext(), p.OrgID, p.ID(), req)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(pause)
}

func (a *API) listPauses(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixPause))
	if err != nil {
		return err
	}
	rows, next, err := a.Delivery.ListPauses(c.UserContext(), principal(c).OrgID, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) deletePause(c *fiber.Ctx) error {
	if err := a.Delivery.DeletePause(c.UserContext(), principal(c).OrgID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
