package models

import "time"

// Roles of human users.
const (
	RoleOwner    = "owner"
	RoleAdmin    = "admin"
	RoleReviewer = "reviewer"
)

type Org struct {
	ID        string    `gorm:"primaryKey" json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func (Org) TableName() string { return "orgs" }

type User struct {
	ID           string `gorm:"primaryKey" json:"id"`
	OrgID        string `json:"org_id"`
	Email        string `json:"email"`
	PasswordHash string `json:"-"`
	Role         string `json:"role"`
	// Disabled users can neither sign in nor use a session.
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (User) TableName() string { return "users" }

type Session struct {
	ID         string `gorm:"primaryKey"`
	OrgID      string
	UserID     string
	TokenHash  []byte
	RemoteAddr string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt *time.Time
	RevokedAt  *time.Time
}

func (Session) TableName() string { return "sessions" }

// SetupRequest is the body of POST /v1/auth/setup.
type SetupRequest struct {
	SetupCode string `json:"setup_code"`
	OrgName   string `json:"org_name"`
	Email     string `json:"email"`
	Password  string `json:"password"`
}

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// SessionResponse answers setup and login: the raw session token, once.
type SessionResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
	Org       Org       `json:"organization"`
}

// AuthStatus answers GET /v1/auth/status.
type AuthStatus struct {
	SetupRequired bool `json:"setup_required"`
}

// CreateUserRequest is the body of POST /v1/users/.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// UpdateUserRequest is the body of PATCH /v1/users/{id}; absent fields
// are left as they are.
type UpdateUserRequest struct {
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// PasswordResetCode answers POST /v1/users/{id}/password-reset: the
// one-time code, shown once.
type PasswordResetCode struct {
	UserID    string    `json:"user_id"`
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ResetPasswordRequest is the body of POST /v1/auth/password-reset.
type ResetPasswordRequest struct {
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

// ChangePasswordRequest is the body of POST /v1/auth/password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Me answers GET /v1/auth/me for sessions.
type Me struct {
	User User `json:"user"`
	Org  Org  `json:"organization"`
}

// List is the envelope of every list response.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	ID         string         `gorm:"primaryKey" json:"id"`
	OrgID      *string        `json:"-"`
	ActorType  string         `json:"actor_type"`
	ActorID    string         `json:"actor_id"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Outcome    string         `json:"outcome"`
	Status     int            `json:"status"`
	RemoteAddr string         `json:"remote_addr"`
	RequestID  string         `json:"request_id"`
	Detail     map[string]any `gorm:"serializer:json" json:"detail"`
	CreatedAt  time.Time      `json:"created_at"`
}

func (AuditEntry) TableName() string { return "audit_log" }
