package models

import "time"

// Message directions and statuses.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"

	// StatusReceived is the status of every stored inbound message.
	StatusReceived = "received"
)

// Address is one mailbox of an address header: {"name": "Ada", "address":
// "ada@example.com"}. Name may be empty.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// HeaderField is one header of a message, its value decoded (RFC 2047) to
// UTF-8.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attachment describes one attachment (or inline part) of a message; its
// bytes are at GET …/messages/{id}/attachments/{att_id} (files:read).
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	ContentID   string `json:"content_id"`
	Inline      bool   `json:"inline"`
}

// AuthResults are the SPF, DKIM and DMARC verdicts of an inbound message
// (RFC 8601 result words: pass, fail, softfail, neutral, none, temperror,
// permerror) and an Authentication-Results-style summary line.
type AuthResults struct {
	SPF   string `json:"spf"`
	DKIM  string `json:"dkim"`
	DMARC string `json:"dmarc"`
	// DMARCPolicy is the sender domain's published policy (none,
	// quarantine, reject), empty without a record.
	DMARCPolicy string `json:"dmarc_policy"`
	Summary     string `json:"summary"`
}

// MessageSummary is a message as listed: everything but the bodies and the
// header list.
type MessageSummary struct {
	ID          string       `json:"id"`
	ThreadID    string       `json:"thread_id"`
	InboxID     string       `json:"inbox_id"`
	Direction   string       `json:"direction"`
	Status      string       `json:"status"`
	MessageID   string       `json:"message_id"`
	InReplyTo   string       `json:"in_reply_to"`
	References  []string     `json:"references"`
	From        Address      `json:"from"`
	ReplyTo     []Address    `json:"reply_to"`
	To          []Address    `json:"to"`
	Cc          []Address    `json:"cc"`
	Bcc         []Address    `json:"bcc,omitempty"`
	Subject     string       `json:"subject"`
	Date        *time.Time   `json:"date"`
	Preview     string       `json:"preview"`
	Attachments []Attachment `json:"attachments"`
	Auth        *AuthResults `json:"auth"`
	Labels      []string     `json:"labels"`
	Read        bool         `json:"read"`
	Size        int64        `json:"size"`
	CreatedAt   time.Time    `json:"created_at"`
	// Screening is the verdict on inbound mail (DESIGN §11); absent for
	// outbound mail and for mail stored before screening existed.
	Screening *Screening `json:"screening,omitempty"`
	// Automatic names what marks inbound mail as sent by a machine
	// (Auto-Submitted, Precedence bulk/list/junk, List-Id,
	// List-Unsubscribe, a null return path, a DSN), "" when nothing does;
	// absent for outbound mail and mail stored before it was recorded. A
	// reply to such mail is held for loop risk (docs/policy.md).
	Automatic *string `json:"automatic,omitempty"`
}

// Message is one message with its bodies: text and html as sent (converted
// to UTF-8), extracted_text the new text without quoted history.
type Message struct {
	MessageSummary
	Text          string        `json:"text"`
	HTML          string        `json:"html"`
	ExtractedText string        `json:"extracted_text"`
	Headers       []HeaderField `json:"headers"`
}

// UpdateMessageRequest is the body of PATCH …/messages/{id}.
type UpdateMessageRequest struct {
	LabelsAdd    []string `json:"labels_add"`
	LabelsRemove []string `json:"labels_remove"`
	Read         *bool    `json:"read"`
}

// MessageFilter narrows GET …/messages/.
type MessageFilter struct {
	ThreadID  string
	Label     string
	Unread    *bool
	Direction string
	Query     string
}

// Thread is a conversation of one inbox, linked by Message-ID,
// In-Reply-To and References.
type Thread struct {
	ID            string    `json:"id"`
	InboxID       string    `json:"inbox_id"`
	Subject       string    `json:"subject"`
	Preview       string    `json:"preview"`
	Participants  []string  `json:"participants"`
	Labels        []string  `json:"labels"`
	MessageCount  int64     `json:"message_count"`
	UnreadCount   int64     `json:"unread_count"`
	LastMessageAt time.Time `json:"last_message_at"`
	CreatedAt     time.Time `json:"created_at"`
}

// ThreadDetail is a thread with its messages, oldest first.
type ThreadDetail struct {
	Thread
	Messages []Message `json:"messages"`
}

// Contact is a correspondent of an inbox.
type Contact struct {
	ID            string    `json:"id"`
	InboxID       string    `json:"inbox_id"`
	Address       string    `json:"address"`
	Name          string    `json:"name"`
	FirstSeenAt   time.Time `json:"first_seen_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	ReceivedCount int64     `json:"received_count"`
	SentCount     int64     `json:"sent_count"`
	// Source is "mail" for contacts recorded from traffic, "api" for
	// contacts added with POST.
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateContactRequest is the body of POST …/contacts/.
type CreateContactRequest struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// Sender rule kinds.
const (
	SenderAllow = "allow"
	SenderBlock = "block"
)

// SenderRule allows or blocks mail to one inbox from an address, a domain
// (and its subdomains) or everyone ("*").
type SenderRule struct {
	ID        string    `json:"id"`
	InboxID   string    `json:"inbox_id"`
	Pattern   string    `json:"pattern"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateSenderRuleRequest is the body of POST …/senders/.
type CreateSenderRuleRequest struct {
	Pattern string `json:"pattern"`
	Kind    string `json:"kind"`
}
