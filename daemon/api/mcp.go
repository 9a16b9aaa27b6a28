package api

import (
	"bytes"
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/valyala/fasthttp"

	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/mcp"
	"gent/daemon/store"
	"gent/models"
)

// The MCP endpoint (/mcp) runs behind the same chain as every route: wrap
// authenticates the agent token (anything else is a 401), rate-limits the
// credential and records denials; the SDK's Streamable HTTP handler then
// serves the JSON-RPC exchange, its tools calling the services. The API's
// own rules reach the tools through mcpGuard: idempotency and the audit
// trail are this file's adapters around the code the REST routes use.

func (a *API) newMCP() *mcp.Server {
	return mcp.New(mcp.Deps{Auth: a.Auth, Mail: a.Mail, Delivery: a.Delivery, Approvals: a.Approvals, Events: a.Events,
		Guard: mcpGuard{a}, Log: a.Log, Heartbeat: a.Config.Events.Heartbeat.D()})
}

// MCP returns the MCP server (for tests that enumerate its tools).
func (a *API) MCP() *mcp.Server { return a.mcp }

// serveMCP hands an authenticated request to the MCP handler.
func (a *API) serveMCP(c *fiber.Ctx) error {
	r := mcp.Request{Principal: principal(c), RemoteAddr: clientIP(c), RequestID: requestID(c)}
	return adaptor.HTTPHandler(a.mcp.Handler(r))(c)
}

type mcpGuard struct{ a *API }

// Idempotent runs fn under the API's Idempotency-Key rule (a.idempotent),
// as the REST request POST path with body and the key as its header, so
// the two transports share one implementation and one key space per
// credential.
func (g mcpGuard) Idempotent(ctx context.Context, p *auth.Principal, key, path string, body []byte, status int,
	fn func(ctx context.Context) (any, error)) (int, []byte, error) {
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(fiber.MethodPost)
	fctx.Request.SetRequestURI(path)
	fctx.Request.Header.SetContentType(fiber.MIMEApplicationJSON)
	fctx.Request.Header.Set("Idempotency-Key", key)
	fctx.Request.SetBody(body)
	c := g.a.app.AcquireCtx(fctx)
	defer g.a.app.ReleaseCtx(c)
	c.SetUserContext(ctx)
	err := g.a.idempotent(c, p, func(c *fiber.Ctx) error {
		if cl := store.ClaimOf(c.UserContext()); cl != nil {
			cl.Status = status // the service records its answer with its effect
		}
		v, err := fn(c.UserContext())
		if err != nil {
			return err
		}
		return c.Status(status).JSON(v)
	})
	var written errWritten
	if err != nil && !errors.As(err, &written) {
		return 0, nil, err
	}
	return c.Response().StatusCode(), bytes.Clone(c.Response().Body()), nil
}

// Audit records a tool call as the REST route's action, by the token.
func (g mcpGuard) Audit(ctx context.Context, r mcp.Request, action, target string, err error, detail map[string]any) {
	status := fiber.StatusOK
	if err != nil {
		status = statusOfError(err)
		detail["code"] = models.ErrorCode(err)
		if detail["code"] == "" {
			detail["code"] = models.CodeInternal
		}
	}
	p := r.Principal
	e := audit.Entry{OrgID: p.OrgID, ActorType: p.Kind, ActorID: p.ID(), Action: action, Outcome: outcomeOf(status),
		Status: status, RemoteAddr: r.RemoteAddr, RequestID: r.RequestID, TargetID: target, Detail: detail}
	if err := g.a.Audit.Record(context.WithoutCancel(ctx), nil, e); err != nil {
		g.a.Log.Error("audit mcp call", "err", err)
	}
}

// statusOfError is the HTTP status the API answers err with.
func statusOfError(err error) int {
	if s, ok := statusOf[models.ErrorCode(err)]; ok {
		return s
	}
	return fiber.StatusInternalServerError
}
