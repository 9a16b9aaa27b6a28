package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/daemon/delivery"
	"gent/daemon/store"
	"gent/models"
)

// modeDraft sends a stored draft (POST …/drafts/{id}/send).
const modeDraft = "draft"

// send handles send, reply, reply-all and forward: 202 once the message is
// stored and queued (or held for approval) in one committed transaction.
func (a *API) send(mode string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := a.inboxScope(c)
		if err != nil {
			return err
		}
		p := principal(c)
		in := delivery.SendInput{OrgID: org, InboxID: inbox, Mode: mode, Original: c.Params("id"),
			Held: p.Held(models.ScopeEmailSend), TokenID: p.TokenID, TokenLabel: p.TokenLabel}
		if isDryRun(c) {
			return a.dryRun(c, mode, in)
		}
		if cl := store.ClaimOf(c.UserContext()); cl != nil {
			cl.Status = fiber.StatusAccepted // the send records its answer with its effect
		}
		// A send records its audit entry in the transaction that
		// records it: one commit per send instead of two.
		var audited func()
		in.Audit, audited = a.auditInTx(c, fiber.StatusAccepted)
		var resp *models.SendResponse
		switch mode {
		case modeDraft:
			resp, err = a.Delivery.SendDraft(c.UserContext(), in, c.Params("id"))
		case delivery.ModeSend:
			if err = decode(c, &in.Send); err == nil {
				resp, err = a.Delivery.Send(c.UserContext(), in)
			}
		default:
			if err = decode(c, &in.Reply); err == nil {
				resp, err = a.Delivery.Send(c.UserContext(), in)
			}
		}
		if err != nil {
			return err
		}
		audited()
		return c.Status(fiber.StatusAccepted).JSON(resp)
	}
}

func (a *API) deleteSuppression(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	if err := a.Delivery.DeleteSuppression(c.UserContext(), org, inbox, c.Params("address")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) getSendStatus(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	m, err := a.Mail.GetMessage(c.UserContext(), org, inbox, c.Params("id"))
	if err != nil {
		return err
	}
	st, err := a.Delivery.Status(c.UserContext(), org, m.ID)
	if err != nil {
		return err
	}
	if st == nil { // received mail: nothing to deliver
		st = &models.SendStatus{ID: m.ID, Status: m.Status, CreatedAt: m.CreatedAt, Recipients: []models.RecipientDelivery{}}
	}
	return c.JSON(st)
}

// dryRun answers ?dry_run=true: the decision a send would get, with
// nothing stored, counted or evented.
func (a *API) dryRun(c *fiber.Ctx, mode string, in delivery.SendInput) error {
	var (
		res *models.DryRunResult
		err error
	)
	switch mode {
	case modeDraft:
		res, err = a.Delivery.SimulateDraft(c.UserContext(), in, c.Params("id"))
	case delivery.ModeSend:
		if err = decode(c, &in.Send); err == nil {
			res, err = a.Delivery.Simulate(c.UserContext(), in)
		}
	default:
		if err = decode(c, &in.Reply); err == nil {
			res, err = a.Delivery.Simulate(c.UserContext(), in)
		}
	}
	if err != nil {
		return err
	}
	return c.JSON(res)
}
