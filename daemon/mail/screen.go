package mail

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"gent/daemon/screening"
	"gent/models"
)

// threadEmpty guards the deletion of a thread whose counters say it is
// empty: a quarantined message still refers to it.
const threadEmpty = ` AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = threads.id)`

// prescreened is the content analysis of an inbound message: its
// screening findings and score, and the message as a reader sees it. Both
// depend only on the message and its authentication results, not on the
// inbox, so they are made once per message however many inboxes it goes
// to, and may be made before the storing transaction (Prescreen).
type prescreened struct {
	auth *models.AuthResults
	v    models.Screening
	view *Parsed
}

// Prescreen analyses p for storage as inbound mail with these
// authentication results: the screening findings and the reader's view.
// The SMTP session calls it as the message is received, so that this CPU
// work runs in the session, beside other sessions, rather than in the
// group commit that every session waits on. The verdict is still decided
// in the storing transaction (Store), with the inbox's settings as they
// are there: a message is never visible before it. Store makes the
// analysis itself for a Parsed not prescreened, or prescreened with other
// authentication results.
func (p *Parsed) Prescreen(auth *models.AuthResults) {
	p.pre = analyse(p, auth)
}

func analyse(p *Parsed, auth *models.AuthResults) *prescreened {
	atts := make([]screening.Attachment, len(p.Attachments))
	for i, a := range p.Attachments {
		atts[i] = screening.Attachment{Filename: a.Filename, ContentType: a.ContentType}
	}
	v := screening.Screen(screening.Input{Subject: p.Subject, Text: p.Text, HTML: p.HTML, Document: p.html,
		Attachments: atts, Auth: auth})
	view := visibleView(p)
	view.pre = nil
	return &prescreened{auth: auth, v: v, view: view}
}

// screen decides, inside the storing transaction, an inbound message's
// verdict in one inbox — whether it is quarantined — from its analysis
// (Prescreen's, or made here) and the inbox's settings, and returns the
// message as the inbox stores it: as a reader sees it. The settings are
// read only when there is a finding.
func (s *Service) screen(ctx context.Context, db *gorm.DB, in StoreInput, p *Parsed) (*models.Screening, bool, *Parsed, error) {
	pre := p.pre
	if pre == nil || pre.auth != in.Auth {
		pre = analyse(p, in.Auth)
	}
	v := pre.v // this inbox's copy: the verdict is per inbox
	if len(v.Findings) == 0 {
		return &v, false, pre.view, nil
	}
	set, err := screening.LoadSettings(ctx, db, in.InboxID)
	if err != nil {
		return nil, false, nil, err
	}
	v.Verdict = screening.Verdict(v, set.QuarantineAt, set.HideUnauthenticated)
	return &v, v.Verdict == models.VerdictQuarantined, pre.view, nil
}

// visibleView is p as a reader sees it: invisible characters stripped
// from the subject and text, and an HTML-only message's text rendered
// from its HTML without what the HTML hides (from the tree Parse made of
// it, not parsed again). The HTML and the raw message are kept as they
// came.
func visibleView(p *Parsed) *Parsed {
	v := *p
	v.Subject = screening.Strip(p.Subject)
	v.Text = screening.Strip(p.Text)
	if v.Text == "" && p.HTML != "" {
		if p.html != nil {
			v.Text = documentText(p.html, false)
		} else {
			v.Text = HTMLToText(p.HTML, false)
		}
	}
	v.ExtractedText = screening.Strip(p.ExtractedText)
	return &v
}

func screeningJSON(v *models.Screening) any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// emitArrival emits message.received for a visible message (to the
// inbox's streams too), or message.quarantined for a quarantined one (to
// org streams and org webhooks only: no inbox id on the event). A
// released message's message.received says `released: true`.
func (s *Service) emitArrival(ctx context.Context, tx *gorm.DB, orgID, inboxID, id, threadID, from, subject string, size int64, v *models.Screening, quarantined, released bool) error {
	payload := map[string]any{
		"message_id": id, "thread_id": threadID, "inbox_id": inboxID,
		"from": from, "subject": Preview(subject), "size": size,
	}
	if released {
		payload["released"] = true
	}
	if v != nil {
		payload["screening"] = v
	}
	typ, eventInbox := models.EventMessageReceived, inboxID
	if quarantined {
		typ, eventInbox = models.EventMessageQuarantined, ""
	}
	_, err := s.events.Emit(ctx, tx, orgID, eventInbox, typ, payload)
	return err
}

// ListQuarantine returns a page of the organization's quarantined
// messages (of one inbox when inboxID is set), newest first.
func (s *Service) ListQuarantine(ctx context.Context, orgID, inboxID, cursor string, limit int) ([]models.QuarantinedMessage, string, error) {
	if cursor != "" && !models.HasPrefix(cursor, models.PrefixMessage) {
		return nil, "", models.Invalid("cursor", "cursor is not valid")
	}
	q := s.db.DB.WithContext(ctx).Table("messages").Select(summaryColumns).Where("org_id = ? AND quarantined", orgID)
	if inboxID != "" {
		q = q.Where("inbox_id = ?", inboxID)
	}
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	var rows []messageRow
	if err := q.Order("id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list quarantine: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]models.QuarantinedMessage, len(rows))
	for i := range rows {
		m := rows[i].summary()
		out[i] = models.QuarantinedMessage{ID: m.ID, InboxID: m.InboxID, From: m.From, Subject: m.Subject,
			Preview: m.Preview, Size: m.Size, Screening: m.Screening, CreatedAt: m.CreatedAt}
	}
	return out, next, nil
}

// GetQuarantined returns a quarantined message of the organization with
// its bodies (the HTML as it came: reviewers see what was hidden).
func (s *Service) GetQuarantined(ctx context.Context, orgID, id string) (*models.Message, error) {
	return s.messageDetail(ctx, "quarantined message", `SELECT `+detailColumns+` FROM messages
		WHERE id = ? AND org_id = ? AND quarantined`, id, orgID)
}

// ReleaseQuarantined makes a quarantined message visible to its inbox:
// its thread counts it and message.received fires as if it had just
// arrived (the event is the cross-replica signal, like any other).
func (s *Service) ReleaseQuarantined(ctx context.Context, orgID, id string) (*models.Message, error) {
	var inboxID string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var rows []struct {
			InboxID   string
			ThreadID  string
			FromAddr  []byte
			Subject   string
			Size      int64
			Read      bool
			Preview   string
			Screening []byte
		}
		if err := tx.Raw(`UPDATE messages SET quarantined = false,
				screening = jsonb_set(screening, '{verdict}', to_jsonb(?::text))
			WHERE id = ? AND org_id = ? AND quarantined
			RETURNING inbox_id, thread_id, from_addr, subject, size, read, preview, screening`,
			models.VerdictSuspicious, id, orgID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("release message: %w", err)
		}
		if len(rows) == 0 {
			return models.NotFound("quarantined message")
		}
		r := rows[0]
		inboxID = r.InboxID
		unread := 0
		if !r.Read {
			unread = 1
		}
		var from models.Address
		_ = json.Unmarshal(r.FromAddr, &from)
		if err := tx.Exec(`UPDATE threads SET message_count = message_count + 1, unread_count = unread_count + ?,
				last_message_at = now(), preview = ? WHERE id = ?`, unread, r.Preview, r.ThreadID).Error; err != nil {
			return fmt.Errorf("release message: thread: %w", err)
		}
		var v models.Screening
		_ = json.Unmarshal(r.Screening, &v)
		return s.emitArrival(ctx, tx, orgID, r.InboxID, id, r.ThreadID, from.Address, r.Subject, r.Size, &v, false, true)
	})
	if err != nil {
		return nil, err
	}
	return s.GetMessage(ctx, orgID, inboxID, id)
}

// DeleteQuarantined deletes a quarantined message, releasing its bytes
// from its inbox's usage; a thread left without messages goes with it.
func (s *Service) DeleteQuarantined(ctx context.Context, orgID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		var rows []struct {
			InboxID  string
			ThreadID string
			Size     int64
		}
		if err := tx.Raw(`DELETE FROM messages WHERE id = ? AND org_id = ? AND quarantined RETURNING inbox_id, thread_id, size`,
			id, orgID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("delete quarantined message: %w", err)
		}
		if len(rows) == 0 {
			return models.NotFound("quarantined message")
		}
		r := rows[0]
		var usage struct {
			UsedBytes  int64
			AlertCheck bool
		}
		if err := tx.Raw(`UPDATE inboxes SET used_bytes = greatest(used_bytes - ?, 0), message_count = greatest(message_count - 1, 0)
			WHERE id = ? RETURNING used_bytes, `+alertCheck, r.Size, r.InboxID).Scan(&usage).Error; err != nil {
			return fmt.Errorf("delete quarantined message: usage: %w", err)
		}
		if err := s.usageChanged(ctx, tx, usage.AlertCheck, orgID, r.InboxID, usage.UsedBytes); err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM threads WHERE id = ? AND message_count <= 0`+threadEmpty, r.ThreadID).Error
	})
}
