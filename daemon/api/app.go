// Package api is the Fiber application: the route table, the auth and
// policy middleware, error mapping, idempotency, and handlers that only
// translate HTTP to service calls and back.
package api

import (
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"gent/daemon/approvals"
	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/caps"
	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/daemon/domains"
	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/mcp"
	"gent/daemon/metrics"
	"gent/daemon/policy"
	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

// Deps are the services the API calls.
type Deps struct {
	Config config.Config
	Store  *store.Store
	Auth   *auth.Service
	Audit  *audit.Service
	Events *events.Service
	Mail   *mail.Service
	Log    *slog.Logger

	Domains   *domains.Service
	Webhooks  *events.Webhooks
	Delivery  *delivery.Service
	Approvals *approvals.Service
	Caps      *caps.Service
	Policy    *policy.Service
	// Metrics, when set, counts requests by route template and status.
	Metrics *metrics.Metrics
}

type API struct {
	Deps
	limiter *ratelimit.Limiter
	app     *fiber.App
	mcp     *mcp.Server
	// paths are the route templates of the table: a request's metrics
	// label is its route's template, or "unmatched".
	paths map[string]bool
}

// New builds the Fiber app with every route registered.
func New(d Deps) *fiber.App {
	a := &API{Deps: d, limiter: ratelimit.New(d.Store)}
	app := fiber.New(fiber.Config{
		// No proxy header is read by Fiber: the client's address behind
		// http.trusted_proxies is settled by resolveClient (clientip.go).
		AppName:               "gentd",
		BodyLimit:             d.Config.HTTP.BodyLimitBytes,
		DisableStartupMessage: true,
		StrictRouting:         false,
		CaseSensitive:         true,
		// Values read from a request (c.Params, c.Get, c.Query, c.Body)
		// are copies that stay valid after the handler returns, not views
		// into buffers Fiber recycles for the next request: event streams,
		// goroutines, caches and logs may keep them. See docs/operations.md.
		Immutable:    true,
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			writeError(c, d.Log, err)
			return nil
		},
	})
	a.app, a.mcp = app, a.newMCP()
	app.Hooks().OnShutdown(func() error { a.mcp.Close(); return nil })
	app.Use(newProxies(d.Config.HTTP).resolveClient)
	app.Use(requestid.New(requestid.Config{Header: "X-Request-Id"}))
	app.Use(a.accessLog)
	app.Use(a.recoverPanic)
	a.paths = map[string]bool{}
	for _, r := range a.Routes() {
		app.Add(r.Method, r.Path, a.wrap(r))
		a.paths[r.Path] = true
	}
	return app
}

func (a *API) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.Log.Error("panic in handler", "panic", r, "path", c.Path(), "stack", string(debug.Stack()))
			writeError(c, a.Log, models.Errorf(models.CodeInternal, "internal error"))
			err = nil
		}
	}()
	return c.Next()
}

// accessLog writes one structured line per request. It never logs headers,
// bodies or query strings, which may hold secrets.
func (a *API) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		writeError(c, a.Log, err)
	}
	attrs := []any{"method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "remote", clientIP(c),
		"request_id", c.Locals("requestid")}
	if p, ok := c.Locals("principal").(*auth.Principal); ok {
		attrs = append(attrs, "actor", p.ID())
	}
	a.Log.Info("http", attrs...)
	if a.Metrics != nil {
		a.Metrics.APIRequest(a.routeLabel(c), c.Method(), c.Response().StatusCode(), time.Since(start))
	}
	return nil
}

// routeLabel is the template of the route that served the request (Fiber's
// route path, such as /v1/inboxes/:id), never the URL: the label's values
// are the route table's. A request no route matched is "unmatched".
func (a *API) routeLabel(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && a.paths[r.Path] {
		return r.Path
	}
	return "unmatched"
}

func principal(c *fiber.Ctx) *auth.Principal {
	p, _ := c.Locals("principal").(*auth.Principal)
	return p
}

func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func requestID(c *fiber.Ctx) string {
	s, _ := c.Locals("requestid").(string)
	return s
}
