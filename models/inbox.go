package models

import "time"

// Inbox is an agent's mailbox: one address on a verified domain.
type Inbox struct {
	ID           string         `gorm:"primaryKey" json:"id"`
	OrgID        string         `json:"org_id"`
	DomainID     string         `json:"domain_id"`
	Address      string         `json:"address"`
	DisplayName  string         `json:"display_name"`
	Metadata     map[string]any `gorm:"serializer:json" json:"metadata"`
	UsedBytes    int64          `json:"used_bytes"`
	MessageCount int64          `json:"message_count"`
	// Sandbox marks an inbox on the organization's sandbox domain: what it
	// sends outside the organization is captured, not delivered.
	Sandbox   bool      `json:"sandbox"`
	Status    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (Inbox) TableName() string { return "inboxes" }

// CreateInboxRequest is the body of POST /v1/inboxes/.
type CreateInboxRequest struct {
	Address     string         `json:"address"`
	DisplayName string         `json:"display_name"`
	Metadata    map[string]any `json:"metadata"`
}

// UpdateInboxRequest is the body of PATCH /v1/inboxes/{id}; absent fields
// are left as they are.
type UpdateInboxRequest struct {
	DisplayName *string         `json:"display_name"`
	Metadata    *map[string]any `json:"metadata"`
}
