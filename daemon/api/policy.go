package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/auth"
	"gent/models"
)

// Policy declares who may call a route. Every route has one; the isolation
// test enumerates them.
type Policy struct {
	// Public routes need no credential.
	Public bool
	// Roles are the session roles allowed (none: sessions are refused).
	Roles []string
	// Token allows agent tokens; Scope is the scope they need.
	Token bool
	Scope string
	// Inbox routes carry :inbox_id, which must be the token's own inbox
	// (sessions: any inbox of their organization, checked by the service).
	Inbox bool
	// SelfAudited routes record their own audit entries.
	SelfAudited bool
	// AgentOnly routes take agent tokens alone: any other credential is a
	// 401, as if none were given (MCP).
	AgentOnly bool
}

var (
	ownerAdmin = []string{models.RoleOwner, models.RoleAdmin}
	allRoles   = []string{models.RoleOwner, models.RoleAdmin, models.RoleReviewer}
)

func public() Policy    { return Policy{Public: true} }
func admins() Policy    { return Policy{Roles: ownerAdmin} }
func owners() Policy    { return Policy{Roles: []string{models.RoleOwner}} }
func reviewers() Policy { return Policy{Roles: allRoles} }
func anyUser() Policy   { return Policy{Roles: allRoles} }
func tokenOnly() Policy { return Policy{Token: true} }
func inbox(scope string) Policy {
	return Policy{Roles: ownerAdmin, Token: true, Scope: scope, Inbox: true}
}
func agentOnly() Policy { return Policy{Token: true, AgentOnly: true} }

// queueReaders: any session role of the organization, or an agent token
// holding email:read, whose answers the handler limits to its own inbox
// (the outbound queue).
func queueReaders() Policy {
	return Policy{Roles: allRoles, Token: true, Scope: models.ScopeEmailRead}
}
func (p Policy) selfAudited() Policy { p.SelfAudited = true; return p }

// authorize checks the credential against the policy.
func (p Policy) authorize(c *fiber.Ctx, pr *auth.Principal) error {
	switch pr.Kind {
	case auth.KindUser:
		if p.AgentOnly {
			return models.Errorf(models.CodeUnauthorized, "this endpoint takes an agent token (Authorization: Bearer gent_…), not a session")
		}
		if len(p.Roles) == 0 {
			return models.Errorf(models.CodeForbidden, "this route is for agent tokens")
		}
		if !pr.HasRole(p.Roles...) {
			return models.Errorf(models.CodeForbidden, "your role (%s) may not do this; it needs %s", pr.Role, strings.Join(p.Roles, " or "))
		}
	case auth.KindToken:
		if !p.Token {
			return models.Errorf(models.CodeForbidden, "agent tokens may not use this route; it needs a user session")
		}
		if p.Inbox && c.Params("inbox_id") != pr.InboxID {
			return models.NotFound("inbox")
		}
		if p.Scope != "" && !pr.HasScope(p.Scope) {
			return &models.Error{Code: models.CodeInsufficientScope, Message: "this token lacks the " + p.Scope + " scope", Field: p.Scope}
		}
	default:
		return models.Errorf(models.CodeUnauthorized, "unknown credential")
	}
	return nil
}
