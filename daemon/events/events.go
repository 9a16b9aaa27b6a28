// Package events keeps the event log: every event is inserted in the
// transaction of the change it reports, and a NOTIFY wakes the streams on
// every replica when that transaction commits. Streams (SSE) read the log
// from the table, so a reconnecting client resumes without gaps; webhooks
// get one delivery job per matching endpoint, enqueued in the same
// transaction as the event.
package events

import (
	"context"
	"database/sql"
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
	evs, err := s.EmitAll(ctx, tx, Pending{OrgID: orgID, InboxID: inboxID, Type: typ, Payload: payload})
	if err != nil {
		return nil, err
	}
	return evs[0], nil
}

// Pending is an event to record (EmitAll).
type Pending struct {
	OrgID   string
	InboxID string // "" for organization-wide events
	Type    string
	Payload map[string]any
	// Before are steps of the message's lifecycle that are no event of
	// their own (a send's policy decision), written just before the
	// event's own steps.
	Before []Step
}

// EmitAll records events inside tx, in order, in one round trip: their
// rows, the steps they add to their messages' lifecycles, their NOTIFYs
// (delivered at commit, dropped with a rollback) and the webhooks each
// goes to. Called outside a transaction, it opens one.
func (s *Service) EmitAll(ctx context.Context, tx *gorm.DB, evs ...Pending) ([]*models.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	if store.SQLTx(tx) == nil {
		var out []*models.Event
		err := tx.WithContext(ctx).Transaction(func(inner *gorm.DB) error {
			var err error
			out, err = s.emitIn(ctx, inner, evs)
			return err
		})
		return out, err
	}
	return s.emitIn(ctx, tx, evs)
}

// emitIn is EmitAll inside tx, with the webhooks' deliveries and the hooks.
func (s *Service) emitIn(ctx context.Context, tx *gorm.DB, evs []Pending) ([]*models.Event, error) {
	out, err := s.emitAll(ctx, store.SQLTx(tx), evs)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	hooks, fanOut := s.hooks, s.fanOut
	s.mu.RUnlock()
	res := make([]*models.Event, len(out))
	for i := range out {
		ev := &out[i].Event
		res[i] = ev
		if fanOut != nil && len(out[i].webhooks) > 0 {
			if err := fanOut(ctx, tx, ev, out[i].webhooks); err != nil {
				return nil, fmt.Errorf("emit %s: %w", ev.Type, err)
			}
		}
		for _, h := range hooks {
			if err := h(ctx, tx, ev); err != nil {
				return nil, fmt.Errorf("emit %s: %w", ev.Type, err)
			}
		}
	}
	return res, nil
}

// emitted is an event recorded and the webhooks its insert found
// subscribed.
type emitted struct {
	models.Event
	webhooks []string
}

func (s *Service) emitAll(ctx context.Context, tx *sql.Tx, evs []Pending) ([]emitted, error) {
	at := time.Now().UTC()
	n := len(evs)
	out := make([]emitted, n)
	ids, orgs, inboxes, types, payloads, notify := make([]string, n), make([]string, n), make([]*string, n),
		make([]string, n), make([]string, n), make([]string, n)
	var sOrgs, sInboxes, sMsgs, sKinds, sDetails []string
	for i, p := range evs {
		ev := models.Event{ID: models.NewID(models.PrefixEvent), OrgID: p.OrgID, Type: p.Type, Payload: p.Payload, CreatedAt: at}
		if p.InboxID != "" {
			inbox := p.InboxID
			ev.InboxID, inboxes[i] = &inbox, &inbox
		}
		if ev.Payload == nil {
			ev.Payload = map[string]any{}
		}
		body, err := json.Marshal(ev.Payload)
		if err != nil {
			return nil, fmt.Errorf("emit %s: %w", p.Type, err)
		}
		ids[i], orgs[i], types[i], payloads[i], notify[i] = ev.ID, p.OrgID, p.Type, string(body), notifyPayload(p.OrgID, p.InboxID)
		out[i].Event = ev
		// An event about a message is also a step (or more) of its
		// lifecycle, written by the same statement.
		msgID, _ := ev.Payload["message_id"].(string)
		if msgID == "" {
			continue
		}
		steps := append(append([]Step(nil), p.Before...), lifecycleSteps(p.Type, ev.Payload)...)
		stepInbox, _ := ev.Payload["inbox_id"].(string)
		if stepInbox == "" {
			stepInbox = p.InboxID
		}
		for _, st := range steps {
			d := st.Detail
			if d == nil {
				d = map[string]any{}
			}
			dj, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("emit %s: %w", p.Type, err)
			}
			sOrgs, sInboxes, sMsgs = append(sOrgs, p.OrgID), append(sInboxes, stepInbox), append(sMsgs, msgID)
			sKinds, sDetails = append(sKinds, st.Kind), append(sDetails, string(dj))
		}
	}
	rows, err := tx.QueryContext(ctx, emitSQL, ids, orgs, inboxes, types, payloads, notify, at, Channel,
		sOrgs, sInboxes, sMsgs, sKinds, sDetails)
	if err != nil {
		return nil, fmt.Errorf("emit %s: %w", evs[0].Type, err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var (
			i        int
			notified string
			webhooks models.StringArray
		)
		if err := rows.Scan(&i, &notified, &webhooks); err != nil {
			return nil, fmt.Errorf("emit %s: %w", evs[0].Type, err)
		}
		if i < 1 || i > n {
			return nil, fmt.Errorf("emit %s: unexpected row %d", evs[0].Type, i)
		}
		out[i-1].webhooks = webhooks
		got++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("emit %s: %w", evs[0].Type, err)
	}
	if got != n {
		return nil, fmt.Errorf("emit %s: %d of %d events inserted", evs[0].Type, got, n)
	}
	return out, nil
}

// emitSQL records events ($1–$6, created at $7) and the lifecycle steps
// of their messages ($9–$13, in order; an event about a message already
// deleted records none), and answers, per event in order, its NOTIFY on
// channel $8 and the webhooks it goes to.
const emitSQL = `WITH input AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
			WITH ORDINALITY AS e(id, org_id, inbox_id, type, payload, notify, n)),
	ev AS (
		INSERT INTO events (id, org_id, inbox_id, type, payload, created_at)
		SELECT id, org_id, inbox_id, type, payload, $7 FROM input ORDER BY n RETURNING id),
	steps AS (
		INSERT INTO message_lifecycle (org_id, inbox_id, message_id, kind, detail, at)
		SELECT s.org_id, s.inbox_id, s.message_id, s.kind, s.detail, $7
		FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[])
			WITH ORDINALITY AS s(org_id, inbox_id, message_id, kind, detail, n)
		WHERE EXISTS (SELECT 1 FROM messages WHERE id = s.message_id)
		ORDER BY s.n)
	SELECT i.n, pg_notify($8, i.notify)::text,
		(SELECT coalesce(array_agg(w.id ORDER BY w.id), '{}') FROM webhooks w
		 WHERE w.org_id = i.org_id AND w.status = 'enabled' AND w.event_types @> jsonb_build_array(i.type)
		   AND (w.inbox_id IS NULL OR w.inbox_id = i.inbox_id))
	FROM input i JOIN ev ON ev.id = i.id ORDER BY i.n`

// notifyPayload is the NOTIFY payload of an event (see Channel).
func notifyPayload(orgID, inboxID string) string {
	if inboxID == "" {
		return orgID
	}
	return orgID + " " + inboxID
}
