package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gent/models"
)

// Lifecycle returns the steps of a message, oldest first, built from what
// the steps stored: the message, its approval, and the events of its
// delivery (docs/policy.md).
func (s *Service) Lifecycle(ctx context.Context, orgID, inboxID, messageID string) ([]models.LifecycleEntry, error) {
	db := s.db.DB.WithContext(ctx)
	var msgs []struct {
		ID        string
		Direction string
		Status    string
		CreatedAt time.Time
	}
	if err := db.Raw(`SELECT id, direction, status, created_at FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ?`,
		messageID, inboxID, orgID).Scan(&msgs).Error; err != nil {
		return nil, fmt.Errorf("load lifecycle: %w", err)
	}
	if len(msgs) == 0 {
		return nil, models.NotFound("message")
	}
	m := msgs[0]
	out := []models.LifecycleEntry{}
	add := func(at time.Time, kind string, detail map[string]any) {
		if detail == nil {
			detail = map[string]any{}
		}
		out = append(out, models.LifecycleEntry{At: at.UTC(), Kind: kind, Detail: detail})
	}
	if m.Direction == models.DirectionInbound {
		add(m.CreatedAt, "received", nil)
	} else {
		var appr []struct {
			ID          string
			Status      string
			HoldReasons []byte
			Reason      string
			DecidedBy   string
			DecidedAt   *time.Time
			Edited      bool
			CreatedAt   time.Time
		}
		if err := db.Raw(`SELECT id, status, hold_reasons, reason, decided_by, decided_at, edited, created_at FROM approvals
			WHERE message_id = ? AND org_id = ?`, messageID, orgID).Scan(&appr).Error; err != nil {
			return nil, fmt.Errorf("load lifecycle: %w", err)
		}
		var outbound []struct{ CreatedAt time.Time }
		if err := db.Raw(`SELECT created_at FROM outbound_messages WHERE id = ? AND org_id = ?`, messageID, orgID).Scan(&outbound).Error; err != nil {
			return nil, fmt.Errorf("load lifecycle: %w", err)
		}
		if len(appr) == 0 {
			add(m.CreatedAt, "policy", map[string]any{"decision": models.DecisionSend})
			if len(outbound) > 0 {
				add(outbound[0].CreatedAt, "queued", nil)
			}
		} else {
			a := appr[0]
			reasons := []models.HoldReason{}
			_ = json.Unmarshal(a.HoldReasons, &reasons)
			add(m.CreatedAt, "policy", map[string]any{"decision": models.DecisionHold, "hold_reasons": reasons})
			add(a.CreatedAt, "held", map[string]any{"approval_id": a.ID, "hold_reasons": reasons})
			if a.DecidedAt != nil {
				switch a.Status {
				case "approved":
					add(*a.DecidedAt, "approved", map[string]any{"approval_id": a.ID, "by": a.DecidedBy, "edited": a.Edited})
					add(*a.DecidedAt, "queued", nil)
				case "rejected":
					add(*a.DecidedAt, "rejected", map[string]any{"approval_id": a.ID, "by": a.DecidedBy, "reason": a.Reason})
				case "expired":
					add(*a.DecidedAt, "expired", map[string]any{"approval_id": a.ID})
				}
			}
		}
	}
	var evs []struct {
		Type      string
		Payload   []byte
		CreatedAt time.Time
	}
	if err := db.Raw(`SELECT type, payload, created_at FROM events WHERE org_id = ?
		AND payload->>'message_id' = ? AND type IN ?`, orgID, messageID,
		[]string{models.EventMessageDelivered, models.EventMessageDeferred, models.EventMessageBounced}).Scan(&evs).Error; err != nil {
		return nil, fmt.Errorf("load lifecycle: %w", err)
	}
	for _, e := range evs {
		var p map[string]any
		_ = json.Unmarshal(e.Payload, &p)
		d := map[string]any{"recipient": p["recipient"], "response": p["response"]}
		kind := map[string]string{models.EventMessageDelivered: "delivered", models.EventMessageDeferred: "deferred",
			models.EventMessageBounced: "bounced"}[e.Type]
		if e.Type != models.EventMessageBounced || p["notice_id"] == nil {
			add(e.CreatedAt, "attempt", map[string]any{"recipient": p["recipient"], "outcome": kind, "response": p["response"]})
		}
		add(e.CreatedAt, kind, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
