package api

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gent/models"
)

// boolQuery reads an optional true/false query parameter.
func boolQuery(c *fiber.Ctx, name string) (*bool, error) {
	switch c.Query(name) {
	case "":
		return nil, nil
	case "true", "1":
		v := true
		return &v, nil
	case "false", "0":
		v := false
		return &v, nil
	}
	return nil, models.Invalid(name, "%s must be true or false", name)
}

func (a *API) listMessages(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	cursor, limit, err := page(c, idCursor(models.PrefixMessage))
	if err != nil {
		return err
	}
	unread, err := boolQuery(c, "unread")
	if err != nil {
		return err
	}
	f := models.MessageFilter{ThreadID: c.Query("thread_id"), Label: c.Query("label"), Unread: unread,
		Direction: c.Query("direction"), Query: c.Query("q")}
	rows, next, err := a.Mail.ListMessages(c.UserContext(), org, inbox, f, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getMessage(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	m, err := a.Mail.GetMessage(c.UserContext(), org, inbox, c.Params("id"))
	if err != nil {
		return err
	}
	if m.Direction != models.DirectionOutbound {
		return c.JSON(m)
	}
	// A sent message also shows its delivery and, if held, its approval.
	out := models.SentMessage{Message: *m}
	if out.Delivery, err = a.Delivery.Status(c.UserContext(), org, m.ID); err != nil {
		return err
	}
	if out.Approval, err = a.Approvals.ForMessage(c.UserContext(), org, m.ID); err != nil {
		return err
	}
	return c.JSON(out)
}

// safeHeaders keeps browsers from rendering or sniffing message content
// served by the API.
func safeHeaders(c *fiber.Ctx) {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}

func (a *API) rawMessage(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	raw, err := a.Mail.RawMessage(c.UserContext(), org, inbox, id)
	if err != nil {
		return err
	}
	safeHeaders(c)
	c.Set(fiber.HeaderContentType, "message/rfc822")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": id + ".eml"}))
	return c.Send(raw)
}

func (a *API) getAttachment(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	att, body, err := a.Mail.AttachmentContent(c.UserContext(), org, inbox, c.Params("id"), c.Params("att_id"))
	if err != nil {
		return err
	}
	ct := "application/octet-stream"
	if mt, _, err := mime.ParseMediaType(att.ContentType); err == nil && strings.Count(mt, "/") == 1 {
		ct = mt
		if strings.HasPrefix(mt, "text/") {
			ct = mime.FormatMediaType(mt, map[string]string{"charset": "utf-8"})
		}
	}
	name := att.Filename
	if name == "" {
		name = att.ID
	}
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disp == "" {
		disp = mime.FormatMediaType("attachment", map[string]string{"filename": att.ID})
	}
	safeHeaders(c)
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentDisposition, disp)
	return c.Send(body)
}

func (a *API) listThreads(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	cursor, limit, err := page(c, threadCursor)
	if err != nil {
		return err
	}
	unread, err := boolQuery(c, "unread")
	if err != nil {
		return err
	}
	rows, next, err := a.Mail.ListThreads(c.UserContext(), org, inbox, c.Query("label"), unread, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) createContact(c *fiber.Ctx) error {
	org, inbox, err := a.inboxScope(c)
	if err != nil {
		return err
	}
	var req models.CreateContactRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ct, created, err := a.Mail.CreateContact(c.UserContext(), org, inbox, req)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(ct)
}
