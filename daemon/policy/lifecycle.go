package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gent/models"
)

// Lifecycle returns a page of a message's steps, oldest first, from the
// append-only lifecycle table each step writes in its own transaction
// (docs/policy.md), and the cursor of the next page ("" at the end).
func (s *Service) Lifecycle(ctx context.Context, orgID, inboxID, messageID, cursor string, limit int) ([]models.LifecycleEntry, string, error) {
	after := int64(0)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, "", models.Invalid("cursor", "cursor is not valid")
		}
		after = n
	}
	db := s.db.DB.WithContext(ctx)
	var found []string
	if err := db.Raw(`SELECT id FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ?`,
		messageID, inboxID, orgID).Scan(&found).Error; err != nil {
		return nil, "", fmt.Errorf("load lifecycle: %w", err)
	}
	if len(found) == 0 {
		return nil, "", models.NotFound("message")
	}
	var rows []struct {
		ID     int64
		Kind   string
		Detail []byte
		At     time.Time
	}
	if err := db.Raw(`SELECT id, kind, detail, at FROM message_lifecycle
		WHERE message_id = ? AND id > ? ORDER BY id LIMIT ?`, messageID, after, limit+1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("load lifecycle: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	out := make([]models.LifecycleEntry, len(rows))
	for i, r := range rows {
		d := map[string]any{}
		_ = json.Unmarshal(r.Detail, &d)
		out[i] = models.LifecycleEntry{At: r.At.UTC(), Kind: r.Kind, Detail: d}
	}
	return out, next, nil
}
