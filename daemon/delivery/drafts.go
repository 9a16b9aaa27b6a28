package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/models"
)

// Drafts are outbound messages stored with status "draft" (labelled
// draft, counted in the inbox's usage) plus the request they were built
// from. Sending a draft validates it like any send and replaces it with
// the sent message in one transaction.

type draftRow struct {
	ID        string
	OrgID     string
	InboxID   string
	Mode      string
	Original  string
	Request   []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (s *Service) loadInbox(ctx context.Context, orgID, inboxID string) (inboxRow, error) {
	var ib inboxRow
	res := s.db.DB.WithContext(ctx).Raw(`SELECT i.address, i.display_name, i.domain_id, d.name AS domain_name, d.status AS domain_status
		FROM inboxes i JOIN domains d ON d.id = i.domain_id WHERE i.id = ? AND i.org_id = ? AND i.status = 'active'`,
		inboxID, orgID).Scan(&ib)
	if res.Error != nil {
		return ib, fmt.Errorf("load inbox: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ib, models.NotFound("inbox")
	}
	return ib, nil
}

func replyOf(r models.SendRequest) models.ReplyRequest {
	return models.ReplyRequest{To: r.To, Cc: r.Cc, Bcc: r.Bcc, Text: r.Text, HTML: r.HTML, Attachments: r.Attachments, Headers: r.Headers}
}

// buildDraft composes a draft's message, allowing it to be incomplete.
func (s *Service) buildDraft(ctx context.Context, orgID, inboxID, mode, original string, r models.SendRequest) (*mail.Composed, *mail.Parsed, error) {
	ib, err := s.loadInbox(ctx, orgID, inboxID)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.draft(ctx, SendInput{OrgID: orgID, InboxID: inboxID, Mode: mode, Original: original, Send: r, Reply: replyOf(r)}, ib, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := mail.Compose(d)
	if err != nil {
		return nil, nil, err
	}
	p, err := mail.ParseComposed(c.Raw, s.mail.Limits())
	if err != nil {
		return nil, nil, err
	}
	for _, rc := range c.Recipients {
		if rc.Kind == "bcc" {
			p.Bcc = append(p.Bcc, models.Address{Address: rc.Address})
		}
	}
	return c, p, nil
}

// replyFields refuses the fields a reply or forward does not take: its
// subject is the original's (with Re: or Fwd:) and its Reply-To is the
// inbox's, as with POST …/reply and …/forward.
func replyFields(mode string, p models.DraftRequest) error {
	if mode == ModeSend {
		return nil
	}
	if p.Subject != nil {
		return models.Invalid("subject", "a %s takes its subject from the original message; omit subject", modeNoun(mode))
	}
	if p.ReplyTo != nil {
		return models.Invalid("reply_to", "a %s takes no reply_to; omit it", modeNoun(mode))
	}
	return nil
}

func modeNoun(mode string) string {
	if mode == ModeForward {
		return "forward"
	}
	return "reply"
}

func applyDraft(r *models.SendRequest, p models.DraftRequest) {
	if p.To != nil {
		r.To = *p.To
	}
	if p.Cc != nil {
		r.Cc = *p.Cc
	}
	if p.Bcc != nil {
		r.Bcc = *p.Bcc
	}
	if p.ReplyTo != nil {
		r.ReplyTo = *p.ReplyTo
	}
	if p.Subject != nil {
		r.Subject = *p.Subject
	}
	if p.Text != nil {
		r.Text = *p.Text
	}
	if p.HTML != nil {
		r.HTML = *p.HTML
	}
	if p.Attachments != nil {
		r.Attachments = *p.Attachments
	}
	if p.Headers != nil {
		r.Headers = *p.Headers
	}
}

// CreateDraft stores a new draft.
func (s *Service) CreateDraft(ctx context.Context, orgID, inboxID string, req models.DraftRequest) (*models.Draft, error) {
	mode := req.Mode
	switch {
	case mode == "" && req.ReplyToMessage != "":
		mode = ModeReply
	case mode == "":
		mode = ModeSend
	}
	switch mode {
	case ModeSend:
		if req.ReplyToMessage != "" {
			return nil, models.Invalid("mode", "mode send takes no reply_to_message; use reply, reply_all or forward")
		}
	case ModeReply, ModeReplyAll, ModeForward:
		if req.ReplyToMessage == "" {
			return nil, models.Invalid("reply_to_message", "mode %s needs reply_to_message", mode)
		}
	default:
		return nil, models.Invalid("mode", "mode must be send, reply, reply_all or forward")
	}
	if err := replyFields(mode, req); err != nil {
		return nil, err
	}
	var r models.SendRequest
	applyDraft(&r, req)
	c, p, err := s.buildDraft(ctx, orgID, inboxID, mode, req.ReplyToMessage, r)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(r)
	var id string
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		st, err := s.mail.Store(ctx, tx, mail.StoreInput{OrgID: orgID, InboxID: inboxID, Direction: models.DirectionOutbound,
			Status: "draft", Raw: c.Raw, Parsed: p, Labels: []string{"draft"}, Read: true})
		if err != nil {
			return err
		}
		id = st.ID
		return tx.Exec(`INSERT INTO drafts (id, org_id, inbox_id, mode, original, request) VALUES (?, ?, ?, ?, ?, ?)`,
			id, orgID, inboxID, mode, req.ReplyToMessage, body).Error
	})
	if err != nil {
		return nil, err
	}
	return s.GetDraft(ctx, orgID, inboxID, id)
}

func (s *Service) draftRow(ctx context.Context, db *gorm.DB, orgID, inboxID, id string, lock bool) (*draftRow, error) {
	q := `SELECT * FROM drafts WHERE id = ? AND org_id = ? AND inbox_id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var row draftRow
	res := db.WithContext(ctx).Raw(q, id, orgID, inboxID).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("load draft: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, models.NotFound("draft")
	}
	return &row, nil
}

func (s *Service) draftView(ctx context.Context, row *draftRow) (*models.Draft, error) {
	var r models.SendRequest
	if err := json.Unmarshal(row.Request, &r); err != nil {
		return nil, fmt.Errorf("load draft: %w", err)
	}
	var m struct {
		ThreadID string
		Size     int64
		Subject  string
	}
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT thread_id, size, subject FROM messages WHERE id = ?`, row.ID).Scan(&m).Error; err != nil {
		return nil, fmt.Errorf("load draft: %w", err)
	}
	d := &models.Draft{ID: row.ID, InboxID: row.InboxID, ThreadID: m.ThreadID, Mode: row.Mode, ReplyToMessage: row.Original,
		To: orEmpty(r.To), Cc: orEmpty(r.Cc), Bcc: orEmpty(r.Bcc), ReplyTo: orEmpty(r.ReplyTo), Subject: m.Subject, Text: r.Text,
		HTML: r.HTML, Attachments: r.Attachments, Headers: r.Headers, Size: m.Size, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if d.Attachments == nil {
		d.Attachments = []models.SendAttachment{}
	}
	return d, nil
}

func orEmpty(l models.AddressList) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// GetDraft returns one draft of the inbox.
func (s *Service) GetDraft(ctx context.Context, orgID, inboxID, id string) (*models.Draft, error) {
	row, err := s.draftRow(ctx, s.db.DB, orgID, inboxID, id, false)
	if err != nil {
		return nil, err
	}
	return s.draftView(ctx, row)
}

// ListDrafts returns a page of the inbox's drafts, newest first.
func (s *Service) ListDrafts(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.Draft, string, error) {
	q := s.db.DB.WithContext(ctx).Table("drafts").Where("org_id = ? AND inbox_id = ?", orgID, inboxID)
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []draftRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list drafts: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.Draft, 0, len(rows))
	for i := range rows {
		d, err := s.draftView(ctx, &rows[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, *d)
	}
	return out, next, nil
}

// UpdateDraft replaces the given fields and rebuilds the stored message
// (same id and thread; usage changes by the difference).
func (s *Service) UpdateDraft(ctx context.Context, orgID, inboxID, id string, req models.DraftRequest) (*models.Draft, error) {
	if req.Mode != "" || req.ReplyToMessage != "" {
		return nil, models.Invalid("mode", "mode and reply_to_message are set when the draft is created")
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		row, err := s.draftRow(ctx, tx, orgID, inboxID, id, true)
		if err != nil {
			return err
		}
		if err := replyFields(row.Mode, req); err != nil {
			return err
		}
		var r models.SendRequest
		if err := json.Unmarshal(row.Request, &r); err != nil {
			return fmt.Errorf("load draft: %w", err)
		}
		applyDraft(&r, req)
		c, p, err := s.buildDraft(ctx, orgID, inboxID, row.Mode, row.Original, r)
		if err != nil {
			return err
		}
		if _, err := s.mail.ReplaceMessage(ctx, tx, mail.StoreInput{ID: id, OrgID: orgID, InboxID: inboxID,
			Direction: models.DirectionOutbound, Status: "draft", Raw: c.Raw, Parsed: p}); err != nil {
			return err
		}
		// Replacing the message removed its drafts row (ON DELETE CASCADE).
		body, _ := json.Marshal(r)
		return tx.Exec(`INSERT INTO drafts (id, org_id, inbox_id, mode, original, request, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, orgID, inboxID, row.Mode, row.Original, body, row.CreatedAt).Error
	})
	if err != nil {
		return nil, err
	}
	return s.GetDraft(ctx, orgID, inboxID, id)
}

// DeleteDraft removes a draft, releasing its usage.
func (s *Service) DeleteDraft(ctx context.Context, orgID, inboxID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.draftRow(ctx, tx, orgID, inboxID, id, true); err != nil {
			return err
		}
		return s.mail.DeleteMessageTx(ctx, tx, orgID, inboxID, id)
	})
}

// SendDraft sends a draft like any send (validated, held for a supervised
// token); the draft is replaced by the sent message in one transaction.
func (s *Service) SendDraft(ctx context.Context, in SendInput, id string) (*models.SendResponse, error) {
	row, err := s.draftRow(ctx, s.db.DB, in.OrgID, in.InboxID, id, false)
	if err != nil {
		return nil, err
	}
	var r models.SendRequest
	if err := json.Unmarshal(row.Request, &r); err != nil {
		return nil, fmt.Errorf("load draft: %w", err)
	}
	in.Mode, in.Original, in.Send, in.Reply, in.DraftID = row.Mode, row.Original, r, replyOf(r), id
	return s.Send(ctx, in)
}
