package caps

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/models"
)

// UsageHook is the mail.UsageHook: the message store calls it inside the
// transaction of a usage change (the inbox row locked) when the change
// crossed the inbox's alert bounds, i.e. only when there is alert work.
func (s *Service) UsageHook(ctx context.Context, tx *gorm.DB, orgID, inboxID string, _ int64) error {
	return s.evaluate(ctx, tx, orgID, inboxID)
}

// evaluate brings an inbox's alerts in line with its usage inside tx:
// every armed threshold whose boundary the usage reaches fires (one
// cap.threshold_crossed event and one audit entry each), every fired one
// the usage is below re-arms; then it stores the bounds the message store
// compares against (cap_alert_at: the lowest armed boundary;
// cap_rearm_below: the highest fired one), so that the next change calls
// here only if it crosses one of them.
func (s *Service) evaluate(ctx context.Context, tx *gorm.DB, orgID, inboxID string) error {
	db := tx.WithContext(ctx)
	var rows []inboxCap
	if err := db.Raw(`SELECT `+inboxCapColumns+` FROM inboxes WHERE id = ? AND org_id = ? FOR NO KEY UPDATE`,
		inboxID, orgID).Scan(&rows).Error; err != nil {
		return fmt.Errorf("check cap alerts: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	in := rows[0]
	var alerts []struct {
		Threshold int
		FiredAt   *time.Time
	}
	if err := db.Raw(`SELECT threshold, fired_at FROM cap_alerts WHERE inbox_id = ? ORDER BY threshold`, inboxID).Scan(&alerts).Error; err != nil {
		return fmt.Errorf("check cap alerts: %w", err)
	}
	var fire, rearm []int
	var alertAt, rearmBelow *int64
	if in.CapLimitBytes != nil {
		limit := *in.CapLimitBytes
		for _, a := range alerts {
			b := boundary(limit, a.Threshold)
			fired := a.FiredAt != nil
			switch {
			case !fired && in.UsedBytes >= b:
				fire = append(fire, a.Threshold)
				fired = true
			case fired && in.UsedBytes < b:
				rearm = append(rearm, a.Threshold)
				fired = false
			}
			if fired {
				if rearmBelow == nil || b > *rearmBelow {
					rearmBelow = &b
				}
			} else if alertAt == nil || b < *alertAt {
				alertAt = &b
			}
		}
	}
	if len(fire) > 0 {
		if err := db.Exec(`UPDATE cap_alerts SET fired_at = now(), fired_used_bytes = ? WHERE inbox_id = ? AND threshold = ANY(?::int[])`,
			in.UsedBytes, inboxID, intArray(fire)).Error; err != nil {
			return fmt.Errorf("fire cap alerts: %w", err)
		}
	}
	if len(rearm) > 0 {
		if err := db.Exec(`UPDATE cap_alerts SET fired_at = NULL, fired_used_bytes = NULL WHERE inbox_id = ? AND threshold = ANY(?::int[])`,
			inboxID, intArray(rearm)).Error; err != nil {
			return fmt.Errorf("re-arm cap alerts: %w", err)
		}
	}
	if err := db.Exec(`UPDATE inboxes SET cap_alert_at = ?, cap_rearm_below = ? WHERE id = ?`, alertAt, rearmBelow, inboxID).Error; err != nil {
		return fmt.Errorf("store cap alert bounds: %w", err)
	}
	for _, t := range fire {
		limit := *in.CapLimitBytes
		payload := map[string]any{
			"inbox_id": inboxID, "address": in.Address, "threshold": t, "threshold_bytes": boundary(limit, t),
			"used_bytes": in.UsedBytes, "limit_bytes": limit, "percent": percent(in.UsedBytes, limit), "mode": *in.CapMode,
		}
		if _, err := s.events.Emit(ctx, tx, orgID, inboxID, models.EventCapThresholdCrossed, payload); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{OrgID: orgID, ActorType: "system", Action: models.EventCapThresholdCrossed,
			TargetType: "inbox", TargetID: inboxID, Outcome: audit.Success, Detail: payload}); err != nil {
			return err
		}
	}
	return nil
}
