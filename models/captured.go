package models

import "time"

// CapturedMessage is mail a sandbox inbox sent to an address outside its
// organization: what one SMTP transaction would have handed to the
// recipients' mail server (envelope and DKIM-signed bytes), kept instead
// of sent. Listed by GET /v1/captured/; Raw only in GET /v1/captured/{id}.
type CapturedMessage struct {
	ID      string `json:"id"`
	InboxID string `json:"inbox_id"`
	// MessageID is the sent copy in the inbox (GET
	// /v1/inboxes/{inbox_id}/messages/{message_id}).
	MessageID string `json:"message_id"`
	// Domain is the recipients' domain: one capture per send and domain,
	// as one SMTP transaction per domain would have been made.
	Domain          string    `json:"domain"`
	EnvelopeFrom    string    `json:"envelope_from"`
	Recipients      []string  `json:"recipients"`
	Subject         string    `json:"subject"`
	MessageIDHeader string    `json:"message_id_header"`
	SizeBytes       int       `json:"size_bytes"`
	CreatedAt       time.Time `json:"created_at"`
	// Raw is the whole message with its DKIM-Signature, as it would have
	// been sent (GET /v1/captured/{id} only).
	Raw string `json:"raw,omitempty"`
}
