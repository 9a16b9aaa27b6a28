package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/models"
)

func (a *API) setCap(c *fiber.Ctx) error {
	var req models.SetCapRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	v, err := a.Caps.Set(c.UserContext(), p.OrgID, p.ID(), req)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (a *API) listCaps(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixInbox))
	if err != nil {
		return err
	}
	rows, next, err := a.Caps.List(c.UserContext(), principal(c).OrgID, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}

func (a *API) getCap(c *fiber.Ctx) error {
	v, err := a.Caps.Get(c.UserContext(), principal(c).OrgID, c.Params("inbox_id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (a *API) removeCap(c *fiber.Ctx) error {
	p := principal(c)
	if err := a.Caps.Remove(c.UserContext(), p.OrgID, p.ID(), c.Params("inbox_id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// usageReport answers GET /v1/billing/usage/?from&to (RFC 3339; default:
// the 24 hours up to now).
func (a *API) usageReport(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixInbox))
	if err != nil {
		return err
	}
	to := a.Caps.Now()
	if s := c.Query("to"); s != "" {
		if to, err = queryTime(s); err != nil {
			return models.Invalid("to", "to must be an RFC 3339 time such as 2025-01-15T10:00:00Z")
		}
	}
	from := to.Add(-24 * time.Hour)
	if s := c.Query("from"); s != "" {
		if from, err = queryTime(s); err != nil {
			return models.Invalid("from", "from must be an RFC 3339 time such as 2025-01-14T10:00:00Z")
		}
	}
	rep, err := a.Caps.Report(c.UserContext(), principal(c).OrgID, from, to, c.Query("inbox_id"), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

func (a *API) verifyUsage(c *fiber.Ctx) error {
	v, err := a.Caps.Verify(c.UserContext(), principal(c).OrgID)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// rfc3339 is RFC 3339's date-time (section 5.6) as the server reads it:
// upper-case T and Z, fractional seconds after a dot, an offset of at most
// 23:59. Go's time.Parse alone also takes a comma before the fraction and
// offsets such as +24:00 or +01:60, which no RFC 3339 reader would.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// queryTime parses an RFC 3339 query value. A "+" of an offset that was
// not percent-encoded arrives as a space; it is read as the "+" it was.
func queryTime(s string) (time.Time, error) {
	s = strings.ReplaceAll(s, " ", "+")
	if !rfc3339.MatchString(s) {
		return time.Time{}, fmt.Errorf("not an RFC 3339 date-time: %q", s)
	}
	return time.Parse(time.RFC3339, s)
}
