package models

import "time"

// PrefixDelivery starts the id of a webhook delivery.
const PrefixDelivery = "whd_"

// Webhook statuses.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"
)

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryRetrying  = "retrying"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	DeliveryCanceled  = "canceled"
)

// EventTypes lists every event type, in the order the docs present them.
var EventTypes = []string{
	EventMessageReceived, EventMessageSent, EventMessageDelivered, EventMessageDeferred,
	EventMessageBounced, EventMessageCaptured, EventMessageApproved, EventMessageRejected, EventMessageExpired,
	EventApprovalRequested, EventCapThresholdCrossed, EventDomainVerified, EventDomainChanged,
	EventTokenRevoked, EventWebhookDisabled, EventMessageQuarantined,
}

// Webhook is an endpoint that receives the organization's events. The
// signing secret is never part of it; see WebhookCreated.
type Webhook struct {
	ID                  string     `gorm:"primaryKey" json:"id"`
	OrgID               string     `json:"org_id"`
	URL                 string     `json:"url"`
	EventTypes          []string   `gorm:"serializer:json" json:"event_types"`
	InboxID             *string    `json:"inbox_id"`
	Secret              []byte     `json:"-"`
	Status              string     `json:"status"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	DisabledAt          *time.Time `json:"disabled_at,omitempty"`
	LastSuccessAt       *time.Time `json:"last_success_at,omitempty"`
	LastFailureAt       *time.Time `json:"last_failure_at,omitempty"`
	CreatedBy           string     `json:"created_by,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

func (Webhook) TableName() string { return "webhooks" }

// CreateWebhookRequest is the body of POST /v1/webhooks.
type CreateWebhookRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	InboxID    *string  `json:"inbox_id,omitempty"`
}

// WebhookCreated answers POST /v1/webhooks: the endpoint and its signing
// secret (whsec_…), shown this once.
type WebhookCreated struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookDelivery is one event sent (or being sent) to one endpoint.
type WebhookDelivery struct {
	ID               string     `gorm:"primaryKey" json:"id"`
	OrgID            string     `json:"org_id"`
	WebhookID        string     `json:"webhook_id"`
	EventID          string     `json:"event_id"`
	EventType        string     `json:"event_type"`
	Status           string     `json:"status"`
	Attempts         int        `json:"attempts"`
	LastResponseCode *int       `json:"last_response_code"`
	LastError        string     `json:"last_error"`
	NextAttemptAt    *time.Time `json:"next_attempt_at"`
	DeliveredAt      *time.Time `json:"delivered_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func (WebhookDelivery) TableName() string { return "webhook_deliveries" }
