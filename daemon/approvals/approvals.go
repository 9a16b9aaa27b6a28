// Package approvals holds supervised sends: a send by a token whose
// requires_approval holds email:send is stored as pending_approval and not
// queued until a reviewer approves it (possibly with corrections); a
// rejection or the expiry window ends it unsent. Nothing held leaves
// without a human decision.
package approvals

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/daemon/config"
	"gent/daemon/delivery"
	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/store"
	"gent/models"
)

type Service struct {
	db       *store.Store
	events   *events.Service
	audit    *audit.Service
	delivery *delivery.Service
	mail     *mail.Service
	cfg      config.Approvals
	log      *slog.Logger
}

func NewService(db *store.Store, ev *events.Service, au *audit.Service, dl *delivery.Service, m *mail.Service, cfg config.Approvals, log *slog.Logger) *Service {
	return &Service{db: db, events: ev, audit: au, delivery: dl, mail: m, cfg: cfg, log: log}
}

type row struct {
	ID             string
	OrgID          string
	InboxID        string
	MessageID      string
	TokenID        string
	TokenLabel     string
	Status         string
	Digest         []byte
	ApprovedDigest []byte
	Draft          []byte
	Reason         string
	DecidedBy      string
	DecidedAt      *time.Time
	Edited         bool
	ExpiresAt      time.Time
	CreatedAt      time.Time
	HoldReasons    []byte
}

func (r *row) view() models.Approval {
	a := models.Approval{ID: r.ID, InboxID: r.InboxID, MessageID: r.MessageID, TokenID: r.TokenID, TokenLabel: r.TokenLabel,
		Status: r.Status, Digest: hex.EncodeToString(r.Digest), Reason: r.Reason, DecidedBy: r.DecidedBy,
		DecidedAt: r.DecidedAt, Edited: r.Edited, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
	if len(r.ApprovedDigest) > 0 {
		a.ApprovedDigest = hex.EncodeToString(r.ApprovedDigest)
	}
	a.HoldReasons = []models.HoldReason{}
	if len(r.HoldReasons) > 0 {
		_ = json.Unmarshal(r.HoldReasons, &a.HoldReasons)
	}
	var d mail.Draft
	if json.Unmarshal(r.Draft, &d) == nil {
		a.Subject = d.Subject
		a.To = append(append(append([]string{}, d.To...), d.Cc...), d.Bcc...)
	}
	return a
}

// Hold records a held send inside the sending transaction
// (delivery.Holder).
func (s *Service) Hold(ctx context.Context, tx *gorm.DB, h delivery.HoldRequest) (string, error) {
	draft, err := json.Marshal(h.Draft)
	if err != nil {
		return "", fmt.Errorf("hold send: %w", err)
	}
	reasons := h.HoldReasons
	if reasons == nil {
		reasons = []models.HoldReason{}
	}
	rj, err := json.Marshal(reasons)
	if err != nil {
		return "", fmt.Errorf("hold send: %w", err)
	}
	id := models.NewID(models.PrefixApproval)
	expires := time.Now().Add(s.cfg.ExpireAfter.D()).UTC()
	if err := tx.Exec(`INSERT INTO approvals (id, org_id, inbox_id, message_id, token_id, token_label, digest, draft, expires_at, hold_reasons)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, h.OrgID, h.InboxID, h.MessageID, h.TokenID, h.TokenLabel, h.Digest, draft, expires, rj).Error; err != nil {
		return "", fmt.Errorf("hold send: %w", err)
	}
	_, err = s.events.Emit(ctx, tx, h.OrgID, h.InboxID, models.EventApprovalRequested, map[string]any{
		"approval_id": id, "message_id": h.MessageID, "token_label": h.TokenLabel, "subject": h.Draft.Subject,
		"expires_at": expires, "hold_reasons": reasons})
	return id, err
}

// List returns a page of the organization's approvals, newest first.
func (s *Service) List(ctx context.Context, orgID, status, inboxID, cursor string, limit int) ([]models.Approval, string, error) {
	switch status {
	case "", models.ApprovalPending, models.ApprovalApproved, models.ApprovalRejected, models.ApprovalExpired:
	default:
		return nil, "", models.Invalid("status", "status must be pending, approved, rejected or expired")
	}
	q := s.db.DB.WithContext(ctx).Table("approvals").Where("org_id = ?", orgID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if inboxID != "" {
		q = q.Where("inbox_id = ?", inboxID)
	}
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []row
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list approvals: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.Approval, len(rows))
	for i := range rows {
		out[i] = rows[i].view()
	}
	return out, next, nil
}

func (s *Service) load(ctx context.Context, db *gorm.DB, orgID, id string, lock bool) (*row, error) {
	q := `SELECT * FROM approvals WHERE id = ? AND org_id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var r row
	res := db.WithContext(ctx).Raw(q, id, orgID).Scan(&r)
	if res.Error != nil {
		return nil, fmt.Errorf("load approval: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, models.NotFound("approval")
	}
	return &r, nil
}

// Get returns an approval with its message exactly as it will be sent.
func (s *Service) Get(ctx context.Context, orgID, id string) (*models.ApprovalDetail, error) {
	r, err := s.load(ctx, s.db.DB, orgID, id, false)
	if err != nil {
		return nil, err
	}
	raw, err := s.mail.RawMessage(ctx, orgID, r.InboxID, r.MessageID)
	if err != nil {
		return nil, err
	}
	p, err := mail.Parse(raw, s.mail.Limits())
	if err != nil {
		return nil, fmt.Errorf("parse held message: %w", err)
	}
	// Lists are [] when empty, never null: typed clients read them as arrays.
	m := models.HeldMessage{From: p.From, To: nonNil(p.To), Cc: nonNil(p.Cc), Bcc: []models.Address{},
		ReplyTo: nonNil(p.ReplyTo), Subject: p.Subject, Text: p.Text, HTML: p.HTML, Headers: nonNil(p.Headers),
		Attachments: []models.HeldAttachment{}, MessageID: p.MessageID, InReplyTo: p.InReplyTo, Size: int64(len(raw))}
	for _, a := range p.Attachments {
		m.Attachments = append(m.Attachments, models.HeldAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size})
	}
	var bcc []string
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT address FROM delivery_recipients WHERE outbound_id = ? AND kind = 'bcc' ORDER BY address`,
		r.MessageID).Scan(&bcc).Error; err != nil {
		return nil, fmt.Errorf("load bcc: %w", err)
	}
	for _, b := range bcc {
		m.Bcc = append(m.Bcc, models.Address{Address: b})
	}
	var th struct{ ID, Subject string }
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT t.id, t.subject FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = ?`,
		r.MessageID).Scan(&th).Error; err != nil {
		return nil, fmt.Errorf("load thread: %w", err)
	}
	m.ThreadID, m.ThreadSubject = th.ID, th.Subject
	return &models.ApprovalDetail{Approval: r.view(), Message: m}, nil
}

// ForMessage returns the approval of a held message, or nil.
func (s *Service) ForMessage(ctx context.Context, orgID, messageID string) (*models.ApprovalInfo, error) {
	var r row
	res := s.db.DB.WithContext(ctx).Raw(`SELECT * FROM approvals WHERE message_id = ? AND org_id = ?`, messageID, orgID).Scan(&r)
	if res.Error != nil {
		return nil, fmt.Errorf("load approval: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return &models.ApprovalInfo{ID: r.ID, Status: r.Status, Reason: r.Reason, Edited: r.Edited, DecidedAt: r.DecidedAt, ExpiresAt: r.ExpiresAt}, nil
}

var errExpired = models.Errorf(models.CodeConflict, "the approval has expired; the message was not sent")

// decide runs fn on a pending approval under its row lock: exactly one
// decision wins; the others get 409. An approval past its expiry is
// expired on the spot (and committed) and the decision refused.
func (s *Service) decide(ctx context.Context, orgID, id string, fn func(tx *gorm.DB, r *row) error) error {
	expired := false
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := s.load(ctx, tx, orgID, id, true)
		if err != nil {
			return err
		}
		if r.Status != models.ApprovalPending {
			return models.Errorf(models.CodeConflict, "the approval was already decided: %s", r.Status)
		}
		if !time.Now().Before(r.ExpiresAt) {
			expired = true
			return s.expireTx(ctx, tx, r)
		}
		return fn(tx, r)
	})
	if err == nil && expired {
		return errExpired
	}
	return err
}

// Approve queues the held send in the same transaction. The stored bytes
// must still match the digest taken when the send was held. With edits,
// the corrected message is validated, stored in place of the held one,
// digested again and queued.
func (s *Service) Approve(ctx context.Context, p *auth.Principal, id string, edits *models.ApprovalEdits, remote, requestID string) (*models.Approval, error) {
	var out models.Approval
	err := s.decide(ctx, p.OrgID, id, func(tx *gorm.DB, r *row) error {
		raw, rcpts, envFrom, err := s.held(tx, r.MessageID)
		if err != nil {
			return err
		}
		if !bytes.Equal(delivery.Digest(envFrom, rcpts, raw), r.Digest) {
			s.log.Error("held message does not match its approval digest", "approval", r.ID, "message", r.MessageID)
			return models.Errorf(models.CodeConflict, "the held message no longer matches what was submitted for approval; it will not be sent")
		}
		approved := r.Digest
		edited := edits != nil && (edits.To != nil || edits.Cc != nil || edits.Bcc != nil || edits.Subject != nil || edits.Text != nil || edits.HTML != nil)
		if edited {
			newRaw, newRcpts, err := s.applyEdits(ctx, tx, r, edits, len(rcpts))
			if err != nil {
				return err
			}
			if err := s.delivery.Release(ctx, tx, r.MessageID, newRaw, newRcpts); err != nil {
				return err
			}
			approved = delivery.Digest(envFrom, newRcpts, newRaw)
		} else if err := s.delivery.Release(ctx, tx, r.MessageID, nil, nil); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE approvals SET status = 'approved', approved_digest = ?, decided_by = ?, decided_at = now(), edited = ?
			WHERE id = ?`, approved, p.ID(), edited, r.ID).Error; err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		payload := map[string]any{"approval_id": r.ID, "message_id": r.MessageID, "edited": edited, "reviewer": p.ID()}
		if _, err := s.events.Emit(ctx, tx, p.OrgID, r.InboxID, models.EventMessageApproved, payload); err != nil {
			return err
		}
		if _, err := s.events.Emit(ctx, tx, p.OrgID, r.InboxID, models.EventMessageSent, map[string]any{
			"message_id": r.MessageID, "recipients": len(rcpts), "approval_id": r.ID}); err != nil {
			return err
		}
		detail := map[string]any{"message_id": r.MessageID, "digest": hex.EncodeToString(r.Digest),
			"approved_digest": hex.EncodeToString(approved), "edited": edited}
		if edited {
			detail["edited_by"] = p.ID()
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: p.OrgID, ActorType: p.Kind, ActorID: p.ID(), Action: "approval.approved",
			TargetType: "approval", TargetID: r.ID, Outcome: audit.Success, Status: 200, RemoteAddr: remote, RequestID: requestID,
			Detail: detail}); err != nil {
			return err
		}
		r.Status, r.Edited, r.ApprovedDigest, r.DecidedBy = models.ApprovalApproved, edited, approved, p.ID()
		now := time.Now().UTC()
		r.DecidedAt = &now
		out = r.view()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// held returns the queued bytes, recipients and envelope sender of a held
// send.
func (s *Service) held(tx *gorm.DB, messageID string) ([]byte, []delivery.Recipient, string, error) {
	var o struct {
		Raw          []byte
		EnvelopeFrom string
		Status       string
	}
	if err := tx.Raw(`SELECT raw, envelope_from, status FROM outbound_messages WHERE id = ? FOR UPDATE`, messageID).Scan(&o).Error; err != nil {
		return nil, nil, "", fmt.Errorf("load held send: %w", err)
	}
	if o.Status != delivery.StatusPendingApproval {
		return nil, nil, "", models.Errorf(models.CodeConflict, "the send is %s, not pending approval", o.Status)
	}
	var rcpts []delivery.Recipient
	if err := tx.Raw(`SELECT address, kind FROM delivery_recipients WHERE outbound_id = ?`, messageID).Scan(&rcpts).Error; err != nil {
		return nil, nil, "", fmt.Errorf("load held recipients: %w", err)
	}
	return o.Raw, rcpts, o.EnvelopeFrom, nil
}

// applyEdits rebuilds the held message with a reviewer's corrections,
// validates it like a new send (addresses, size, suppressions, cap) and
// stores it in place of the held copy.
func (s *Service) applyEdits(ctx context.Context, tx *gorm.DB, r *row, e *models.ApprovalEdits, heldCount int) ([]byte, []delivery.Recipient, error) {
	var d mail.Draft
	if err := json.Unmarshal(r.Draft, &d); err != nil {
		return nil, nil, fmt.Errorf("load held draft: %w", err)
	}
	before := d
	if e.To != nil {
		d.To = *e.To
	}
	if e.Cc != nil {
		d.Cc = *e.Cc
	}
	if e.Bcc != nil {
		d.Bcc = *e.Bcc
	}
	if e.Subject != nil {
		d.Subject = *e.Subject
	}
	if e.Text != nil {
		d.Text = *e.Text
	}
	if e.HTML != nil {
		d.HTML = *e.HTML
	}
	d.Date = time.Now()
	d.Limits = s.mail.Limits()
	c, err := mail.Compose(d)
	if err != nil {
		return nil, nil, prefixEdited(err, e)
	}
	rcpts := make([]delivery.Recipient, len(c.Recipients))
	addrs := make([]string, len(c.Recipients))
	for i, rc := range c.Recipients {
		rcpts[i] = delivery.Recipient{Address: rc.Address, Kind: rc.Kind}
		addrs[i] = rc.Address
	}
	sup, err := s.delivery.Suppressed(ctx, tx, r.InboxID, addrs)
	if err != nil {
		return nil, nil, err
	}
	if len(sup) > 0 {
		return nil, nil, models.Invalid("edits.to", "%s is on this inbox's suppression list", strings.Join(sup, ", "))
	}
	// The sending policy again, for what the edit changed.
	if err := s.delivery.CheckEdit(ctx, tx, r.OrgID, r.InboxID, before, d, heldCount, c.Recipients,
		e.To != nil || e.Cc != nil || e.Bcc != nil); err != nil {
		return nil, nil, err
	}
	p, err := mail.ParseComposed(c.Raw, s.mail.Limits())
	if err != nil {
		return nil, nil, prefixEdited(err, e)
	}
	for _, rc := range c.Recipients {
		if rc.Kind == "bcc" {
			p.Bcc = append(p.Bcc, models.Address{Address: rc.Address})
		}
	}
	if _, err := s.mail.ReplaceMessage(ctx, tx, mail.StoreInput{ID: r.MessageID, OrgID: r.OrgID, InboxID: r.InboxID,
		Direction: models.DirectionOutbound, Status: delivery.StatusQueued, Raw: c.Raw, Parsed: p, MailFrom: d.FromAddress}); err != nil {
		return nil, nil, err
	}
	if err := tx.Exec(`UPDATE messages SET labels = array_append(array_remove(labels, 'edited'), 'edited') WHERE id = ?`, r.MessageID).Error; err != nil {
		return nil, nil, fmt.Errorf("label edited message: %w", err)
	}
	if err := tx.Exec(`UPDATE outbound_messages SET message_id_header = ? WHERE id = ?`, c.MessageID, r.MessageID).Error; err != nil {
		return nil, nil, fmt.Errorf("update message id: %w", err)
	}
	// The approval now describes the corrected message.
	draft, err := json.Marshal(d)
	if err != nil {
		return nil, nil, fmt.Errorf("record edited draft: %w", err)
	}
	if err := tx.Exec(`UPDATE approvals SET draft = ? WHERE id = ?`, draft, r.ID).Error; err != nil {
		return nil, nil, fmt.Errorf("record edited draft: %w", err)
	}
	r.Draft = draft
	return c.Raw, rcpts, nil
}

// prefixEdited names a field of the reviewer's edits as edits.<field>; a
// field the edits do not hold (attachments, headers: kept from the held
// send) keeps its own name.
func prefixEdited(err error, e *models.ApprovalEdits) error {
	var me *models.Error
	if !errors.As(err, &me) || me.Field == "" {
		return err
	}
	base := me.Field
	if i := strings.IndexAny(base, ".["); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "to", "cc", "bcc", "subject", "text", "html":
		return prefixField(err, "edits.")
	}
	return err
}

func prefixField(err error, prefix string) error {
	var me *models.Error
	if errors.As(err, &me) && me.Field != "" {
		c := *me
		c.Field = prefix + c.Field
		return &c
	}
	return err
}

// Reject ends the held send unsent, with the reviewer's reason.
func (s *Service) Reject(ctx context.Context, p *auth.Principal, id, reason, remote, requestID string) (*models.Approval, error) {
	reason = strings.TrimSpace(reason)
	var out models.Approval
	err := s.decide(ctx, p.OrgID, id, func(tx *gorm.DB, r *row) error {
		if reason == "" {
			return models.Invalid("reason", "a reason is required: the agent is told why")
		}
		if len(reason) > 2000 {
			return models.Invalid("reason", "reason must be at most 2000 characters")
		}
		if err := s.delivery.Close(ctx, tx, r.MessageID, delivery.StatusRejected); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE approvals SET status = 'rejected', reason = ?, decided_by = ?, decided_at = now() WHERE id = ?`,
			reason, p.ID(), r.ID).Error; err != nil {
			return fmt.Errorf("reject: %w", err)
		}
		if _, err := s.events.Emit(ctx, tx, p.OrgID, r.InboxID, models.EventMessageRejected, map[string]any{
			"approval_id": r.ID, "message_id": r.MessageID, "reason": reason, "reviewer": p.ID()}); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: p.OrgID, ActorType: p.Kind, ActorID: p.ID(), Action: "approval.rejected",
			TargetType: "approval", TargetID: r.ID, Outcome: audit.Success, Status: 200, RemoteAddr: remote, RequestID: requestID,
			Detail: map[string]any{"message_id": r.MessageID, "digest": hex.EncodeToString(r.Digest), "reason": reason}}); err != nil {
			return err
		}
		r.Status, r.Reason, r.DecidedBy = models.ApprovalRejected, reason, p.ID()
		now := time.Now().UTC()
		r.DecidedAt = &now
		out = r.view()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// expireTx ends a held send unsent because no one decided in time.
func (s *Service) expireTx(ctx context.Context, tx *gorm.DB, r *row) error {
	if err := s.delivery.Close(ctx, tx, r.MessageID, delivery.StatusExpired); err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE approvals SET status = 'expired', decided_at = now() WHERE id = ?`, r.ID).Error; err != nil {
		return fmt.Errorf("expire approval: %w", err)
	}
	if _, err := s.events.Emit(ctx, tx, r.OrgID, r.InboxID, models.EventMessageExpired, map[string]any{
		"approval_id": r.ID, "message_id": r.MessageID, "expired_at": r.ExpiresAt}); err != nil {
		return err
	}
	return s.audit.Record(ctx, tx, audit.Entry{OrgID: r.OrgID, ActorType: "system", Action: "approval.expired",
		TargetType: "approval", TargetID: r.ID, Outcome: audit.Success, Detail: map[string]any{"message_id": r.MessageID}})
}

// ExpireDue expires every pending approval past its window (in batches,
// SKIP LOCKED so replicas share the work) and returns how many.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			var rows []row
			if err := tx.Raw(`SELECT * FROM approvals WHERE status = 'pending' AND expires_at <= now()
				ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED`).Scan(&rows).Error; err != nil {
				return fmt.Errorf("find expired approvals: %w", err)
			}
			for i := range rows {
				if err := s.expireTx(ctx, tx, &rows[i]); err != nil {
					return err
				}
			}
			n = len(rows)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < 100 {
			return total, nil
		}
	}
}

// ExpireArgs is the periodic job that expires held sends.
type ExpireArgs struct{}

func (ExpireArgs) Kind() string { return "approvals.expire" }

type expireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	s *Service
}

func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
	n, err := w.s.ExpireDue(ctx)
	if n > 0 {
		w.s.log.Info("held sends expired", "count", n)
	}
	return err
}

// RegisterJobs adds the expiry job, run every interval.
func RegisterJobs(reg interface {
	Every(time.Duration, func() river.JobArgs)
}, workers *river.Workers, s *Service, interval time.Duration) {
	river.AddWorker(workers, &expireWorker{s: s})
	reg.Every(interval, func() river.JobArgs { return ExpireArgs{} })
}

// nonNil returns s, or an empty slice for nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
