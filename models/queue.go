package models

import "time"

// ID prefixes of the outbound queue: one recipient of a send (a queued
// delivery) and a delivery pause.
const (
	PrefixQueued = "dlv_"
	PrefixPause  = "dps_"
)

// Statuses of a queued delivery as GET /v1/deliveries/ shows and filters
// them: queued (not attempted yet), deferred (a temporary failure, retried
// with backoff), delivered, failed (a permanent failure or given up after
// outbound.give_up_after: bounced with a DSN) and cancelled (failed by an
// admin with POST /v1/deliveries/{id}/cancel, with a DSN too).
const (
	QueuedStatusQueued    = "queued"
	QueuedStatusDeferred  = "deferred"
	QueuedStatusDelivered = "delivered"
	QueuedStatusFailed    = "failed"
	QueuedStatusCancelled = "cancelled"
)

// QueuedStatuses lists the statuses a delivery can have.
var QueuedStatuses = []string{QueuedStatusQueued, QueuedStatusDeferred, QueuedStatusDelivered, QueuedStatusFailed, QueuedStatusCancelled}

// RemoteReply is the last answer a delivery attempt got: the SMTP reply
// code (0 when no server answered, e.g. a connection failure or a DNS
// error) and the reply text or Gent's description of the failure.
type RemoteReply struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}

// QueuedDelivery is one recipient of a send on its way out.
type QueuedDelivery struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	InboxID   string `json:"inbox_id"`
	Recipient string `json:"recipient"`
	Domain    string `json:"domain"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	// NextAttemptAt is when the next attempt is due (null: none
	// scheduled, or at once).
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	// LastReply is null until the first attempt.
	LastReply *RemoteReply `json:"last_reply"`
	// MX is the host that answered last ("local" for hosted recipients).
	MX          string     `json:"mx"`
	DeliveredAt *time.Time `json:"delivered_at"`
	// Paused: a delivery pause holds the recipient's domain.
	Paused    bool      `json:"paused"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DeliveryPauseRequest is the body of POST /v1/delivery-pauses/. Until
// null (or absent) pauses until the pause is deleted.
type DeliveryPauseRequest struct {
	Domain string     `json:"domain"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

// DeliveryPause holds deliveries to a domain: no attempt until Until
// (null: until deleted).
type DeliveryPause struct {
	ID        string     `json:"id"`
	Domain    string     `json:"domain"`
	Reason    string     `json:"reason"`
	Until     *time.Time `json:"until"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}
