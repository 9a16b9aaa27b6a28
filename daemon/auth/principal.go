package auth

import "slices"

// Kinds of credential.
const (
	KindUser  = "user"
	KindToken = "token"
)

// Principal is who a request acts as: a user with a session, or an agent
// token bound to one inbox.
type Principal struct {
	Kind  string
	OrgID string

	// Sessions.
	UserID    string
	Email     string
	Role      string
	SessionID string

	// Agent tokens.
	TokenID          string
	TokenLabel       string
	InboxID          string
	Address          string // the inbox's address
	Scopes           []string
	RequiresApproval []string
}

// ID returns the actor id used in the audit trail and idempotency keys.
func (p *Principal) ID() string {
	if p.Kind == KindToken {
		return p.TokenID
	}
	return p.UserID
}

// HasRole reports whether a user principal holds one of roles.
func (p *Principal) HasRole(roles ...string) bool {
	return p.Kind == KindUser && slices.Contains(roles, p.Role)
}

// HasScope reports whether a token principal holds scope.
func (p *Principal) HasScope(scope string) bool {
	return p.Kind == KindToken && slices.Contains(p.Scopes, scope)
}

// Held reports whether sends by this principal need approval.
func (p *Principal) Held(scope string) bool {
	return p.Kind == KindToken && slices.Contains(p.RequiresApproval, scope)
}
