package models

import (
	"encoding/json"
	"reflect"
	"time"
)

// SendStatus is the delivery state of a sent message.
type SendStatus struct {
	ID          string              `json:"id"`
	Status      string              `json:"status"`
	CreatedAt   time.Time           `json:"created_at"`
	CompletedAt *time.Time          `json:"completed_at"`
	Recipients  []RecipientDelivery `json:"recipients" gorm:"-"`
}

// RecipientDelivery is one recipient's delivery result.
type RecipientDelivery struct {
	Address       string     `json:"address"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastCode      int        `json:"last_code"`
	LastResponse  string     `json:"last_response"`
	MX            string     `json:"mx" gorm:"column:mx"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
}

// AddressList is a list of RFC 5322 addresses, given as a JSON array or a
// single string.
type AddressList []string

// UnmarshalJSON accepts "a@x" as well as ["a@x", "B <b@y>"].
func (l *AddressList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		if one == "" {
			*l = nil
		} else {
			*l = AddressList{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: "non-address", Type: reflect.TypeOf([]string{})}
	}
	*l = many
	return nil
}

// Attachment of a send.
type SendAttachment struct {
	Filename      string `json:"filename"`
	ContentType   string `json:"content_type"`
	ContentBase64 string `json:"content_base64"`
	// ContentID makes the attachment inline, referable from the HTML as
	// cid:<content_id>.
	ContentID string `json:"content_id"`
}

// SendRequest is the body of POST /v1/inboxes/{inbox_id}/messages/send.
type SendRequest struct {
	To          AddressList       `json:"to"`
	Cc          AddressList       `json:"cc"`
	Bcc         AddressList       `json:"bcc"`
	ReplyTo     AddressList       `json:"reply_to"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Attachments []SendAttachment  `json:"attachments"`
	Headers     map[string]string `json:"headers"`
	Labels      []string          `json:"labels"`
}

// ReplyRequest is the body of …/messages/{id}/reply, reply-all and
// forward. To is required for forward; for replies it adds recipients.
type ReplyRequest struct {
	To          AddressList       `json:"to"`
	Cc          AddressList       `json:"cc"`
	Bcc         AddressList       `json:"bcc"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Attachments []SendAttachment  `json:"attachments"`
	Headers     map[string]string `json:"headers"`
	Labels      []string          `json:"labels"`
}

// SendResponse answers a send: 202 with the message id and its status.
type SendResponse struct {
	ID         string `json:"id"`
	ThreadID   string `json:"thread_id,omitempty"`
	Status     string `json:"status"`
	ApprovalID string `json:"approval_id,omitempty"`
	// HoldReasons say why a pending_approval send is held (empty when it
	// is queued).
	HoldReasons []HoldReason `json:"hold_reasons"`
}

// SentMessage is an outbound message with its delivery and approval state.
type SentMessage struct {
	Message
	Delivery *SendStatus   `json:"delivery"`
	Approval *ApprovalInfo `json:"approval"`
}

// Suppression is an address an inbox no longer sends to.
type Suppression struct {
	Address   string    `json:"address"`
	Reason    string    `json:"reason"`
	MessageID string    `json:"message_id"`
	CreatedAt time.Time `json:"created_at"`
}

// DraftRequest is the body of POST …/drafts/ and PATCH …/drafts/{id}: a
// send request whose fields may be incomplete until it is sent. On create,
// reply_to_message (with mode reply, reply_all or forward) makes it a
// reply or forward of that message. On PATCH, given fields replace the
// draft's.
type DraftRequest struct {
	To             *AddressList       `json:"to"`
	Cc             *AddressList       `json:"cc"`
	Bcc            *AddressList       `json:"bcc"`
	ReplyTo        *AddressList       `json:"reply_to"`
	Subject        *string            `json:"subject"`
	Text           *string            `json:"text"`
	HTML           *string            `json:"html"`
	Attachments    *[]SendAttachment  `json:"attachments"`
	Headers        *map[string]string `json:"headers"`
	Mode           string             `json:"mode"`
	ReplyToMessage string             `json:"reply_to_message"`
}

// Draft is a stored draft.
type Draft struct {
	ID             string            `json:"id"`
	InboxID        string            `json:"inbox_id"`
	ThreadID       string            `json:"thread_id"`
	Mode           string            `json:"mode"`
	ReplyToMessage string            `json:"reply_to_message,omitempty"`
	To             []string          `json:"to"`
	Cc             []string          `json:"cc"`
	Bcc            []string          `json:"bcc"`
	ReplyTo        []string          `json:"reply_to"`
	Subject        string            `json:"subject"`
	Text           string            `json:"text"`
	HTML           string            `json:"html"`
	Attachments    []SendAttachment  `json:"attachments"`
	Headers        map[string]string `json:"headers"`
	Size           int64             `json:"size"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}
