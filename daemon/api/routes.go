package api

import "github.com/gofiber/fiber/v2"

// Route is one entry of the API: method, path, audit action name, who may
// call it, and the handler.
type Route struct {
	Method  string
	Path    string
	Name    string
	Policy  Policy
	Handler fiber.Handler
}

// Routes lists the whole API in one table.
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/healthz", "health", public(), a.healthz},
		{"GET", "/readyz", "ready", public(), a.readyz},

		{"GET", "/v1/auth/status", "auth.status", public(), a.authStatus},
		{"POST", "/v1/auth/setup", "auth.setup", public().selfAudited(), a.setup},
		{"POST", "/v1/auth/login", "auth.login", public().selfAudited(), a.login},
		{"POST", "/v1/auth/logout", "auth.logout", anyUser(), a.logout},
		{"GET", "/v1/auth/me", "auth.me", anyUser(), a.me},

		{"GET", "/v1/users", "users.list", admins(), a.listUsers},
		{"POST", "/v1/users", "users.create", admins(), a.createUser},

		{"GET", "/v1/audit", "audit.list", reviewers(), a.listAudit},

		{"GET", "/v1/events", "events.list", reviewers(), a.orgEvents},
		{"GET", "/v1/inboxes/:inbox_id/events", "inbox.events", inbox("email:read"), a.inboxEvents},
		{"POST", "/v1/webhooks", "webhooks.create", admins(), a.createWebhook},
		{"GET", "/v1/webhooks", "webhooks.list", admins(), a.listWebhooks},
		{"GET", "/v1/webhooks/:id", "webhooks.get", admins(), a.getWebhook},
		{"DELETE", "/v1/webhooks/:id", "webhooks.delete", admins(), a.deleteWebhook},
		{"GET", "/v1/webhooks/:id/deliveries", "webhooks.deliveries", admins(), a.listDeliveries},
	}
}
