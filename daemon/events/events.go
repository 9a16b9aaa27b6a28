// Package events keeps the event log: every event is inserted in the
// transaction of the change it reports, and a NOTIFY wakes the streams on
// every replica when that transaction commits. Streams (SSE) read the log
// from the table, so a reconnecting client resumes without gaps; webhooks
// get one delivery job per matching endpoint, enqueued in the same
// transaction as the event.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"gent/daemon/store"
	"gent/models"
)

// Channel is the LISTEN/NOTIFY channel that announces new events. The
// payload is the organization id, then a space and the inbox id for an
// inbox's event, so that only the streams that can see the event wake.
const Channel = "gent_events"

// Hook runs inside the transaction of every emitted event, after its row is
// inserted; an error rolls the whole transaction back.
type Hook func(ctx context.Context, tx *gorm.DB, ev *models.Event) error

type Service struct {
	db  *store.Store
	log *slog.Logger
	hub *hub

	mu     sync.RWMutex
	hooks  []Hook
	fanOut fanOut
}

// fanOut records the deliveries of an event to the webhooks (ids) its
// insert found subscribed, inside its transaction.
type fanOut func(ctx context.Context, tx *gorm.DB, ev *models.Event, webhookIDs []string) error

// setFanOut registers the webhooks' delivery recording.
func (s *Service) setFanOut(fn fanOut) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fanOut = fn
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
	ev := &models.Event{ID: models.NewID(models.PrefixEvent), OrgID: orgID, Type: typ, Payload: payload,
		CreatedAt: time.Now().UTC()}
	var inbox any
	if inboxID != "" {
		ev.InboxID = &inboxID
		inbox = inboxID
	}
	if ev.Payload == nil {
		ev.Payload = map[string]any{}
	}
	body, err := json.Marshal(ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("emit %s: %w", typ, err)
	}
	// One round trip: the row, the NOTIFY (delivered at commit, dropped
	// with a rollback) and the webhooks the event goes to.
	var row struct {
		Notified string
		Webhooks models.StringArray
	}
	args := map[string]any{"id": ev.ID, "org": orgID, "inbox": inbox, "type": typ, "payload": string(body),
		"at": ev.CreatedAt, "channel": Channel, "notify": notifyPayload(orgID, inboxID)}
	q := emitSQL
	// An event about a message is also a step of its lifecycle, written
	// by the same statement.
	if msgID, _ := ev.Payload["message_id"].(string); msgID != "" {
		if steps := lifecycleSteps(typ, ev.Payload); len(steps) > 0 {
			stepInbox, _ := ev.Payload["inbox_id"].(string)
			if stepInbox == "" {
				stepInbox = inboxID
			}
			sj, err := json.Marshal(steps)
			if err != nil {
				return nil, fmt.Errorf("emit %s: %w", typ, err)
			}
			q = emitWithStepsSQL
			args["msg"], args["step_inbox"], args["steps"] = msgID, stepInbox, string(sj)
		}
	}
	res := tx.WithContext(ctx).Raw(q, args).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("emit %s: %w", typ, res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, fmt.Errorf("emit %s: event not inserted", typ)
	}
	s.mu.RLock()
	hooks, fanOut := s.hooks, s.fanOut
	s.mu.RUnlock()
	if fanOut != nil && len(row.Webhooks) > 0 {
		if err := fanOut(ctx, tx, ev, row.Webhooks); err != nil {
			return nil, fmt.Errorf("emit %s: %w", typ, err)
		}
	}
	for _, h := range hooks {
		if err := h(ctx, tx, ev); err != nil {
			return nil, fmt.Errorf("emit %s: %w", typ, err)
		}
	}
	return ev, nil
}

// emitInsert, emitSelect: the event's row, then the NOTIFY (delivered at
// commit, dropped with a rollback) and the webhooks the event goes to.
const (
	emitInsert = `WITH ev AS (
		INSERT INTO events (id, org_id, inbox_id, type, payload, created_at)
		VALUES (@id, @org, @inbox, @type, @payload, @at) RETURNING id)`
	emitSelect = `
	SELECT pg_notify(@channel, @notify)::text AS notified,
		(SELECT coalesce(array_agg(w.id ORDER BY w.id), '{}') FROM webhooks w
		 WHERE w.org_id = @org AND w.status = 'enabled' AND w.event_types @> jsonb_build_array(CAST(@type AS text))
		   AND (w.inbox_id IS NULL OR w.inbox_id = @inbox)) AS webhooks
	FROM ev`
	emitSQL = emitInsert + emitSelect
	// emitWithStepsSQL also appends the event's steps to the lifecycle of
	// its message, in order.
	emitWithStepsSQL = emitInsert + `,
	steps AS (
		INSERT INTO message_lifecycle (org_id, inbox_id, message_id, kind, detail, at)
		SELECT @org, @step_inbox, @msg, s.value->>'kind', s.value->'detail', @at
		FROM jsonb_array_elements(CAST(@steps AS jsonb)) WITH ORDINALITY AS s
		-- An event about a message already deleted records no step.
		WHERE EXISTS (SELECT 1 FROM messages WHERE id = @msg)
		ORDER BY s.ordinality)` + emitSelect
)

// notifyPayload is the NOTIFY payload of an event (see Channel).
func notifyPayload(orgID, inboxID string) string {
	if inboxID == "" {
		return orgID
	}
	return orgID + " " + inboxID
}
