package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"gent/daemon/delivery"
	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/models"
)

// Arguments. Field descriptions are written for a model: what to pass and
// the limits.

type noArgs struct{}

type listMessagesArgs struct {
	ThreadID string `json:"thread_id,omitempty" jsonschema:"only messages of this thread (thr_…)"`
	Label    string `json:"label,omitempty" jsonschema:"only messages carrying this label (e.g. sent)"`
	Unread   *bool  `json:"unread,omitempty" jsonschema:"true: only unread messages; false: only read ones"`
	Limit    int    `json:"limit,omitempty" jsonschema:"messages per page, 1 to 200 (default 50)"`
	Cursor   string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page, to read on"`
}

type searchArgs struct {
	Query string `json:"query" jsonschema:"words to find in subjects, addresses and bodies (full-text search)"`
	Limit int    `json:"limit,omitempty" jsonschema:"results, 1 to 200 (default 50)"`
}

type messageArgs struct {
	MessageID string `json:"message_id" jsonschema:"the message's id (msg_…)"`
}

func (a messageArgs) target() string { return a.MessageID }

type pageArgs struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"items per page, 1 to 200 (default 50)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page, to read on"`
}

type threadArgs struct {
	ThreadID string `json:"thread_id" jsonschema:"the thread's id (thr_…)"`
}

type waitArgs struct {
	TimeoutSeconds int `json:"timeout_seconds,omitempty" jsonschema:"how long to wait, 1 to 60 seconds (default 30)"`
}

type attachmentArgs struct {
	MessageID    string `json:"message_id" jsonschema:"the message's id (msg_…)"`
	AttachmentID string `json:"attachment_id" jsonschema:"the attachment's id (att_…), from the message's attachments"`
}

// SendArgs are send_message's (and simulate_send's) arguments.
type SendArgs struct {
	To             []string `json:"to" jsonschema:"recipients: addresses such as ada@example.com or Ada <ada@example.com>"`
	Cc             []string `json:"cc,omitempty" jsonschema:"copy recipients"`
	Bcc            []string `json:"bcc,omitempty" jsonschema:"blind copy recipients (not shown to the others)"`
	Subject        string   `json:"subject" jsonschema:"the subject line"`
	Text           string   `json:"text,omitempty" jsonschema:"plain-text body"`
	HTML           string   `json:"html,omitempty" jsonschema:"HTML body (give text too for clients that show no HTML)"`
	IdempotencyKey string   `json:"idempotency_key,omitempty" jsonschema:"any unique string: a retry with the same key and arguments within 24 hours returns the first answer instead of sending again"`
}

type replyArgs struct {
	MessageID string `json:"message_id" jsonschema:"the message answered (msg_…)"`
	Text      string `json:"text,omitempty" jsonschema:"plain-text body of the reply"`
	HTML      string `json:"html,omitempty" jsonschema:"HTML body of the reply"`
	ReplyAll  bool   `json:"reply_all,omitempty" jsonschema:"true: copy every other recipient of the original, not only its sender"`
}

func (a replyArgs) target() string { return a.MessageID }

type forwardArgs struct {
	MessageID string   `json:"message_id" jsonschema:"the message forwarded (msg_…)"`
	To        []string `json:"to" jsonschema:"recipients of the forward"`
	Text      string   `json:"text,omitempty" jsonschema:"a note above the forwarded message"`
}

func (a forwardArgs) target() string { return a.MessageID }

type updateArgs struct {
	MessageID    string   `json:"message_id" jsonschema:"the message's id (msg_…)"`
	LabelsAdd    []string `json:"labels_add,omitempty" jsonschema:"labels to add"`
	LabelsRemove []string `json:"labels_remove,omitempty" jsonschema:"labels to remove"`
	Read         *bool    `json:"read,omitempty" jsonschema:"mark the message read (true) or unread (false)"`
}

func (a updateArgs) target() string { return a.MessageID }

// Cursor kinds of the lists (see models.Page).
func messageCursor(s string) bool { return models.IsID(s, models.PrefixMessage) }
func contactCursor(s string) bool { return models.IsID(s, models.PrefixContact) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) whoami(ctx context.Context, r *Request, _ noArgs) (*result, error) {
	w, err := s.d.Auth.WhoAmI(ctx, r.Principal)
	if err != nil {
		return nil, err
	}
	return &result{v: w, text: renderWhoAmI(w)}, nil
}

func (s *Server) listMessages(ctx context.Context, r *Request, in listMessagesArgs) (*result, error) {
	limit, err := models.Page(in.Limit, in.Cursor, messageCursor)
	if err != nil {
		return nil, err
	}
	p := r.Principal
	f := models.MessageFilter{ThreadID: in.ThreadID, Label: in.Label, Unread: in.Unread}
	rows, next, err := s.d.Mail.ListMessages(ctx, p.OrgID, p.InboxID, f, in.Cursor, limit)
	if err != nil {
		return nil, err
	}
	l := models.List[models.MessageSummary]{Data: nonNil(rows), NextCursor: next}
	return &result{v: l, text: renderSummaries(l.Data, next), external: true}, nil
}

func (s *Server) searchMessages(ctx context.Context, r *Request, in searchArgs) (*result, error) {
	if strings.TrimSpace(in.Query) == "" {
		return nil, models.Invalid("query", "query must not be empty")
	}
	limit, err := models.Page(in.Limit, "", messageCursor)
	if err != nil {
		return nil, err
	}
	p := r.Principal
	rows, next, err := s.d.Mail.ListMessages(ctx, p.OrgID, p.InboxID, models.MessageFilter{Query: in.Query}, "", limit)
	if err != nil {
		return nil, err
	}
	l := models.List[models.MessageSummary]{Data: nonNil(rows), NextCursor: next}
	return &result{v: l, text: renderSummaries(l.Data, next), external: true}, nil
}

// getMessage answers as GET …/messages/{id}: a sent message also shows
// its delivery and, if held, its approval.
func (s *Server) getMessage(ctx context.Context, r *Request, in messageArgs) (*result, error) {
	p := r.Principal
	m, err := s.d.Mail.GetMessage(ctx, p.OrgID, p.InboxID, in.MessageID)
	if err != nil {
		return nil, err
	}
	if m.Direction != models.DirectionOutbound {
		return &result{v: m, text: renderMessage(m), external: true}, nil
	}
	out := models.SentMessage{Message: *m}
	if out.Delivery, err = s.d.Delivery.Status(ctx, p.OrgID, m.ID); err != nil {
		return nil, err
	}
	if out.Approval, err = s.d.Approvals.ForMessage(ctx, p.OrgID, m.ID); err != nil {
		return nil, err
	}
	return &result{v: out, text: renderMessage(m), external: true}, nil
}

func (s *Server) listThreads(ctx context.Context, r *Request, in pageArgs) (*result, error) {
	limit, err := models.Page(in.Limit, in.Cursor, mail.ValidThreadCursor)
	if err != nil {
		return nil, err
	}
	p := r.Principal
	rows, next, err := s.d.Mail.ListThreads(ctx, p.OrgID, p.InboxID, "", nil, in.Cursor, limit)
	if err != nil {
		return nil, err
	}
	l := models.List[models.Thread]{Data: nonNil(rows), NextCursor: next}
	return &result{v: l, text: renderThreads(l.Data, next), external: true}, nil
}

func (s *Server) getThread(ctx context.Context, r *Request, in threadArgs) (*result, error) {
	p := r.Principal
	t, err := s.d.Mail.GetThread(ctx, p.OrgID, p.InboxID, in.ThreadID)
	if err != nil {
		return nil, err
	}
	return &result{v: t, text: renderThread(t), external: true}, nil
}

func (s *Server) listContacts(ctx context.Context, r *Request, in pageArgs) (*result, error) {
	limit, err := models.Page(in.Limit, in.Cursor, contactCursor)
	if err != nil {
		return nil, err
	}
	p := r.Principal
	rows, next, err := s.d.Mail.ListContacts(ctx, p.OrgID, p.InboxID, in.Cursor, limit)
	if err != nil {
		return nil, err
	}
	l := models.List[models.Contact]{Data: nonNil(rows), NextCursor: next}
	return &result{v: l, text: renderContacts(l.Data, next), external: true}, nil
}

// MaxAttachmentBytes caps the attachment content a tool returns.
const MaxAttachmentBytes = 512 << 10

// AttachmentResult is get_attachment's answer: the attachment's metadata
// and content, text as text and anything else base64, cut at
// MaxAttachmentBytes.
type AttachmentResult struct {
	models.Attachment
	MessageID string `json:"message_id"`
	// Encoding is "text" or "base64".
	Encoding  string `json:"encoding"`
	Content   string `json:"content"`
	Truncated bool   `json:"truncated"`
}

func (s *Server) getAttachment(ctx context.Context, r *Request, in attachmentArgs) (*result, error) {
	p := r.Principal
	att, body, err := s.d.Mail.AttachmentContent(ctx, p.OrgID, p.InboxID, in.MessageID, in.AttachmentID)
	if err != nil {
		return nil, err
	}
	out := AttachmentResult{Attachment: *att, MessageID: in.MessageID}
	if len(body) > MaxAttachmentBytes {
		body, out.Truncated = body[:MaxAttachmentBytes], true
	}
	mt, _, _ := mime.ParseMediaType(att.ContentType)
	if isText(mt) && utf8.Valid(body) {
		out.Encoding, out.Content = "text", string(body)
	} else {
		out.Encoding, out.Content = "base64", base64.StdEncoding.EncodeToString(body)
	}
	return &result{v: out, text: renderAttachment(out), external: true}, nil
}

func isText(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// SendResult is the answer of the send tools.
type SendResult struct {
	MessageID   string              `json:"message_id"`
	ThreadID    string              `json:"thread_id,omitempty"`
	Status      string              `json:"status"`
	ApprovalID  string              `json:"approval_id,omitempty"`
	HoldReasons []models.HoldReason `json:"hold_reasons"`
}

// SimulateResult is simulate_send's answer: what a send would do.
type SimulateResult struct {
	// Decision is send (it would be queued), hold (it would wait for a
	// reviewer) or refuse (error says why).
	Decision    string              `json:"decision"`
	HoldReasons []models.HoldReason `json:"hold_reasons"`
	Error       *models.Error       `json:"error"`
}

// sendInput is the service input of a send by the caller's token, as the
// REST send handler builds it.
func sendInput(r *Request, mode, original string) delivery.SendInput {
	p := r.Principal
	return delivery.SendInput{OrgID: p.OrgID, InboxID: p.InboxID, Mode: mode, Original: original,
		Held: p.Held(models.ScopeEmailSend), TokenID: p.TokenID, TokenLabel: p.TokenLabel}
}

func (a SendArgs) request() models.SendRequest {
	return models.SendRequest{To: a.To, Cc: a.Cc, Bcc: a.Bcc, Subject: a.Subject, Text: a.Text, HTML: a.HTML}
}

func (s *Server) sendMessage(ctx context.Context, r *Request, in SendArgs) (*result, error) {
	si := sendInput(r, delivery.ModeSend, "")
	si.Send = in.request()
	path := "/v1/inboxes/" + r.Principal.InboxID + "/messages/send"
	return s.send(ctx, r, si, in.IdempotencyKey, path, si.Send)
}

func (s *Server) replyToMessage(ctx context.Context, r *Request, in replyArgs) (*result, error) {
	mode := delivery.ModeReply
	if in.ReplyAll {
		mode = delivery.ModeReplyAll
	}
	si := sendInput(r, mode, in.MessageID)
	si.Reply = models.ReplyRequest{Text: in.Text, HTML: in.HTML}
	return s.send(ctx, r, si, "", "", nil)
}

func (s *Server) forwardMessage(ctx context.Context, r *Request, in forwardArgs) (*result, error) {
	si := sendInput(r, delivery.ModeForward, in.MessageID)
	si.Reply = models.ReplyRequest{To: in.To, Text: in.Text}
	return s.send(ctx, r, si, "", "", nil)
}

// send runs one send through the delivery service, under the API's
// idempotency rule when a key is given (the key covers the REST request
// the call stands for: POST path with body).
func (s *Server) send(ctx context.Context, r *Request, si delivery.SendInput, key, path string, body any) (*result, error) {
	var resp *models.SendResponse
	if key == "" {
		var err error
		if resp, err = s.d.Delivery.Send(ctx, si); err != nil {
			return nil, err
		}
	} else {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		status, raw, err := s.d.Guard.Idempotent(ctx, r.Principal, key, path, b, http.StatusAccepted, func(ctx context.Context) (any, error) {
			return s.d.Delivery.Send(ctx, si)
		})
		if err != nil {
			return nil, err
		}
		if status >= 300 {
			var eb models.ErrorBody
			if err := json.Unmarshal(raw, &eb); err != nil || eb.Error == nil {
				return nil, errors.New("idempotent send: unreadable stored answer")
			}
			return nil, eb.Error
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			return nil, err
		}
	}
	out := SendResult{MessageID: resp.ID, ThreadID: resp.ThreadID, Status: resp.Status, ApprovalID: resp.ApprovalID,
		HoldReasons: nonNil(resp.HoldReasons)}
	return &result{v: out, text: renderSend(out), target: out.MessageID}, nil
}

// simulateSend validates a send exactly as send_message would (the same
// service call, as a dry run) and says what would happen.
func (s *Server) simulateSend(ctx context.Context, r *Request, in SendArgs) (*result, error) {
	si := sendInput(r, delivery.ModeSend, "")
	si.Send = in.request()
	res, err := s.d.Delivery.Simulate(ctx, si)
	if err != nil {
		return nil, err
	}
	// The same answer as POST …/messages/send?dry_run=true.
	out := SimulateResult{Decision: res.Decision, HoldReasons: nonNil(res.HoldReasons), Error: res.Error}
	return &result{v: out, text: renderSimulate(out)}, nil
}

// getSendStatus answers as GET …/messages/{id}/delivery.
func (s *Server) getSendStatus(ctx context.Context, r *Request, in messageArgs) (*result, error) {
	p := r.Principal
	m, err := s.d.Mail.GetMessage(ctx, p.OrgID, p.InboxID, in.MessageID)
	if err != nil {
		return nil, err
	}
	st, err := s.d.Delivery.Status(ctx, p.OrgID, m.ID)
	if err != nil {
		return nil, err
	}
	if st == nil { // received mail: nothing to deliver
		st = &models.SendStatus{ID: m.ID, Status: m.Status, CreatedAt: m.CreatedAt, Recipients: []models.RecipientDelivery{}}
	}
	return &result{v: st, text: renderSendStatus(st)}, nil
}

func (s *Server) updateMessage(ctx context.Context, r *Request, in updateArgs) (*result, error) {
	p := r.Principal
	m, err := s.d.Mail.UpdateMessage(ctx, p.OrgID, p.InboxID, in.MessageID,
		models.UpdateMessageRequest{LabelsAdd: in.LabelsAdd, LabelsRemove: in.LabelsRemove, Read: in.Read})
	if err != nil {
		return nil, err
	}
	return &result{v: m, text: "Updated " + m.ID + ": labels " + strings.Join(m.Labels, ", ") + readWord(m.Read), target: m.ID}, nil
}

// WaitResult is wait_for_message's answer.
type WaitResult struct {
	TimedOut bool                   `json:"timed_out"`
	Message  *models.MessageSummary `json:"message,omitempty"`
}

// MaxWait bounds wait_for_message.
const MaxWait = 60 * time.Second

// waitForMessage waits for the inbox's next message.received after the
// call started, read from the event log: a wake-up from any replica
// (LISTEN/NOTIFY) makes it look, as the SSE streams do.
func (s *Server) waitForMessage(ctx context.Context, r *Request, in waitArgs) (*result, error) {
	timeout := 30 * time.Second
	if in.TimeoutSeconds != 0 {
		if in.TimeoutSeconds < 1 || in.TimeoutSeconds > int(MaxWait/time.Second) {
			return nil, models.Invalid("timeout_seconds", "timeout_seconds must be from 1 to 60")
		}
		timeout = time.Duration(in.TimeoutSeconds) * time.Second
	}
	p := r.Principal
	cur, err := s.d.Events.Start(ctx)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := events.Query{OrgID: p.OrgID, InboxID: p.InboxID, Types: []string{models.EventMessageReceived}}
	f := &firstMessage{}
	for {
		err = s.d.Events.Follow(wctx, q, cur, min(s.d.Heartbeat, timeout), f)
		if !errors.Is(err, errFound) {
			if wctx.Err() != nil && ctx.Err() == nil {
				return &result{v: WaitResult{TimedOut: true}, text: "No new message arrived within " + timeout.String() + "."}, nil
			}
			return nil, err
		}
		m, err := s.d.Mail.GetMessage(ctx, p.OrgID, p.InboxID, f.messageID)
		if models.ErrorCode(err) == models.CodeNotFound {
			// Deleted meanwhile: wait on for the next one.
			if cur, err = s.d.Events.Start(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return &result{v: WaitResult{Message: &m.MessageSummary}, text: "New message:\n" + renderSummary(&m.MessageSummary), external: true}, nil
	}
}

var errFound = errors.New("message found")

// firstMessage ends a Follow at the first message.received.
type firstMessage struct{ messageID string }

func (f *firstMessage) Events(evs []models.Event) error {
	for _, ev := range evs {
		if id, _ := ev.Payload["message_id"].(string); ev.Type == models.EventMessageReceived && id != "" {
			f.messageID = id
			return errFound
		}
	}
	return nil
}

func (f *firstMessage) Heartbeat() error { return nil }
