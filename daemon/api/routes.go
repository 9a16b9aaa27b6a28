package api

import (
	"github.com/gofiber/fiber/v2"

	"gent/daemon/delivery"
	"gent/models"
)

// Route is one entry of the API: method, path, audit action name, who may
// call it, and the handler. Plain inbox routes get their handler from the
// adapters in inbox_routes.go (inboxList, inboxGet, …), which name the
// scope and the service method that answers.
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
		{"POST", "/v1/auth/password", "auth.password", anyUser(), a.changePassword},
		{"POST", "/v1/auth/password-reset", "auth.password_reset", public().selfAudited(), a.resetPassword},
		{"GET", "/v1/auth/me", "auth.me", anyUser(), a.me},

		{"GET", "/v1/users", "users.list", admins(), a.listUsers},
		{"POST", "/v1/users", "users.create", admins(), a.createUser},
		{"PATCH", "/v1/users/:id", "users.update", admins(), a.updateUser},
		// Any user may delete itself (leave); others' accounts need
		// owner or admin, checked by the service.
		{"DELETE", "/v1/users/:id", "users.delete", anyUser(), a.deleteUser},
		{"POST", "/v1/users/:id/password-reset", "users.password_reset", admins(), a.issuePasswordReset},

		{"GET", "/v1/audit", "audit.list", reviewers(), a.listAudit},

		{"POST", "/v1/inboxes", "inboxes.create", admins(), a.createInbox},
		{"GET", "/v1/inboxes", "inboxes.list", admins(), a.listInboxes},
		{"GET", "/v1/inboxes/:id", "inboxes.get", admins(), a.getInbox},
		{"PATCH", "/v1/inboxes/:id", "inboxes.update", admins(), a.updateInbox},
		{"DELETE", "/v1/inboxes/:id", "inboxes.delete", admins(), a.deleteInbox},
		{"GET", "/v1/inboxes/:id/policy", "policy.inbox.get", reviewers(), a.getInboxPolicy},
		{"PUT", "/v1/inboxes/:id/policy", "policy.inbox.set", admins(), a.putInboxPolicy},
		{"GET", "/v1/policy", "policy.org.get", reviewers(), a.getOrgPolicy},
		{"PUT", "/v1/policy", "policy.org.set", admins(), a.putOrgPolicy},

		{"GET", "/v1/scopes", "scopes.list", anyUser(), a.listScopes},
		{"POST", "/v1/tokens", "tokens.create", admins(), a.createToken},
		{"GET", "/v1/tokens", "tokens.list", admins(), a.listTokens},
		{"GET", "/v1/tokens/:id", "tokens.get", admins(), a.getToken},
		{"POST", "/v1/tokens/:id/rotate", "tokens.rotate", admins(), a.rotateToken},
		{"DELETE", "/v1/tokens/:id", "tokens.revoke", admins(), a.revokeToken},
		{"GET", "/v1/token", "token.whoami", tokenOnly(), a.whoAmI},
		{"POST", "/v1/domains", "domains.create", admins(), a.createDomain},
		{"GET", "/v1/domains", "domains.list", admins(), a.listDomains},
		{"GET", "/v1/domains/:id", "domains.get", admins(), a.getDomain},
		{"POST", "/v1/domains/:id/verify", "domains.verify", admins(), a.verifyDomain},
		{"GET", "/v1/domains/:id/zone", "domains.zone", admins(), a.domainZone},
		{"DELETE", "/v1/domains/:id", "domains.delete", admins(), a.deleteDomain},
		{"PATCH", "/v1/domains/:id", "domains.update", admins(), a.updateDomain},
		{"GET", "/v1/captured", "captured.list", admins(), a.listCaptured},
		{"GET", "/v1/captured/:id", "captured.get", admins(), a.getCaptured},

		{"GET", "/v1/inboxes/:inbox_id/messages", "messages.list", inbox(models.ScopeEmailRead), a.listMessages},
		{"GET", "/v1/inboxes/:inbox_id/messages/:id", "messages.get", inbox(models.ScopeEmailRead), a.getMessage},
		{"POST", "/v1/inboxes/:inbox_id/messages/send", "messages.send", inbox(models.ScopeEmailSend), a.send(delivery.ModeSend)},
		{"POST", "/v1/inboxes/:inbox_id/messages/:id/reply", "messages.reply", inbox(models.ScopeEmailSend), a.send(delivery.ModeReply)},
		{"POST", "/v1/inboxes/:inbox_id/messages/:id/reply-all", "messages.reply_all", inbox(models.ScopeEmailSend), a.send(delivery.ModeReplyAll)},
		{"POST", "/v1/inboxes/:inbox_id/messages/:id/forward", "messages.forward", inbox(models.ScopeEmailSend), a.send(delivery.ModeForward)},
		{"GET", "/v1/inboxes/:inbox_id/messages/:id/lifecycle", "messages.lifecycle", inbox(models.ScopeEmailRead), a.messageLifecycle},
		{"GET", "/v1/inboxes/:inbox_id/messages/:id/delivery", "messages.delivery", inbox(models.ScopeEmailRead), a.getSendStatus},
		{"GET", "/v1/inboxes/:inbox_id/drafts", "drafts.list", inbox(models.ScopeEmailRead), inboxList(a.inboxScope, idCursor(models.PrefixMessage), a.Delivery.ListDrafts)},
		{"POST", "/v1/inboxes/:inbox_id/drafts", "drafts.create", inbox(models.ScopeEmailWrite), inboxCreate(a.inboxScope, a.Delivery.CreateDraft)},
		{"GET", "/v1/inboxes/:inbox_id/drafts/:id", "drafts.get", inbox(models.ScopeEmailRead), inboxGet(a.inboxScope, a.Delivery.GetDraft)},
		{"PATCH", "/v1/inboxes/:inbox_id/drafts/:id", "drafts.update", inbox(models.ScopeEmailWrite), inboxUpdate(a.inboxScope, a.Delivery.UpdateDraft)},
		{"DELETE", "/v1/inboxes/:inbox_id/drafts/:id", "drafts.delete", inbox(models.ScopeEmailWrite), inboxDelete(a.inboxScope, a.Delivery.DeleteDraft)},
		{"POST", "/v1/inboxes/:inbox_id/drafts/:id/send", "drafts.send", inbox(models.ScopeEmailSend), a.send(modeDraft)},
		{"GET", "/v1/inboxes/:inbox_id/suppressions", "suppressions.list", inbox(models.ScopeEmailRead), inboxList(a.inboxScope, addressCursor, a.Delivery.ListSuppressions)},
		{"DELETE", "/v1/inboxes/:inbox_id/suppressions/:address", "suppressions.delete", admins(), a.deleteSuppression},

		{"GET", "/v1/deliveries", "deliveries.list", queueReaders(), a.listQueue},
		{"GET", "/v1/deliveries/:id", "deliveries.get", queueReaders(), a.getQueued},
		{"POST", "/v1/deliveries/:id/retry", "deliveries.retry", admins(), a.retryQueued},
		{"POST", "/v1/deliveries/:id/cancel", "deliveries.cancel", admins(), a.cancelQueued},
		{"POST", "/v1/delivery-pauses", "delivery_pauses.create", admins(), a.createPause},
		{"GET", "/v1/delivery-pauses", "delivery_pauses.list", reviewers(), a.listPauses},
		{"DELETE", "/v1/delivery-pauses/:id", "delivery_pauses.delete", admins(), a.deletePause},

		{"GET", "/v1/approvals", "approvals.list", reviewers(), a.listApprovals},
		{"GET", "/v1/approvals/:id", "approvals.get", reviewers(), a.getApproval},
		{"POST", "/v1/approvals/:id/approve", "approvals.approve", reviewers(), a.approve},
		{"POST", "/v1/approvals/:id/reject", "approvals.reject", reviewers(), a.reject},
		{"GET", "/v1/quarantine", "quarantine.list", reviewers(), a.listQuarantine},
		{"GET", "/v1/quarantine/:id", "quarantine.get", reviewers(), a.getQuarantined},
		{"POST", "/v1/quarantine/:id/release", "quarantine.release", reviewers(), a.releaseQuarantined},
		{"POST", "/v1/quarantine/:id/delete", "quarantine.delete", reviewers(), a.deleteQuarantined},
		{"GET", "/v1/inboxes/:inbox_id/messages/:id/raw", "messages.raw", inbox(models.ScopeEmailRead), a.rawMessage},
		{"GET", "/v1/inboxes/:inbox_id/messages/:id/attachments/:att_id", "attachments.get", inbox(models.ScopeFilesRead), a.getAttachment},
		{"PATCH", "/v1/inboxes/:inbox_id/messages/:id", "messages.update", inbox(models.ScopeEmailWrite), inboxUpdate(a.inboxScope, a.Mail.UpdateMessage)},
		{"DELETE", "/v1/inboxes/:inbox_id/messages/:id", "messages.delete", inbox(models.ScopeEmailWrite), inboxDelete(a.inboxScope, a.Mail.DeleteMessage)},
		{"GET", "/v1/inboxes/:inbox_id/threads", "threads.list", inbox(models.ScopeEmailRead), a.listThreads},
		{"GET", "/v1/inboxes/:inbox_id/threads/:id", "threads.get", inbox(models.ScopeEmailRead), inboxGet(a.inboxScope, a.Mail.GetThread)},
		{"GET", "/v1/inboxes/:inbox_id/contacts", "contacts.list", inbox(models.ScopeContactsRead), inboxList(a.inboxScope, idCursor(models.PrefixContact), a.Mail.ListContacts)},
		{"POST", "/v1/inboxes/:inbox_id/contacts", "contacts.create", inbox(models.ScopeContactsWrite), a.createContact},
		{"DELETE", "/v1/inboxes/:inbox_id/contacts/:id", "contacts.delete", inbox(models.ScopeContactsWrite), inboxDelete(a.inboxScope, a.Mail.DeleteContact)},
		{"GET", "/v1/inboxes/:inbox_id/senders", "senders.list", admins(), inboxList(orgInbox, idCursor(models.PrefixSender), a.Mail.ListSenderRules)},
		{"POST", "/v1/inboxes/:inbox_id/senders", "senders.create", admins(), inboxCreate(orgInbox, a.Mail.CreateSenderRule)},
		{"DELETE", "/v1/inboxes/:inbox_id/senders/:id", "senders.delete", admins(), inboxDelete(orgInbox, a.Mail.DeleteSenderRule)},
		{"GET", "/v1/events", "events.list", reviewers(), a.orgEvents},
		{"GET", "/v1/inboxes/:inbox_id/events", "inbox.events", inbox(models.ScopeEmailRead), a.inboxEvents},
		{"POST", "/v1/webhooks", "webhooks.create", admins(), a.createWebhook},
		{"GET", "/v1/webhooks", "webhooks.list", admins(), a.listWebhooks},
		{"GET", "/v1/webhooks/:id", "webhooks.get", admins(), a.getWebhook},
		{"DELETE", "/v1/webhooks/:id", "webhooks.delete", admins(), a.deleteWebhook},
		{"GET", "/v1/webhooks/:id/deliveries", "webhooks.deliveries", admins(), a.listDeliveries},

		{"PUT", "/v1/billing/caps/mailbox", "caps.set", admins(), a.setCap},
		{"GET", "/v1/billing/caps/mailbox", "caps.list", admins(), a.listCaps},
		{"GET", "/v1/billing/caps/mailbox/:inbox_id", "caps.get", admins(), a.getCap},
		{"DELETE", "/v1/billing/caps/mailbox/:inbox_id", "caps.remove", admins(), a.removeCap},
		{"GET", "/v1/billing/usage", "usage.report", admins(), a.usageReport},
		{"GET", "/v1/billing/usage/verify", "usage.verify", admins(), a.verifyUsage},

		// MCP (Streamable HTTP): each tool call is audited as its REST
		// route's action, by daemon/mcp through mcpGuard.
		{"POST", "/mcp", "mcp", agentOnly().selfAudited(), a.serveMCP},
		{"GET", "/mcp", "mcp", agentOnly().selfAudited(), a.serveMCP},
		{"DELETE", "/mcp", "mcp", agentOnly().selfAudited(), a.serveMCP},
	}
}
