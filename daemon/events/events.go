// Package events keeps the event log: every event is inserted in the
// transaction of the change it reports, and a NOTIFY wakes the streams on
// every replica when that transaction commits. Streams (SSE) read the log
// from the table, so a reconnecting client resumes without gaps; webhooks
// get one delivery job per matching endpoint, enqueued in the same
// transaction as the event.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// Channel is the LISTEN/NOTIFY channel that announces new events. The
// payload is the organization id.
const Channel = "gent_events"

// Hook runs inside the transaction of every emitted event, after its row is
// inserted; an error rolls the whole transaction back.
type Hook func(ctx context.Context, tx *gorm.DB, ev *models.Event) error

type Service struct {
	db  *store.Store
	log *slog.Logger
	hub *hub

	mu    sync.RWMutex
	hooks []Hook
}

func NewService(db *store.Store, log *slog.Logger) *Service {
	return &Service{db: db, log: log, hub: newHub()}
}

// AddHook registers fn to run in the transaction of every later Emit.
func (s *Service) AddHook(fn Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, fn)
}

// Emit records an event inside tx. inboxID may be "" for
// organization-wide events. Called outside a transaction, it opens one so
// that the event and its webhook deliveries commit together.
func (s *Service) Emit(ctx context.Context, tx *gorm.DB, orgID, inboxID, typ string, payload map[string]any) (*models.Event, error) {
	if store.SQLTx(tx) == nil {
		var ev *models.Event
		err := tx.WithContext(ctx).Transaction(func(inner *gorm.DB) error {
			var err error
			ev, err = s.emit(ctx, inner, orgID, inboxID, typ, payload)
			return err
		})
		return ev, err
	}
	return s.emit(ctx, tx, orgID, inboxID, typ, payload)
}

func (s *Service) emit(ctx context.Context, tx *gorm.DB, orgID, inboxID, typ string, payload map[string]any) (*models.Event, error) {
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
	s.mu.RLock()
	hooks := s.hooks
	s.mu.RUnlock()
	for _, h := range hooks {
		if err := h(ctx, tx, ev); err != nil {
			return nil, fmt.Errorf("emit %s: %w", typ, err)
		}
	}
	// Delivered at commit; dropped with a rollback.
	if err := tx.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, Channel, orgID).Error; err != nil {
		return nil, fmt.Errorf("notify %s: %w", typ, err)
	}
	return ev, nil
}
