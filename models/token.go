package models

import (
	"strings"
	"time"
)

// Scopes an agent token may hold.
const (
	ScopeEmailRead     = "email:read"
	ScopeEmailSend     = "email:send"
	ScopeEmailWrite    = "email:write"
	ScopeFilesRead     = "files:read"
	ScopeContactsRead  = "contacts:read"
	ScopeContactsWrite = "contacts:write"
)

// ScopeInfo says what a scope allows (shown by the TUI's checklist).
type ScopeInfo struct {
	Scope    string `json:"scope"`
	Allows   string `json:"allows"`
	Holdable bool   `json:"holdable"`
}

// Scopes lists every scope in display order.
var Scopes = []ScopeInfo{
	{ScopeEmailRead, "list and read messages, threads and events", false},
	{ScopeEmailSend, "send, reply and forward mail", true},
	{ScopeEmailWrite, "labels, read flags, drafts, delete", false},
	{ScopeFilesRead, "download attachment contents", false},
	{ScopeContactsRead, "list the inbox's contacts", false},
	{ScopeContactsWrite, "add and remove contacts", false},
}

// KnownScope reports whether s is a scope.
func KnownScope(s string) bool {
	for _, i := range Scopes {
		if i.Scope == s {
			return true
		}
	}
	return false
}

// ScopeNames lists the scope names, comma-separated.
func ScopeNames() string {
	var n []string
	for _, i := range Scopes {
		n = append(n, i.Scope)
	}
	return strings.Join(n, ", ")
}

// Token is an agent token as listed: never the raw value.
type Token struct {
	ID               string      `gorm:"primaryKey" json:"id"`
	OrgID            string      `json:"org_id"`
	InboxID          string      `json:"inbox_id"`
	Label            string      `json:"label"`
	Scopes           StringArray `gorm:"type:text[]" json:"scopes"`
	RequiresApproval StringArray `gorm:"type:text[]" json:"requires_approval"`
	TokenHash        []byte      `json:"-"`
	Prefix           string      `json:"prefix"`
	CreatedBy        string      `json:"created_by"`
	CreatedAt        time.Time   `json:"created_at"`
	RotatedAt        *time.Time  `json:"rotated_at"`
	LastUsedAt       *time.Time  `json:"last_used_at"`
	ExpiresAt        *time.Time  `json:"expires_at"`
	RevokedAt        *time.Time  `json:"revoked_at"`
	Status           string      `gorm:"-" json:"status"`
}

func (Token) TableName() string { return "tokens" }

// CreateTokenRequest is the body of POST /v1/tokens/.
type CreateTokenRequest struct {
	InboxID          string     `json:"inbox_id"`
	Label            string     `json:"label"`
	Scopes           []string   `json:"scopes"`
	RequiresApproval []string   `json:"requires_approval"`
	ExpiresAt        *time.Time `json:"expires_at"`
	// Sandbox: the inbox is on the sandbox domain; its mail to addresses
	// outside the organization is captured, not sent.
	Sandbox bool `json:"sandbox"`
}

// TokenSecret answers create and rotate: the token and, once, its value.
type TokenSecret struct {
	Token
	Secret string `json:"token"`
}

// WhoAmI answers GET /v1/token.
type WhoAmI struct {
	TokenID          string     `json:"token_id"`
	Label            string     `json:"label"`
	OrgID            string     `json:"org_id"`
	InboxID          string     `json:"inbox_id"`
	Address          string     `json:"address"`
	Scopes           []string   `json:"scopes"`
	RequiresApproval []string   `json:"requires_approval"`
	ExpiresAt        *time.Time `json:"expires_at"`
	// Sandbox: the inbox is on the sandbox domain; its mail to addresses
	// outside the organization is captured, not sent.
	Sandbox bool `json:"sandbox"`
}
