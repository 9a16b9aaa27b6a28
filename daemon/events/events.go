// Package events keeps the event log: every event is inserted in the
// transaction of the change it reports, and a NOTIFY wakes the streams on
// every replica when that transaction commits.
package events

import (
	"context"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// Channel is the LISTEN/NOTIFY channel that announces new events.
const Channel = "gent_events"

type Service struct {
	db  *store.Store
	log *slog.Logger
}

func NewService(db *store.Store, log *slog.Logger) *Service {
	return &Service{db: db, log: log}
}

// Emit records an event inside tx. inboxID may be "" for
// organization-wide events.
func (s *Service) Emit(ctx context.Context, tx *gorm.DB, orgID, inboxID, typ string, payload map[string]any) (*models.Event, error) {
	ev := &models.Event{ID: models.NewID(models.PrefixEvent), OrgID: orgID, Type: typ, Payload: payload}
	if inboxID != "" {
		ev.InboxID = &inboxID
	}
	if ev.Payload == nil {
		ev.Payload = map[string]any{}
	}
	if err := tx.WithContext(ctx).Create(ev).Error; err != nil {
		return nil, fmt.Errorf("emit %s: %w", typ, err)
	}
	// Delivered at commit; dropped with a rollback.
	if err := tx.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, Channel, orgID).Error; err != nil {
		return nil, fmt.Errorf("notify %s: %w", typ, err)
	}
	return ev, nil
}
