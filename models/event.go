package models

import "time"

// Event types.
const (
	EventMessageReceived  = "message.received"
	EventMessageSent      = "message.sent"
	EventMessageDelivered = "message.delivered"
	EventMessageDeferred  = "message.deferred"
	EventMessageBounced   = "message.bounced"
	// EventMessageCaptured: a sandbox inbox's mail to an address outside
	// the organization was captured (GET /v1/captured/{id}) instead of sent.
	EventMessageCaptured      = "message.captured"
	EventMessageApproved      = "message.approved"
	EventMessageRejected      = "message.rejected"
	EventMessageExpired       = "message.expired"
	EventApprovalRequested    = "approval.requested"
	EventCapThresholdCrossed  = "cap.threshold_crossed"
	EventDomainVerified       = "domain.verified"
	EventDomainChanged        = "domain.verification_changed"
	EventTokenRevoked         = "token.revoked"
	EventWebhookDisabled      = "webhook.disabled"
	EventPolicySendingPaused  = "policy.sending_paused"
	EventPolicySendingResumed = "policy.sending_resumed"
)

// Event is one row of the event log: ids and a summary, never whole messages.
type Event struct {
	ID        string         `gorm:"primaryKey" json:"id"`
	OrgID     string         `json:"org_id"`
	InboxID   *string        `json:"inbox_id"`
	Type      string         `json:"type"`
	Payload   map[string]any `gorm:"serializer:json" json:"payload"`
	CreatedAt time.Time      `json:"created_at"`
}

func (Event) TableName() string { return "events" }
