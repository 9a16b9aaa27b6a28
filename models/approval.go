package models

import "time"

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExpired  = "expired"
)

// Approval is a send held for a reviewer's decision.
type Approval struct {
	ID             string     `json:"id"`
	InboxID        string     `json:"inbox_id"`
	MessageID      string     `json:"message_id"`
	TokenID        string     `json:"token_id"`
	TokenLabel     string     `json:"token_label"`
	Status         string     `json:"status"`
	Subject        string     `json:"subject"`
	To             []string   `json:"to"`
	Digest         string     `json:"digest"`
	ApprovedDigest string     `json:"approved_digest,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at"`
	Edited         bool       `json:"edited"`
	// HoldReasons are why the send was held (docs/policy.md).
	HoldReasons []HoldReason `json:"hold_reasons"`
	ExpiresAt   time.Time    `json:"expires_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

// HeldMessage is a held send exactly as it will be sent.
type HeldMessage struct {
	From          Address          `json:"from"`
	To            []Address        `json:"to"`
	Cc            []Address        `json:"cc"`
	Bcc           []Address        `json:"bcc"`
	ReplyTo       []Address        `json:"reply_to"`
	Subject       string           `json:"subject"`
	Text          string           `json:"text"`
	HTML          string           `json:"html"`
	Attachments   []HeldAttachment `json:"attachments"`
	Headers       []HeaderField    `json:"headers"`
	MessageID     string           `json:"message_id"`
	InReplyTo     string           `json:"in_reply_to"`
	ThreadID      string           `json:"thread_id"`
	ThreadSubject string           `json:"thread_subject"`
	Size          int64            `json:"size"`
}

// HeldAttachment names an attachment of a held send.
type HeldAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// ApprovalDetail is an approval with its whole message.
type ApprovalDetail struct {
	Approval
	Message HeldMessage `json:"message"`
}

// ApprovalEdits are a reviewer's corrections; absent fields are kept.
type ApprovalEdits struct {
	To      *AddressList `json:"to"`
	Cc      *AddressList `json:"cc"`
	Bcc     *AddressList `json:"bcc"`
	Subject *string      `json:"subject"`
	Text    *string      `json:"text"`
	HTML    *string      `json:"html"`
}

// ApproveRequest is the (optional) body of POST /v1/approvals/{id}/approve.
type ApproveRequest struct {
	Edits *ApprovalEdits `json:"edits"`
}

// RejectRequest is the body of POST /v1/approvals/{id}/reject.
type RejectRequest struct {
	Reason string `json:"reason"`
}

// ApprovalInfo is shown to the agent on its held message.
type ApprovalInfo struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Edited    bool       `json:"edited"`
	DecidedAt *time.Time `json:"decided_at"`
	ExpiresAt time.Time  `json:"expires_at"`
}
