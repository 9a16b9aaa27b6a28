package api

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) listApprovals(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixApproval))
	if err != nil {
		return err
	}
	rows, next, err := a.Approvals.List(c.UserContext(), principal(c).OrgID, c.Query("status"), c.Query("inbox_id"), cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getApproval(c *fiber.Ctx) error {
	d, err := a.Approvals.Get(c.UserContext(), principal(c).OrgID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (a *API) approve(c *fiber.Ctx) error {
	var req models.ApproveRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	ap, err := a.Approvals.Approve(c.UserContext(), principal(c), c.Params("id"), req.Edits, clientIP(c), requestID(c))
	if err != nil {
		return err
	}
	return c.JSON(ap)
}

func (a *API) reject(c *fiber.Ctx) error {
	var req models.RejectRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ap, err := a.Approvals.Reject(c.UserContext(), principal(c), c.Params("id"), req.Reason, clientIP(c), requestID(c))
	if err != nil {
		return err
	}
	return c.JSON(ap)
}
