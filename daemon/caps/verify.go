package caps

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/models"
)

// Verify recomputes every inbox's usage from its messages (sum of size,
// count) and reports the inboxes whose counters differ. One statement, so
// counters and messages are read from one snapshot: a store or delete
// commits both together and cannot show up as drift. orgID "" checks every
// organization, inboxes being deleted included; otherwise the
// organization's active inboxes.
func (s *Service) Verify(ctx context.Context, orgID string) (*models.UsageVerification, error) {
	q := `SELECT i.id AS inbox_id, i.org_id, i.address, i.status, i.used_bytes, i.message_count,
			coalesce(m.bytes, 0) AS actual_bytes, m.n AS actual_count
		FROM inboxes i LEFT JOIN LATERAL (SELECT sum(size)::bigint AS bytes, count(*) AS n FROM messages
			WHERE messages.inbox_id = i.id) m ON true`
	args := []any{}
	if orgID != "" {
		q += ` WHERE i.org_id = ? AND i.status = 'active'`
		args = append(args, orgID)
	}
	var all []struct {
		InboxID      string
		OrgID        string
		Address      string
		Status       string
		UsedBytes    int64
		MessageCount int64
		ActualBytes  int64
		ActualCount  int64
	}
	if err := s.db.DB.WithContext(ctx).Raw(q+` ORDER BY i.id`, args...).Scan(&all).Error; err != nil {
		return nil, fmt.Errorf("verify usage: %w", err)
	}
	out := &models.UsageVerification{CheckedAt: s.Now().UTC(), Inboxes: len(all), Drift: []models.UsageDrift{}}
	for _, r := range all {
		if r.UsedBytes != r.ActualBytes || r.MessageCount != r.ActualCount {
			out.Drift = append(out.Drift, models.UsageDrift{InboxID: r.InboxID, OrgID: r.OrgID, Address: r.Address,
				Status: r.Status, UsedBytes: r.UsedBytes, ActualBytes: r.ActualBytes, MessageCount: r.MessageCount,
				ActualCount: r.ActualCount})
		}
	}
	return out, nil
}

// Fix sets an inbox's counters to what its messages add up to, and
// re-checks its alerts. The inbox row is locked first and the sums are
// read by a later statement, which sees every store and delete committed
// before the lock; stores take that lock before changing anything, and a
// delete waiting for it has its message still counted, then subtracts it.
func (s *Service) Fix(ctx context.Context, inboxID string) (*models.UsageDrift, error) {
	var out *models.UsageDrift
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		db := tx.WithContext(ctx)
		var rows []struct {
			OrgID        string
			Address      string
			Status       string
			UsedBytes    int64
			MessageCount int64
		}
		if err := db.Raw(`SELECT org_id, address, status, used_bytes, message_count FROM inboxes WHERE id = ? FOR NO KEY UPDATE`,
			inboxID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("fix usage: %w", err)
		}
		if len(rows) == 0 {
			return models.NotFound("inbox")
		}
		r := rows[0]
		var now struct {
			UsedBytes    int64
			MessageCount int64
		}
		if err := db.Raw(`UPDATE inboxes SET
				used_bytes = (SELECT coalesce(sum(size), 0) FROM messages WHERE inbox_id = ?),
				message_count = (SELECT count(*) FROM messages WHERE inbox_id = ?)
			WHERE id = ? RETURNING used_bytes, message_count`, inboxID, inboxID, inboxID).Scan(&now).Error; err != nil {
			return fmt.Errorf("fix usage: %w", err)
		}
		out = &models.UsageDrift{InboxID: inboxID, OrgID: r.OrgID, Address: r.Address, Status: r.Status,
			UsedBytes: r.UsedBytes, ActualBytes: now.UsedBytes, MessageCount: r.MessageCount, ActualCount: now.MessageCount}
		if now.UsedBytes == r.UsedBytes && now.MessageCount == r.MessageCount {
			return nil
		}
		if err := s.evaluate(ctx, tx, r.OrgID, inboxID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{OrgID: r.OrgID, ActorType: "system", Action: "usage.fixed",
			TargetType: "inbox", TargetID: inboxID, Outcome: audit.Success, Detail: map[string]any{
				"used_bytes": r.UsedBytes, "actual_bytes": now.UsedBytes,
				"message_count": r.MessageCount, "actual_count": now.MessageCount}})
	})
	return out, err
}
