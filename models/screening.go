package models

import "time"

// Screening verdicts of inbound mail (DESIGN §11).
const (
	VerdictClean       = "clean"
	VerdictSuspicious  = "suspicious"
	VerdictQuarantined = "quarantined"
)

// Screening finding codes.
const (
	FindingHiddenText           = "hidden_text"
	FindingInvisibleUnicode     = "invisible_unicode"
	FindingInstructionInjection = "instruction_injection"
	FindingExfiltrationRequest  = "exfiltration_request"
	FindingLinkMismatch         = "link_mismatch"
	FindingAuthFailed           = "auth_failed"
	FindingDangerousAttachment  = "dangerous_attachment"
)

// Finding is one thing the screening of an inbound message found: a code
// and a short detail saying where and what.
type Finding struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Screening is the verdict on an inbound message: a score from 0 to 100
// and what it was made of.
type Screening struct {
	Verdict  string    `json:"verdict"`
	Score    int       `json:"score"`
	Findings []Finding `json:"findings"`
}

// EventMessageQuarantined is emitted (to org streams and org webhooks
// only) when an inbound message is quarantined.
const EventMessageQuarantined = "message.quarantined"

// QuarantinedMessage is a quarantined message as reviewers list it.
type QuarantinedMessage struct {
	ID        string     `json:"id"`
	InboxID   string     `json:"inbox_id"`
	From      Address    `json:"from"`
	Subject   string     `json:"subject"`
	Preview   string     `json:"preview"`
	Size      int64      `json:"size"`
	Screening *Screening `json:"screening"`
	CreatedAt time.Time  `json:"created_at"`
}
