package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/auth"
)

// Most routes under /v1/inboxes/:inbox_id/ have one shape: find the
// organization and inbox the request works in, read a page or a JSON body,
// call one service method with them (and the path's :id), render. The
// adapters below are that shape, written once, so a route table entry names
// only its scope and its service method:
//
//	inboxGet(a.inboxScope, a.Delivery.GetDraft)
//
// (a list also names the kind of its cursor: inboxList(a.inboxScope,
// idCursor(models.PrefixMessage), a.Delivery.ListDrafts)).
//
// The scope comes first, so with a.inboxScope another organization's (or
// an inactive) inbox is a 404 however wrong the rest of the request is.
// A route whose handler does more (query filters, download headers, a choice
// between service calls, 200-or-201, a path key other than :id) keeps a
// function of its own.

// scopeFunc gives the organization and inbox of an inbox route, or the error
// to answer with.
type scopeFunc func(c *fiber.Ctx) (orgID, inboxID string, err error)

// inboxScope returns the organization and inbox of an inbox route. Tokens
// are already bound to their own (active) inbox by the policy; sessions may
// use any active inbox of their organization, anything else is a 404.
func (a *API) inboxScope(c *fiber.Ctx) (orgID, inboxID string, err error) {
	p := principal(c)
	inboxID = c.Params("inbox_id")
	if p.Kind == auth.KindUser {
		if _, err := a.Mail.GetInbox(c.UserContext(), p.OrgID, inboxID); err != nil {
			return "", "", err
		}
	}
	return p.OrgID, inboxID, nil
}

// orgInbox is the scope of the admin-only inbox routes (sender rules): the
// caller's organization and the path's inbox, not looked up here; the
// service filters by both, so another organization's inbox is still a 404.
func orgInbox(c *fiber.Ctx) (orgID, inboxID string, err error) {
	return principal(c).OrgID, c.Params("inbox_id"), nil
}

// inboxList answers GET of a collection: one page (?cursor=, ?limit=) in
// the list envelope.
func inboxList[T any](scope scopeFunc, kind cursorKind, fn func(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]T, string, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := scope(c)
		if err != nil {
			return err
		}
		cursor, limit, err := page(c, kind)
		if err != nil {
			return err
		}
		rows, next, err := fn(c.UserContext(), org, inbox, cursor, limit)
		if err != nil {
			return err
		}
		return list(c, rows, next)
	}
}

// inboxCreate answers POST of a collection: the JSON body in, 201 and the
// new object out.
func inboxCreate[Req, T any](scope scopeFunc, fn func(ctx context.Context, orgID, inboxID string, req Req) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := scope(c)
		if err != nil {
			return err
		}
		var req Req
		if err := decode(c, &req); err != nil {
			return err
		}
		v, err := fn(c.UserContext(), org, inbox, req)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(v)
	}
}

// inboxGet answers GET of the object :id: 200 and the object.
func inboxGet[T any](scope scopeFunc, fn func(ctx context.Context, orgID, inboxID, id string) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := scope(c)
		if err != nil {
			return err
		}
		v, err := fn(c.UserContext(), org, inbox, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// inboxUpdate answers PATCH of the object :id: the JSON body in, 200 and
// the updated object out.
func inboxUpdate[Req, T any](scope scopeFunc, fn func(ctx context.Context, orgID, inboxID, id string, req Req) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := scope(c)
		if err != nil {
			return err
		}
		var req Req
		if err := decode(c, &req); err != nil {
			return err
		}
		v, err := fn(c.UserContext(), org, inbox, c.Params("id"), req)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// inboxDelete answers DELETE of the object :id: 204.
func inboxDelete(scope scopeFunc, fn func(ctx context.Context, orgID, inboxID, id string) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		org, inbox, err := scope(c)
		if err != nil {
			return err
		}
		if err := fn(c.UserContext(), org, inbox, c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
