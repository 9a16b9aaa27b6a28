package mail

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"gent/models"
)

type threadRow struct {
	ID            string
	InboxID       string
	Subject       string
	Preview       string
	Participants  models.StringArray
	Labels        models.StringArray
	MessageCount  int64
	UnreadCount   int64
	LastMessageAt time.Time
	CreatedAt     time.Time
}

func (r threadRow) thread() models.Thread {
	t := models.Thread{ID: r.ID, InboxID: r.InboxID, Subject: r.Subject, Preview: r.Preview,
		Participants: []string(r.Participants), Labels: []string(r.Labels), MessageCount: r.MessageCount,
		UnreadCount: r.UnreadCount, LastMessageAt: r.LastMessageAt, CreatedAt: r.CreatedAt}
	if t.Participants == nil {
		t.Participants = []string{}
	}
	if t.Labels == nil {
		t.Labels = []string{}
	}
	return t
}

// threadColumns reads a thread; its labels are those of its messages.
const threadColumns = `t.id, t.inbox_id, t.subject, t.preview, t.participants, t.message_count, t.unread_count,
	t.last_message_at, t.created_at,
	coalesce((SELECT array_agg(DISTINCT l ORDER BY l) FROM messages m, unnest(m.labels) l WHERE m.thread_id = t.id AND NOT m.quarantined), '{}') AS labels`

// threadCursor encodes the keyset position (last_message_at, id).
func threadCursor(t threadRow) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.LastMessageAt.UTC().Format(time.RFC3339Nano) + "|" + t.ID))
}

// ValidThreadCursor reports whether c is a cursor of the thread list.
func ValidThreadCursor(c string) bool {
	_, _, err := parseThreadCursor(c)
	return err == nil
}

func parseThreadCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(b), "|")
		if t, err := time.Parse(time.RFC3339Nano, ts); ok && err == nil && models.HasPrefix(id, models.PrefixThread) {
			return t, id, nil
		}
	}
	return time.Time{}, "", models.Invalid("cursor", "cursor is not valid")
}

// ListThreads returns a page of the inbox's threads, most recently active
// first. label keeps threads with a message carrying it; unread threads
// with unread messages (or none).
func (s *Service) ListThreads(ctx context.Context, orgID, inboxID, label string, unread *bool, cursor string, limit int) ([]models.Thread, string, error) {
	q := s.db.DB.WithContext(ctx).Table("threads t").Select(threadColumns).Where("t.inbox_id = ? AND t.org_id = ? AND t.message_count > 0", inboxID, orgID)
	if cursor != "" {
		at, id, err := parseThreadCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(t.last_message_at, t.id) < (?, ?)", at, id)
	}
	if label != "" {
		q = q.Where("EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND NOT m.quarantined AND m.labels @> ARRAY[?]::text[])", label)
	}
	if unread != nil {
		if *unread {
			q = q.Where("t.unread_count > 0")
		} else {
			q = q.Where("t.unread_count = 0")
		}
	}
	var rows []threadRow
	if err := q.Order("t.last_message_at DESC, t.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list threads: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = threadCursor(rows[limit-1])
	}
	out := make([]models.Thread, len(rows))
	for i, r := range rows {
		out[i] = r.thread()
	}
	return out, next, nil
}

// maxThreadMessages bounds the messages GET …/threads/{id} returns (the
// oldest first); page through longer threads with GET …/messages?thread_id=.
const maxThreadMessages = 200

// GetThread returns a thread with its messages, oldest first.
func (s *Service) GetThread(ctx context.Context, orgID, inboxID, id string) (*models.ThreadDetail, error) {
	var rows []threadRow
	err := s.db.DB.WithContext(ctx).Raw(`SELECT `+threadColumns+` FROM threads t WHERE t.id = ? AND t.inbox_id = ? AND t.org_id = ? AND t.message_count > 0`,
		id, inboxID, orgID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("get thread: %w", err)
	}
	if len(rows) == 0 {
		return nil, models.NotFound("thread")
	}
	var msgs []messageRow
	err = s.db.DB.WithContext(ctx).Raw(`SELECT `+detailColumns+` FROM messages WHERE thread_id = ? AND inbox_id = ? AND org_id = ? AND NOT quarantined
		ORDER BY id LIMIT ?`, id, inboxID, orgID, maxThreadMessages).Scan(&msgs).Error
	if err != nil {
		return nil, fmt.Errorf("get thread: %w", err)
	}
	ids := make([]string, len(msgs))
	for i := range msgs {
		ids[i] = msgs[i].ID
	}
	atts, err := s.attachmentsOf(ctx, s.db.DB, ids)
	if err != nil {
		return nil, err
	}
	d := &models.ThreadDetail{Thread: rows[0].thread(), Messages: make([]models.Message, len(msgs))}
	for i := range msgs {
		d.Messages[i] = msgs[i].detail()
		if a := atts[msgs[i].ID]; a != nil {
			d.Messages[i].Attachments = a
		}
	}
	return d, nil
}
