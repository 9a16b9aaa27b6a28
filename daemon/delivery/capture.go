package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/models"
)

// Capture: mail a sandbox inbox sends to an address outside its
// organization is never handed to an MX or relay. The delivery job signs
// it as it would have been sent and stores it as a captured message (one
// per send and recipient domain, as one SMTP transaction per domain would
// have been made); the recipients are recorded delivered with a "captured"
// reply, so the sender sees message.delivered as from a real domain, and
// message.captured says where the mail went. Mail to the organization's
// own inboxes is delivered locally, as from any domain.

// sandboxRefusal is the error a send from a sandbox inbox gets when its
// domain is disabled (or sandbox.domain is empty); nil otherwise.
func (s *Service) sandboxRefusal(domainID, domainName, domainUse string, disabled bool) error {
	if domainUse != models.DomainUseSandbox || !(disabled || s.sandboxOff) {
		return nil
	}
	msg := fmt.Sprintf("the sandbox domain %s is disabled: its inboxes send nothing; enable it with PATCH /v1/domains/%s {\"disabled\": false}, or send from an inbox on a domain of your own", domainName, domainID)
	if s.sandboxOff {
		msg = fmt.Sprintf("the sandbox is turned off on this server (sandbox.domain is empty): the inboxes of %s send nothing; send from an inbox on a domain of your own", domainName)
	}
	return &models.Error{Code: models.CodeSandboxDisabled, Message: msg}
}

// capture signs the message with the sandbox domain's key and stores it
// for rcpts instead of sending it, in the transaction that records them
// delivered: exactly once, even if the job runs again.
func (s *Service) capture(ctx context.Context, o *sendRow, domain string, rcpts []rcptRow) error {
	signed, err := s.sign(ctx, o, domainOf(o.EnvelopeFrom))
	if err != nil {
		return fmt.Errorf("sign captured message: %w", err)
	}
	addrs := make([]string, len(rcpts))
	for i, r := range rcpts {
		addrs[i] = strings.ToLower(r.Address)
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var subject string
		if err := tx.Raw(`SELECT subject FROM messages WHERE id = ?`, o.ID).Scan(&subject).Error; err != nil {
			return fmt.Errorf("read subject: %w", err)
		}
		id := models.NewID(models.PrefixCaptured)
		res := tx.Exec(`INSERT INTO captured_messages (id, org_id, inbox_id, message_id, domain, envelope_from, recipients,
			subject, message_id_header, raw, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (message_id, domain) DO NOTHING`,
			id, o.OrgID, o.InboxID, o.ID, domain, o.EnvelopeFrom, models.StringArray(addrs), subject, o.MessageIDHeader, signed, len(signed))
		if res.Error != nil {
			return fmt.Errorf("store captured message: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			if err := tx.Raw(`SELECT id FROM captured_messages WHERE message_id = ? AND domain = ?`, o.ID, domain).Scan(&id).Error; err != nil {
				return fmt.Errorf("read captured message: %w", err)
			}
		}
		results := map[string]result{}
		for _, r := range rcpts {
			results[r.Address] = result{code: 250, enhanced: "2.0.0", ok: true,
				text: "captured as " + id + " (sandbox domain: not sent)"}
		}
		if err := s.recordTx(ctx, tx, o, results, "capture"); err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return nil
		}
		_, err := s.events.Emit(ctx, tx, o.OrgID, o.InboxID, models.EventMessageCaptured, map[string]any{
			"captured_id": id, "message_id": o.ID, "domain": domain, "recipients": addrs, "subject": subject})
		return err
	})
}

// capturedColumns are the columns of a captured message's summary.
const capturedColumns = `id, inbox_id, message_id, domain, envelope_from, recipients, subject, message_id_header, size_bytes, created_at`

type capturedRow struct {
	ID              string
	InboxID         string
	MessageID       string
	Domain          string
	EnvelopeFrom    string
	Recipients      models.StringArray
	Subject         string
	MessageIDHeader string
	SizeBytes       int
	CreatedAt       time.Time
	Raw             []byte
}

func (r *capturedRow) model() models.CapturedMessage {
	rcpts := []string(r.Recipients)
	if rcpts == nil {
		rcpts = []string{}
	}
	return models.CapturedMessage{ID: r.ID, InboxID: r.InboxID, MessageID: r.MessageID, Domain: r.Domain,
		EnvelopeFrom: r.EnvelopeFrom, Recipients: rcpts, Subject: r.Subject, MessageIDHeader: r.MessageIDHeader,
		SizeBytes: r.SizeBytes, CreatedAt: r.CreatedAt, Raw: string(r.Raw)}
}

// ListCaptured returns a page of the organization's captured mail, newest
// first, optionally only an inbox's and only that to one recipient
// address. The cursor is the id of the last message of the previous page.
func (s *Service) ListCaptured(ctx context.Context, orgID, inboxID, to, cursor string, limit int) ([]models.CapturedMessage, string, error) {
	if cursor != "" && !models.HasPrefix(cursor, models.PrefixCaptured) {
		return nil, "", models.Invalid("cursor", "cursor is not one this list returned")
	}
	q := s.db.DB.WithContext(ctx).Table("captured_messages").Select(capturedColumns).Where("org_id = ?", orgID)
	if inboxID != "" {
		q = q.Where("inbox_id = ?", inboxID)
	}
	if to = strings.ToLower(strings.TrimSpace(to)); to != "" {
		if strings.Count(to, "@") != 1 || strings.HasPrefix(to, "@") || strings.HasSuffix(to, "@") {
			return nil, "", models.Invalid("to", "to must be one email address, such as someone@example.com")
		}
		q = q.Where("recipients @> ARRAY[?]::text[]", to)
	}
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []capturedRow
	if err := q.Order("id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list captured messages: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.CapturedMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, next, nil
}

// GetCaptured returns one captured message of the organization with its
// raw bytes (DKIM-Signature included).
func (s *Service) GetCaptured(ctx context.Context, orgID, id string) (*models.CapturedMessage, error) {
	if !models.HasPrefix(id, models.PrefixCaptured) {
		return nil, models.NotFound("captured message")
	}
	var row capturedRow
	res := s.db.DB.WithContext(ctx).Table("captured_messages").Select(capturedColumns+", raw").
		Where("id = ? AND org_id = ?", id, orgID).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("get captured message: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, models.NotFound("captured message")
	}
	m := row.model()
	return &m, nil
}
